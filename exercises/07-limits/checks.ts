// Exercise 7's checks: every part of a request has a limit, in bytes or in time, and a client
// past one is refused (414, 431) or cut off, however slowly it sends.
import { type Check, exchange, head, refuses, sleep, type Wire } from "../tester.ts";

/** The limits of this stage (exercises/README.md): bytes of a request line, and of the fields. */
const MAX_REQUEST_LINE_BYTES = 8 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;

/** How long a head may take to come whole, and a kept-alive connection may sit idle. */
const TIME_LIMIT_MS = 2_000;

/** How long after the time limit the tester still waits for the close: a guard, not a limit. */
const GRACE_MS = 4_000;

/** How often a slow client sends its next byte. */
const TRICKLE_MS = 100;

const GET = head("GET / HTTP/1.1", "Host: localhost");
const HELLO = { status: 200, fields: { "content-length": "13" }, body: "Hello, World!" };

/** A GET / request line of exactly `length` bytes: the query string makes up the length. */
function requestLine(length: number): string {
  const frame = "GET /? HTTP/1.1".length;
  return `GET /?${"q".repeat(length - frame)} HTTP/1.1`;
}

/** `count` field lines of a thousand bytes each, CRLF included. */
function bigFields(count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `X-Pad-${String(i).padStart(2, "0")}: ${"p".repeat(988)}`,
  );
}

/**
 * Fails unless the server ends the connection within `ms`, sending nothing, or a 408 answer
 * (RFC 9110 15.5.9) and nothing more.
 */
async function cutOff(wire: Wire, ms: number, message: string): Promise<void> {
  await wire.until(() => wire.got.length > wire.at, ms);
  if (wire.got.length > wire.at) await wire.answer({ status: 408 });
  await wire.closes(0, message);
}

const checks: Check[] = [
  exchange(
    "serves a request line of 8000 bytes",
    "RFC 9112 3 asks a server to take request lines of 8000 bytes at least. The limit here is " +
      `${MAX_REQUEST_LINE_BYTES} bytes, the line's CRLF not counted.`,
    { send: head(requestLine(8000), "Host: localhost"), answers: [HELLO] },
  ),
  refuses(
    "refuses a request line over 8 KiB with 414",
    `A request line over ${MAX_REQUEST_LINE_BYTES} bytes gets 414 URI Too Long (RFC 9110 ` +
      "15.5.15): a server must not buffer whatever a client sends.",
    head(requestLine(9000), "Host: localhost"),
    414,
  ),
  refuses(
    "refuses a request line that goes past 8 KiB with no end in sight, without waiting for it",
    "Check a line's length while it comes, not once it has ended: a line that never ends would " +
      "fill the memory. The tester sends 9000 bytes with no CRLF, and waits.",
    requestLine(9000).slice(0, -" HTTP/1.1".length),
    414,
  ),
  exchange(
    "serves 15 KiB of header fields",
    `The limit is ${MAX_HEADER_BYTES} bytes of field lines, each line's CRLF counted.`,
    { send: head("GET / HTTP/1.1", "Host: localhost", ...bigFields(15)), answers: [HELLO] },
  ),
  refuses(
    "refuses more than 16 KiB of header fields with 431",
    `More than ${MAX_HEADER_BYTES} bytes of field lines get 431 Request Header Fields Too ` +
      "Large (RFC 6585 5).",
    head("GET / HTTP/1.1", "Host: localhost", ...bigFields(17)),
    431,
  ),
  refuses(
    "refuses header fields that go past 16 KiB with no blank line in sight, without waiting",
    "Count the field section's bytes as its lines come: a head that never ends must not be " +
      "buffered for ever. The tester sends 17 field lines and no blank line, and waits.",
    head("GET / HTTP/1.1", "Host: localhost", ...bigFields(17)).slice(0, -"\r\n".length),
    431,
  ),
  {
    name: "cuts off a head that is still not whole 2 s after it began",
    why: "A client that sends a byte now and then can hold a connection for ever (slowloris): " +
      `give the whole head ${TIME_LIMIT_MS / 1000} s, then close the connection (a 408 first ` +
      "is fine). The tester sends a byte every 100 ms.",
    async run(open) {
      const wire = await open();
      const started = Date.now();
      await wire.send(GET.slice(0, -"\r\n".length) + "X-Slow: ");
      while (wire.state === "open" && Date.now() - started < TIME_LIMIT_MS + GRACE_MS) {
        await sleep(TRICKLE_MS);
        await wire.send("z");
      }
      const late = `The head began ${((Date.now() - started) / 1000).toFixed(1)} s ago.`;
      await cutOff(wire, 0, `${late} The connection should have been closed by now.`);
    },
  },
  {
    name: "closes a kept-alive connection that sits idle for 2 s",
    why: "An idle connection holds a socket and memory: close one that has carried no request " +
      `for ${TIME_LIMIT_MS / 1000} s.`,
    async run(open) {
      const wire = await open();
      await wire.send(GET);
      await wire.answer(HELLO);
      await wire.send(GET);
      await wire.answer(HELLO);
      const message = `The connection sat idle, and was still open ${
        (TIME_LIMIT_MS + GRACE_MS) / 1000
      } s later.`;
      await cutOff(wire, TIME_LIMIT_MS + GRACE_MS, message);
    },
  },
];

export default { title: "limits and slow clients", checks };
