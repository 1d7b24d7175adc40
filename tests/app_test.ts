// Layer 5, App: middleware, handlers, what they return, and errors turned into responses. No sockets needed:
// `app.handle()` takes groundwork's Request, `app.fetch()` the web's, as `Deno.serve` would pass it.
import assert from "node:assert/strict";
import { App, HttpError, Request, Response } from "../mod.ts";
import { fetch, get, raw, start } from "./helpers.ts";

/** Sends `method path` (with an optional body and headers) to `app.handle()`. */
function call(
  app: App,
  method: string,
  path: string,
  init: { headers?: HeadersInit; body?: string | Uint8Array } = {},
): Promise<Response> {
  const body = typeof init.body === "string" ? new TextEncoder().encode(init.body) : init.body;
  return app.handle(
    new Request(method, `http://localhost${path}`, { headers: init.headers, body }),
  );
}

/** A groundwork Response's body, read whole as text ("" for none). */
async function bodyText(res: Response): Promise<string> {
  const body = res.body;
  if (body instanceof ReadableStream) return await new globalThis.Response(body).text();
  return typeof body === "string" ? body : new TextDecoder().decode(body ?? new Uint8Array());
}

/** Runs `fn` with console.error captured (and restored after): what it printed, one string per call. */
async function capturingErrors<T>(fn: () => Promise<T>): Promise<{ result: T; logged: string[] }> {
  const logged: string[] = [], original = console.error;
  console.error = (...args: unknown[]) =>
    logged.push(args.map((a) => a instanceof Error ? a.stack : a).join(" "));
  try {
    return { result: await fn(), logged };
  } finally {
    console.error = original;
  }
}

// ---------------------------------------------------------------- what a handler returns

Deno.test("sends a returned string as text/plain", async () => {
  const res = await call(new App().get("/", () => "Hello, World!"), "GET", "/");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(await bodyText(res), "Hello, World!");
});

Deno.test("sends a returned object, array, number or boolean as JSON", async () => {
  const app = new App()
    .get("/object", () => ({ id: 7, tags: ["a"] }))
    .get("/array", () => [1, "two", null])
    .get("/number", () => 42)
    .get("/zero", () => 0)
    .get("/false", () => false);
  const expected: Record<string, unknown> = {
    "/object": { id: 7, tags: ["a"] },
    "/array": [1, "two", null],
    "/number": 42,
    "/zero": 0,
    "/false": false,
  };
  for (const [path, value] of Object.entries(expected)) {
    const res = await call(app, "GET", path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("content-type"), "application/json", path);
    assert.deepEqual(JSON.parse(await bodyText(res)), value, path);
  }
});

Deno.test("sends returned bytes as application/octet-stream", async () => {
  const res = await call(
    new App().get("/bytes", () => new Uint8Array([0, 1, 255])),
    "GET",
    "/bytes",
  );
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/octet-stream");
  assert.deepEqual(res.body, new Uint8Array([0, 1, 255]));
});

Deno.test("sends a returned ReadableStream as it comes, typed application/octet-stream", async () => {
  const app = new App().get(
    "/stream",
    () => ReadableStream.from(["a", "b", "c"].map((s) => new TextEncoder().encode(s))),
  );
  const res = await call(app, "GET", "/stream");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/octet-stream");
  assert.ok(res.body instanceof ReadableStream);
  assert.equal(await bodyText(res), "abc");
});

Deno.test("answers a returned null with 204 No Content, no body and no content type", async () => {
  const res = await call(new App().delete("/items/1", () => null), "DELETE", "/items/1");
  assert.equal(res.status, 204);
  assert.equal(res.body, null);
  assert.equal(res.headers.get("content-type"), null);
});

Deno.test("sends a returned Response as it is", async () => {
  const made = Response.html("<h1>Hi</h1>", { status: 201, headers: { "x-made": "by hand" } });
  const res = await call(new App().get("/", () => made), "GET", "/");
  assert.equal(res, made);
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
});

Deno.test("awaits a handler that returns a promise", async () => {
  const res = await call(
    new App().get("/", async () => await Promise.resolve({ later: true })),
    "GET",
    "/",
  );
  assert.deepEqual(JSON.parse(await bodyText(res)), { later: true });
});

