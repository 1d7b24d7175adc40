// Routes and route groups, as a builder meets them: all(), on(), options() and head(), and the 405 with Allow that
// a known path gives for another method; apps mounted with app.route(prefix, app), each with its own middleware; and
// app.request(), which answers a web Request with a web Response and needs no socket. Most tests go through
// app.request(); the last ones go over real TCP, to show that the server answers the same.
import assert from "node:assert/strict";
import { App, HttpError, type Middleware, Request, Response } from "../mod.ts";
import { capturingStderr, get, raw, start } from "./helpers.ts";

/** The methods an answer's Allow field lists, sorted: the order of a list says nothing (RFC 9110 10.2.1). */
function allowOf(res: globalThis.Response): string[] {
  return (res.headers.get("allow") ?? "").split(", ").filter((method) => method !== "").sort();
}

/** A middleware that notes `name` in `log` on the way in, and `name` + " after" on the way out. */
function noting(log: string[], name: string): Middleware {
  return async (_req, next) => {
    log.push(name);
    const res = await next();
    log.push(`${name} after`);
    return res;
  };
}

/** Asks `app` for `path` with `method`, and gives the status and the body's text. */
async function ask(app: App, method: string, path: string): Promise<[number, string]> {
  const res = await app.request(path, { method });
  return [res.status, await res.text()];
}

// ---------------------------------------------------------------- all, on, options, head, and 405

Deno.test("all() answers every method on its path, one of its own too, and so never gives a 405", async () => {
  const app = new App().all("/echo", (req) => req.method);
  for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"]) {
    assert.deepEqual(await ask(app, method, "/echo"), [200, method]);
  }
});

Deno.test("a get() beside an all() takes GET and HEAD; all() takes every other method", async () => {
  const app = new App().all("/thing", () => "any").get("/thing", () => "get");
  assert.deepEqual(await ask(app, "GET", "/thing"), [200, "get"]);
  assert.deepEqual(await ask(app, "POST", "/thing"), [200, "any"]);
  // app.handle() shows which handler ran: GET's. (A server then sends its fields, and no body.)
  const head = await app.handle(new Request("HEAD", "http://localhost/thing"));
  assert.equal(head.body, "get");
});

Deno.test("on() routes several methods to one handler; another method gets 405 with Allow naming them", async () => {
  const app = new App().on(["GET", "POST"], "/form", (req) => `${req.method} /form`);
  assert.deepEqual(await ask(app, "GET", "/form"), [200, "GET /form"]);
  assert.deepEqual(await ask(app, "POST", "/form"), [200, "POST /form"]);
  const put = await app.request("/form", { method: "PUT" });
  assert.equal(put.status, 405);
  assert.deepEqual(allowOf(put), ["GET", "HEAD", "OPTIONS", "POST"]);
  assert.match(await put.text(), /PUT is not allowed here/);
});

Deno.test("on() with one method is get(), post() and the rest by another name", async () => {
  const app = new App().on("PATCH", "/x", () => "patched").on("PURGE", "/x", () => "purged");
  assert.deepEqual(await ask(app, "PATCH", "/x"), [200, "patched"]);
  assert.deepEqual(await ask(app, "PURGE", "/x"), [200, "purged"]);
  assert.deepEqual(allowOf(await app.request("/x")), ["OPTIONS", "PATCH", "PURGE"]);
});

Deno.test("options() answers OPTIONS itself; without it, OPTIONS gets 204 with the path's Allow and no body", async () => {
  const own = new App()
    .get("/x", () => "x")
    .options("/x", () => new Response(null, { status: 200, headers: { allow: "GET" } }));
  const ownAnswer = await own.request("/x", { method: "OPTIONS" });
  assert.deepEqual([ownAnswer.status, ownAnswer.headers.get("allow")], [200, "GET"]);

  const plain = new App().get("/x", () => "x").delete("/x", () => null);
  const answer = await plain.request("/x", { method: "OPTIONS" });
  assert.equal(answer.status, 204);
  assert.deepEqual(allowOf(answer), ["DELETE", "GET", "HEAD", "OPTIONS"]);
  assert.equal(await answer.text(), "");
});

Deno.test("OPTIONS for a path that no route has is that path's 404, not a 204", async () => {
  const app = new App().get("/x", () => "x");
  const res = await app.request("/nothing", { method: "OPTIONS" });
  assert.equal(res.status, 404);
  assert.equal(res.headers.get("allow"), null);
});

