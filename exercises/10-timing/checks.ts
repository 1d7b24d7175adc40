// Exercise 10's checks: every answer says how long the app took, in Server-Timing (or in
// X-Response-Time), whatever the answer: 200, 404, 405, an HttpError, or a bug's 500.
import { type Check, type Got, head, type Wire } from "../tester.ts";

/** How long GET /slow takes, and the least its timing may say (timers may fire a bit late). */
const SLOW_MS = 100;
const LEAST_SLOW_MS = 80;

// Server-Timing: a metric's name, then ";dur=" and milliseconds (W3C Server Timing).
const SERVER_TIMING = /^[!#$%&'*+.^_`|~\w-]+[\t ]*;[\t ]*dur=(\d+(?:\.\d+)?)/;
// X-Response-Time: milliseconds, then "ms".
const RESPONSE_TIME = /^(\d+(?:\.\d+)?)[\t ]*ms$/;

/** The milliseconds an answer says the app took; the check fails if it says nothing. */
function duration(wire: Wire, got: Got): number {
  const timing = SERVER_TIMING.exec(got.fields.get("server-timing") ?? "");
  const time = RESPONSE_TIME.exec(got.fields.get("x-response-time") ?? "");
  const ms = timing?.[1] ?? time?.[1];
  if (ms !== undefined) return Number(ms);
  throw wire.fail(
    'No "Server-Timing: app;dur=12.3" (nor "X-Response-Time: 12.3ms") field in the answer.',
    got.bodyStart - "\r\n".length,
    "expected a server-timing field before this blank line",
  );
}

/** A check that a GET of `path` is answered with `status`, and the time it took. */
function timed(name: string, why: string, method: string, path: string, status: number): Check {
  return {
    name,
    why,
    async run(open) {
      const wire = await open();
      await wire.send(head(`${method} ${path} HTTP/1.1`, "Host: localhost"));
      duration(wire, await wire.answer({ status }));
    },
  };
}

const checks: Check[] = [
  timed(
    "times a 200: GET /",
    "Add a middleware with app.use(): it gets each request, calls next(), and holds the answer.",
    "GET",
    "/",
    200,
  ),
  timed(
    "times a 404: GET /nowhere",
    "A path with no route comes back from next() as a 404 answer: time it like any other.",
    "GET",
    "/nowhere",
    404,
  ),
  timed(
    "times a 405: GET /echo",
    "The router's 405 comes back from next() as an answer too.",
    "GET",
    "/echo",
    405,
  ),
  timed(
    "times an HttpError's answer: GET /teapot is 418",
    "In groundwork, what a handler throws has become an answer by the time next() returns.",
    "GET",
    "/teapot",
    418,
  ),
  timed(
    "times a bug's 500: GET /broken",
    "A bug is a 500, and it comes back from next() too: no try/catch is needed for it.",
    "GET",
    "/broken",
    500,
  ),
  {
    name: `times the whole handler: GET /slow takes ${SLOW_MS} ms, and says so`,
    why: "Take the time before next(), and again after awaiting it: the handler's wait is part " +
      "of the time.",
    async run(open) {
      const wire = await open();
      await wire.send(head("GET /slow HTTP/1.1", "Host: localhost"));
      const got = await wire.answer({ status: 200 });
      if (duration(wire, got) < LEAST_SLOW_MS) {
        const message = `GET /slow waits ${SLOW_MS} ms, and its timing says less than that.`;
        throw wire.fail(message, got.start, "this answer");
      }
    },
  },
];

export default { title: "a timing middleware", checks };
