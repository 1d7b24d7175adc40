// Layer 4, Router: a method and a path to a value, or null (404), or an HttpError (405, or 400 for a bad %-escape).
import assert from "node:assert/strict";
import { HttpError, Router } from "../mod.ts";

/** The HttpError that `fn` throws; fails the test if it throws nothing, or something else. */
function httpErrorOf(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof HttpError, `expected an HttpError, got ${err}`);
    return err;
  }
  assert.fail("expected an HttpError, but nothing was thrown");
}

// ---------------------------------------------------------------- matching

Deno.test("matches a static path to its value, with no params", () => {
  const router = new Router<string>().add("GET", "/", "home").add("GET", "/about/team", "team");
  assert.deepEqual(router.match("GET", "/"), { value: "home", params: {} });
  assert.deepEqual(router.match("GET", "/about/team"), { value: "team", params: {} });
});

Deno.test("returns null for a path that no route has: the caller answers 404", () => {
  const router = new Router<string>().add("GET", "/about", "about");
  assert.equal(router.match("GET", "/contact"), null);
  assert.equal(router.match("GET", "/about/more"), null);
  assert.equal(router.match("GET", "/ab"), null);
});

Deno.test("captures a :param segment by name", () => {
  const router = new Router<string>().add("GET", "/users/:id/posts/:post", "post");
  assert.deepEqual(router.match("GET", "/users/42/posts/7"), {
    value: "post",
    params: { id: "42", post: "7" },
  });
});

Deno.test("percent-decodes a :param: J%C3%B6rg is Jörg", () => {
  const router = new Router<string>().add("GET", "/users/:name", "user");
  assert.deepEqual(router.match("GET", "/users/J%C3%B6rg")?.params, { name: "Jörg" });
  assert.deepEqual(router.match("GET", "/users/a%2Fb%20c")?.params, { name: "a/b c" });
});

Deno.test("throws HttpError 400 for a :param with a malformed %-escape", () => {
  const router = new Router<string>().add("GET", "/users/:name", "user");
  for (const path of ["/users/%E0%A4%A", "/users/%zz", "/users/100%"]) {
    assert.equal(httpErrorOf(() => router.match("GET", path)).status, 400, path);
  }
});

Deno.test("does not match a :param to an empty segment", () => {
  const router = new Router<string>().add("GET", "/users/:id", "user").add("GET", "/a/:x/b", "ab");
  assert.equal(router.match("GET", "/users/"), null);
  assert.equal(router.match("GET", "/a//b"), null);
});

Deno.test("matches a trailing * to the rest of the path: nothing, an empty segment, or several segments", () => {
  const router = new Router<string>().add("GET", "/static/*", "files");
  assert.deepEqual(router.match("GET", "/static"), { value: "files", params: { "*": "" } });
  assert.deepEqual(router.match("GET", "/static/"), { value: "files", params: { "*": "" } });
  assert.deepEqual(router.match("GET", "/static/a"), { value: "files", params: { "*": "a" } });
  assert.deepEqual(router.match("GET", "/static/a/b/c.css"), {
    value: "files",
    params: { "*": "a/b/c.css" },
  });
  assert.equal(router.match("GET", "/staticky"), null);
});

Deno.test("captures :params before a trailing * together with it", () => {
  const router = new Router<string>().add("GET", "/repos/:owner/*", "tree");
  assert.deepEqual(router.match("GET", "/repos/ada/src/mod.ts")?.params, {
    owner: "ada",
    "*": "src/mod.ts",
  });
});

Deno.test("prefers a static segment to a :param, whichever was added first", () => {
  const paramFirst = new Router<string>().add("GET", "/users/:id", "one user").add(
    "GET",
    "/users/me",
    "me",
  );
  const staticFirst = new Router<string>().add("GET", "/users/me", "me").add(
    "GET",
    "/users/:id",
    "one user",
  );
  for (const router of [paramFirst, staticFirst]) {
    assert.deepEqual(router.match("GET", "/users/me"), { value: "me", params: {} });
    assert.deepEqual(router.match("GET", "/users/42"), { value: "one user", params: { id: "42" } });
  }
});

