// extras/limit.ts: rateLimit's 429 with Retry-After and its bounded memory, and ipBan's 403, over real TCP.
import assert from "node:assert/strict";
import { ipBan, rateLimit } from "../extras/limit.ts";
import { App, Request } from "../mod.ts";
import { get, raw, sleep, start } from "./helpers.ts";

/** Serves `app` and sends it one pipelined GET per path; each path may name a client: "/?as=ada". */
async function ask(app: App, ...paths: string[]) {
  const s = await start(app);
  try {
    const { responses } = await raw(s.port, paths.map((path) => get(path)).join(""), {
      responses: paths.length,
    });
    assert.equal(responses.length, paths.length, "every request got its answer");
    return responses;
  } finally {
    await s.close();
  }
}

/** Tells clients apart by `?as=`, since every test client comes from 127.0.0.1. */
const byName = (req: Request) => req.query.get("as") ?? "nobody";

Deno.test("rateLimit: past max requests in a window, 429 with Retry-After in whole seconds; no handler runs", async () => {
  let handled = 0;
  const app = new App().use(rateLimit({ windowMs: 60_000, max: 3 })).get("/", () => {
    handled += 1;
    return "ok";
  });
  const responses = await ask(app, "/", "/", "/", "/", "/");
  assert.deepEqual(responses.map((res) => res.status), [200, 200, 200, 429, 429]);
  assert.equal(handled, 3);
  for (const res of responses.slice(3)) {
    const retryAfter = Number(res.headers.get("retry-after"));
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter >= 59 && retryAfter <= 60,
      `Retry-After: ${retryAfter}`,
    );
    assert.match(res.body, /Over 3 requests/);
  }
});

Deno.test("rateLimit counts each client apart: by IP address by default, by `key` if given", async () => {
  const byAddress = new App().use(rateLimit({ windowMs: 60_000, max: 1 })).get("/", () => "ok");
  const s = await start(byAddress);
  try {
    const first = await raw(s.port, get("/"), { responses: 1 });
    const second = await raw(s.port, get("/"), { responses: 1 }); // another connection, the same address
    assert.deepEqual([first.responses[0]?.status, second.responses[0]?.status], [200, 429]);
  } finally {
    await s.close();
  }
  const byKey = new App().use(rateLimit({ windowMs: 60_000, max: 1, key: byName })).get(
    "/",
    () => "ok",
  );
  const responses = await ask(byKey, "/?as=ada", "/?as=bob", "/?as=ada", "/?as=bob", "/?as=cy");
  assert.deepEqual(responses.map((res) => res.status), [200, 200, 429, 429, 200]);
});

Deno.test("rateLimit starts a client's count afresh once its window has ended", async () => {
  const app = new App().use(rateLimit({ windowMs: 300, max: 1 })).get("/", () => "ok");
  const s = await start(app);
  try {
    const before = await raw(s.port, get("/") + get("/"), { responses: 2 });
    assert.deepEqual(before.responses.map((res) => res.status), [200, 429]);
    assert.equal(
      before.responses[1].headers.get("retry-after"),
      "1",
      "0.3 s, rounded up to whole seconds",
    );
    await sleep(400);
    const after = await raw(s.port, get("/"), { responses: 1 });
    assert.equal(after.responses[0]?.status, 200);
  } finally {
    await s.close();
  }
});

Deno.test("rateLimit remembers at most maxClients windows, forgetting the oldest first", async () => {
  const limit = rateLimit({ windowMs: 60_000, max: 1, key: byName, maxClients: 2 });
  const app = new App().use(limit).get("/", () => "ok");
  // ada and bob fill it; cy's window pushes ada's out, so ada starts afresh (and pushes bob's out); cy is still counted.
  const responses = await ask(
    app,
    "/?as=ada",
    "/?as=bob",
    "/?as=cy",
    "/?as=ada",
    "/?as=cy",
    "/?as=ada",
  );
  assert.deepEqual(responses.map((res) => res.status), [200, 200, 200, 200, 429, 429]);
});

Deno.test("rateLimit refuses at set-up a windowMs or a max that makes no sense", () => {
  assert.throws(() => rateLimit({ windowMs: 0, max: 1 }), RangeError);
  assert.throws(() => rateLimit({ windowMs: NaN, max: 1 }), RangeError);
  assert.throws(() => rateLimit({ windowMs: 1000, max: 0 }), RangeError);
  assert.throws(() => rateLimit({ windowMs: 1000, max: 1.5 }), /not an integer/);
});

// ---------------------------------------------------------------- ipBan

Deno.test("ipBan: a banned address gets 403 on every path, before any later middleware or handler runs", async () => {
  let ran = 0;
  const app = new App()
    .use(ipBan({ banned: new Set(["10.9.8.7", "127.0.0.1"]) }))
    .use((_req, next) => {
      ran += 1;
      return next();
    })
    .get("/", () => "ok");
  const responses = await ask(app, "/", "/nowhere", "/?x=1");
  assert.deepEqual(responses.map((res) => res.status), [403, 403, 403]);
  assert.match(responses[0].body, /banned/);
  assert.equal(ran, 0);
});

Deno.test("ipBan reads its Set on every request: an address can be banned, and let back in, while it runs", async () => {
  const banned = new Set<string>();
  const app = new App().use(ipBan({ banned })).get("/", () => "ok");
  const s = await start(app);
  try {
    const status = async () => (await raw(s.port, get("/"), { responses: 1 })).responses[0]?.status;
    assert.equal(await status(), 200);
    banned.add("127.0.0.1");
    assert.equal(await status(), 403);
    banned.delete("127.0.0.1");
    assert.equal(await status(), 200);
  } finally {
    await s.close();
  }
});

Deno.test("ipBan and rateLimit take an IPv4 client of an IPv6 socket, ::ffff:a.b.c.d, as a.b.c.d", async () => {
  // No TCP here: the test listens on 127.0.0.1 only, so the mapped form is made by hand.
  const app = new App().use(ipBan({ banned: new Set(["192.0.2.7"]) })).get("/", () => "ok");
  const from = (remoteAddr: string) =>
    app.handle(new Request("GET", "http://localhost/", { remoteAddr }));
  assert.equal((await from("::ffff:192.0.2.7")).status, 403);
  assert.equal((await from("::FFFF:192.0.2.7")).status, 403);
  assert.equal((await from("::ffff:192.0.2.8")).status, 200);
  const limited = new App().use(rateLimit({ windowMs: 60_000, max: 1 })).get("/", () => "ok");
  const once = (remoteAddr: string) =>
    limited.handle(new Request("GET", "http://localhost/", { remoteAddr }));
  assert.equal((await once("192.0.2.7")).status, 200);
  assert.equal((await once("::ffff:192.0.2.7")).status, 429, "the same client");
});