Deno.test("head() answers HEAD itself; without it, HEAD runs the GET route (its fields, and no body on the wire)", async () => {
  const own = new App()
    .get("/x", () => "the page")
    .head("/x", () => new Response(null, { headers: { "x-from": "head()" } }));
  const ownHead = await own.request("/x", { method: "HEAD" });
  assert.equal(ownHead.headers.get("x-from"), "head()");

  const plain = new App().get(
    "/x",
    () => new Response("the page", { headers: { "x-from": "get()" } }),
  );
  const head = await plain.request("/x", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("x-from"), "get()");
  await head.body?.cancel();
});

Deno.test("a HEAD with neither a HEAD nor a GET route is a 405, and Allow does not offer HEAD", async () => {
  const app = new App().post("/form", () => "posted");
  const res = await app.request("/form", { method: "HEAD" });
  assert.equal(res.status, 405);
  assert.deepEqual(allowOf(res), ["OPTIONS", "POST"]);
  await res.body?.cancel();
});

Deno.test("Allow lists every method once: on()'s, head()'s and options()', HEAD beside GET, OPTIONS always", async () => {
  const app = new App()
    .on(["GET", "PUT"], "/doc", () => "doc")
    .head("/doc", () => null)
    .options("/doc", () => null);
  const res = await app.request("/doc", { method: "DELETE" });
  assert.equal(res.status, 405);
  assert.deepEqual(allowOf(res), ["GET", "HEAD", "OPTIONS", "PUT"]);
  await res.body?.cancel();
});

Deno.test("a second route for a method and path fails at set-up, whether it comes from get(), on() or all()", () => {
  assert.throws(
    () => new App().on(["GET", "POST"], "/x", () => "a").post("/x", () => "b"),
    /Route POST \/x clashes with \/x: keep one/,
  );
  assert.throws(
    () => new App().all("/x", () => "a").all("/x", () => "b"),
    /Route \* \/x clashes/,
  );
});

// ---------------------------------------------------------------- route groups: app.route(prefix, app)

Deno.test("a mounted app answers under its prefix: its /users/:id is /api/users/:id, with its own params", async () => {
  const api = new App()
    .get("/users/:id", (req) => ({ id: req.params.id, path: req.path }))
    .post("/users", () => new Response("created", { status: 201 }));
  const app = new App().get("/", () => "home").route("/api", api);
  const user = await app.request("/api/users/J%C3%B6rg");
  assert.deepEqual(await user.json(), { id: "Jörg", path: "/api/users/J%C3%B6rg" });
  assert.deepEqual(await ask(app, "POST", "/api/users"), [201, "created"]);
  assert.deepEqual(await ask(app, "GET", "/"), [200, "home"]);
});

Deno.test("/api and /api/ both reach the mounted app's /", async () => {
  const api = new App().get("/", () => "the api's root");
  const app = new App().route("/api", api);
  assert.deepEqual(await ask(app, "GET", "/api"), [200, "the api's root"]);
  assert.deepEqual(await ask(app, "GET", "/api/"), [200, "the api's root"]);
});

Deno.test("a mounted app's middleware runs exactly once for /api, /api/, /api/x and a 404 under /api", async () => {
  // Hono and Oak users meet use("/api") matching "/api" but not "/api/x", and use("/api/*") the other way round, so
  // a middleware runs twice or never. Here a mounted app's middleware is scoped by the mount: once for each request.
  const log: string[] = [];
  const api = new App().use(noting(log, "api")).get("/", () => "root").get("/x", () => "x");
  const app = new App().route("/api", api);
  for (const path of ["/api", "/api/", "/api/x", "/api/nothing"]) {
    log.length = 0;
    const res = await app.request(path);
    await res.body?.cancel();
    assert.deepEqual(log, ["api", "api after"], path);
  }
});

Deno.test("a mounted app's middleware never runs outside its prefix: not for the parent's routes, nor /apix", async () => {
  const log: string[] = [];
  const api = new App().use(noting(log, "api")).get("/x", () => "x");
  const app = new App()
    .get("/", () => "home")
    .get("/apix", () => "not the api")
    .get("/api/health", () => "the parent's own")
    .route("/api", api);
  for (const path of ["/", "/apix", "/nothing", "/api/health"]) {
    const res = await app.request(path);
    await res.body?.cancel();
  }
  assert.deepEqual(log, [], "the api's middleware ran for a path that is not the api's");
  assert.deepEqual(await ask(app, "GET", "/api/health"), [200, "the parent's own"]);
});

