// Exercise 6's checks: a connection carries one request after another, pipelined or not, and
// closes when a side says so, after HTTP/1.0, or after a malformed request.
import { type Check, exchange, head } from "../tester.ts";

/** A GET / that leaves the connection open, and its answer. */
const GET = head("GET / HTTP/1.1", "Host: localhost");
const HELLO = { status: 200, fields: { "content-length": "13" }, body: "Hello, World!" };

/** A POST to /echo with `body` and its Content-Length, leaving the connection open. */
function echo(body: string): string {
  return head("POST /echo HTTP/1.1", "Host: localhost", `Content-Length: ${body.length}`) + body;
}

/** The answer to echo(body). */
function echoed(body: string) {
  return { status: 200, body };
}

const checks: Check[] = [
  {
    name: "answers two requests on one connection, one after the other",
    why: "HTTP/1.1 keeps a connection open after an answer unless a side says Connection: close " +
      "(RFC 9112 9.3): read the next request from it.",
    async run(open) {
      const wire = await open();
      await wire.send(GET);
      await wire.answer(HELLO);
      await wire.send(echo("again"));
      await wire.answer(echoed("again"));
    },
  },
  exchange(
    "answers three pipelined requests, sent in one write, in order",
    "A client may send requests without waiting for answers (pipelining, RFC 9112 9.3.2). The " +
      "bytes after one request are the next one: keep them, and answer in order.",
    {
      send: echo("one") + echo("two") + GET,
      answers: [echoed("one"), echoed("two"), HELLO],
    },
  ),
  exchange(
    "answers pipelined requests with a chunked body and a Content-Length body",
    "The end of each body, chunked or counted, is where the next request begins.",
    {
      send: head("POST /echo HTTP/1.1", "Host: localhost", "Transfer-Encoding: chunked") +
        "3\r\nabc\r\n0\r\n\r\n" + echo("def") + GET,
      answers: [echoed("abc"), echoed("def"), HELLO],
    },
  ),
  exchange(
    "answers a pipelined request that is cut across two writes",
    "A read may end in the middle of the next request: the rest comes in the next read.",
    {
      send: [echo("first") + echo("second").slice(0, 20), echo("second").slice(20)],
      pauseMs: 20,
      answers: [echoed("first"), echoed("second")],
    },
  ),
  exchange(
    "closes after answering Connection: close, and answers nothing after it",
    'The request said "Connection: close": answer it, then close (RFC 9112 9.6). What came ' +
      "after it is not answered.",
    {
      send: head("GET / HTTP/1.1", "Host: localhost", "Connection: close") + GET,
      answers: [HELLO],
      then: "close",
    },
  ),
  exchange(
    "closes after answering HTTP/1.0, which does not keep connections open",
    'HTTP/1.0 closes after each answer unless the client asks for "Connection: keep-alive" ' +
      "(RFC 9112 9.3).",
    { send: head("GET / HTTP/1.0") + head("GET / HTTP/1.0"), answers: [HELLO], then: "close" },
  ),
  exchange(
    "closes after a 400: the bytes after a malformed request can't be trusted",
    "Where a malformed request ends is anyone's guess, and so is where the next one begins: " +
      "answer 400, and close.",
    {
      send: head("GET / HTTP/1.1", "Host: localhost", "X-Test : 1") + GET,
      answers: [{ status: 400 }],
      then: "close",
    },
  ),
];

export default { title: "keep-alive and pipelining", checks };
