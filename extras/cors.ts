/**
 * CORS, the Fetch standard's protocol by which a page from one origin may read answers from
 * another (fetch.spec.whatwg.org, "CORS protocol"). {@linkcode cors} is a middleware that:
 * - answers a preflight (an OPTIONS with Origin and Access-Control-Request-Method, which a browser
 *   sends before a request it would not send on its own) with 204 and what is allowed, or 403
 *   for an origin that is not, before any handler runs;
 * - adds Access-Control-Allow-Origin (and -Credentials, -Expose-Headers) to the answers that
 *   allowed origins get, whatever their status, and `Vary: Origin` to every answer.
 *
 * What it does not do: protect anything. CORS tells a browser which pages may read an answer; a
 * request that needs no preflight still reaches the app from any origin (the browser only hides
 * the answer), and other clients (curl, a server) send what they like: authenticate as usual.
 * Nor does it do wildcards such as "https://*.example.com" (pass a function), or Private Network
 * Access.
 * @module
 */
import { HttpError, type Middleware, type Request, Response } from "../mod.ts";

/**
 * Decides whether a page from `origin` (as the browser sent it) may call.
 * @example The origins of the tenants a server knows
 * ```ts
 * import type { OriginCheck } from "@groundwork/groundwork/cors";
 *
 * const tenants = new Set(["https://a.example.com", "https://b.example.com"]);
 * const isTenant: OriginCheck = (origin) => tenants.has(origin);
 * ```
 */
export type OriginCheck = (origin: string, req: Request) => boolean | Promise<boolean>;

/**
 * Who may call, and with what.
 * @example One site, which sends cookies and a JSON body
 * ```ts
 * import type { CorsOptions } from "@groundwork/groundwork/cors";
 *
 * const options: CorsOptions = {
 *   origin: "https://app.example.com",
 *   credentials: true,
 *   methods: ["GET", "POST", "DELETE"],
 *   headers: ["content-type"],
 * };
 * ```
 */
export type CorsOptions = {
  /** "*" for any origin; one, such as "https://app.example.com"; a list; or a function. */
  origin: string | string[] | OriginCheck;
  /** The methods a preflight may ask for; by default GET, HEAD and POST. */
  methods?: string[];
  /** Request fields a preflight may ask for, e.g. ["content-type"] (for JSON); none by default. */
  headers?: string[];
  /** Whether a page may send cookies and read the answer (Access-Control-Allow-Credentials). */
  credentials?: boolean;
  /** The seconds a browser may reuse a preflight's answer; 600 by default. */
  maxAge?: number;
  /** The answer's fields a page may read besides the usual few, e.g. ["x-request-id"]. */
  exposeHeaders?: string[];
};

// The methods a page may use without a preflight (Fetch, "CORS-safelisted method").
const SAFELISTED_METHODS = ["GET", "HEAD", "POST"];
// 10 minutes: a changed policy reaches browsers soon (Chromium keeps an answer 2 hours at most).
const DEFAULT_MAX_AGE = 600;

/**
 * A middleware that answers CORS preflights and adds CORS fields to answers, for the origins
 * `origin` allows. With `credentials`, the allowed origin is echoed: a browser refuses "*" on a
 * credentialed answer, so `origin: "*"` with `credentials: true` throws, at set-up.
 * @example An API that one site may call with cookies
 * ```ts
 * import { App, Request } from "@groundwork/groundwork";
 * import { cors } from "@groundwork/groundwork/cors";
 * import assert from "node:assert/strict";
 *
 * const app = new App()
 *   .use(cors({ origin: "https://app.example.com", credentials: true, headers: ["content-type"] }))
 *   .get("/api/me", () => ({ name: "ada" }));
 *
 * const preflight = await app.handle(new Request("OPTIONS", "http://localhost/api/me", {
 *   headers: {
 *     origin: "https://app.example.com",
 *     "access-control-request-method": "GET",
 *     "access-control-request-headers": "content-type",
 *   },
 * }));
 * assert.equal(preflight.status, 204);
 * assert.equal(preflight.headers.get("access-control-allow-headers"), "content-type");
 *
 * const res = await app.handle(new Request("GET", "http://localhost/api/me", {
 *   headers: { origin: "https://app.example.com" },
 * }));
 * assert.equal(res.headers.get("access-control-allow-origin"), "https://app.example.com");
 * assert.equal(res.headers.get("access-control-allow-credentials"), "true");
 * ```
 */
export function cors(options: CorsOptions): Middleware {
  const policy = new Policy(options);
  return (req, next) => policy.answer(req, next);
}