Deno.test("answers 500 when a handler returns undefined, with the hint in the log and not in the body", async () => {
  // @ts-expect-error: a handler must return something; this one forgot to, as happens in plain JavaScript
  const app = new App().get("/forgot", () => {});
  const { result: res, logged } = await capturingErrors(() => call(app, "GET", "/forgot"));
  assert.equal(res.status, 500);
  assert.equal(await bodyText(res), "Internal Server Error");
  assert.match(logged.join("\n"), /returned nothing: did you forget to `return`\?/);
});

// ---------------------------------------------------------------- middleware

Deno.test("runs middleware like an onion: in the order added on the way in, reversed on the way out", async () => {
  const trail: string[] = [];
  const app = new App()
    .use(async (_req, next) => {
      trail.push("outer before");
      const res = await next();
      trail.push("outer after");
      return res;
    })
    .use(async (_req, next) => {
      trail.push("inner before");
      const res = await next();
      trail.push("inner after");
      return res;
    })
    .get("/", () => (trail.push("handler"), "done"));
  const res = await call(app, "GET", "/");
  assert.equal(await bodyText(res), "done");
  assert.deepEqual(trail, [
    "outer before",
    "inner before",
    "handler",
    "inner after",
    "outer after",
  ]);
});

Deno.test("lets middleware change the response that next() gives it", async () => {
  const app = new App()
    .use(async (_req, next) => {
      const res = await next();
      res.headers.set("x-powered-by", "groundwork");
      return res;
    })
    .get("/", () => "hi");
  const res = await call(app, "GET", "/");
  assert.equal(res.headers.get("x-powered-by"), "groundwork");
  assert.equal(await bodyText(res), "hi");
});

Deno.test("lets middleware read, after next(), the content type that the handler's result implies", async () => {
  const seen: Record<string, string | null> = {};
  const app = new App()
    .use(async (req, next) => {
      const res = await next();
      seen[req.path] = res.headers.get("content-type");
      return res;
    })
    .get("/object", () => ({ a: 1 }))
    .get("/html", () => Response.html("<p>hi</p>"))
    .get("/text", () => "hi")
    .get("/bytes", () => new Uint8Array([1]))
    .get("/none", () => null);
  const expected = {
    "/object": "application/json",
    "/html": "text/html; charset=utf-8",
    "/text": "text/plain; charset=utf-8",
    "/bytes": "application/octet-stream",
    "/none": null,
  };
  for (const path of Object.keys(expected)) await call(app, "GET", path);
  assert.deepEqual(seen, expected);
});

Deno.test("lets middleware answer without calling next(): the handler and later middleware never run", async () => {
  let reached = false;
  const app = new App()
    .use((req, next) =>
      req.headers.has("authorization") ? next() : new Response("Log in first", { status: 401 })
    )
    .use((_req, next) => (reached = true, next()))
    .get("/secret", () => (reached = true, "the secret"));
  const denied = await call(app, "GET", "/secret");
  assert.equal(denied.status, 401);
  assert.equal(await bodyText(denied), "Log in first");
  assert.equal(reached, false);
  const allowed = await call(app, "GET", "/secret", { headers: { authorization: "Bearer x" } });
  assert.equal(await bodyText(allowed), "the secret");
});

Deno.test("turns what middleware returns into a response, as it does for handlers", async () => {
  const app = new App().use(() => ({ from: "middleware" })).get("/", () => "handler");
  const res = await call(app, "GET", "/");
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.deepEqual(JSON.parse(await bodyText(res)), { from: "middleware" });
});

Deno.test("answers 500 when middleware calls next() twice, and logs why", async () => {
  let runs = 0;
  const app = new App()
    .use(async (_req, next) => {
      await next();
      return await next();
    })
    .get("/", () => (runs++, "once"));
  const { result: res, logged } = await capturingErrors(() => call(app, "GET", "/"));
  assert.equal(res.status, 500);
  assert.equal(await bodyText(res), "Internal Server Error");
  assert.equal(runs, 1);
  assert.match(logged.join("\n"), /next\(\) twice/);
});

Deno.test("runs middleware for paths with no route too, around the 404", async () => {
  const app = new App()
    .use(async (_req, next) => {
      const res = await next();
      res.headers.set("x-seen", "yes");
      return res;
    })
    .get("/", () => "home");
  const res = await call(app, "GET", "/missing");
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("x-seen"), "yes");
});

