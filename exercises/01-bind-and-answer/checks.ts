// Exercise 1's checks: any request gets 200 OK, a body and its Content-Length, and then a close.
import { type Check, exchange, head } from "../tester.ts";

/** The request of this stage: every later stage answers it the same way. */
const GET = head("GET / HTTP/1.1", "Host: localhost", "Connection: close");

/** Stage 1's answer, whole. */
const HELLO = {
  status: 200,
  reason: "OK",
  fields: { "content-length": "13" },
  body: "Hello, World!",
};

const checks: Check[] = [
  exchange(
    "answers GET / with the status line HTTP/1.1 200 OK",
    "An answer starts with the version, the status code and its reason phrase (RFC 9112 4).",
    { send: GET, answers: [{ status: 200, reason: "OK" }] },
  ),
  exchange(
    "sends Hello, World! with Content-Length: 13",
    "Content-Length counts the body's bytes: it is how the client knows where the body ends.",
    { send: GET, answers: [HELLO] },
  ),
  exchange(
    "closes the connection after the answer",
    "The request said Connection: close: the client waits for the close.",
    { send: GET, answers: [HELLO], then: "close" },
  ),
  {
    name: "answers one connection after another",
    why: "The server must go on accepting after its first answer.",
    async run(open) {
      for (let i = 0; i < 3; i++) {
        const wire = await open();
        await wire.send(GET);
        await wire.answer(HELLO);
      }
    },
  },
  {
    name: "serves a second client while the first has sent nothing yet",
    why: "Handle each connection on its own (don't await it in the accept loop): " +
      "a client that is slow, or silent, must not hold up everyone else.",
    async run(open) {
      const silent = await open();
      const wire = await open();
      await wire.send(GET);
      await wire.answer(HELLO);
      silent.close();
    },
  },
];

export default { title: "bind and answer", checks };
