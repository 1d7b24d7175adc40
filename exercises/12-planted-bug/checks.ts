// Exercise 12's checks: the bytes that request smuggling is made of. Two servers that read the
// same bytes as different requests (a proxy and this one, say) can be made to pass a request
// that neither would let through on its own. Each refusal below closes one such gap.
import { type Check, exchange, head } from "../tester.ts";

/** A request that only a server fooled by the bytes before it would see. */
const SMUGGLED = head("GET /smuggled HTTP/1.1", "Host: localhost");

const HELLO = { status: 200, fields: { "content-length": "13" }, body: "Hello, World!" };

/**
 * A check that `request`, followed by SMUGGLED in the same write, gets 400 and a close: SMUGGLED
 * must never be answered.
 */
function closesTheGap(name: string, why: string, request: string): Check {
  const send = request + SMUGGLED;
  return exchange(name, why, { send, answers: [{ status: 400 }], then: "close" });
}

/** A POST to /echo with these fields, and `body`. */
function post(fields: string[], body: string): string {
  return head("POST /echo HTTP/1.1", "Host: localhost", ...fields) + body;
}

const checks: Check[] = [
  exchange(
    "answers pipelined requests in order, each body ending where its Content-Length says",
    "The server must work, before it is safe: two bodies by Content-Length, then a GET.",
    {
      send: post(["Content-Length: 3"], "one") + post(["Content-Length: 3"], "two") +
        head("GET / HTTP/1.1", "Host: localhost"),
      answers: [{ status: 200, body: "one" }, { status: 200, body: "two" }, HELLO],
    },
  ),
  exchange(
    "decodes a chunked body, trailers and all, and answers the request after it",
    "The end of a chunked body is its last chunk, its trailer fields and a blank line.",
    {
      send: post(["Transfer-Encoding: chunked"], "3\r\none\r\n0\r\nX-Sum: 1\r\n\r\n") +
        head("GET / HTTP/1.1", "Host: localhost"),
      answers: [{ status: 200, body: "one" }, HELLO],
    },
  ),
  closesTheGap(
    "refuses a request line that ends in a bare \\n with 400",
    "Lines end in \\r\\n (RFC 9112 2.2). A server that also ends them at a bare \\n sees other " +
      "lines, and other requests, than one that does not.",
    "GET / HTTP/1.1\nHost: localhost\r\n\r\n",
  ),
  closesTheGap(
    "refuses a field line that ends in a bare \\n with 400",
    "Lines end in \\r\\n: a bare \\n is inside a line, and a field value can't hold one.",
    "GET / HTTP/1.1\r\nHost: localhost\nX-Test: 1\r\n\r\n",
  ),
  closesTheGap(
    "refuses Transfer-Encoding with a space before its colon with 400",
    'A proxy that drops the space sees chunks where one that keeps it sees "Transfer-Encoding "' +
      ", a field like any other (RFC 9112 5.1).",
    post(["Transfer-Encoding : chunked", "Content-Length: 5"], "0\r\n\r\n"),
  ),
  closesTheGap(
    "refuses Content-Length with Transfer-Encoding with 400",
    "One server may go by the length, another by the chunks: refuse both at once (RFC 9112 6.1).",
    post(["Content-Length: 5", "Transfer-Encoding: chunked"], "0\r\n\r\n"),
  ),
  closesTheGap(
    "refuses two different Content-Lengths with 400",
    "A proxy that goes by the second length sees one request, with a body that holds GET " +
      "/smuggled; a server that goes by the first sees two. Refuse lengths that differ " +
      "(RFC 9110 8.6).",
    post(
      ["Content-Length: 5", `Content-Length: ${"hello".length + SMUGGLED.length}`],
      "hello",
    ),
  ),
  closesTheGap(
    "refuses a chunk size of 0x5 with 400",
    'parseInt("0x5", 16) is 5; to a stricter server it is no size at all.',
    post(["Transfer-Encoding: chunked"], "0x5\r\nhello\r\n0\r\n\r\n"),
  ),
  closesTheGap(
    "refuses a line folded onto the next (obs-fold) with 400",
    "A line that starts with a space continues the one before to some servers, and is a field " +
      "of its own to others (RFC 9112 5.2).",
    "GET / HTTP/1.1\r\nHost: localhost\r\nX-Test: 1\r\n Transfer-Encoding: chunked\r\n\r\n",
  ),
  closesTheGap(
    "refuses a NUL in a field value with 400",
    "A NUL ends a string in C: a server written in it may read less of the value than you.",
    "GET / HTTP/1.1\r\nHost: localhost\r\nX-Test: a\x00b\r\n\r\n",
  ),
];

export default { title: "find the planted parser bug", checks };
