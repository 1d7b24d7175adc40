// Layer 3, Response: what a handler builds, and what of it reaches the wire.
import assert from "node:assert/strict";
import { App, HttpError, Response } from "../mod.ts";
import { encoder, get, raw, start } from "./helpers.ts";

/** Runs `fn` with a fresh temporary directory, and removes the directory afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "groundwork_response_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads a response's body whole, as text. */
async function bodyText(res: Response): Promise<string> {
  const body = res.body;
  if (body instanceof ReadableStream) return await new globalThis.Response(body).text();
  return typeof body === "string" ? body : new TextDecoder().decode(body ?? new Uint8Array());
}

// ---------------------------------------------------------------- construction

Deno.test("gives text a text/plain content type, with UTF-8 as its charset", () => {
  const res = new Response("hello");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(res.body, "hello");
});

Deno.test("gives bytes and streams the application/octet-stream content type", async () => {
  assert.equal(new Response(new Uint8Array([1, 2, 3])).headers.get("content-type"), "application/octet-stream");
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
  const res = Response.json({ id: 7, tags: ["a"] }, { status: 201, headers: { location: "/items/7" } });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("location"), "/items/7");
  assert.deepEqual(JSON.parse(await bodyText(res)), { id: 7, tags: ["a"] });
  const problem = Response.json({ title: "Oops" }, { headers: { "content-type": "application/problem+json" } });
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
  for (const status of [301, 307, 308]) assert.equal(Response.redirect("/", status).status, status);
});

Deno.test("Response.redirect() throws for a status that is not a redirect", () => {
  for (const status of [200, 300, 304, 404]) {
    assert.throws(() => Response.redirect("/", status), RangeError, `status ${status}`);
  }
});

// ---------------------------------------------------------------- files

Deno.test("Response.file() takes its content type from the extension, and sets Content-Length", async () => {
  await inTempDir(async (dir) => {
    const types = {
      "page.html": "text/html; charset=utf-8",
      "style.css": "text/css; charset=utf-8",
      "app.js": "text/javascript; charset=utf-8",
      "data.json": "application/json",
      "notes.txt": "text/plain; charset=utf-8",
      "logo.svg": "image/svg+xml",
      "PHOTO.PNG": "image/png",
      "photo.jpeg": "image/jpeg",
      "archive.unknownext": "application/octet-stream",
    };
    for (const [name, type] of Object.entries(types)) {
      await Deno.writeTextFile(`${dir}/${name}`, `contents of ${name}`);
      const res = await Response.file(`${dir}/${name}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), type, name);
      assert.equal(res.headers.get("content-length"), String(encoder.encode(`contents of ${name}`).length), name);
      assert.equal(await bodyText(res), `contents of ${name}`, name);
    }
  });
});

Deno.test("Response.file() keeps the status and headers it is given", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/report.txt`, "report");
    const res = await Response.file(`${dir}/report.txt`, {
      status: 203,
      headers: { "cache-control": "max-age=60", "content-type": "text/x-report" },
    });
    assert.equal(res.status, 203);
    assert.equal(res.headers.get("cache-control"), "max-age=60");
    assert.equal(res.headers.get("content-type"), "text/x-report");
    assert.equal(await bodyText(res), "report");
  });
});

Deno.test("Response.file() throws HttpError 404 for a missing file and for a directory", async () => {
  await inTempDir(async (dir) => {
    const is404 = (err: unknown) => err instanceof HttpError && err.status === 404;
    await assert.rejects(Response.file(`${dir}/missing.txt`), is404);
    await assert.rejects(Response.file(dir), is404);
  });
});

Deno.test("serves a file bigger than 1 MiB over TCP, byte for byte", async () => {
  await inTempDir(async (dir) => {
    const data = new Uint8Array(1024 * 1024 + 123_457); // an odd size: no chunk boundary lines up by luck
    for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
    await Deno.writeFile(`${dir}/big.bin`, data);
    const s = await start(new App().get("/big.bin", () => Response.file(`${dir}/big.bin`)));
    try {
      const res = await fetch(`${s.url}/big.bin`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), String(data.length));
      assert.equal(res.headers.get("transfer-encoding"), null);
      const got = new Uint8Array(await res.arrayBuffer());
      assert.equal(got.length, data.length);
      assert.ok(got.every((byte, i) => byte === data[i]), "every byte arrived as it is on disk");
    } finally {
      await s.close();
    }
  });
});

Deno.test("answers a missing file or a directory with 404 through an App", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/sub`);
    const app = new App().get("/files/*", (req) => Response.file(`${dir}/${req.params["*"]}`));
    const s = await start(app);
    try {
      const { responses } = await raw(s.port, get("/files/missing.txt") + get("/files/sub"), { responses: 2 });
      assert.deepEqual(responses.map((res) => res.status), [404, 404]);
    } finally {
      await s.close();
    }
  });
});

// ---------------------------------------------------------------- on the wire

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
