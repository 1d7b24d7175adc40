// examples/auth.ts, run as its own process with the permissions its header gives, and talked to over TCP.
import assert from "node:assert/strict";
import { fetch, get, raw, sleep } from "./helpers.ts";
import { runExample, type Running } from "./run_example.ts";

const SECRET = "a secret the test knows, so that it can sign cookies of its own";
const encoder = new TextEncoder();

/** Starts the example with `args`, allowed to listen on its port and nothing else. */
function startAuth(...args: string[]): Promise<Running> {
  return runExample("examples/auth.ts", (port) => [`--allow-net=0.0.0.0:${port}`], args);
}

/** Sends one request (a `form` goes urlencoded) and reads the whole answer; redirects are returned, not followed. */
async function call(
  server: Running,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; form?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: string }> {
  const body = options.form ? new URLSearchParams(options.form) : undefined;
  const res = await fetch(server.url + path, {
    method,
    headers: options.headers,
    body,
    redirect: "manual",
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Logs in through the form, and returns the Set-Cookie line that came back. */
async function logIn(server: Running, username: string, password: string): Promise<string> {
  const res = await call(server, "POST", "/login", { form: { username, password } });
  assert.equal(res.status, 303, `logging in as ${username}: ${res.body}`);
  const [setCookie] = res.headers.getSetCookie();
  assert.ok(setCookie, "a session cookie");
  return setCookie;
}

/** The value a Set-Cookie line sets, e.g. "abc" for "session=abc; Path=/". */
function valueOf(setCookie: string): string {
  return setCookie.slice(setCookie.indexOf("=") + 1, setCookie.indexOf(";"));
}

/** GET `path` with `session` as the session cookie. */
function withCookie(server: Running, path: string, session: string) {
  return call(server, "GET", path, { headers: { cookie: `session=${session}` } });
}

function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * A session cookie in the example's format, as extras/cookies.ts's setSignedCookie makes it: base64url JSON, ".", and
 * the base64url HMAC-SHA256 of "session=" and that JSON (the cookie's name is signed too), made with `secret`.
 */
async function signCookie(
  secret: string,
  session: { id: string; user: string; expires: number },
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const payload = base64url(encoder.encode(JSON.stringify(session)));
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`session=${payload}`));
  return `${payload}.${base64url(new Uint8Array(mac))}`;
}

const basic = (credentials: string) => `Basic ${btoa(credentials)}`;

Deno.test("auth example: login form, signed session cookie, roles, bearer and Basic", async (t) => {
  const server = await startAuth("--secret", SECRET, "--rate", "1000"); // the sweep below sends ~150 requests
  const HOUR = 3600_000;
  try {
    await t.step(
      "a page behind login redirects (303) to /login when there is no session",
      async () => {
        for (const path of ["/", "/admin"]) {
          const res = await call(server, "GET", path);
          assert.equal(res.status, 303);
          assert.equal(res.headers.get("location"), "/login");
        }
      },
    );

    await t.step(
      "GET /login is an HTML form that posts the name and password to /login",
      async () => {
        const res = await call(server, "GET", "/login");
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
        assert.match(res.body, /<form method="post" action="\/login">/);
        assert.match(res.body, /name="username"/);
        assert.match(res.body, /name="password" type="password"/);
      },
    );

    await t.step(
      "a wrong password, or an unknown name, gets the form again with 403, the same words, no cookie",
      async () => {
        for (const [username, password] of [["bob", "wrong"], ["nobody", "builder"]]) {
          const res = await call(server, "POST", "/login", { form: { username, password } });
          assert.equal(res.status, 403);
          assert.match(res.body, /Wrong name or password\./);
          assert.deepEqual(res.headers.getSetCookie(), []);
        }
      },
    );

    await t.step(
      "the right password sets an HttpOnly, SameSite=Lax session cookie with Max-Age, and a 303 to /",
      async () => {
        const res = await call(server, "POST", "/login", {
          form: { username: "bob", password: "builder" },
        });
        assert.equal(res.status, 303);
        assert.equal(res.headers.get("location"), "/");
        const [setCookie, ...more] = res.headers.getSetCookie();
        assert.deepEqual(more, []);
        assert.match(
          setCookie,
          /^session=[\w-]+\.[\w-]+; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax$/,
        );
      },
    );

    await t.step("the session cookie opens /, which names the user", async () => {
      const res = await withCookie(server, "/", valueOf(await logIn(server, "bob", "builder")));
      assert.equal(res.status, 200);
      assert.match(res.body, /Hello, bob/);
    });

    await t.step(
      "/admin answers 403 to a logged-in user without the admin role, and 200 to an admin",
      async () => {
        const bob = await withCookie(
          server,
          "/admin",
          valueOf(await logIn(server, "bob", "builder")),
        );
        assert.equal(bob.status, 403);
        assert.match(bob.body, /admin role/);
        const ada = await withCookie(
          server,
          "/admin",
          valueOf(await logIn(server, "ada", "lovelace")),
        );
        assert.equal(ada.status, 200);
        assert.match(ada.body, /The admin page, for ada/);
      },
    );

    await t.step(
      "a cookie this test signs with the server's secret opens / (so the format below is right)",
      async () => {
        const cookie = await signCookie(SECRET, {
          id: "test-1",
          user: "ada",
          expires: Date.now() + HOUR,
        });
        assert.equal((await withCookie(server, "/admin", cookie)).status, 200);
      },
    );

    await t.step("a forged cookie, signed with another secret, is refused", async () => {
      const cookie = await signCookie("a guess", {
        id: "test-2",
        user: "ada",
        expires: Date.now() + HOUR,
      });
      assert.equal((await withCookie(server, "/", cookie)).status, 303);
    });

    await t.step("a cookie without its signature, or with an empty one, is refused", async () => {
      const cookie = await signCookie(SECRET, {
        id: "test-3",
        user: "ada",
        expires: Date.now() + HOUR,
      });
      const payload = cookie.slice(0, cookie.indexOf("."));
      for (const bad of [payload, `${payload}.`, "", ".", "garbage"]) {
        assert.equal(
          (await withCookie(server, "/", bad)).status,
          303,
          `cookie ${JSON.stringify(bad)}`,
        );
      }
    });

    await t.step("a correctly signed cookie past its expiry is refused", async () => {
      const cookie = await signCookie(SECRET, {
        id: "test-4",
        user: "ada",
        expires: Date.now() - 1000,
      });
      assert.equal((await withCookie(server, "/", cookie)).status, 303);
    });

    await t.step(
      "a cookie with any one character changed is refused (every position is tried)",
      async () => {
        const cookie = valueOf(await logIn(server, "bob", "builder"));
        const tampered = [...cookie].map((c, i) =>
          cookie.slice(0, i) + (c === "A" ? "B" : "A") + cookie.slice(i + 1)
        );
        // The last character of the MAC carries 2 unused bits: "A" and "B" there decode to the same bytes. A server
        // that decoded the MAC before comparing would take that change; this one compares the text.
        const requests = tampered.map((bad) => get("/", `Cookie: session=${bad}`)).join("");
        const { responses } = await raw(server.port, requests, { responses: tampered.length });
        assert.equal(responses.length, tampered.length);
        for (const [i, res] of responses.entries()) {
          assert.equal(res.status, 303, `changed at ${i}: ${tampered[i]}`);
        }
        assert.equal(
          (await withCookie(server, "/", cookie)).status,
          200,
          "the unchanged cookie still works",
        );
      },
    );

    await t.step(
      "POST /logout clears the cookie, and the old cookie no longer opens / even if replayed",
      async () => {
        const cookie = valueOf(await logIn(server, "bob", "builder"));
        const res = await call(server, "POST", "/logout", {
          headers: { cookie: `session=${cookie}` },
        });
        assert.equal(res.status, 303);
        assert.equal(res.headers.get("location"), "/login");
        assert.deepEqual(res.headers.getSetCookie(), ["session=; Max-Age=0; Path=/"]);
        assert.equal((await withCookie(server, "/", cookie)).status, 303);
      },
    );

    await t.step(
      "GET /api/me without Authorization: 401, with WWW-Authenticate naming Bearer and Basic",
      async () => {
        const res = await call(server, "GET", "/api/me");
        assert.equal(res.status, 401);
        assert.equal(
          res.headers.get("www-authenticate"),
          'Bearer realm="auth example", Basic realm="auth example"',
        );
      },
    );

    await t.step(
      "a malformed Authorization header gets 401 with WWW-Authenticate, never a 500",
      async () => {
        const malformed = [
          "",
          "Bearer",
          "Bearer ",
          "Bearer two tokens",
          "Basic",
          "Basic !!!not-base64!!!",
          basic("no colon here"),
          `Basic ${btoa("\xff\xfe:not UTF-8")}`,
          "Digest username=bob",
          "bob:builder",
        ];
        for (const header of malformed) {
          const res = await call(server, "GET", "/api/me", { headers: { authorization: header } });
          assert.equal(res.status, 401, `Authorization: ${header}`);
          assert.ok(res.headers.has("www-authenticate"), `Authorization: ${header}`);
        }
      },
    );

    await t.step("HTTP Basic with a wrong password, or an unknown name, gets 401", async () => {
      for (const credentials of ["bob:wrong", "nobody:builder", "bob:"]) {
        const res = await call(server, "GET", "/api/me", {
          headers: { authorization: basic(credentials) },
        });
        assert.equal(res.status, 401, credentials);
        assert.match(res.body, /Wrong name or password/);
      }
    });

    await t.step(
      "HTTP Basic with the right password opens /api/me (the scheme's name is case-insensitive)",
      async () => {
        const res = await call(server, "GET", "/api/me", {
          headers: { authorization: `bAsIc ${btoa("ada:lovelace")}` },
        });
        assert.equal(res.status, 200);
        assert.deepEqual(JSON.parse(res.body), { name: "ada", role: "admin" });
      },
    );

    await t.step(
      "POST /api/token trades Basic credentials for a bearer token, which opens /api/me",
      async () => {
        const issued = await call(server, "POST", "/api/token", {
          headers: { authorization: basic("bob:builder") },
        });
        assert.equal(issued.status, 200);
        const { token, token_type, expires_in } = JSON.parse(issued.body);
        assert.deepEqual([token_type, expires_in], ["Bearer", 3600]);
        const res = await call(server, "GET", "/api/me", {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(res.status, 200);
        assert.deepEqual(JSON.parse(res.body), { name: "bob", role: "user" });
      },
    );

    await t.step("an unknown bearer token gets 401; POST /api/token takes only Basic", async () => {
      const unknown = await call(server, "GET", "/api/me", {
        headers: { authorization: "Bearer made-up" },
      });
      assert.equal(unknown.status, 401);
      assert.match(unknown.body, /unknown or expired token/);
      const bearer = await call(server, "POST", "/api/token", {
        headers: { authorization: "Bearer made-up" },
      });
      assert.equal(bearer.status, 401);
      assert.equal(bearer.headers.get("www-authenticate"), 'Basic realm="auth example"');
      assert.equal(bearer.body, "POST /api/token takes Basic credentials, not Bearer");
    });

    await t.step(
      "a scheme that is not taken is named as such, with the ones that are; a malformed header is called that",
      async () => {
        const digest = await call(server, "GET", "/api/me", {
          headers: { authorization: "Digest username=bob" },
        });
        assert.equal(digest.status, 401);
        assert.equal(digest.body, "GET /api/me takes Bearer or Basic credentials, not Digest");
        assert.equal(
          digest.headers.get("www-authenticate"),
          'Bearer realm="auth example", Basic realm="auth example"',
        );
        for (const header of ["Bearer", "Bearer two tokens", "bob:builder"]) {
          const res = await call(server, "GET", "/api/me", { headers: { authorization: header } });
          assert.equal(res.status, 401, header);
          assert.match(res.body, /^A malformed Authorization header: expected Bearer/, header);
        }
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("auth example: a session ends when its --session-seconds are up, cookie or no cookie", async () => {
  const server = await startAuth("--session-seconds", "1");
  try {
    const setCookie = await logIn(server, "bob", "builder");
    assert.match(setCookie, /; Max-Age=1;/);
    assert.equal((await withCookie(server, "/", valueOf(setCookie))).status, 200);
    await sleep(1100); // the browser would drop it now; a client that keeps it anyway must be refused
    assert.equal((await withCookie(server, "/", valueOf(setCookie))).status, 303);
  } finally {
    await server.stop();
  }
});

Deno.test("auth example: an address on the --ban list gets 403 on every path", async () => {
  const server = await startAuth("--ban", "10.9.8.7", "--ban", "127.0.0.1");
  try {
    for (const path of ["/login", "/", "/api/me", "/nowhere"]) {
      const res = await call(server, "GET", path);
      assert.equal(res.status, 403, path);
      assert.match(res.body, /banned/);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("auth example: past --rate requests in a window, 429 with Retry-After in seconds", async () => {
  const server = await startAuth("--rate", "3", "--window-seconds", "60");
  try {
    for (let i = 1; i <= 3; i++) {
      assert.equal((await call(server, "GET", "/login")).status, 200, `request ${i}`);
    }
    const res = await call(server, "GET", "/login");
    assert.equal(res.status, 429);
    const retryAfter = Number(res.headers.get("retry-after"));
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60,
      `Retry-After: ${retryAfter}`,
    );
  } finally {
    await server.stop();
  }
});

Deno.test("auth example: a --secret under 32 bytes stops it at start-up, saying how long it must be", async () => {
  await assert.rejects(
    startAuth("--secret", "hunter2"),
    /--secret has 7 bytes: give it 32 or more/,
  );
});