Deno.test("sets req.params when the route runs: middleware sees none before next(), and the route's after", async () => {
  const seen: Record<string, string>[] = [];
  const app = new App()
    .use(async (req, next) => {
      seen.push({ ...req.params });
      const res = await next();
      seen.push({ ...req.params });
      return res;
    })
    .get("/users/:id", (req) => req.params.id);
  assert.equal(await bodyText(await call(app, "GET", "/users/7")), "7");
  assert.deepEqual(seen, [{}, { id: "7" }]);
});

// ---------------------------------------------------------------- errors

Deno.test("answers an HttpError thrown in a handler with its status and, for a 4xx, its message", async () => {
  const app = new App().get("/tasks/:id", (req) => {
    throw new HttpError(404, `No task ${req.params.id}`);
  });
  const res = await call(app, "GET", "/tasks/7");
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(await bodyText(res), "No task 7");
});

Deno.test("answers an HttpError thrown in middleware the same way, and the handler never runs", async () => {
  let ran = false;
  const app = new App()
    .use(() => {
      throw new HttpError(401, "Log in first", { headers: { "www-authenticate": "Bearer" } });
    })
    .get("/", () => (ran = true, "secret"));
  const res = await call(app, "GET", "/");
  assert.equal(res.status, 401);
  assert.equal(await bodyText(res), "Log in first");
  assert.equal(res.headers.get("www-authenticate"), "Bearer");
  assert.equal(ran, false);
});

Deno.test("keeps an HttpError's headers, such as Retry-After on a 429", async () => {
  const app = new App().post("/login", () => {
    throw new HttpError(429, "Too many tries", { headers: { "retry-after": "30" } });
  });
  const res = await call(app, "POST", "/login");
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "30");
  assert.equal(await bodyText(res), "Too many tries");
});

Deno.test("shows only the reason phrase for a 5xx HttpError, keeping its headers", async () => {
  const app = new App().get("/", () => {
    throw new HttpError(503, "database at 10.0.0.5 is down", { headers: { "retry-after": "120" } });
  });
  const { result: res } = await capturingErrors(() => call(app, "GET", "/"));
  assert.equal(res.status, 503);
  assert.equal(await bodyText(res), "Service Unavailable");
  assert.equal(res.headers.get("retry-after"), "120");
});

Deno.test("shows the reason phrase for a 5xx HttpError whose status is not in the common list, e.g. 502", async () => {
  const app = new App().get("/", () => {
    throw new HttpError(502, "upstream at 10.0.0.9 refused");
  });
  const { result: res } = await capturingErrors(() => call(app, "GET", "/"));
  assert.equal(res.status, 502);
  const text = await bodyText(res);
  assert.doesNotMatch(text, /10\.0\.0\.9/);
  assert.equal(text, "Bad Gateway");
});

Deno.test("answers any other error with 500 Internal Server Error, the details only in the log", async () => {
  const app = new App()
    .get("/error", () => {
      throw new Error("password=hunter2 at db.internal");
    })
    .get("/string", () => {
      throw "a thrown string, password=hunter2";
    })
    .get("/rejected", () => Promise.reject(new TypeError("password=hunter2")));
  for (const path of ["/error", "/string", "/rejected"]) {
    const { result: res, logged } = await capturingErrors(() => call(app, "GET", path));
    assert.equal(res.status, 500, path);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8", path);
    const text = await bodyText(res);
    assert.equal(text, "Internal Server Error", path);
    assert.doesNotMatch(text, /hunter2/, path);
    assert.match(logged.join("\n"), /hunter2/, `${path}: the log has the details`);
  }
});

Deno.test("uses a custom notFound for paths with no route", async () => {
  const app = new App().get("/", () => "home");
  app.notFound = (req) => Response.json({ error: "not found", path: req.path }, { status: 404 });
  const res = await call(app, "GET", "/nope?x=1");
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.deepEqual(JSON.parse(await bodyText(res)), { error: "not found", path: "/nope" });
});

