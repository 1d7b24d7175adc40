// One App, two servers: Deno's own (`Deno.serve(app.fetch)`) and groundwork's (`app.listen()`). Whatever a client
// can see that matters (status, body, the header fields below) should not depend on which server answered.
import assert from "node:assert/strict";
import { App, HttpError, Response } from "../mod.ts";
import { fetch } from "./helpers.ts";
import { freePort } from "./run_example.ts";

/** An app with one route per kind of answer. */
function makeApp(): App {
  return new App()
    .get("/", () => "Hello, World!")
    .get("/unicode", () => "héllo, wörld ✓")
    .get("/json", () => ({ message: "Hello", list: [1, 2, 3] }))
    .get("/users/:id", (req) => ({ id: req.params.id }))
    .post("/echo", async (req) => {
      const type = req.headers.get("content-type") ?? "application/octet-stream";
      return new Response(await req.bytes(), { headers: { "content-type": type } });
    })
    .get("/limited", () => {
      throw new HttpError(429, "Slow down", { headers: { "retry-after": "7" } });
    })
    .get("/boom", () => {
      throw new Error("a secret in the stack trace");
    })
    .get("/old", () => Response.redirect("/new", 301))
    .get("/cookies", () => {
      const res = new Response("two cookies");
      res.headers.append("set-cookie", "a=1; Path=/; HttpOnly");
      res.headers.append("set-cookie", "b=2; Max-Age=60");
      return res;
    })
    .get(
      "/stream",
      () => ReadableStream.from(["one ", "two ", "three"].map((s) => new TextEncoder().encode(s))),
    )
    .delete("/items/:id", () => null);
}

/** A request to send to both servers. */
type Case = { method: string; path: string; body?: string; headers?: Record<string, string> };
const CASES: Case[] = [
  { method: "GET", path: "/" },
  { method: "GET", path: "/unicode" },
  { method: "GET", path: "/json" },
  { method: "GET", path: "/users/J%C3%B6rg" },
  { method: "GET", path: "/users/%E0%A4%A" }, // a malformed %-escape: 400
  { method: "GET", path: "/nowhere" }, // 404
  { method: "PUT", path: "/json" }, // 405, with Allow
  { method: "OPTIONS", path: "/json" }, // 204, with Allow
  {
    method: "POST",
    path: "/echo",
    body: "ping ✓",
    headers: { "content-type": "text/plain; charset=utf-8" },
  },
  {
    method: "POST",
    path: "/echo",
    body: '{"a":1}',
    headers: { "content-type": "application/json" },
  },
  { method: "GET", path: "/limited" }, // an HttpError with Retry-After
  { method: "GET", path: "/boom" }, // a plain Error: 500
  { method: "GET", path: "/old" }, // a redirect
  { method: "GET", path: "/cookies" },
  { method: "GET", path: "/stream" },
  { method: "DELETE", path: "/items/3" }, // 204
  { method: "HEAD", path: "/" },
  { method: "HEAD", path: "/json" },
  { method: "HEAD", path: "/nowhere" },
];

/** What a client sees of one answer, the fields that matter and no others (not Date, say). */
type Seen = {
  status: number;
  body: string;
  fields: Record<string, string | null>;
  cookies: string[];
};
const FIELDS = ["content-type", "allow", "location", "retry-after"];

/** Sends `c` to the server at `base`, and reads the whole answer. */
async function see(base: string, c: Case): Promise<Seen & { length: string | null }> {
  const res = await fetch(base + c.path, {
    method: c.method,
    body: c.body,
    headers: c.headers,
    redirect: "manual",
  });
  const body = await res.text();
  const fields = Object.fromEntries(FIELDS.map((name) => [name, res.headers.get(name)]));
  return {
    status: res.status,
    body,
    fields,
    cookies: res.headers.getSetCookie(),
    length: res.headers.get("content-length"),
  };
}

Deno.test("Deno.serve(app.fetch) and app.listen() give every request the same answer", async (t) => {
  const app = makeApp();
  const original = console.error;
  console.error = () => {}; // "/boom" logs its error, once per server: not this test's business
  const deno = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, app.fetch);
  // app.listen({ port: 0 }) would pick a free port, but the Server it resolves with doesn't say which: ask first.
  const ownPort = freePort();
  const own = await app.listen({ port: ownPort, hostname: "127.0.0.1", log: false });
  try {
    const denoBase = `http://127.0.0.1:${deno.addr.port}`;
    const ownBase = `http://127.0.0.1:${ownPort}`;
    for (const c of CASES) {
      const what = `${c.method} ${c.path}${
        c.body === undefined ? "" : ` with a ${c.headers?.["content-type"]} body`
      }`;
      await t.step(`${what} gets the same status, body and header fields from both`, async () => {
        const [viaDeno, viaOwn] = [await see(denoBase, c), await see(ownBase, c)];
        assert.equal(viaOwn.status, viaDeno.status, "status");
        assert.equal(viaOwn.body, viaDeno.body, "body");
        assert.deepEqual(viaOwn.fields, viaDeno.fields, "fields");
        assert.deepEqual(viaOwn.cookies, viaDeno.cookies, "set-cookie");
        if (viaOwn.length !== null && viaDeno.length !== null) {
          assert.equal(viaOwn.length, viaDeno.length, "length");
        }
      });
    }
    await t.step("the answers are the ones the app means, not merely the same", async () => {
      const cookies = await see(ownBase, { method: "GET", path: "/cookies" });
      assert.deepEqual(cookies.cookies, ["a=1; Path=/; HttpOnly", "b=2; Max-Age=60"]);
      const redirect = await see(ownBase, { method: "GET", path: "/old" });
      assert.deepEqual([redirect.status, redirect.fields.location], [301, "/new"]);
      const boom = await see(ownBase, { method: "GET", path: "/boom" });
      assert.deepEqual([boom.status, boom.body], [500, "Internal Server Error"]);
      const unicode = await see(ownBase, { method: "GET", path: "/unicode" });
      assert.equal(unicode.length, String(new TextEncoder().encode("héllo, wörld ✓").length));
      const head = await see(ownBase, { method: "HEAD", path: "/" });
      assert.deepEqual([head.status, head.body, head.length], [200, "", "13"]);
    });
  } finally {
    await deno.shutdown();
    await own.close();
    console.error = original;
  }
});
