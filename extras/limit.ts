/**
 * Two guards for the front of an app, each a middleware:
 * - {@linkcode rateLimit}: a client past `max` requests in a window gets 429 Too Many Requests,
 *   with Retry-After (RFC 6585 4, RFC 9110 10.2.3).
 * - {@linkcode ipBan}: a client whose address is on a ban list gets 403 Forbidden; the list can
 *   change while the server runs.
 *
 * A client is its IP address (`req.remoteAddr`) unless you pass a `key`. An IPv4 client of a
 * dual-stack socket, "::ffff:192.0.2.7", counts as "192.0.2.7".
 *
 * What they do not do:
 * - Share counts between processes or machines: each keeps its own, in memory.
 * - See through a proxy: behind one, every client has the proxy's address. Then pass a `key` that
 *   reads the field your proxy sets (and only if it sets it: a client can send one too).
 * - Ban a range of addresses, or count an IPv6 /64 (what one client usually holds) as one.
 * @module
 */
import { HttpError, type Middleware, type Request } from "../mod.ts";

/**
 * What {@linkcode rateLimit} counts, and per what.
 * @example 100 requests a minute per client, told apart by an API key
 * ```ts
 * import type { RateLimitOptions } from "@groundwork/groundwork/limit";
 *
 * const options: RateLimitOptions = {
 *   windowMs: 60_000,
 *   max: 100,
 *   key: (req) => req.headers.get("x-api-key") ?? req.remoteAddr,
 * };
 * ```
 */
export type RateLimitOptions = {
  /** How long a window lasts, in milliseconds: each client's count starts afresh after it. */
  windowMs: number;
  /** The requests a client may make in one window; those past it get 429. */
  max: number;
  /** What tells clients apart; by default their IP address. */
  key?: (req: Request) => string;
  /** The most clients remembered at once (10,000 by default); past it, the oldest is forgotten. */
  maxClients?: number;
};

/**
 * What {@linkcode ipBan} refuses.
 * @example Two addresses, and a Set kept to add more
 * ```ts
 * import type { IpBanOptions } from "@groundwork/groundwork/limit";
 *
 * const banned = new Set(["192.0.2.7", "2001:db8::1"]);
 * const options: IpBanOptions = { banned };
 * ```
 */
export type IpBanOptions = {
  /** Banned addresses, e.g. "192.0.2.7" or "2001:db8::1" (lowercase): keep the Set to add to it. */
  banned: ReadonlySet<string>;
  /** What is looked up in `banned`; by default the client's IP address. */
  key?: (req: Request) => string;
};

// 10,000 windows take about a megabyte: enough for every client of a busy minute on a small server.
const MAX_CLIENTS = 10_000;
// Retry-After counts whole seconds (RFC 9110 10.2.3).
const MS_PER_SECOND = 1000;
// An IPv4 address seen on an IPv6 socket (RFC 4291 2.5.5.2): the same client as the bare address.
const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** One client's window: when it started, and how many requests it has seen. */
type Window = { start: number; count: number };

/**
 * A middleware that lets each client make `max` requests per window of `windowMs` (a fixed
 * window: the count starts afresh when it ends, so a client may fit up to `2 * max` around that
 * moment). Past it: HttpError 429 with Retry-After, the seconds until the window ends. Memory
 * stays bounded: ended windows are swept as new ones start, and at most `maxClients` are kept.
 * @example 100 requests a minute per address
 * ```ts
 * import { App, Request } from "@groundwork/groundwork";
 * import { rateLimit } from "@groundwork/groundwork/limit";
 * import assert from "node:assert/strict";
 *
 * const app = new App().use(rateLimit({ windowMs: 60_000, max: 2 })).get("/", () => "hi");
 * const client = { remoteAddr: "192.0.2.7" };
 * const ask = () => app.handle(new Request("GET", "http://localhost/", client));
 * assert.equal((await ask()).status, 200);
 * assert.equal((await ask()).status, 200);
 * const refused = await ask();
 * assert.equal(refused.status, 429);
 * assert.equal(refused.headers.get("retry-after"), "60");
 * ```
 */
export function rateLimit(options: RateLimitOptions): Middleware {
  const { windowMs, max } = options;
  const keyOf = options.key ?? clientAddress;
  const maxClients = options.maxClients ?? MAX_CLIENTS;
  if (!(windowMs > 0)) throw new RangeError(`windowMs ${windowMs} is not positive: try 60_000`);
  if (!(Number.isInteger(max) && max > 0)) throw new RangeError(`max ${max} is not an integer > 0`);
  const room = Number.isInteger(maxClients) && maxClients > 0;
  if (!room) throw new RangeError(`maxClients ${maxClients} is not an integer > 0`);

  // A Map keeps the order in which keys were set, and a window is set as it starts: oldest first.
  const windows = new Map<string, Window>();
  return (req, next) => {
    // A monotonic clock: setting the system's time neither ends windows nor stretches them.
    const now = performance.now();
    const key = keyOf(req);
    let window = windows.get(key);

    // A new window: the client's first request, or its first since its last window ended.
    if (window === undefined || now - window.start >= windowMs) {
      windows.delete(key);
      sweep(windows, now, windowMs, maxClients);
      window = { start: now, count: 0 };
      windows.set(key, window);
    }
    window.count += 1;
    if (window.count <= max) return next();

    // Too many: say when to come back (RFC 6585 4), in whole seconds, rounded up.
    const wait = Math.ceil((window.start + windowMs - now) / MS_PER_SECOND);
    const headers = { "retry-after": String(wait) };
    throw new HttpError(429, `Over ${max} requests: wait ${wait} s`, { headers });
  };
}

/**
 * Deletes the windows that have ended, oldest first, stopping at the first one still running; then
 * running ones too, oldest first, while no room is left for one more. Each window is deleted once:
 * on average, a request pays for one deletion at most.
 */
function sweep(windows: Map<string, Window>, now: number, windowMs: number, room: number): void {
  for (const [key, window] of windows) {
    const ended = now - window.start >= windowMs;
    if (!ended && windows.size < room) return;
    windows.delete(key);
  }
}

/**
 * A middleware that refuses a client whose address is in `banned`, with HttpError 403, before
 * the rest of the app runs. Put it first: it is the cheapest check there is.
 * @example A ban list that grows while the server runs
 * ```ts
 * import { App, Request } from "@groundwork/groundwork";
 * import { ipBan } from "@groundwork/groundwork/limit";
 * import assert from "node:assert/strict";
 *
 * const banned = new Set<string>();
 * const app = new App().use(ipBan({ banned })).get("/", () => "hi");
 * const client = { remoteAddr: "192.0.2.7" };
 * const ask = () => app.handle(new Request("GET", "http://localhost/", client));
 * assert.equal((await ask()).status, 200);
 * banned.add("192.0.2.7");
 * assert.equal((await ask()).status, 403);
 * ```
 */
export function ipBan(options: IpBanOptions): Middleware {
  const keyOf = options.key ?? clientAddress;
  return (req, next) => {
    // 403: we know who asks, and the answer is no (RFC 9110 15.5.4).
    if (options.banned.has(keyOf(req))) throw new HttpError(403, "Your address is banned");
    return next();
  };
}

/** The client's IP address, an IPv4 one without its "::ffff:" when seen on an IPv6 socket. */
function clientAddress(req: Request): string {
  const mapped = MAPPED_IPV4.exec(req.remoteAddr);
  return mapped === null ? req.remoteAddr.toLowerCase() : mapped[1];
}