Deno.test("sibling mounts are isolated: a's middleware never runs for b's routes, nor b's for a's", async () => {
  const log: string[] = [];
  const a = new App().use(noting(log, "a")).get("/x", () => "a x");
  const b = new App().use(noting(log, "b")).get("/x", () => "b x");
  // A sibling whose prefix starts with another's: the longer prefix wins for its paths.
  const admin = new App().use(noting(log, "admin")).get("/x", () => "admin x");
  const app = new App().route("/a", a).route("/b", b).route("/a/admin", admin);
  const cases: [string, string, string[]][] = [
    ["/a/x", "a x", ["a", "a after"]],
    ["/b/x", "b x", ["b", "b after"]],
    ["/a/admin/x", "admin x", ["admin", "admin after"]],
    ["/b/nothing", "Nothing at /b/nothing", ["b", "b after"]],
  ];
  for (const [path, body, expected] of cases) {
    log.length = 0;
    assert.equal((await ask(app, "GET", path))[1], body, path);
    assert.deepEqual(log, expected, path);
  }
});

Deno.test("parent middleware runs around a mounted app's answers: its 200s, its 404s, its 405s and its errors", async () => {
  const log: string[] = [];
  const api = new App()
    .use(noting(log, "api"))
    .get("/ok", () => "ok")
    .get("/teapot", () => {
      throw new HttpError(418);
    });
  const app = new App()
    .use(noting(log, "parent"))
    .use(async (_req, next) => {
      const res = await next();
      res.headers.set("x-parent", String(res.status));
      return res;
    })
    .route("/api", api);
  for (
    const [method, path, status] of [["GET", "/api/ok", 200], ["GET", "/api/none", 404], [
      "POST",
      "/api/ok",
      405,
    ], ["GET", "/api/teapot", 418]] as const
  ) {
    log.length = 0;
    const res = await app.request(path, { method });
    await res.body?.cancel();
    assert.equal(res.status, status, path);
    assert.equal(res.headers.get("x-parent"), String(status), `${method} ${path}`);
    assert.deepEqual(log, ["parent", "api", "api after", "parent after"], `${method} ${path}`);
  }
});

Deno.test("a bug in a mounted app is a 500 that the parent's middleware sees, and its message stays in the server", async () => {
  const api = new App().get("/bug", () => {
    throw new Error("secret detail");
  });
  let seen = 0;
  const app = new App()
    .use(async (_req, next) => {
      const res = await next();
      seen = res.status;
      return res;
    })
    .route("/api", api);
  let res: globalThis.Response | undefined;
  const printed = await capturingStderr(async () => {
    res = await app.request("/api/bug");
  });
  assert.equal(res?.status, 500);
  assert.equal(seen, 500);
  assert.equal(await res?.text(), "Internal Server Error");
  assert.match(printed, /secret detail/, "logged on the server");
});

Deno.test("a path under the prefix that the mounted app lacks is its 404, by its own notFound", async () => {
  const api = new App().get("/x", () => "x");
  api.notFound = (req) => Response.json({ error: `no ${req.path} in the api` }, { status: 404 });
  const app = new App().get("/", () => "home").route("/api", api);
  app.notFound = () => new Response("the site's 404 page", { status: 404 });
  const inApi = await app.request("/api/missing");
  assert.equal(inApi.status, 404);
  assert.deepEqual(await inApi.json(), { error: "no /api/missing in the api" });
  assert.deepEqual(await ask(app, "GET", "/missing"), [404, "the site's 404 page"]);
});

Deno.test("a known path in a mounted app with the wrong method is a 405 with that app's Allow; OPTIONS gets it as 204", async () => {
  const api = new App().get("/items", () => []).post("/items", () => null);
  const app = new App().delete("/items", () => null).route("/api", api);
  const put = await app.request("/api/items", { method: "PUT" });
  assert.equal(put.status, 405);
  assert.deepEqual(allowOf(put), ["GET", "HEAD", "OPTIONS", "POST"]);
  await put.body?.cancel();
  const options = await app.request("/api/items", { method: "OPTIONS" });
  assert.equal(options.status, 204);
  assert.deepEqual(allowOf(options), ["GET", "HEAD", "OPTIONS", "POST"]);
});

