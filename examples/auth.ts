// Logging in, done with care: an HTML form that starts a signed session cookie; pages that need one (and a role);
// an API that takes a bearer token or HTTP Basic; and, in front of everything, an IP ban list and a rate limit.
//   deno run --allow-net=0.0.0.0:8000 examples/auth.ts
// Then open http://localhost:8000/ and log in as ada / lovelace (an admin) or bob / builder. The API:
//   curl -u bob:builder localhost:8000/api/me                  (HTTP Basic: the password on every request)
//   curl -u bob:builder -X POST localhost:8000/api/token        (a token, then: curl -H "Authorization: Bearer T" ...)
// Options: --port 8080 (name that port in --allow-net too); --secret S (32 bytes or more; else a random one: a restart
// logs everyone out); --session-seconds 3600; --ban 1.2.3.4 (again for more); --rate 100 --window-seconds 60 (requests
// allowed per address per window).
// What to look at, in order: how a password is stored (a slow hash with its own salt) and checked (in constant time);
// how a cookie is signed (an HMAC, by extras/cookies.ts) so that the browser holds it but can't change it; why logout
// also needs the server; why the API's 401 carries WWW-Authenticate; and the two middleware in front (extras/limit.ts),
// with the 403 and 429 they answer.
import { parseArgs } from "node:util";
import {
  type CookieOptions,
  deleteCookie,
  getSignedCookie,
  setSignedCookie,
} from "../extras/cookies.ts";
import { ipBan, rateLimit } from "../extras/limit.ts";
import { App, type Handler, HttpError, type Request, Response } from "../mod.ts";

const flags = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string" }, // app.listen() reads it
    secret: { type: "string" },
    "session-seconds": { type: "string", default: "3600" },
    ban: { type: "string", multiple: true, default: [] },
    rate: { type: "string", default: "100" },
    "window-seconds": { type: "string", default: "60" },
  },
}).values;

function positive(name: "session-seconds" | "rate" | "window-seconds"): number {
  const value = Number(flags[name]);
  if (!(value > 0)) {
    throw new TypeError(`--${name} "${flags[name]}" is not a positive number: try --${name} 60`);
  }
  return value;
}

const encoder = new TextEncoder();
function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

// ====================================================== Passwords: slow, salted hashes ===============================

// PBKDF2 runs SHA-256 this many times (OWASP's advice for 2023 on): one login costs us ~0.1 s, and each guess at a
// stolen hash costs an attacker as much. A fast hash such as plain SHA-256 allows billions of guesses a second.
const ITERATIONS = 600_000;

/** What we keep instead of a password. The salt, random for each user, makes equal passwords hash differently. */
type PasswordHash = { salt: Uint8Array<ArrayBuffer>; iterations: number; hash: Uint8Array };

/** Hashes a password afresh (a new salt), or the way `stored` was hashed, to check a password against it. */
async function hashPassword(password: string, stored?: PasswordHash): Promise<PasswordHash> {
  const salt = stored?.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const iterations = stored?.iterations ?? ITERATIONS; // kept with each hash, so that ITERATIONS can grow later
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    256,
  );
  return { salt, iterations, hash: new Uint8Array(bits) };
}

/** Looks at every byte whatever it finds: `===` stops at the first difference, and how long it took tells where. */
function equalInConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false; // the lengths are no secret: a hash or a MAC always has the same one
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

type Role = "admin" | "user";
type User = { name: string; role: Role; password: PasswordHash };

// A real app keeps its users in a database. The demo's passwords appear here only so that you can log in: what the
// app keeps is their hash.
const users = new Map<string, User>();
for (
  const [name, password, role] of [["ada", "lovelace", "admin"], [
    "bob",
    "builder",
    "user",
  ]] as const
) {
  users.set(name, { name, role, password: await hashPassword(password) });
}
const NOBODY = await hashPassword(crypto.randomUUID()); // what an unknown name is checked against

/** The user with this name and password, or null. An unknown name takes as long as a wrong password: no hint. */
async function authenticate(name: string, password: string): Promise<User | null> {
  const user = users.get(name), stored = user?.password ?? NOBODY;
  const { hash } = await hashPassword(password, stored);
  return equalInConstantTime(hash, stored.hash) && user ? user : null;
}

// ====================================================== Sessions: a signed cookie ===================================