Deno.test("prefers a :param to a *, and falls back to the * when the :param can't match", () => {
  const router = new Router<string>().add("GET", "/files/*", "rest").add(
    "GET",
    "/files/:name",
    "one",
  );
  assert.deepEqual(router.match("GET", "/files/a.txt"), {
    value: "one",
    params: { name: "a.txt" },
  });
  assert.deepEqual(router.match("GET", "/files/dir/a.txt"), {
    value: "rest",
    params: { "*": "dir/a.txt" },
  });
  assert.deepEqual(router.match("GET", "/files/"), { value: "rest", params: { "*": "" } });
});

Deno.test("backtracks from a static segment that leads nowhere to a :param at the same depth", () => {
  const router = new Router<string>().add("GET", "/a/:x/c", "param").add("GET", "/a/b/d", "static");
  assert.deepEqual(router.match("GET", "/a/b/d"), { value: "static", params: {} });
  assert.deepEqual(router.match("GET", "/a/b/c"), { value: "param", params: { x: "b" } });
  assert.deepEqual(router.match("GET", "/a/z/c"), { value: "param", params: { x: "z" } });
  assert.equal(router.match("GET", "/a/z/d"), null);
});

Deno.test("backtracks to a * higher up when nothing deeper matches", () => {
  const router = new Router<string>().add("GET", "/docs/*", "any doc").add(
    "GET",
    "/docs/:page/edit",
    "edit",
  );
  assert.deepEqual(router.match("GET", "/docs/intro/edit"), {
    value: "edit",
    params: { page: "intro" },
  });
  assert.deepEqual(router.match("GET", "/docs/intro/view"), {
    value: "any doc",
    params: { "*": "intro/view" },
  });
});

// ---------------------------------------------------------------- methods

Deno.test("keeps routes with the same path apart by method", () => {
  const router = new Router<string>().add("GET", "/items", "list").add("POST", "/items", "create");
  assert.equal(router.match("GET", "/items")?.value, "list");
  assert.equal(router.match("POST", "/items")?.value, "create");
});

Deno.test("serves HEAD with the GET route when there is no HEAD route", () => {
  const router = new Router<string>().add("GET", "/page", "get page");
  assert.deepEqual(router.match("HEAD", "/page"), { value: "get page", params: {} });
  const both = new Router<string>().add("GET", "/page", "get page").add(
    "HEAD",
    "/page",
    "head page",
  );
  assert.equal(both.match("HEAD", "/page")?.value, "head page");
});

Deno.test("throws HttpError 405 for a known path with another method, Allow listing its methods, HEAD and OPTIONS", () => {
  const router = new Router<string>().add("GET", "/items", "list").add("POST", "/items", "create");
  const err = httpErrorOf(() => router.match("DELETE", "/items"));
  assert.equal(err.status, 405);
  assert.deepEqual(err.headers.get("allow")?.split(", ").sort(), [
    "GET",
    "HEAD",
    "OPTIONS",
    "POST",
  ]);
  assert.match(err.message, /DELETE/);
});

Deno.test("lists HEAD in Allow only when the path has a GET route", () => {
  const router = new Router<string>().add("POST", "/form", "submit");
  const err = httpErrorOf(() => router.match("GET", "/form"));
  assert.equal(err.status, 405);
  assert.deepEqual(err.headers.get("allow")?.split(", ").sort(), ["OPTIONS", "POST"]);
  assert.equal(httpErrorOf(() => router.match("HEAD", "/form")).status, 405);
});

Deno.test("lists each method once in Allow, even with explicit HEAD and OPTIONS routes", () => {
  const router = new Router<string>().add("GET", "/x", "get").add("HEAD", "/x", "head").add(
    "OPTIONS",
    "/x",
    "options",
  );
  const allow = httpErrorOf(() => router.match("PUT", "/x")).headers.get("allow")?.split(", ") ??
    [];
  assert.deepEqual([...allow].sort(), [...new Set(allow)].sort(), `Allow: ${allow.join(", ")}`);
  assert.deepEqual([...new Set(allow)].sort(), ["GET", "HEAD", "OPTIONS"]);
});