Deno.test("uses a custom onError for errors from handlers, middleware and the router", async () => {
  const app = new App()
    .get("/boom", () => {
      throw new Error("kaboom");
    })
    .get("/gone", () => {
      throw new HttpError(410, "Gone for good");
    });
  const caught: unknown[] = [];
  app.onError = (err, req) => {
    caught.push(err);
    const status = err instanceof HttpError ? err.status : 500;
    return Response.json({
      error: err instanceof Error ? err.message : String(err),
      path: req.path,
    }, { status });
  };
  const boom = await call(app, "GET", "/boom");
  assert.equal(boom.status, 500);
  assert.deepEqual(JSON.parse(await bodyText(boom)), { error: "kaboom", path: "/boom" });
  const gone = await call(app, "GET", "/gone");
  assert.equal(gone.status, 410);
  assert.deepEqual(JSON.parse(await bodyText(gone)), { error: "Gone for good", path: "/gone" });
  const wrongMethod = await call(app, "PUT", "/gone");
  assert.equal(wrongMethod.status, 405);
  assert.equal(caught.length, 3);
});

Deno.test("never throws from handle(), even when a custom onError throws: it answers 500", async () => {
  const app = new App().get("/", () => {
    throw new Error("first");
  });
  app.onError = () => {
    throw new Error("the error handler broke too");
  };
  const { result } = await capturingErrors(() =>
    call(app, "GET", "/").then((res) => res, (err) => err)
  );
  assert.ok(result instanceof Response, `handle() rejected with ${result}`);
  assert.equal(result.status, 500);
});

// ---------------------------------------------------------------- methods: OPTIONS, HEAD, 405

Deno.test("answers OPTIONS on a known path with 204 and Allow listing its methods", async () => {
  const app = new App().get("/items", () => []).post("/items", () => ({}));
  const res = await call(app, "OPTIONS", "/items");
  assert.equal(res.status, 204);
  assert.equal(res.body, null);
  assert.deepEqual(res.headers.get("allow")?.split(", ").sort(), [
    "GET",
    "HEAD",
    "OPTIONS",
    "POST",
  ]);
});

Deno.test("answers OPTIONS on an unknown path with 404", async () => {
  const res = await call(new App().get("/items", () => []), "OPTIONS", "/nothing-here");
  assert.equal(res.status, 404);
});

Deno.test("answers another method on a known path with 405 and Allow", async () => {
  const res = await call(new App().get("/items", () => []), "DELETE", "/items");
  assert.equal(res.status, 405);
  assert.deepEqual(res.headers.get("allow")?.split(", ").sort(), ["GET", "HEAD", "OPTIONS"]);
});

Deno.test("runs the GET handler for HEAD", async () => {
  let method = "";
  const app = new App().get("/page", (req) => (method = req.method, "page body"));
  const res = await call(app, "HEAD", "/page");
  assert.equal(res.status, 200);
  assert.equal(method, "HEAD");
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
});

Deno.test("answers 400 for a path whose %-escape is malformed", async () => {
  const res = await call(
    new App().get("/users/:name", (req) => req.params.name),
    "GET",
    "/users/%E0%A4%A",
  );
  assert.equal(res.status, 400);
});

// ---------------------------------------------------------------- typed params

Deno.test("types req.params from the route's pattern", async () => {
  const app = new App()
    .get("/users/:id", (req) => {
      const id: string = req.params.id;
      // @ts-expect-error: "/users/:id" has no :name
      req.params.name;
      return { id };
    })
    .get("/files/:owner/*", (req) => `${req.params.owner}: ${req.params["*"]}`);
  assert.deepEqual(JSON.parse(await bodyText(await call(app, "GET", "/users/42"))), { id: "42" });
  assert.equal(await bodyText(await call(app, "GET", "/files/ada/a/b.txt")), "ada: a/b.txt");
});

// ---------------------------------------------------------------- the request: body, forms, query (cookies: cookies_test.ts)

Deno.test("answers 400 when req.json() meets invalid JSON", async () => {
  const app = new App().post("/", async (req) => await req.json());
  const res = await call(app, "POST", "/", {
    headers: { "content-type": "application/json" },
    body: "{oops",
  });
  assert.equal(res.status, 400);
  const ok = await call(app, "POST", "/", {
    headers: { "content-type": "application/json" },
    body: '{"a":[1]}',
  });
  assert.deepEqual(JSON.parse(await bodyText(ok)), { a: [1] });
});

