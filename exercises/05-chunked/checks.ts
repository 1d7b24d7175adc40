// Exercise 5's checks: a chunked body (RFC 9112 7.1) is decoded, extensions, trailers and all,
// however its bytes come; a bad chunk, or Content-Length with Transfer-Encoding, gets 400.
import { type Check, exchange, head, refuses } from "../tester.ts";

/** The pause between two pieces: long enough for the server to read them apart. */
const PAUSE_MS = 20;

/** A POST to /echo with a chunked body: the head, then `chunks` as they are on the wire. */
function chunked(chunks: string, coding = "chunked"): string {
  const fields = ["Host: localhost", `Transfer-Encoding: ${coding}`, "Connection: close"];
  return head("POST /echo HTTP/1.1", ...fields) + chunks;
}

/** A check that the chunks are decoded into `body`. */
function decodes(name: string, why: string, chunks: string | string[], body: string): Check {
  const pieces = typeof chunks === "string" ? [chunked(chunks)] : [chunked(""), ...chunks];
  return exchange(name, why, {
    send: pieces,
    pauseMs: PAUSE_MS,
    waitsForLast: pieces.length > 1,
    answers: [{ status: 200, body }],
    then: "close",
  });
}

const checks: Check[] = [
  decodes(
    "decodes a chunked body",
    "Each chunk is its size in hex on a line, that many bytes, and \\r\\n; a chunk of size 0 " +
      "is the last (RFC 9112 7.1). POST /echo answers with the chunks joined.",
    "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n",
    "hello, world",
  ),
  decodes(
    "reads a size in hex, in either case: a and A are ten",
    "A chunk size is hex digits, 0-9, a-f and A-F.",
    "a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n",
    "0123456789abcdefghij",
  ),
  decodes(
    "ignores chunk extensions",
    'A size may be followed by extensions, ";name=value" (RFC 9112 7.1.1): skip them.',
    '5;name=value\r\nhello\r\n6 ; quoted="a b"\r\n world\r\n0\r\n\r\n',
    "hello world",
  ),
  decodes(
    "reads the trailer fields after the last chunk, and answers only after them",
    "After the last chunk come trailer fields, and a blank line (RFC 9112 7.1.2): the request " +
      "ends there, not at the 0.",
    ["5\r\nhello\r\n0\r\n", "X-Checksum: 1\r\n", "\r\n"],
    "hello",
  ),
  decodes(
    "reads a chunk cut across reads, and a size line cut too",
    "Chunks come in reads like everything else: ask the reader for a line, or for n bytes.",
    ["0", "a\r\n01234", "56789\r\n", "0\r", "\n\r\n"],
    "0123456789",
  ),
  exchange(
    "takes Transfer-Encoding: Chunked, in any case",
    "A coding's name is case-insensitive (RFC 9112 7).",
    {
      send: chunked("5\r\nhello\r\n0\r\n\r\n", "Chunked"),
      answers: [{ status: 200, body: "hello" }],
    },
  ),
  refuses(
    "refuses a chunk size that is not hex with 400",
    "A size that is not hex digits is no size: 400.",
    chunked("zz\r\nhello\r\n0\r\n\r\n"),
  ),
  refuses(
    "refuses a chunk size of 0x5 with 400",
    'A size is hex digits, with no "0x" (RFC 9112 7.1): parseInt("0x5", 16) is 5, and wrong.',
    chunked("0x5\r\nhello\r\n0\r\n\r\n"),
  ),
  refuses(
    "refuses a chunk size of -5 with 400",
    "A size is hex digits: no sign. parseInt() takes one; check the digits first.",
    chunked("-5\r\nhello\r\n0\r\n\r\n"),
  ),
  refuses(
    "refuses a chunk longer than its size with 400",
    "After the size's bytes comes \\r\\n: anything else means the size was wrong.",
    chunked("3\r\nhello\r\n0\r\n\r\n"),
  ),
  refuses(
    "refuses Content-Length with Transfer-Encoding with 400",
    "With both, two servers on the way may each believe another one, and disagree on where the " +
      "next request starts: request smuggling. Refuse the request (RFC 9112 6.1).",
    head(
      "POST /echo HTTP/1.1",
      "Host: localhost",
      "Content-Length: 5",
      "Transfer-Encoding: chunked",
      "Connection: close",
    ) + "5\r\nhello\r\n0\r\n\r\n",
  ),
];

export default { title: "chunked bodies", checks };
