// Exercise 11, a solution: a rate limit as a middleware. Each client may make 5 requests in a
// window of 2 s that starts with its first one; past that, 429 with Retry-After.
//   deno run --allow-net exercises/11-rate-limit/solution.ts --port 8000
import { App, HttpError, type Request, Response } from "../../mod.ts";

/** The requests a client may make in one window. */
const MAX_REQUESTS = 5;

/** How long a window lasts: a client's count starts afresh after it. */
const WINDOW_MS = 2_000;

// Retry-After counts whole seconds (RFC 9110 10.2.3).
const MS_PER_SECOND = 1000;

/** One client's window: when it started, and how many requests it has seen. */
type Window = { start: number; count: number };

/** The windows, by client. An ended window is forgotten when a new one starts, to bound memory. */
const windows = new Map<string, Window>();

/** Who asks: its API key if it sends one, else its address. */
function client(req: Request): string {
  const key = req.headers.get("x-api-key");
  return key === null ? `address ${req.remoteAddr}` : `key ${key}`;
}

/** Forgets the windows that have ended: each client that comes back starts a new one. */
function sweep(now: number): void {
  for (const [who, window] of windows) {
    if (now - window.start >= WINDOW_MS) windows.delete(who);
  }
}

const app = new App();

// Added first, it runs before everything else: a client over its limit reaches no handler.
app.use((req, next) => {
  const now = Date.now();
  const who = client(req);
  let window = windows.get(who);
  if (window === undefined || now - window.start >= WINDOW_MS) {
    sweep(now);
    window = { start: now, count: 0 };
    windows.set(who, window);
  }
  window.count++;
  if (window.count > MAX_REQUESTS) {
    // The seconds until the window ends, rounded up: retrying then is sure to be served.
    const wait = Math.ceil((window.start + WINDOW_MS - now) / MS_PER_SECOND);
    const headers = { "retry-after": String(wait) };
    throw new HttpError(429, `Over ${MAX_REQUESTS} requests in ${WINDOW_MS} ms`, { headers });
  }
  return next();
});

app.get("/", () => "Hello, World!");
app.post("/echo", async (req) => new Response(await req.bytes()));

await app.listen();