Deno.test("reads an urlencoded form with req.form()", async () => {
  const app = new App().post("/", async (req) => Object.fromEntries(await req.form()));
  const res = await call(app, "POST", "/", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "name=J%C3%B6rg&note=a+b%26c",
  });
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(await bodyText(res)), { name: "Jörg", note: "a b&c" });
});

Deno.test("reads a multipart form with req.form(), files included", async () => {
  const app = new App().post("/upload", async (req) => {
    const form = await req.form(), file = form.get("file");
    assert.ok(file instanceof File);
    return { title: form.get("title"), file: file.name, text: await file.text() };
  });
  const form = new FormData();
  form.set("title", "Notes");
  form.set("file", new File(["hello file"], "notes.txt", { type: "text/plain" }));
  const res = await app.fetch(
    new globalThis.Request("http://localhost/upload", { method: "POST", body: form }),
  );
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { title: "Notes", file: "notes.txt", text: "hello file" });
});

Deno.test("answers 415 when req.form() meets another content type, and 400 for a broken multipart form", async () => {
  const app = new App().post("/", async (req) => Object.fromEntries(await req.form()));
  const wrongType = await call(app, "POST", "/", {
    headers: { "content-type": "text/plain" },
    body: "a=1",
  });
  assert.equal(wrongType.status, 415);
  const noType = await call(app, "POST", "/", { body: "a=1" });
  assert.equal(noType.status, 415);
  const noBoundary = await call(app, "POST", "/", {
    headers: { "content-type": "multipart/form-data" },
    body: "--xyz\r\n\r\n",
  });
  assert.equal(noBoundary.status, 400);
  const garbage = await call(app, "POST", "/", {
    headers: { "content-type": "multipart/form-data; boundary=xyz" },
    body: "not multipart at all",
  });
  assert.equal(garbage.status, 400);
});

Deno.test("gives req.query the query string's parameters", async () => {
  const app = new App().get(
    "/search",
    (req) => ({ q: req.query.get("q"), tags: req.query.getAll("tag") }),
  );
  const res = await call(app, "GET", "/search?q=caf%C3%A9&tag=a&tag=b");
  assert.deepEqual(JSON.parse(await bodyText(res)), { q: "café", tags: ["a", "b"] });
});

// ---------------------------------------------------------------- app.fetch: the web's Request and Response

Deno.test("app.fetch answers a web Request with a web Response", async () => {
  const app = new App().post(
    "/echo/:name",
    async (req) => ({ name: req.params.name, body: await req.text() }),
  );
  const res = await app.fetch(
    new globalThis.Request("http://localhost/echo/Ada", { method: "POST", body: "hi" }),
  );
  assert.ok(res instanceof globalThis.Response);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.deepEqual(await res.json(), { name: "Ada", body: "hi" });
});

Deno.test("app.fetch passes on the client's address from Deno.serve's info", async () => {
  const app = new App().get("/", (req) => req.remoteAddr);
  const info = {
    remoteAddr: { transport: "tcp" as const, hostname: "10.1.2.3", port: 4567 },
    completed: Promise.resolve(),
  };
  const res = await app.fetch(new globalThis.Request("http://localhost/"), info);
  assert.equal(await res.text(), "10.1.2.3");
});

Deno.test("app.fetch answers 413 when a handler reads a body over maxBodyBytes", async () => {
  const app = new App({ maxBodyBytes: 10 }).post("/", async (req) => (await req.text()).length);
  const big = await app.fetch(
    new globalThis.Request("http://localhost/", { method: "POST", body: "x".repeat(11) }),
  );
  assert.equal(big.status, 413);
  await big.body?.cancel();
  const fits = await app.fetch(
    new globalThis.Request("http://localhost/", { method: "POST", body: "x".repeat(10) }),
  );
  assert.equal(fits.status, 200);
  assert.equal(await fits.text(), "10");
});

Deno.test("app.fetch answers normally when the handler never reads a body over maxBodyBytes", async () => {
  const app = new App({ maxBodyBytes: 10 }).post("/", () => "ignored it");
  const res = await app.fetch(
    new globalThis.Request("http://localhost/", { method: "POST", body: "x".repeat(100) }),
  );
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ignored it");
});

