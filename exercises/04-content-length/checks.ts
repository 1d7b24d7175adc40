// Exercise 4's checks: a body framed by Content-Length is read whole, however it comes, and held
// to a limit; a Content-Length that is not one number gets 400.
import { type Check, exchange, head, refuses } from "../tester.ts";

/** The biggest body the server must take: 1 MiB. */
const MAX_BODY_BYTES = 1024 * 1024;

/** The pause between two pieces: long enough for the server to read them apart. */
const PAUSE_MS = 20;

/** A POST to /echo with `body` and its Content-Length. */
function echo(body: string | Uint8Array): [string, string | Uint8Array] {
  const length = typeof body === "string" ? new TextEncoder().encode(body).length : body.length;
  const request = head(
    "POST /echo HTTP/1.1",
    "Host: localhost",
    `Content-Length: ${length}`,
    "Connection: close",
  );
  return [request, body];
}

/** A POST to /echo whose Content-Length field says `length`, and no body. */
function claiming(...lengths: string[]): string {
  const fields = lengths.map((length) => `Content-Length: ${length}`);
  return head("POST /echo HTTP/1.1", "Host: localhost", ...fields, "Connection: close");
}

/** A mebibyte of bytes, every value from 0 to 255 over and over. */
const MEBIBYTE = Uint8Array.from({ length: MAX_BODY_BYTES }, (_, i) => i % 256);

const checks: Check[] = [
  exchange(
    "echoes a body of Content-Length bytes",
    "POST /echo answers with the body it got. Content-Length says how many bytes follow the head.",
    {
      send: echo("hello"),
      answers: [{ status: 200, fields: { "content-length": "5" }, body: "hello" }],
    },
  ),
  exchange(
    "reads a body that comes after its head, in pieces",
    "Read until you have Content-Length bytes: the body may come after the head, bit by bit.",
    {
      send: [
        head("POST /echo HTTP/1.1", "Host: localhost", "Content-Length: 11", "Connection: close"),
        "hello",
        " world",
      ],
      pauseMs: PAUSE_MS,
      waitsForLast: true,
      answers: [{ status: 200, body: "hello world" }],
      then: "close",
    },
  ),
  exchange(
    "takes a body with a blank line in it as a body",
    "Only the head ends at the first blank line. After it, count bytes: look for nothing.",
    { send: echo("a\r\n\r\nb"), answers: [{ status: 200, body: "a\r\n\r\nb" }] },
  ),
  exchange(
    "echoes a body of exactly 1 MiB, every byte of it",
    "1 MiB is the limit, and a body at the limit is served. It takes many reads: keep going.",
    { send: echo(MEBIBYTE), answers: [{ status: 200, body: MEBIBYTE }] },
  ),
  exchange(
    "takes Content-Length: 0 as an empty body",
    "Zero bytes is a body too: the answer's Content-Length is 0.",
    { send: echo(""), answers: [{ status: 200, fields: { "content-length": "0" }, body: "" }] },
  ),
  refuses(
    "refuses a Content-Length over 1 MiB with 413, before the body comes",
    "Refuse a body you won't take as soon as Content-Length says so: reading it first, to throw " +
      "it away, is what an attacker wants. The tester sends the head only, and waits.",
    claiming(String(MAX_BODY_BYTES + 1)),
    413,
  ),
  refuses(
    "refuses Content-Length: abc with 400",
    "A Content-Length is digits, and nothing else (RFC 9110 8.6).",
    claiming("abc"),
  ),
  refuses(
    "refuses Content-Length: -1 with 400",
    "A Content-Length is digits: no sign (RFC 9110 8.6). Number() and parseInt() take more.",
    claiming("-1"),
  ),
  refuses(
    "refuses Content-Length: +5 with 400",
    'A Content-Length is digits: no sign (RFC 9110 8.6). Number("+5") is 5, and it is wrong.',
    claiming("+5") + "hello",
  ),
  refuses(
    "refuses two different Content-Lengths with 400",
    "Two lengths that differ can't both be right, and a proxy may believe the other one: the " +
      "bytes after the body would be a request to you and a body to it (RFC 9112 6.3).",
    claiming("5", "6") + "hello!",
  ),
];

export default { title: "Content-Length bodies", checks };
