// extras/cookies.ts: the Cookie header read, Set-Cookie lines written, and signed cookies, over real TCP.
import assert from "node:assert/strict";
import {
  deleteCookie,
  getCookies,
  getSignedCookie,
  setCookie,
  setSignedCookie,
} from "../extras/cookies.ts";
import { App, Request, Response } from "../mod.ts";
import { get, raw, start } from "./helpers.ts";

const SECRET = "a secret of at least 32 bytes, for these tests only";

/** Serves `app`, sends it a GET / for each Cookie field value ("" for none), and returns the answers. */
async function ask(app: App, ...cookies: string[]) {
  const s = await start(app);
  try {
    const requests = cookies.map((cookie) =>
      get("/", ...(cookie === "" ? [] : [`Cookie: ${cookie}`]))
    );
    const { responses } = await raw(s.port, requests.join(""), { responses: cookies.length });
    assert.equal(responses.length, cookies.length, "every request got its answer");
    return responses;
  } finally {
    await s.close();
  }
}

/** JSON with every character past ASCII escaped: the raw helper reads bytes as Latin-1, not UTF-8. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** An app whose GET / answers with the cookies it was sent, as JSON. */
const echo = () => new App().get("/", (req) => asciiJson({ ...getCookies(req) }));

// ---------------------------------------------------------------- getCookies

Deno.test("getCookies parses several cookies: a quoted value loses its quotes, an = inside a value stays", async () => {
  const [res, none] = await ask(echo(), 'session=abc123; theme="dark mode"; token=a=b==;x=1', "");
  assert.deepEqual(JSON.parse(res.body), {
    session: "abc123",
    theme: "dark mode",
    token: "a=b==",
    x: "1",
  });
  assert.deepEqual(JSON.parse(none.body), {}, "no Cookie header: no cookies");
});

Deno.test("getCookies percent-decodes each value, and keeps a malformed escape as it was sent", async () => {
  const [res] = await ask(
    echo(),
    "theme=dark%20mode; name=J%C3%B6rg; plus=a+b; broken=100%; half=%E2%82",
  );
  assert.deepEqual(JSON.parse(res.body), {
    theme: "dark mode",
    name: "Jörg",
    plus: "a+b",
    broken: "100%",
    half: "%E2%82",
  });
});

Deno.test("getCookies keeps a cookie name that holds a space whole, and skips a pair without =", async () => {
  const [spaced, bare] = await ask(echo(), "my cookie=2", "a=1; lonely; b=x=y");
  assert.deepEqual(JSON.parse(spaced.body), { "my cookie": "2" }, 'and no cookie named "cookie"');
  assert.deepEqual(JSON.parse(bare.body), { a: "1", b: "x=y" });
});

Deno.test("getCookies gives the first of two same-named cookies (the browser sends the most specific first)", async () => {
  const [res] = await ask(echo(), "id=from-the-deeper-path; id=from-the-root");
  assert.deepEqual(JSON.parse(res.body), { id: "from-the-deeper-path" });
});

Deno.test("getCookies returns an object without a prototype: __proto__ is just a cookie", async () => {
  let seen: Record<string, string> = {};
  const app = new App().get("/", (req) => {
    seen = getCookies(req);
    return "ok";
  });
  await ask(app, "__proto__=x; constructor=y; toString=z");
  assert.equal(Object.getPrototypeOf(seen), null);
  assert.deepEqual(Object.entries(seen), [["__proto__", "x"], ["constructor", "y"], [
    "toString",
    "z",
  ]]);
  assert.equal(seen.hasOwnProperty, undefined, "no inherited methods either");
});

// ---------------------------------------------------------------- setCookie and deleteCookie

/** The set-cookie lines of a raw answer, as they were on the wire. */
function setCookieLines(head: string): string[] {
  return head.split("\r\n").filter((line) => /^set-cookie:/i.test(line)).map((line) =>
    line.slice(12)
  );
}

Deno.test("setCookie sends each attribute on the Set-Cookie line, each cookie on its own line", async () => {
  const expires = new Date(Date.UTC(2037, 9, 21, 7, 28));
  const app = new App().get("/", () => {
    const res = new Response("set");
    setCookie(res, "session", "abc", {
      maxAge: 3600,
      path: "/",
      httpOnly: true,
      secure: true,
      sameSite: "Lax",
    });
    setCookie(res, "theme", "dark", {
      expires,
      domain: "example.com",
      sameSite: "None",
      secure: true,
    });
    setCookie(res, "plain", "1");
    return res;
  });
  const [res] = await ask(app, "");
  assert.deepEqual(setCookieLines(res.head), [
    "session=abc; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax",
    "theme=dark; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Domain=example.com; Secure; SameSite=None",
    "plain=1",
  ]);
});