Deno.test("app.fetch answers 413 for a streamed body over maxBodyBytes, read as JSON", async () => {
  const app = new App({ maxBodyBytes: 8 }).post("/", async (req) => await req.json());
  const body = ReadableStream.from(["[1,", "2,3,", "4,5]"].map((s) => new TextEncoder().encode(s)));
  const res = await app.fetch(
    new globalThis.Request("http://localhost/", { method: "POST", body }),
  );
  assert.equal(res.status, 413);
  await res.body?.cancel();
});

Deno.test("app.fetch sends no body for 204 or 304", async () => {
  const app = new App()
    .get("/none", () => null)
    .get("/cached", () => new Response("stale", { status: 304, headers: { etag: '"v1"' } }));
  for (const [path, status] of [["/none", 204], ["/cached", 304]] as const) {
    const res = await app.fetch(new globalThis.Request(`http://localhost${path}`));
    assert.equal(res.status, status, path);
    assert.equal(res.body, null, path);
  }
  const cached = await app.fetch(new globalThis.Request("http://localhost/cached"));
  assert.equal(cached.headers.get("etag"), '"v1"');
});

Deno.test("app.fetch answers HEAD with GET's response, for Deno.serve to drop the body and keep its length", async () => {
  const app = new App().get("/page", () => "héllo"); // 6 bytes, 5 characters
  const head = await app.fetch(new globalThis.Request("http://localhost/page", { method: "HEAD" }));
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(
    (await head.bytes()).length,
    6,
    "the body is there for Deno.serve to measure; it never sends it",
  );
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  try {
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/page`, { method: "HEAD" });
    assert.equal(res.headers.get("content-length"), "6");
    assert.equal(await res.text(), "");
  } finally {
    await server.shutdown();
  }
});

Deno.test("app.fetch keeps each Set-Cookie apart", async () => {
  const app = new App().get("/", () => {
    const res = new Response("ok");
    res.headers.append("set-cookie", "a=1; Path=/; HttpOnly");
    res.headers.append("set-cookie", "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT");
    return res;
  });
  const res = await app.fetch(new globalThis.Request("http://localhost/"));
  assert.deepEqual(res.headers.getSetCookie(), [
    "a=1; Path=/; HttpOnly",
    "b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
  ]);
  await res.body?.cancel();
});

// ---------------------------------------------------------------- mistakes a handler can make

Deno.test("converts a handler's web Response (the global one) into groundwork's: status, fields and body", async () => {
  // Both classes are called Response, and it is easy to forget the import: the web's one is taken as it is meant.
  const app = new App().get("/web", () =>
    new globalThis.Response("made with the web's class", {
      status: 201,
      headers: { "x-kind": "web", "content-type": "text/x-web" },
    }));
  const res = await call(app, "GET", "/web");
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("x-kind"), "web");
  assert.equal(res.headers.get("content-type"), "text/x-web");
  assert.equal(await bodyText(res), "made with the web's class");
});

Deno.test("sends a web Response from a handler over the wire like any other, on groundwork's server", async () => {
  const app = new App().get(
    "/web",
    () => new globalThis.Response("web", { headers: { "x-kind": "web" } }),
  );
  const s = await start(app);
  try {
    const { responses } = await raw(s.port, get("/web"), { responses: 1 });
    assert.equal(responses[0]?.status, 200);
    assert.equal(responses[0].headers.get("x-kind"), "web");
    assert.equal(responses[0].body, "web");
  } finally {
    await s.close();
  }
});

Deno.test("app.fetch on Deno.serve reads a body with a Content-Length in one go, and refuses one over the limit", async () => {
  const app = new App({ maxBodyBytes: 1000 }).post("/", async (req) => await req.bytes());
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`,
      body = new Uint8Array(1000).map((_, i) => i % 251);
    const fits = await fetch(url, { method: "POST", body }); // fetch declares Content-Length: 1000
    assert.equal(fits.status, 200);
    assert.deepEqual(new Uint8Array(await fits.arrayBuffer()), body);
    const over = await fetch(url, { method: "POST", body: new Uint8Array(1001) });
    assert.equal(over.status, 413);
    await over.body?.cancel();
  } finally {
    await server.shutdown();
  }
});

