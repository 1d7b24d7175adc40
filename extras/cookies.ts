/**
 * Cookies (RFC 6265): read the ones a request carries, set and delete them on a response, and sign
 * them, so that a browser can hold a value that it cannot change.
 *
 * - {@linkcode getCookies}: the Cookie header as an object, each value decoded.
 * - {@linkcode setCookie} and {@linkcode deleteCookie}: one Set-Cookie line each.
 * - {@linkcode setSignedCookie} and {@linkcode getSignedCookie}: a value with its HMAC-SHA-256.
 *
 * What it does not do:
 * - Encrypt. A signed cookie's value is readable by anyone who holds the cookie: never put a
 *   secret in one.
 * - Rotate signing secrets, or keep within a browser's limits (about 4096 bytes a cookie,
 *   RFC 6265 6.1).
 * - Parse Set-Cookie: that is a client's job.
 * @module
 */
import type { Request, Response } from "../mod.ts";

/**
 * The attributes of a Set-Cookie line (RFC 6265 4.1.2).
 * @example A session cookie's attributes
 * ```ts
 * import type { CookieOptions } from "@groundwork/groundwork/cookies";
 *
 * const session: CookieOptions = { path: "/", httpOnly: true, secure: true, sameSite: "Lax" };
 * ```
 */
export type CookieOptions = {
  /** Seconds until the browser drops it (0: now); without it or `expires`, when it closes. */
  maxAge?: number;
  /** When the browser drops it; `maxAge` wins if both are given (RFC 6265 5.3 step 3). */
  expires?: Date;
  /** The paths it goes back to, e.g. "/" for the whole site; by default, the request's folder. */
  path?: string;
  /** A host that, with its subdomains, gets it back; by default only the exact host does. */
  domain?: string;
  /** Hidden from page scripts (`document.cookie`), so that an injected script can't steal it. */
  httpOnly?: boolean;
  /** Sent back over HTTPS only. */
  secure?: boolean;
  /** Whether a request from another site has it: "Strict" never, "Lax" on links, "None" always. */
  sameSite?: "Strict" | "Lax" | "None";
};

// A cookie's name is a token (RFC 6265 4.1.1, RFC 9110 5.6.2): any other character is one too many.
const NOT_TOKEN = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;
// A path or domain is printable ASCII but ";", which would start an attribute (RFC 6265 4.1.1).
const ATTRIBUTE_VALUE = /^[\x20-\x3a\x3c-\x7e]*$/;
// A value may come in double quotes (RFC 6265 4.1.1, cookie-value): they are not part of it.
const QUOTED = /^"([^"]*)"$/;
// Names that browsers hold to more rules (RFC 6265bis 4.1.3): both need Secure.
const SECURE_PREFIX = /^__(Secure|Host)-/i;
// HMAC-SHA-256 makes 32 bytes: a shorter key makes it weaker (RFC 2104 3).
const MIN_SECRET_BYTES = 32;

const encoder = new TextEncoder();

/**
 * The cookies a request carries, by name (RFC 6265 5.4): `Cookie: theme=dark%20mode` gives
 * `{ theme: "dark mode" }`. A value is percent-decoded (kept as sent if an escape is malformed) and
 * loses its double quotes; of two cookies with one name, the first wins. The object has no
 * prototype: a cookie named "__proto__" is just a cookie.
 * @example Reading the cookies a request carries
 * ```ts
 * import { Request } from "@groundwork/groundwork";
 * import { getCookies } from "@groundwork/groundwork/cookies";
 * import assert from "node:assert/strict";
 *
 * const req = new Request("GET", "http://localhost/", {
 *   headers: { cookie: 'theme=dark%20mode; lang="en"' },
 * });
 * assert.deepEqual({ ...getCookies(req) }, { theme: "dark mode", lang: "en" });
 * ```
 */
export function getCookies(req: Request): Record<string, string> {
  const cookies: Record<string, string> = Object.create(null);
  const header = req.headers.get("cookie");
  if (header === null) return cookies;

  // "a=1; b=2": pairs apart by "; " (RFC 6265 4.2.1), though some clients leave out the space.
  for (const pair of header.split(";")) {
    const equals = pair.indexOf("=");
    // Without an "=", a pair names no cookie that a server could have set.
    if (equals < 0) continue;
    const name = pair.slice(0, equals).trim();

    // A browser sends the cookie with the longest path first (RFC 6265 5.4 step 2): it wins.
    if (name === "" || name in cookies) continue;
    cookies[name] = decodeValue(pair.slice(equals + 1).trim());
  }
  return cookies;
}