// The cookie is `payload.mac`, made by setSignedCookie (extras/cookies.ts): the payload says who and until when, in
// plain sight; the MAC is an HMAC of it (and of the cookie's name) made with a secret that never leaves the server.
// Change one character of either and the MAC no longer matches. Signed is not encrypted: the payload holds no secret.
const secret = flags.secret
  ? encoder.encode(flags.secret)
  : crypto.getRandomValues(new Uint8Array(32));
if (secret.length < 32) {
  throw new TypeError(`--secret has ${secret.length} bytes: give it 32 or more`); // HMAC's size
}
const SESSION_SECONDS = positive("session-seconds");
// HttpOnly: page scripts can't read it, so injected script can't steal it. SameSite=Lax: a form on another site that
// posts here goes without it (no cross-site request forgery). Served over HTTPS, add `secure: true`.
const SESSION_COOKIE: CookieOptions = {
  maxAge: SESSION_SECONDS,
  path: "/",
  httpOnly: true,
  sameSite: "Lax",
};

type Session = { id: string; user: string; expires: number /* ms since 1970 */ };
const revoked = new Map<string, number>(); // session id -> when its cookie expires anyway: logged out before then

/** Starts `session` on `res`: its cookie holds the session as base64url JSON, signed. */
async function startSession(res: Response, session: Session): Promise<void> {
  const payload = base64url(encoder.encode(JSON.stringify(session)));
  await setSignedCookie(res, "session", payload, secret, SESSION_COOKIE);
}

/** The session the request's cookie holds, if we signed it, it hasn't expired and nobody logged out of it; else null. */
async function currentSession(req: Request): Promise<Session | null> {
  const payload = await getSignedCookie(req, "session", secret); // null: no cookie, or a forged or changed one
  if (payload === null) return null;
  const session: Session = JSON.parse(
    new TextDecoder().decode(Uint8Array.fromBase64(payload, { alphabet: "base64url" })),
  );
  // Max-Age asks the browser to drop the cookie, but a copy can be kept and replayed: the server checks the time too.
  return Date.now() < session.expires && !revoked.has(session.id) ? session : null;
}

async function currentUser(req: Request): Promise<User | null> {
  const session = await currentSession(req);
  return session ? users.get(session.user) ?? null : null;
}

// ====================================================== The API: bearer tokens and HTTP Basic =======================

// Basic sends the password with every request, and each check costs a PBKDF2. So a client trades it once, at
// POST /api/token, for a random token. We keep only the token's SHA-256: a leaked table opens no accounts.
const tokens = new Map<string, { user: string; expires: number }>();

async function sha256(text: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

/** A 401 must say how to authenticate (RFC 9110 11.6.1): WWW-Authenticate lists the schemes we take. */
function unauthorized(why: string, schemes: string[]): HttpError {
  const challenge = schemes.map((scheme) => `${scheme} realm="auth example"`).join(", ");
  return new HttpError(401, why, { headers: { "www-authenticate": challenge } });
}

/** The user an Authorization header names, by one of the `schemes`; or HttpError 401, saying what was wrong. */
async function apiUser(req: Request, schemes: string[]): Promise<User> {
  const header = req.headers.get("authorization");
  if (header === null) {
    throw unauthorized(`Send an Authorization header: ${schemes.join(" or ")}`, schemes);
  }
  // The field is a scheme and credentials, apart by a space (RFC 9110 11.6.2): "Basic YWRhOmxvdmVsYWNl".
  const scheme = /^\w+(?= |$)/.exec(header)?.[0] ?? "";
  const credentials = /^\w+ +([\w.~+/-]+=*)$/.exec(header)?.[1];
  const kind = schemes.find((s) => s.toLowerCase() === scheme.toLowerCase()); // scheme names ignore case
  // A header of another scheme, e.g. a token sent where a password is wanted: say which scheme is wanted.
  if (scheme !== "" && !kind) {
    const wanted = schemes.join(" or ");
    throw unauthorized(
      `${req.method} ${req.path} takes ${wanted} credentials, not ${scheme}`,
      schemes,
    );
  }
  if (!kind || credentials === undefined) {
    const wanted = kind ?? schemes.join(" or ");
    throw unauthorized(
      `A malformed Authorization header: expected ${wanted} and credentials`,
      schemes,
    );
  }
  if (kind === "Bearer") {
    const token = tokens.get(await sha256(credentials));
    const user = token && Date.now() < token.expires ? users.get(token.user) : undefined;
    if (!user) throw unauthorized("An unknown or expired token", schemes);
    return user;
  }
  let text: string; // Basic: base64 of "name:password", in UTF-8
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.fromBase64(credentials));
  } catch {
    throw unauthorized("Basic credentials that are not base64 of UTF-8", schemes); // the client's mistake, not a 500
  }
  const colon = text.indexOf(":");
  const user = colon < 0 ? null : await authenticate(text.slice(0, colon), text.slice(colon + 1));
  if (!user) throw unauthorized("Wrong name or password", schemes);
  return user;
}