Deno.test("app.fetch reads a body in one go only for a well-formed Content-Length within the limit", async () => {
  const app = new App({ maxBodyBytes: 1000 }).post("/", async (req) => (await req.bytes()).length);
  for (const length of ["", "-1", "1e3", "0x10"]) { // not digits: the body is streamed, and held to the limit
    const web = new globalThis.Request("http://localhost/", {
      method: "POST",
      body: "x".repeat(2000),
    });
    web.headers.set("content-length", length);
    const res = await app.fetch(web);
    assert.equal(res.status, 413, `Content-Length ${JSON.stringify(length)}`);
    await res.body?.cancel();
  }
});

// ---------------------------------------------------------------- what middleware sees after next()

Deno.test("gives middleware a Response from next() for every outcome: 200, HttpError, 404, 405, OPTIONS, a thrown Error", async () => {
  const seen: number[] = [];
  const app = new App()
    .use(async (_req, next) => {
      const res = await next(); // a timing, logging or CORS middleware needs every answer here
      seen.push(res.status);
      res.headers.set("x-seen", "yes");
      return res;
    })
    .get("/ok", () => "ok")
    .get("/teapot", () => {
      throw new HttpError(418, "Short and stout");
    })
    .get("/boom", () => {
      throw new Error("a bug");
    })
    .post("/only-post", () => "posted");
  const cases: [string, string, number][] = [
    ["GET", "/ok", 200],
    ["GET", "/teapot", 418],
    ["GET", "/nowhere", 404],
    ["GET", "/only-post", 405],
    ["OPTIONS", "/only-post", 204],
    ["GET", "/boom", 500],
  ];
  const { logged } = await capturingErrors(async () => {
    for (const [method, path, status] of cases) {
      const res = await call(app, method, path);
      assert.equal(res.status, status, `${method} ${path}`);
      assert.equal(res.headers.get("x-seen"), "yes", `${method} ${path}: the middleware saw it`);
    }
  });
  assert.deepEqual(seen, cases.map((c) => c[2]));
  assert.equal(logged.length, 1, "only the bug is logged");
});

Deno.test("turns an error into its response where it is thrown, so outer middleware sees a middleware's error too", async () => {
  const seen: number[] = [];
  const app = new App()
    .use(async (_req, next) => {
      const res = await next();
      seen.push(res.status);
      return res;
    })
    .use(() => {
      throw new HttpError(401, "Log in first");
    })
    .get("/", () => "never");
  const res = await call(app, "GET", "/");
  assert.equal(res.status, 401);
  assert.equal(await bodyText(res), "Log in first");
  assert.deepEqual(seen, [401]);
});

Deno.test("runs onError where the error is thrown, and gives its answer to the middleware around", async () => {
  const seen: string[] = [];
  const app = new App()
    .use(async (_req, next) => {
      const res = await next();
      seen.push(`${res.status} ${await bodyText(res)}`);
      return new Response("wrapped", { status: res.status });
    })
    .get("/", () => {
      throw new HttpError(409, "Taken");
    });
  app.onError = (err) =>
    new Response(`custom: ${(err as HttpError).message}`, { status: (err as HttpError).status });
  const res = await call(app, "GET", "/");
  assert.deepEqual(seen, ["409 custom: Taken"]);
  assert.equal(await bodyText(res), "wrapped");
});

Deno.test("survives a middleware that calls next() without awaiting it while the handler throws, and serves on", async () => {
  // Before, the handler's error came back as a rejected promise that nobody awaited: an unhandled rejection, which
  // ends a Deno process (and fails this test).
  const app = new App()
    .use((_req, next) => {
      next();
      return "answered without waiting";
    })
    .get("/", () => {
      throw new HttpError(400, "too late to matter");
    });
  const first = await call(app, "GET", "/");
  assert.equal(await bodyText(first), "answered without waiting");
  await new Promise((resolve) => setTimeout(resolve, 50)); // time for a rejection to surface, if there were one
  const second = await call(app, "GET", "/");
  assert.equal(second.status, 200);
});

// ---------------------------------------------------------------- reason phrases and route methods

