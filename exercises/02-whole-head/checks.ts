// Exercise 2's checks: a head is read whole, however its bytes come, and answered only then.
import { byteByByte, type Check, exchange, head, QUIET_MS, sleep } from "../tester.ts";

const GET = head("GET / HTTP/1.1", "Host: localhost", "Connection: close");
const HELLO = { status: 200, fields: { "content-length": "13" }, body: "Hello, World!" };

/** The pause between two pieces: long enough for the server to read them apart. */
const PAUSE_MS = 5;

/** Six field lines of a thousand bytes: more than one read of 4 KiB brings. */
const BIG_FIELDS = Array.from({ length: 6 }, (_, i) => `X-Pad-${i}: ${"p".repeat(990)}`);
const BIG_HEAD = head("GET / HTTP/1.1", "Host: localhost", ...BIG_FIELDS, "Connection: close");

const checks: Check[] = [
  {
    name: "waits for the blank line: no answer before the head is whole",
    why: "A read brings what has come, not a request: read until the blank line (\\r\\n\\r\\n).",
    async run(open) {
      const wire = await open();
      await wire.send(byteByByte(GET.slice(0, -1)), PAUSE_MS);
      await sleep(QUIET_MS);
      wire.nothingYet("An answer came before the blank line that ends the head.");
      await wire.send(GET.slice(-1));
      await wire.answer(HELLO);
    },
  },
  exchange(
    "answers a head cut mid-line, and between its \\r and its \\n",
    "Look for the end of a line in all the bytes read so far, not in the last read alone.",
    {
      send: ["GET / HT", "TP/1.1\r", "\nHost: loc", "alhost\r\nConnection: close\r\n\r", "\n"],
      pauseMs: PAUSE_MS,
      waitsForLast: true,
      answers: [HELLO],
      then: "close",
    },
  ),
  exchange(
    "reads a head longer than one read: six fields of a thousand bytes",
    "Keep reading while the blank line has not come: a read of 4 KiB holds 4 KiB at most.",
    {
      // The blank line's \r\n comes apart, so that an answer to the first piece shows.
      send: [BIG_HEAD.slice(0, -2), "\r\n"],
      waitsForLast: true,
      answers: [HELLO],
    },
  ),
  {
    name: "goes on serving after a client leaves in the middle of a head",
    why: "A read that ends (null) before the blank line means the client left: close, and " +
      "carry on. An error that nothing catches ends the whole program.",
    async run(open) {
      const leaving = await open();
      await leaving.send("GET / HTTP/1.1\r\nHo");
      await sleep(QUIET_MS);
      await leaving.end();
      const wire = await open();
      await wire.send(GET);
      await wire.answer(HELLO);
    },
  },
];

export default { title: "a whole head, across short reads", checks };
