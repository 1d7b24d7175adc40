// Exercise 11's checks: each client may make 5 requests in a window of 2 s; the 6th, on any path,
// gets 429 with Retry-After, and the client is served again once the window has ended.
import { type Check, head, sleep, type Wire } from "../tester.ts";

/** The requests a client may make in one window, and how long a window lasts. */
const MAX_REQUESTS = 5;
const WINDOW_MS = 2_000;

/** How long after Retry-After the tester asks again: timers may fire a little late. */
const MARGIN_MS = 200;

/** A GET of `path` from the client with API key `key` (none: the client is its address). */
function get(path: string, key?: string): string {
  const fields = key === undefined ? [] : [`X-Api-Key: ${key}`];
  return head(`GET ${path} HTTP/1.1`, "Host: localhost", ...fields);
}

/** A fresh API key: each check is a new client. */
function newKey(): string {
  return `client-${crypto.randomUUID().slice(0, 8)}`;
}

const OK = { status: 200 };

// Retry-After is whole seconds (RFC 9110 10.2.3): at most the window, and at least 1, since a
// retry at once would be refused.
const TOO_MANY = { status: 429, fields: { "retry-after": /^[12]$/ } };

/** Sends `count` requests from `key`, pipelined, and reads the 5 answers that must be 200. */
async function useUp(wire: Wire, key: string, count: number): Promise<void> {
  await wire.send(Array.from({ length: count }, () => get("/", key)).join(""));
  for (let i = 0; i < MAX_REQUESTS; i++) await wire.answer(OK);
}

const checks: Check[] = [
  {
    name: "lets a client make 5 requests in a window",
    why: "Up to the limit, every request is served.",
    async run(open) {
      await useUp(await open(), newKey(), MAX_REQUESTS);
    },
  },
  {
    name: "answers the 6th with 429 Too Many Requests and Retry-After: 1 or 2",
    why: "Past the limit, 429 (RFC 6585 4), with Retry-After: the whole seconds until the window " +
      "ends, rounded up. HttpError takes headers: new HttpError(429, msg, { headers }).",
    async run(open) {
      const wire = await open();
      await useUp(wire, newKey(), MAX_REQUESTS + 1);
      await wire.answer(TOO_MANY);
    },
  },
  {
    name: "counts every path: a 7th request, to a path with no route, is 429 too",
    why: "The limit is a middleware in front of everything: it answers before the router would " +
      "say 404.",
    async run(open) {
      const wire = await open();
      const key = newKey();
      await useUp(wire, key, MAX_REQUESTS + 1);
      await wire.answer(TOO_MANY);
      await wire.send(get("/nowhere", key));
      await wire.answer(TOO_MANY);
    },
  },
  {
    name: "counts each client apart: another API key, and none at all, are still served",
    why: "A client is its X-Api-Key if it sends one, else its address (req.remoteAddr): one " +
      "busy client must not lock out the others.",
    async run(open) {
      const wire = await open();
      await useUp(wire, newKey(), MAX_REQUESTS + 1);
      await wire.answer(TOO_MANY);
      await wire.send(get("/", newKey()) + get("/"));
      await wire.answer(OK);
      await wire.answer(OK);
    },
  },
  {
    name: "serves the client again once Retry-After seconds have passed",
    why: "When the window ends, the count starts afresh: Retry-After must not send a client " +
      "back too early.",
    async run(open) {
      const wire = await open();
      const key = newKey();
      await useUp(wire, key, MAX_REQUESTS + 1);
      const refused = await wire.answer(TOO_MANY);
      await sleep(Number(refused.fields.get("retry-after")) * 1000 + MARGIN_MS);
      await wire.send(get("/", key));
      await wire.answer(OK);
    },
  },
];

export default { title: `a rate limit: ${MAX_REQUESTS} requests in ${WINDOW_MS / 1000} s`, checks };
