// Layer 3, Response: what a handler builds, and what of it reaches the wire.
import assert from "node:assert/strict";
import { App, HttpError, Response } from "../mod.ts";
import { bodyText, capturingStderr, fetch, get, inTempDir, raw, start } from "./helpers.ts";

// ---------------------------------------------------------------- construction

Deno.test("gives text a text/plain content type, with UTF-8 as its charset", () => {
  const res = new Response("hello");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(res.body, "hello");
});

Deno.test("gives bytes and streams the application/octet-stream content type", async () => {
  assert.equal(
    new Response(new Uint8Array([1, 2, 3])).headers.get("content-type"),
    "application/octet-stream",
  );
  const stream = new ReadableStream<Uint8Array>();
  assert.equal(new Response(stream).headers.get("content-type"), "application/octet-stream");
  await stream.cancel();
});

Deno.test("gives no body no content type", () => {
  const res = new Response(null, { status: 201 });
  assert.equal(res.status, 201);
  assert.equal(res.body, null);
  assert.equal(res.headers.get("content-type"), null);
  assert.equal(new Response().body, null);
});

Deno.test("keeps a content type given in the headers", () => {
  const res = new Response("a,b\n1,2\n", { headers: { "Content-Type": "text/csv" } });
  assert.equal(res.headers.get("content-type"), "text/csv");
});

Deno.test("accepts a status from 200 to 599, and throws a RangeError for any other", () => {
  assert.equal(new Response("ok", { status: 200 }).status, 200);
  assert.equal(new Response("ok", { status: 599 }).status, 599);
  for (const status of [0, 100, 101, 199, 600, 1000, -200, NaN]) {
    assert.throws(() => new Response("x", { status }), RangeError, `status ${status}`);
  }
});

Deno.test("throws a RangeError for a status that is not a whole number", () => {
  assert.throws(() => new Response("x", { status: 250.5 }), RangeError);
});

Deno.test("Response.json() sends JSON, with any status and headers", async () => {
  const res = Response.json({ id: 7, tags: ["a"] }, {
    status: 201,
    headers: { location: "/items/7" },
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("location"), "/items/7");
  assert.deepEqual(JSON.parse(await bodyText(res)), { id: 7, tags: ["a"] });
  const problem = Response.json({ title: "Oops" }, {
    headers: { "content-type": "application/problem+json" },
  });
  assert.equal(problem.headers.get("content-type"), "application/problem+json");
});

Deno.test("Response.html() sends HTML, UTF-8", async () => {
  const res = Response.html("<h1>Grüße</h1>");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(await bodyText(res), "<h1>Grüße</h1>");
});

Deno.test("Response.redirect() sends a 302 with a Location by default", () => {
  const res = Response.redirect("/login");
  assert.equal(res.status, 302);
  assert.equal(res.headers.get("location"), "/login");
  assert.equal(res.body, null);
});

Deno.test("Response.redirect() takes a URL and any redirect status, such as 303 after a form post", () => {
  const res = Response.redirect(new URL("https://example.com/done?x=1"), 303);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "https://example.com/done?x=1");
  for (const status of [301, 307, 308] as const) {
    assert.equal(Response.redirect("/", status).status, status);
  }
});

Deno.test("Response.redirect() takes only a redirect status: the type checker refuses another", () => {
  // @ts-expect-error: 200 is not a redirect status; `deno check` fails without this line's directive
  assert.equal(Response.redirect("/", 200).status, 200);
});

// ---------------------------------------------------------------- on the wire

Deno.test("sends a stream with a declared Content-Length as is, not chunked (a 1 MiB+ file, byte-exact)", async () => {
  await inTempDir(async (dir) => {
    const data = new Uint8Array(1024 * 1024 + 123_457); // an odd size: no chunk boundary lines up by luck
    for (let i = 0; i < data.length; i += 65536) {
      crypto.getRandomValues(data.subarray(i, i + 65536));
    }
    await Deno.writeFile(`${dir}/big.bin`, data);
    const size = String(data.length);
    const s = await start(async () =>
      // a plain body: a file's stream, and its size declared by hand
      new Response((await Deno.open(`${dir}/big.bin`)).readable, {
        headers: { "content-length": size },
      })
    );
    try {
      const res = await fetch(`${s.url}/big.bin`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), size);
      assert.equal(res.headers.get("transfer-encoding"), null);
      const got = new Uint8Array(await res.arrayBuffer());
      assert.equal(got.length, data.length);
      assert.ok(got.every((byte, i) => byte === data[i]), "every byte arrived as it is on disk");
    } finally {
      await s.close();
    }
  });
});

Deno.test("sends each Set-Cookie on its own line, never joined by commas", async () => {
  const s = await start(() => {
    const res = new Response("cookies");
    res.headers.append("set-cookie", "session=abc; Path=/; HttpOnly");
    res.headers.append("set-cookie", "theme=dark; Expires=Wed, 21 Oct 2037 07:28:00 GMT");
    res.headers.append("set-cookie", "lang=en");
    return res;
  });
  try {
    const { responses } = await raw(s.port, get("/"), { responses: 1 });
    const lines = responses[0].head.split("\r\n").filter((line) => /^set-cookie:/i.test(line));
    assert.deepEqual(lines, [
      "set-cookie: session=abc; Path=/; HttpOnly",
      "set-cookie: theme=dark; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
      "set-cookie: lang=en",
    ]);
  } finally {
    await s.close();
  }
});