Deno.test("HEAD falls back to a mounted app's GET route", async () => {
  const api = new App().get("/page", () => new Response("page", { headers: { "x-page": "1" } }));
  const app = new App().route("/api", api);
  const head = await app.request("/api/page", { method: "HEAD" });
  assert.deepEqual([head.status, head.headers.get("x-page")], [200, "1"]);
  await head.body?.cancel();
});

Deno.test("middleware added after route(), to the parent or to the mounted app, still runs", async () => {
  const log: string[] = [];
  const api = new App().get("/x", () => "x");
  const app = new App().route("/api", api);
  app.use(noting(log, "parent"));
  api.use(noting(log, "api"));
  assert.deepEqual(await ask(app, "GET", "/api/x"), [200, "x"]);
  assert.deepEqual(log, ["parent", "api", "api after", "parent after"]);
});

Deno.test({
  // Found while writing these tests: route() once sliced the prefix off the whole path, not off the path within the
  // app that mounts it, so an app mounted in a mounted app answered 404 to every path.
  name:
    "nested mounts: /api/v1/users reaches v1's /users, with api's middleware and v1's, once each",
  async fn() {
    const log: string[] = [];
    const v1 = new App().use(noting(log, "v1")).get("/users", () => "v1's users");
    const api = new App().use(noting(log, "api")).get("/", () => "api root").route("/v1", v1);
    const app = new App().route("/api", api);
    assert.deepEqual(await ask(app, "GET", "/api/v1/users"), [200, "v1's users"]);
    assert.deepEqual(log, ["api", "v1", "v1 after", "api after"]);
    assert.deepEqual(await ask(app, "GET", "/api/v1"), [404, "Nothing at /api/v1"]);
    assert.deepEqual(await ask(app, "GET", "/api"), [200, "api root"]);
  },
});

Deno.test("a bad prefix fails at set-up, with a message that says what a prefix is", () => {
  const api = new App();
  for (const prefix of ["", "/", "api", "/api/", "/a//b", "/:id", "/files/*"]) {
    assert.throws(
      () => new App().route(prefix, api),
      new RegExp(`^Error: Bad prefix "${prefix.replaceAll("*", "\\*")}": a path of fixed segments`),
      JSON.stringify(prefix),
    );
  }
  // Characters no URL path holds as they are are refused by the router, naming the route it would have made.
  assert.throws(() => new App().route("/a b", api), /Bad route "\/a b\/\*"/);
});

// ---------------------------------------------------------------- app.request(): a web Response, no socket

Deno.test("app.request() returns a web Response: its status, its header fields, its body", async () => {
  const app = new App().get(
    "/users/:id",
    (req) =>
      Response.json({ id: req.params.id }, { status: 200, headers: { "x-user": req.params.id } }),
  );
  const res = await app.request("/users/7");
  assert.ok(res instanceof globalThis.Response);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("x-user"), "7");
  assert.deepEqual(await res.json(), { id: "7" });
});

Deno.test("app.request() takes a method and a body: text, JSON with its type, and a form", async () => {
  const app = new App()
    .post("/users/:id", async (req) => ({ id: req.params.id, ...await req.json<object>() }))
    .put("/notes", async (req) => `${req.headers.get("content-type")}: ${await req.text()}`)
    .post("/form", async (req) => Object.fromEntries(await req.form()));

  // As the README shows it.
  const body = JSON.stringify({ name: "Ada" });
  const created = await app.request("/users/7", { method: "POST", body });
  assert.equal(created.status, 200);
  assert.deepEqual(await created.json(), { id: "7", name: "Ada" });

  const note = await app.request("/notes", {
    method: "PUT",
    headers: { "content-type": "text/markdown" },
    body: "# hi",
  });
  assert.equal(await note.text(), "text/markdown: # hi");

  const form = new FormData();
  form.set("name", "Ada");
  const posted = await app.request("/form", { method: "POST", body: form });
  assert.deepEqual(await posted.json(), { name: "Ada" });
});