// ====================================================== Pages ======================================================

function escapeHtml(text: string): string {
  const entities: Record<string, string> = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
  };
  return text.replace(/[&<>"']/g, (c) => entities[c]);
}

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${title}</title>
<style>body{font:16px system-ui;max-width:32em;margin:3em auto}label{display:block;margin:.5em 0}.error{color:#b00}</style>
<h1>${title}</h1>${body}</html>`;
}

function loginPage(error = ""): string {
  return layout(
    "Log in",
    `${error ? `<p class="error">${escapeHtml(error)}</p>` : ""}<form method="post" action="/login">
<label>Name <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button>Log in</button></form><p>Try ada / lovelace (admin) or bob / builder.</p>`,
  );
}

const LOGOUT = `<form method="post" action="/logout"><button>Log out</button></form>`;

/** A page for logged-in users only (with `role`, if given): the others go to /login, or get a 403. */
function loginRequired(role: Role | null, page: (user: User) => string): Handler {
  return async (req) => {
    const user = await currentUser(req);
    if (!user) return Response.redirect("/login", 303); // 303 See Other: "GET this instead"
    if (role && user.role !== role) {
      throw new HttpError(403, `This page is for the ${role} role, and you are a ${user.role}`);
    }
    return Response.html(layout(page(user), LOGOUT));
  };
}

// ====================================================== The app ====================================================

const banned = new Set(flags.ban); // a Set: it could grow while the server runs, say after too many failed logins
const RATE = positive("rate"), WINDOW_MS = positive("window-seconds") * 1000;

export const app = new App()
  .use(ipBan({ banned })) // first, as it is the cheapest: a banned address gets no further (403)
  .use(rateLimit({ windowMs: WINDOW_MS, max: RATE })) // RATE requests per address, counted afresh every WINDOW_MS
  .get("/login", () => Response.html(loginPage()))
  .post("/login", async (req) => {
    const form = await req.form(), field = (name: string) => String(form.get(name) ?? "");
    const user = await authenticate(field("username"), field("password"));
    // One message for both mistakes, so the page doesn't tell a stranger which names exist. 403, not 401: a 401
    // would have to name an HTTP scheme in WWW-Authenticate, and a form is none.
    if (!user) return Response.html(loginPage("Wrong name or password."), { status: 403 });
    const session = {
      id: crypto.randomUUID(),
      user: user.name,
      expires: Date.now() + SESSION_SECONDS * 1000,
    };
    const res = Response.redirect("/", 303);
    await startSession(res, session);
    return res;
  })
  .post("/logout", async (req) => {
    // Deleting the cookie only asks the browser to forget it. Revoking its id makes every copy of it useless.
    const session = await currentSession(req), now = Date.now();
    for (const [id, expires] of revoked) if (expires <= now) revoked.delete(id); // past expiry: refused anyway
    if (session) revoked.set(session.id, session.expires);
    const res = Response.redirect("/login", 303);
    deleteCookie(res, "session", { path: "/" }); // by its name and path: the browser holds it under both
    return res;
  })
  .get("/", loginRequired(null, (user) => `Hello, ${escapeHtml(user.name)}`))
  .get("/admin", loginRequired("admin", (user) => `The admin page, for ${escapeHtml(user.name)}`))
  .post("/api/token", async (req) => {
    const user = await apiUser(req, ["Basic"]),
      token = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const now = Date.now();
    for (const [key, t] of tokens) if (t.expires <= now) tokens.delete(key);
    tokens.set(await sha256(token), { user: user.name, expires: now + SESSION_SECONDS * 1000 });
    return { token, token_type: "Bearer", expires_in: SESSION_SECONDS };
  })
  .get("/api/me", async (req) => {
    const user = await apiUser(req, ["Bearer", "Basic"]);
    return { name: user.name, role: user.role };
  });

if (import.meta.main) await app.listen();