Deno.test("setCookie percent-encodes the value, so any string comes back as it was", async () => {
  const value = 'a; b, "c" d=e\\f é 🍪 %41';
  const app = new App().get("/", (req) => {
    const res = new Response(asciiJson(getCookies(req).odd ?? null));
    setCookie(res, "odd", value);
    return res;
  });
  const [first] = await ask(app, "");
  const [line] = setCookieLines(first.head);
  assert.match(line, /^odd=[\w%!'()*.~-]+$/, "only cookie-octets, no ; or space");
  const [second] = await ask(app, line);
  assert.equal(JSON.parse(second.body), value);
});

Deno.test("setCookie refuses a name that is not a token, saying which character and what to use", () => {
  for (
    const [name, character] of [["my cookie", '" "'], ["a;b", '";"'], ["a=b", '"="'], [
      "café",
      '"é"',
    ]]
  ) {
    assert.throws(() => setCookie(new Response(), name, "1"), (err: Error) => {
      assert.ok(err instanceof TypeError);
      assert.ok(err.message.includes(character), err.message);
      assert.match(err.message, /use letters, digits/);
      return true;
    });
  }
  assert.throws(() => setCookie(new Response(), "", "1"), TypeError);
});

Deno.test("setCookie refuses what a browser would drop: SameSite=None or a __Secure- name without Secure", () => {
  assert.throws(
    () => setCookie(new Response(), "a", "1", { sameSite: "None" }),
    /needs secure: true/,
  );
  assert.throws(() => setCookie(new Response(), "__Secure-id", "1"), /needs secure: true/);
  assert.throws(
    () => setCookie(new Response(), "__Host-id", "1", { path: "/" }),
    /needs secure: true/,
  );
  const res = new Response();
  setCookie(res, "a", "1", { sameSite: "None", secure: true });
  assert.deepEqual(res.headers.getSetCookie(), ["a=1; Secure; SameSite=None"]);
});

Deno.test("setCookie refuses a Max-Age that is not whole seconds, an invalid Expires, and a ; in a path", () => {
  assert.throws(
    () => setCookie(new Response(), "a", "1", { maxAge: 1.5 }),
    /whole number of seconds/,
  );
  assert.throws(() => setCookie(new Response(), "a", "1", { maxAge: NaN }), TypeError);
  assert.throws(
    () => setCookie(new Response(), "a", "1", { expires: new Date("soon") }),
    /invalid Date/,
  );
  assert.throws(
    () => setCookie(new Response(), "a", "1", { path: "/; Domain=evil.example" }),
    /";"/,
  );
  assert.throws(() => setCookie(new Response(), "a", "1", { domain: "ex\nample.com" }), TypeError);
});

Deno.test("deleteCookie sends Max-Age=0 with the cookie's path and domain (and Secure for a prefixed name)", async () => {
  const app = new App().get("/", () => {
    const res = Response.redirect("/login", 303);
    deleteCookie(res, "session", { path: "/", domain: "example.com" });
    deleteCookie(res, "__Secure-token");
    return res;
  });
  const [res] = await ask(app, "session=abc");
  assert.equal(res.status, 303);
  assert.deepEqual(setCookieLines(res.head), [
    "session=; Max-Age=0; Domain=example.com; Path=/",
    "__Secure-token=; Max-Age=0; Secure",
  ]);
});

// ---------------------------------------------------------------- signed cookies

/** An app: GET /set?v=... signs a cookie "user"; GET / answers with what getSignedCookie makes of it. */
function signedApp(secret: string) {
  return new App()
    .get("/set", async (req) => {
      const res = new Response("set");
      await setSignedCookie(res, "user", req.query.get("v") ?? "", secret, { httpOnly: true });
      return res;
    })
    .get("/", async (req) => ({ user: await getSignedCookie(req, "user", secret) }));
}

/** The cookie that GET /set?v=`value` sets, as "user=...". */
async function signedCookie(app: App, value: string): Promise<string> {
  const s = await start(app);
  try {
    const { responses } = await raw(s.port, get(`/set?v=${encodeURIComponent(value)}`), {
      responses: 1,
    });
    const [line] = setCookieLines(responses[0].head);
    assert.match(line, /; HttpOnly$/);
    return line.slice(0, line.indexOf(";"));
  } finally {
    await s.close();
  }
}

Deno.test("a signed cookie comes back as its value: value.mac, the MAC in base64url", async () => {
  const app = signedApp(SECRET);
  const cookie = await signedCookie(app, "ada.lovelace@example.com");
  assert.match(
    cookie,
    /^user=ada\.lovelace%40example\.com\.[\w-]{43}$/,
    "the value is readable: signed, not encrypted",
  );
  const [res] = await ask(app, cookie);
  assert.deepEqual(JSON.parse(res.body), { user: "ada.lovelace@example.com" });
});

Deno.test("a signed cookie that is missing, unsigned, forged, altered, or signed for another name is null", async () => {
  const app = signedApp(SECRET);
  const cookie = await signedCookie(app, "ada");
  const mac = cookie.slice(cookie.lastIndexOf(".") + 1);
  const forged = await signedCookie(
    signedApp("another secret that is also 32 bytes or more"),
    "ada",
  );
  const otherName = await signedCookie(
    new App().get("/set", async () => {
      const res = new Response("set");
      await setSignedCookie(res, "role", "ada", SECRET, { httpOnly: true });
      return res;
    }),
    "",
  );
  const flipped = mac.slice(0, -1) + (mac.endsWith("A") ? "B" : "A");
  const bad = [
    "", // no cookie at all
    "user=ada", // no MAC
    "user=ada.", // an empty MAC
    forged, // signed with another secret
    `user=bob.${mac}`, // the value changed, the MAC kept
    `user=ada.${flipped}`, // the MAC's last character changed (its 2 spare bits: the same bytes, once decoded)
    `user=${otherName.slice("role=".length)}`, // a value signed for "role", sent as "user"
  ];
  const responses = await ask(app, ...bad);
  for (const [i, res] of responses.entries()) {
    assert.deepEqual(JSON.parse(res.body), { user: null }, `cookie ${JSON.stringify(bad[i])}`);
  }
});

Deno.test("setSignedCookie and getSignedCookie refuse a secret shorter than 32 bytes", async () => {
  await assert.rejects(
    setSignedCookie(new Response(), "a", "1", "short"),
    /5 bytes: use 32 or more/,
  );
  const req = new Request("GET", "http://localhost/");
  await assert.rejects(
    getSignedCookie(req, "a", new Uint8Array(16)),
    /16 bytes/,
    "even with no cookie to check",
  );
});