/** A value as sent, without its quotes and percent-decoded; as sent if an escape is malformed. */
function decodeValue(sent: string): string {
  const quoted = QUOTED.exec(sent);
  const value = quoted === null ? sent : quoted[1];
  try {
    return decodeURIComponent(value);
  } catch {
    // "100%" was not encoded by us: it is still somebody's value.
    return value;
  }
}

/**
 * Adds a Set-Cookie line to `res`. The `name` must be a token; the `value` is percent-encoded, so
 * any string is safe in it (a lone surrogate becomes U+FFFD). Throws a TypeError for a bad name,
 * a `maxAge` that is not a whole number, or an attribute that a browser would drop the cookie for.
 * @example Setting a cookie for the whole site that page scripts can't read
 * ```ts
 * import { Response } from "@groundwork/groundwork";
 * import { setCookie } from "@groundwork/groundwork/cookies";
 * import assert from "node:assert/strict";
 *
 * const res = new Response("Saved");
 * setCookie(res, "theme", "dark mode", { path: "/", maxAge: 86400, httpOnly: true });
 * assert.deepEqual(res.headers.getSetCookie(), [
 *   "theme=dark%20mode; Max-Age=86400; Path=/; HttpOnly",
 * ]);
 * ```
 */
export function setCookie(
  res: Response,
  name: string,
  value: string,
  options: CookieOptions = {},
): void {
  checkCookie(name, options);
  // Percent-encoded, a value is all cookie-octets (RFC 6265 4.1.1): no ";" or space ends it early.
  const encoded = encodeURIComponent(value.toWellFormed());
  const { maxAge, expires, domain, path, sameSite } = options;
  const attributes = [
    `${name}=${encoded}`,
    maxAge === undefined ? "" : `Max-Age=${maxAge}`,
    expires === undefined ? "" : `Expires=${expires.toUTCString()}`,
    domain === undefined ? "" : `Domain=${domain}`,
    path === undefined ? "" : `Path=${path}`,
    options.secure ? "Secure" : "",
    options.httpOnly ? "HttpOnly" : "",
    sameSite === undefined ? "" : `SameSite=${sameSite}`,
  ];
  const line = attributes.filter((attribute) => attribute !== "").join("; ");
  res.headers.append("set-cookie", line);
}

/** Throws a TypeError, saying what to do, if a browser would not take the cookie as asked. */
function checkCookie(name: string, options: CookieOptions): void {
  if (name === "") throw new TypeError('A cookie needs a name, such as "session"');
  const bad = NOT_TOKEN.exec(name);
  if (bad !== null) {
    const which = JSON.stringify(bad[0]);
    const hint = "use letters, digits and !#$%&'*+-.^_`|~ only";
    throw new TypeError(`Cookie name ${JSON.stringify(name)} has ${which}: ${hint}`);
  }

  // Max-Age is a number of whole seconds (RFC 6265 5.2.2): a browser ignores "1.5".
  const { maxAge, expires, domain, path } = options;
  if (maxAge !== undefined && !Number.isInteger(maxAge)) {
    throw new TypeError(`Max-Age ${maxAge} is not a whole number of seconds: round it`);
  }
  if (expires !== undefined && Number.isNaN(expires.getTime())) {
    throw new TypeError("Expires is an invalid Date: give a real one, or use maxAge");
  }
  for (const value of [domain ?? "", path ?? ""]) {
    if (ATTRIBUTE_VALUE.test(value)) continue;
    const what = JSON.stringify(value);
    throw new TypeError(`${what} has a ";" or a byte that is not ASCII text: remove it`);
  }

  // Browsers drop a SameSite=None cookie, or a prefixed one, without Secure (RFC 6265bis 4.1.3).
  const needsSecure = options.sameSite === "None" || SECURE_PREFIX.test(name);
  if (needsSecure && !options.secure) {
    throw new TypeError(`Cookie ${name} needs secure: true (and HTTPS), or browsers drop it`);
  }
}

/**
 * Adds a Set-Cookie line that makes the browser delete the cookie now (`Max-Age=0`). Give the
 * `path` and `domain` it was set with: a cookie is known by its name, path and domain together.
 * @example Logging out
 * ```ts
 * import { Response } from "@groundwork/groundwork";
 * import { deleteCookie } from "@groundwork/groundwork/cookies";
 * import assert from "node:assert/strict";
 *
 * const res = Response.redirect("/login", 303);
 * deleteCookie(res, "session", { path: "/" });
 * assert.deepEqual(res.headers.getSetCookie(), ["session=; Max-Age=0; Path=/"]);
 * ```
 */