Deno.test("sends a redirect with its Location and an empty body", async () => {
  const s = await start(() => Response.redirect("/elsewhere", 303));
  try {
    const { responses } = await raw(s.port, get("/"), { responses: 1 });
    assert.equal(responses[0].status, 303);
    assert.equal(responses[0].reason, "See Other");
    assert.equal(responses[0].headers.get("location"), "/elsewhere");
    assert.equal(responses[0].headers.get("content-length"), "0");
  } finally {
    await s.close();
  }
});

/** The lines of a raw head that carry the field `name`. */
const fieldLines = (head: string, name: string) =>
  head.split("\r\n").filter((line) => line.startsWith(`${name}:`));

Deno.test("sends the content type given in the headers, and no other", async () => {
  const s = await start(() => new Response("body", { headers: { "content-type": "x/y" } }));
  try {
    const { responses } = await raw(s.port, get("/"), { responses: 1 });
    assert.deepEqual(fieldLines(responses[0].head, "content-type"), ["content-type: x/y"]);
    assert.equal(responses[0].body, "body");
  } finally {
    await s.close();
  }
});

Deno.test("sends a header that middleware set after next(), from groundwork's server and from Deno.serve", async () => {
  const app = new App()
    .use(async (_req, next) => {
      const res = await next();
      res.headers.set("x-served-by", "middleware"); // the first read of res.headers: it makes them
      return res;
    })
    .get("/", () => ({ ok: true }));
  const own = await start(app);
  try {
    const { responses } = await raw(own.port, get("/"), { responses: 1 });
    assert.equal(responses[0].headers.get("x-served-by"), "middleware");
    assert.deepEqual(fieldLines(responses[0].head, "content-type"), [
      "content-type: application/json",
    ]);
    assert.equal(responses[0].body, '{"ok":true}');
  } finally {
    await own.close();
  }
  const deno = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  try {
    const res = await fetch(`http://127.0.0.1:${deno.addr.port}/`);
    assert.equal(res.headers.get("x-served-by"), "middleware");
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.deepEqual(await res.json(), { ok: true });
  } finally {
    await deno.shutdown();
  }
});

Deno.test("answers an HttpError with its headers and a text content type, adding nothing to the error's headers", async () => {
  const limited = new HttpError(429, "Slow down", { headers: { "retry-after": "30" } });
  const s = await start(new App().get("/", () => {
    throw limited; // the same error, for both requests
  }));
  try {
    const { responses } = await raw(s.port, get("/") + get("/"), { responses: 2 });
    assert.equal(responses.length, 2);
    for (const res of responses) {
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "30");
      assert.deepEqual(fieldLines(res.head, "content-type"), [
        "content-type: text/plain; charset=utf-8",
      ]);
      assert.equal(res.body, "Slow down");
    }
    assert.deepEqual(
      [...limited.headers],
      [["retry-after", "30"]],
      "the error's own headers are as it was made",
    );
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- header fields that can't go on the wire

Deno.test("answers 500 for a Response with a field value Headers refuse, tells the log and onError, and serves the next pipelined request", async () => {
  const seen: unknown[] = [];
  const app = new App()
    .get("/go", (req) => Response.redirect(req.query.get("next") ?? "/")) // a redirect to where the client asked
    .get(
      "/field",
      (req) => new Response("x", { headers: { "x-a": req.query.get("value") ?? "" } }),
    );
  app.onError = (err) => (seen.push(err), new Response("Internal Server Error", { status: 500 }));
  const s = await start(app, { log: true });
  try {
    let result: Awaited<ReturnType<typeof raw>> | undefined;
    const logged = await capturingStderr(async () => { // the value is made when the Response is: in the handler
      const requests = get("/go?next=/a%0Ab") + get("/field?value=b%0D%0Ac") + get("/go?next=/ok");
      result = await raw(s.port, requests, { responses: 3 });
    });
    const { responses } = result!;
    assert.deepEqual(
      responses.map((res) => res.status),
      [500, 500, 302],
      "the connection goes on after each 500",
    );
    assert.equal(responses[2].headers.get("location"), "/ok");
    assert.equal(seen.length, 2, "onError saw both");
    assert.ok(seen.every((err) => err instanceof TypeError), String(seen));
    assert.match(logged, /^GET \/go 500 /m, logged);
    assert.match(logged, /^GET \/field 500 /m, logged);
    assert.doesNotMatch(logged, /groundwork: failed/, logged);
  } finally {
    await s.close();
  }
});

Deno.test("answers 500, with no injected field on the wire, when the content type given to new Response holds CR LF", async () => {
  const s = await start((req) => new Response("hi", {}, req.query.get("type") ?? "text/plain"));
  try {
    let result: Awaited<ReturnType<typeof raw>> | undefined;
    const logged = await capturingStderr(async () => {
      const injected = get("/?type=text/plain%0D%0ASet-Cookie:%20session=attacker");
      result = await raw(s.port, injected + get("/?type=text/csv"), { responses: 2 });
    });
    const { responses, text } = result!;
    assert.deepEqual(responses.map((res) => res.status), [500, 200]);
    assert.doesNotMatch(text, /set-cookie|attacker/i, text);
    assert.deepEqual(fieldLines(responses[1].head, "content-type"), ["content-type: text/csv"]);
    assert.match(logged, /TypeError/, "the error is in the server's log");
    assert.throws(
      () => new Response("hi", {}, "text/plain\r\nSet-Cookie: a=b"),
      TypeError,
      "thrown where it is made",
    );
  } finally {
    await s.close();
  }
});