Deno.test("gathers Allow from every route that matches the path: static, :param and *", () => {
  const router = new Router<string>()
    .add("GET", "/items/new", "form")
    .add("PUT", "/items/:id", "replace")
    .add("DELETE", "/items/*", "remove");
  const err = httpErrorOf(() => router.match("PATCH", "/items/new"));
  assert.deepEqual(err.headers.get("allow")?.split(", ").sort(), [
    "DELETE",
    "GET",
    "HEAD",
    "OPTIONS",
    "PUT",
  ]);
});

Deno.test("answers 404 (null), not 405, when no route has the path under any method", () => {
  const router = new Router<string>().add("POST", "/items", "create");
  assert.equal(router.match("GET", "/other"), null);
});

// ---------------------------------------------------------------- registration

const MALFORMED: [string, string][] = [
  ["with no leading slash", "users"],
  ["with no leading slash, several segments", "users/:id"],
  ["that is empty", ""],
  ["with a ?", "/search?q"],
  ["with a %", "/caf%C3%A9"],
  ["with a space", "/my page"],
  ["with a : that has no name", "/users/:"],
  ["with a :param name that starts with a digit", "/users/:1x"],
  ["with a :param name used twice", "/users/:id/posts/:id"],
  ["with a * that is not last", "/files/*/raw"],
  ["with a . segment", "/a/./b"],
  ["with a .. segment", "/a/../b"],
];
for (const [why, pattern] of MALFORMED) {
  Deno.test(`refuses a pattern ${why}, naming the pattern in the error: ${JSON.stringify(pattern)}`, () => {
    assert.throws(
      () => new Router<string>().add("GET", pattern, "x"),
      (err: unknown) => err instanceof Error && err.message.includes(`"${pattern}"`),
    );
  });
}

Deno.test("refuses a second route with the same method and shape, even with other param names", () => {
  const router = new Router<string>().add("GET", "/u/:id", "first");
  assert.throws(() => router.add("GET", "/u/:name", "second"), /\/u\/:name/);
  assert.throws(() => router.add("GET", "/u/:id", "again"), /\/u\/:id/);
  const rest = new Router<string>().add("GET", "/files/*", "first");
  assert.throws(() => rest.add("GET", "/files/*", "second"), Error);
  assert.equal(router.match("GET", "/u/1")?.value, "first");
});

Deno.test("accepts the same shape with another method", () => {
  const router = new Router<string>().add("GET", "/u/:id", "read").add("PUT", "/u/:name", "write");
  assert.deepEqual(router.match("GET", "/u/7"), { value: "read", params: { id: "7" } });
  assert.deepEqual(router.match("PUT", "/u/7"), { value: "write", params: { name: "7" } });
});

// ---------------------------------------------------------------- scale

Deno.test("registers 1,000 routes of every kind, and matches each to its own value", () => {
  const router = new Router<number>();
  const patterns = (i: number) =>
    [`/s${i}/about`, `/p${i}/users/:id`, `/w${i}/files/*`, `/n${i}/:a/x/:b`][i % 4];
  for (let i = 0; i < 1000; i++) router.add(i % 3 === 0 ? "POST" : "GET", patterns(i), i);
  for (let i = 0; i < 1000; i++) {
    const method = i % 3 === 0 ? "POST" : "GET";
    const [path, params] = [
      [`/s${i}/about`, {}],
      [`/p${i}/users/u${i}`, { id: `u${i}` }],
      [`/w${i}/files/d/${i}.txt`, { "*": `d/${i}.txt` }],
      [`/n${i}/one/x/two`, { a: "one", b: "two" }],
    ][i % 4] as [string, Record<string, string>];
    assert.deepEqual(router.match(method, path), { value: i, params }, `${method} ${path}`);
  }
  assert.equal(router.match("GET", "/s1000/about"), null);
});

Deno.test("lets a static segment share its text with a :param's name: /:x/x is a fine pattern", () => {
  const router = new Router<string>().add("GET", "/:x/x", "x of x");
  assert.deepEqual(router.match("GET", "/7/x"), { value: "x of x", params: { x: "7" } });
});