/** The options, checked and worked out once, and what they make of each request. */
class Policy {
  #allows: OriginCheck;
  #anyOrigin: boolean;
  #credentials: boolean;
  #methods: string;
  #headers: Set<string>;
  #exposed: string;
  #maxAge: string;

  constructor(options: CorsOptions) {
    this.#allows = originTest(options);
    this.#anyOrigin = options.origin === "*";
    this.#credentials = options.credentials === true;
    this.#methods = (options.methods ?? SAFELISTED_METHODS).join(", ");
    this.#headers = new Set(options.headers?.map((name) => name.toLowerCase()));
    this.#exposed = options.exposeHeaders?.join(", ") ?? "";
    const maxAge = options.maxAge ?? DEFAULT_MAX_AGE;
    // Max-Age counts whole seconds (Fetch, "Access-Control-Max-Age"): a browser ignores "1.5".
    const whole = Number.isInteger(maxAge) && maxAge >= 0;
    if (!whole) throw new TypeError(`cors: maxAge ${maxAge} is not a whole number of seconds`);
    this.#maxAge = String(maxAge);
  }

  /** A preflight's answer, or the app's answer with the CORS fields added. */
  async answer(req: Request, next: () => Promise<Response>): Promise<Response> {
    const origin = req.headers.get("origin");
    const allowed = origin !== null && await this.#allows(origin, req);
    const method = req.headers.get("access-control-request-method");

    // A preflight is an OPTIONS with both fields; one from an origin not allowed goes no further.
    if (req.method === "OPTIONS" && origin !== null && method !== null) {
      const refusal = { headers: { vary: "Origin" } };
      if (!allowed) throw new HttpError(403, `Origin ${origin} may not call this server`, refusal);
      return this.preflight(req, origin);
    }
    // next() gives every answer as a Response, errors and 404s included: each gets the fields.
    const res = await next();
    this.finish(res.headers, origin, allowed);
    return res;
  }

  /** The 204 that tells the browser what it may send (Fetch, "CORS-preflight fetch"). */
  preflight(req: Request, origin: string): Response {
    const headers = new Headers();
    headers.set("access-control-allow-methods", this.#methods);
    headers.set("access-control-max-age", this.#maxAge);
    this.allowOrigin(headers, origin);

    // The fields asked for that are allowed: without all it asked for, the browser sends nothing.
    const asked = req.headers.get("access-control-request-headers") ?? "";
    const names = asked.split(",").map((name) => name.trim().toLowerCase());
    const allowed = names.filter((name) => this.#headers.has(name));
    if (allowed.length > 0) {
      headers.set("access-control-allow-headers", allowed.join(", "));
    }
    vary(headers);
    return new Response(null, { status: 204, headers });
  }

  /** Adds the CORS fields to an answer on its way to `origin`, if that is allowed. */
  finish(headers: Headers, origin: string | null, allowed: boolean): void {
    vary(headers);
    if (origin === null || !allowed) return;
    this.allowOrigin(headers, origin);
    if (this.#exposed !== "") {
      headers.set("access-control-expose-headers", this.#exposed);
    }
  }

  /** Adds the fields that let the page from `origin` read the answer. */
  allowOrigin(headers: Headers, origin: string): void {
    headers.set("access-control-allow-origin", this.#anyOrigin ? "*" : origin);
    if (this.#credentials) {
      headers.set("access-control-allow-credentials", "true");
    }
  }
}

/** Whether an Origin is allowed, from the `origin` option; a TypeError if it can't be right. */
function originTest(options: CorsOptions): OriginCheck {
  const origin = options.origin;
  if (typeof origin === "function") return origin;
  // A browser ignores a credentialed answer whose Allow-Origin is "*" (Fetch, "CORS check").
  if (origin === "*" && options.credentials) {
    const hint = "list the origins that may send credentials instead";
    throw new TypeError(`cors: origin "*" with credentials: browsers refuse that; ${hint}`);
  }
  if (origin === "*") return () => true;
  const list = typeof origin === "string" ? [origin] : origin;
  for (const each of list) {
    // An origin is a scheme, a host and a port, as a browser sends it: no path, not even a "/".
    if (URL.parse(each)?.origin === each) continue;
    const hint = 'write it as "https://example.com", with no path';
    throw new TypeError(`cors: ${JSON.stringify(each)} is not an origin: ${hint}`);
  }
  return (sent) => list.includes(sent);
}

/**
 * Adds `Origin` to Vary: the answer depends on who asked, so a cache must not give one origin's
 * answer to another (RFC 9110 12.5.5).
 */
function vary(headers: Headers): void {
  const names = (headers.get("vary") ?? "").split(",").map((name) => name.trim().toLowerCase());
  if (names.includes("origin") || names.includes("*")) return;
  headers.append("vary", "Origin");
}
