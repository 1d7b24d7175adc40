// extras/cors.ts: preflights, and the CORS fields on answers of every kind, over real TCP.
import assert from "node:assert/strict";
import { cors, type CorsOptions } from "../extras/cors.ts";
import { App, HttpError, Response } from "../mod.ts";
import { raw, start } from "./helpers.ts";

const SITE = "https://app.example.com";
const OTHER = "https://evil.example";

/** A request's bytes: `method path`, with header fields. */
function request(method: string, path: string, fields: Record<string, string> = {}): string {
  const lines = Object.entries(fields).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${lines}${
    method === "POST" ? "Content-Length: 0\r\n" : ""
  }\r\n`;
}

/** A preflight's bytes: what a browser sends from `origin` before a PUT with a JSON body and a token. */
function preflight(
  origin: string,
  path = "/api/items",
  method = "PUT",
  headers = "content-type, x-token",
): string {
  return request("OPTIONS", path, {
    Origin: origin,
    "Access-Control-Request-Method": method,
    "Access-Control-Request-Headers": headers,
  });
}

/** An app behind cors(`options`), whose handlers count how often they ran. */
function api(options: CorsOptions) {
  const ran = { count: 0 };
  const handler = () => {
    ran.count += 1;
    return { ok: true };
  };
  const app = new App()
    .use(cors(options))
    .get("/api/items", handler)
    .put("/api/items", handler)
    .get("/api/missing", () => {
      throw new HttpError(404, "No such item");
    })
    .get("/api/broken", () => {
      throw new Error("a bug, whose message stays on the server");
    })
    .get("/api/varied", () => new Response("varied", { headers: { vary: "Accept-Encoding" } }));
  return { app, ran };
}

/** Serves `app`, sends `requests` down one connection, and returns the answers. */
async function send(app: App, ...requests: string[]) {
  const s = await start(app);
  try {
    const { responses } = await raw(s.port, requests.join(""), { responses: requests.length });
    assert.equal(responses.length, requests.length, "every request got its answer");
    return responses;
  } finally {
    await s.close();
  }
}

/** The Access-Control-* fields of an answer, and its Vary, by name. */
function corsFields(headers: Headers): Record<string, string> {
  return Object.fromEntries([...headers].filter(([name]) => /^(access-control-|vary$)/.test(name)));
}

// ---------------------------------------------------------------- preflights

Deno.test("a preflight from an allowed origin gets 204: the methods, the fields asked for that are allowed, Max-Age, Vary", async () => {
  const { app, ran } = api({
    origin: [SITE],
    methods: ["GET", "PUT"],
    headers: ["Content-Type"],
    maxAge: 300,
  });
  const [res] = await send(app, preflight(SITE));
  assert.equal(res.status, 204);
  assert.deepEqual(corsFields(res.headers), {
    "access-control-allow-origin": SITE,
    "access-control-allow-methods": "GET, PUT",
    "access-control-allow-headers": "content-type", // x-token was asked for, and is not allowed
    "access-control-max-age": "300",
    vary: "Origin",
  });
  assert.equal(ran.count, 0, "no handler runs for a preflight");
});

Deno.test("a preflight gets the default methods (GET, HEAD, POST) and Max-Age (600), and no Allow-Headers if none is allowed", async () => {
  const { app } = api({ origin: SITE });
  const [res] = await send(app, preflight(SITE, "/anywhere"));
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("access-control-allow-methods"), "GET, HEAD, POST");
  assert.equal(res.headers.get("access-control-max-age"), "600");
  assert.equal(res.headers.get("access-control-allow-headers"), null);
});

Deno.test("a preflight from an origin not allowed gets 403 with no CORS fields, before any handler runs", async () => {
  const { app, ran } = api({ origin: [SITE, "https://admin.example.com"] });
  const [res, next] = await send(app, preflight(OTHER), request("GET", "/api/items"));
  assert.equal(res.status, 403);
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  assert.equal(res.headers.get("vary"), "Origin");
  assert.equal(next.status, 200, "and the connection carries on");
  assert.equal(ran.count, 1, "only the GET ran");
});

Deno.test("an OPTIONS without Access-Control-Request-Method is no preflight: the app answers it (204 with Allow)", async () => {
  const { app } = api({ origin: SITE });
  const [res] = await send(app, request("OPTIONS", "/api/items", { Origin: SITE }));
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("allow"), "GET, PUT, HEAD, OPTIONS");
  assert.equal(res.headers.get("access-control-allow-methods"), null);
  assert.equal(res.headers.get("access-control-allow-origin"), SITE);
});

// ---------------------------------------------------------------- answers

Deno.test("an answer to an allowed origin gets Allow-Origin, Expose-Headers and Vary: Origin; to another, only Vary", async () => {
  const { app, ran } = api({ origin: [SITE], exposeHeaders: ["X-Request-Id", "X-Total"] });
  const [allowed, other, none] = await send(
    app,
    request("GET", "/api/items", { Origin: SITE }),
    request("GET", "/api/items", { Origin: OTHER }),
    request("GET", "/api/items"),
  );
  assert.deepEqual(corsFields(allowed.headers), {
    "access-control-allow-origin": SITE,
    "access-control-expose-headers": "X-Request-Id, X-Total",
    vary: "Origin",
  });
  assert.deepEqual(
    corsFields(other.headers),
    { vary: "Origin" },
    "answered, but a browser hides it from the page",
  );
  assert.deepEqual(
    corsFields(none.headers),
    { vary: "Origin" },
    "a cache must not give this one to a CORS request",
  );
  assert.equal(ran.count, 3, "CORS is no access control: the app still answers every one");
});

Deno.test('origin "*" allows any origin with Allow-Origin: *', async () => {
  const { app } = api({ origin: "*" });
  const [res, pre] = await send(
    app,
    request("GET", "/api/items", { Origin: OTHER }),
    preflight(OTHER),
  );
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.equal(res.headers.get("access-control-allow-credentials"), null);
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get("access-control-allow-origin"), "*");
});

Deno.test("with credentials, the allowed origin is echoed (never *) with Allow-Credentials: true", async () => {
  const { app } = api({ origin: [SITE], credentials: true });
  const [res, pre] = await send(
    app,
    request("GET", "/api/items", { Origin: SITE }),
    preflight(SITE),
  );
  for (const answer of [res, pre]) {
    assert.equal(answer.headers.get("access-control-allow-origin"), SITE);
    assert.equal(answer.headers.get("access-control-allow-credentials"), "true");
  }
});

Deno.test('refuses at set-up origin "*" with credentials (saying why), an origin with a path, and a bad maxAge', () => {
  assert.throws(() => cors({ origin: "*", credentials: true }), /browsers refuse that/);
  for (const origin of [`${SITE}/`, "app.example.com", "https://app.example.com/api", "null"]) {
    assert.throws(() => cors({ origin: [origin] }), /is not an origin/, origin);
  }
  assert.throws(
    () => cors({ origin: "HTTPS://APP.EXAMPLE.COM" }),
    /is not an origin/,
    "browsers send it in lowercase",
  );
  assert.throws(() => cors({ origin: SITE, maxAge: 1.5 }), /whole number of seconds/);
});

Deno.test("a function decides which origins are allowed; it may be async, and it gets the request", async () => {
  const seen: string[] = [];
  const { app } = api({
    origin: async (origin, req) => {
      seen.push(`${req.method} ${origin}`);
      await Promise.resolve();
      return origin.endsWith(".example.com");
    },
  });
  const [ok, refused, pre] = await send(
    app,
    request("GET", "/api/items", { Origin: SITE }),
    request("GET", "/api/items", { Origin: OTHER }),
    preflight(OTHER),
  );
  assert.equal(ok.headers.get("access-control-allow-origin"), SITE);
  assert.equal(refused.headers.get("access-control-allow-origin"), null);
  assert.equal(pre.status, 403);
  assert.deepEqual(seen, [`GET ${SITE}`, `GET ${OTHER}`, `OPTIONS ${OTHER}`]);
});

Deno.test("the CORS fields go on a 404, a thrown HttpError and a 405 too, and Vary keeps the app's own", async () => {
  const { app } = api({ origin: SITE });
  const origin = { Origin: SITE };
  const responses = await send(
    app,
    request("GET", "/nowhere", origin), // notFound's 404
    request("GET", "/api/missing", origin), // a handler's HttpError 404
    request("POST", "/api/items", origin), // the router's 405
    request("GET", "/api/varied", origin),
  );
  assert.deepEqual(responses.map((res) => res.status), [404, 404, 405, 200]);
  for (const res of responses) {
    assert.equal(res.headers.get("access-control-allow-origin"), SITE, res.head);
  }
  assert.equal(responses[3].headers.get("vary"), "Accept-Encoding, Origin");
});

// An error becomes its 500 where it is thrown, inside every middleware: cors sees it from next().
Deno.test({
  name:
    "the CORS fields go on a 500 from a handler that throws, and its message stays on the server",
  fn: async () => {
    const { app } = api({ origin: SITE });
    const [res] = await send(app, request("GET", "/api/broken", { Origin: SITE }));
    assert.equal(res.status, 500);
    assert.equal(res.headers.get("access-control-allow-origin"), SITE);
    assert.doesNotMatch(res.body, /a bug/);
  },
});