Deno.test("app.request() takes a path with a query, or a whole URL, whose host the app sees", async () => {
  const app = new App().get("/search", (req) => `${req.url.host} ${req.query.get("q")}`);
  assert.deepEqual(await ask(app, "GET", "/search?q=deno"), [200, "localhost deno"]);
  assert.deepEqual(await ask(app, "GET", "https://example.com/search?q=x"), [200, "example.com x"]);
  const url = await app.request(new URL("http://127.0.0.1:9/search?q=url"));
  assert.equal(await url.text(), "127.0.0.1:9 url");
});

Deno.test("app.request() answers as the server would: 404, 405 with Allow, 413, and a 500 that tells nothing", async () => {
  const app = new App({ maxBodyBytes: 4 })
    .get("/x", () => "x")
    .post("/upload", async (req) => (await req.bytes()).length)
    .get("/bug", () => {
      throw new Error("secret");
    });
  assert.deepEqual(await ask(app, "GET", "/nothing"), [404, "Nothing at /nothing"]);
  const wrong = await app.request("/x", { method: "DELETE" });
  assert.deepEqual([wrong.status, allowOf(wrong)], [405, ["GET", "HEAD", "OPTIONS"]]);
  await wrong.body?.cancel();
  const big = await app.request("/upload", { method: "POST", body: "12345" });
  assert.equal(big.status, 413);
  await big.body?.cancel();
  let bug: globalThis.Response | undefined;
  await capturingStderr(async () => {
    bug = await app.request("/bug");
  });
  assert.deepEqual([bug?.status, await bug?.text()], [500, "Internal Server Error"]);
});

Deno.test({
  // Found while writing these tests: app.request() once handed back app.fetch's Response as it is, and app.fetch
  // leaves a HEAD's body to Deno.serve, which drops it; with no server in between, a HEAD got GET's body.
  name: "app.request() gives a HEAD no body, as every server does",
  async fn() {
    const app = new App().get("/page", () => "the page");
    const head = await app.request("/page", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  },
});

// ---------------------------------------------------------------- the same over real TCP

Deno.test("over TCP, a mounted app answers with its routes, its 404, its 405 with Allow, and HEAD without a body", async () => {
  const log: string[] = [];
  const api = new App().use(noting(log, "api")).get("/users", () => "users");
  const app = new App().use(noting(log, "parent")).route("/api", api);
  const server = await start(app);
  try {
    const requests = [
      get("/api/users"),
      get("/api/missing"),
      "POST /api/users HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
    ].join("");
    const { responses } = await raw(server.port, requests, { responses: 3 });
    assert.deepEqual(responses.map((res) => [res.status, res.body]), [
      [200, "users"],
      [404, "Nothing at /api/missing"],
      [405, "POST is not allowed here; GET, HEAD, OPTIONS are"],
    ]);
    assert.deepEqual(responses[2].headers.get("allow")?.split(", ").sort(), [
      "GET",
      "HEAD",
      "OPTIONS",
    ]);
    assert.equal(
      log.filter((name) => name === "api").length,
      3,
      "the api's middleware, once per request",
    );

    const head = await raw(server.port, "HEAD /api/users HTTP/1.1\r\nHost: localhost\r\n\r\n", {
      responses: 1,
      method: "HEAD",
    });
    assert.equal(head.responses[0].status, 200);
    assert.equal(head.responses[0].headers.get("content-length"), "5", "GET's length");
    assert.ok(head.text.endsWith("\r\n\r\n"), "no body after the head");
  } finally {
    await server.close();
  }
});

Deno.test("over TCP, OPTIONS on a path with routes gets 204 and Allow, and an all() route answers any method", async () => {
  const app = new App().get("/x", () => "x").put("/x", () => "put").all(
    "/any",
    (req) => req.method,
  );
  const server = await start(app);
  try {
    const { responses } = await raw(
      server.port,
      "OPTIONS /x HTTP/1.1\r\nHost: localhost\r\n\r\n" +
        "PURGE /any HTTP/1.1\r\nHost: localhost\r\n\r\n",
      { responses: 2 },
    );
    assert.equal(responses[0].status, 204);
    assert.deepEqual(responses[0].headers.get("allow")?.split(", ").sort(), [
      "GET",
      "HEAD",
      "OPTIONS",
      "PUT",
    ]);
    assert.deepEqual([responses[1].status, responses[1].body], [200, "PURGE"]);
  } finally {
    await server.close();
  }
});