/** Every status code in IANA's HTTP Status Code Registry, with its reason phrase (418: RFC 2324's name). */
const REGISTRY: [number, string][] = [
  [100, "Continue"],
  [101, "Switching Protocols"],
  [102, "Processing"],
  [103, "Early Hints"],
  [200, "OK"],
  [201, "Created"],
  [202, "Accepted"],
  [203, "Non-Authoritative Information"],
  [204, "No Content"],
  [205, "Reset Content"],
  [206, "Partial Content"],
  [207, "Multi-Status"],
  [208, "Already Reported"],
  [226, "IM Used"],
  [300, "Multiple Choices"],
  [301, "Moved Permanently"],
  [302, "Found"],
  [303, "See Other"],
  [304, "Not Modified"],
  [305, "Use Proxy"],
  [307, "Temporary Redirect"],
  [308, "Permanent Redirect"],
  [400, "Bad Request"],
  [401, "Unauthorized"],
  [402, "Payment Required"],
  [403, "Forbidden"],
  [404, "Not Found"],
  [405, "Method Not Allowed"],
  [406, "Not Acceptable"],
  [407, "Proxy Authentication Required"],
  [408, "Request Timeout"],
  [409, "Conflict"],
  [410, "Gone"],
  [411, "Length Required"],
  [412, "Precondition Failed"],
  [413, "Content Too Large"],
  [414, "URI Too Long"],
  [415, "Unsupported Media Type"],
  [416, "Range Not Satisfiable"],
  [417, "Expectation Failed"],
  [418, "I'm a teapot"],
  [421, "Misdirected Request"],
  [422, "Unprocessable Content"],
  [423, "Locked"],
  [424, "Failed Dependency"],
  [425, "Too Early"],
  [426, "Upgrade Required"],
  [428, "Precondition Required"],
  [429, "Too Many Requests"],
  [431, "Request Header Fields Too Large"],
  [451, "Unavailable For Legal Reasons"],
  [500, "Internal Server Error"],
  [501, "Not Implemented"],
  [502, "Bad Gateway"],
  [503, "Service Unavailable"],
  [504, "Gateway Timeout"],
  [505, "HTTP Version Not Supported"],
  [506, "Variant Also Negotiates"],
  [507, "Insufficient Storage"],
  [508, "Loop Detected"],
  [510, "Not Extended"],
  [511, "Network Authentication Required"],
];

Deno.test("knows the reason phrase of every final status code in the IANA registry", () => {
  // A handler's answer is final (2xx to 5xx): 1xx answers are the server's own, e.g. 100 Continue.
  for (const [status, phrase] of REGISTRY.filter(([status]) => status >= 200)) {
    assert.equal(new HttpError(status).message, phrase, `${status}`);
  }
});

Deno.test("refuses an HttpError whose status is not a final one, at once, where the mistake is", () => {
  for (const status of [100, 199, 600, 700, 404.5]) {
    assert.throws(() => new HttpError(status), RangeError, `${status}`);
  }
});

Deno.test("sends 418, 451 and 504 with their reason phrases, and a 5xx HttpError's message stays in the server", async () => {
  const app = new App()
    .get("/418", () => {
      throw new HttpError(418);
    })
    .get("/451", () => {
      throw new HttpError(451, "Blocked here by court order");
    })
    .get("/504", () => {
      throw new HttpError(504, "upstream timed out");
    });
  const s = await start(app);
  try {
    for (
      const [path, line, body] of [
        ["/418", "HTTP/1.1 418 I'm a teapot", "I'm a teapot"],
        ["/451", "HTTP/1.1 451 Unavailable For Legal Reasons", "Blocked here by court order"],
        ["/504", "HTTP/1.1 504 Gateway Timeout", "Gateway Timeout"],
      ]
    ) {
      const { responses } = await raw(s.port, get(path), { responses: 1 });
      assert.equal(responses[0]?.head.split("\r\n")[0], line, path);
      assert.equal(responses[0].body, body, path);
    }
  } finally {
    await s.close();
  }
});

Deno.test("has route methods for OPTIONS and HEAD: the constructor's configuration is not in their way", async () => {
  const app = new App({ maxBodyBytes: 10 })
    .options("/x", () => new Response(null, { status: 204, headers: { allow: "GET, OPTIONS" } }))
    .head("/x", () => new Response(null, { headers: { "x-head": "own" } }))
    .get("/x", () => "got");
  const options = await call(app, "OPTIONS", "/x");
  assert.equal(options.headers.get("allow"), "GET, OPTIONS");
  assert.equal((await call(app, "HEAD", "/x")).headers.get("x-head"), "own");
  assert.equal(await bodyText(await call(app, "GET", "/x")), "got");
});