export function deleteCookie(
  res: Response,
  name: string,
  options: { path?: string; domain?: string } = {},
): void {
  // A __Secure- or __Host- cookie is deleted, like it is set, with Secure.
  const secure = SECURE_PREFIX.test(name);
  setCookie(res, name, "", { path: options.path, domain: options.domain, maxAge: 0, secure });
}

/**
 * Adds a cookie whose value carries an HMAC-SHA-256 of it, made with `secret` (at least 32 bytes):
 * `value.mac`, the MAC in base64url. The name is signed too, so that a value signed for one cookie
 * is no good as another. Signing is not encryption: the value stays readable.
 * @example Signing a cookie, and reading it back
 * ```ts
 * import { Request, Response } from "@groundwork/groundwork";
 * import { getSignedCookie, setSignedCookie } from "@groundwork/groundwork/cookies";
 * import assert from "node:assert/strict";
 *
 * const secret = crypto.getRandomValues(new Uint8Array(32));
 * const res = new Response("Hello");
 * await setSignedCookie(res, "user", "ada", secret, { httpOnly: true });
 * const sent = res.headers.getSetCookie()[0].split(";")[0];
 *
 * const req = new Request("GET", "http://localhost/", { headers: { cookie: sent } });
 * assert.equal(await getSignedCookie(req, "user", secret), "ada");
 * ```
 */
export async function setSignedCookie(
  res: Response,
  name: string,
  value: string,
  secret: string | Uint8Array<ArrayBuffer>,
  options: CookieOptions = {},
): Promise<void> {
  // The value as it will come back: setCookie makes a lone surrogate U+FFFD.
  const kept = value.toWellFormed();
  const key = await importKey(secret);
  const mac = await macOf(key, name, kept);
  setCookie(res, name, `${kept}.${mac}`, options);
}

/**
 * The value of a cookie made by {@linkcode setSignedCookie} with this `name` and `secret`, or null
 * if there is none, or if it was forged or altered. The MAC is checked in constant time.
 * @example A cookie changed by the client is refused
 * ```ts
 * import { Request } from "@groundwork/groundwork";
 * import { getSignedCookie } from "@groundwork/groundwork/cookies";
 * import assert from "node:assert/strict";
 *
 * const secret = "a secret of 32 bytes or more, from your configuration";
 * const forged = new Request("GET", "http://localhost/", {
 *   headers: { cookie: "user=admin.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
 * });
 * assert.equal(await getSignedCookie(forged, "user", secret), null);
 * ```
 */
export async function getSignedCookie(
  req: Request,
  name: string,
  secret: string | Uint8Array<ArrayBuffer>,
): Promise<string | null> {
  // The key first: a secret too short to sign with is a mistake, cookie or no cookie.
  const key = await importKey(secret);
  const cookie = getCookies(req)[name];
  if (cookie === undefined) return null;

  // The MAC is after the last "." (base64url has none), the value before it.
  const dot = cookie.lastIndexOf(".");
  if (dot < 0) return null;
  const value = cookie.slice(0, dot);
  const expected = await macOf(key, name, value);

  // The MAC is compared as text: decoding it first would accept other spellings of its bytes.
  return equalInConstantTime(cookie.slice(dot + 1), expected) ? value : null;
}

/** The HMAC key for `secret`; a TypeError, saying what to use instead, if it is too short. */
async function importKey(secret: string | Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const bytes = typeof secret === "string" ? encoder.encode(secret) : secret;
  if (bytes.length < MIN_SECRET_BYTES) {
    const hint = "e.g. crypto.getRandomValues(new Uint8Array(32)), kept in your configuration";
    const size = `A secret of ${bytes.length} bytes`;
    throw new TypeError(`${size}: use ${MIN_SECRET_BYTES} or more, ${hint}`);
  }
  const algorithm = { name: "HMAC", hash: "SHA-256" };
  return await crypto.subtle.importKey("raw", bytes, algorithm, false, ["sign"]);
}

/** The HMAC-SHA-256 of `name=value`, in base64url. */
async function macOf(key: CryptoKey, name: string, value: string): Promise<string> {
  // The name is signed with the value: a value signed for "user" is no good as "role".
  const data = encoder.encode(`${name}=${value}`);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
  return mac.toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * Whether two strings are equal, looking at every character whatever it finds: `===` stops at the
 * first difference, and how long it took would tell an attacker where that is.
 */
function equalInConstantTime(a: string, b: string): boolean {
  // The lengths are no secret: a MAC always has the same one.
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) {
    difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  }
  return difference === 0;
}
