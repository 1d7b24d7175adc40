// Exercise 1, the starter: it listens on the port, and answers every request with 501 Not
// Implemented. Make it answer 200 OK instead (README.md says how the tester checks it).
//   deno task exercise 1 path/to/your/copy.ts

const encoder = new TextEncoder();

/** The most bytes one read takes. */
const READ_BYTES = 4096;

// Errors that mean the client is gone (it reset or closed the connection, or was cut off): there
// is no one to answer, and nothing to report. Any other error is a bug, and it is logged.
const GONE = [
  Deno.errors.BadResource,
  Deno.errors.BrokenPipe,
  Deno.errors.ConnectionAborted,
  Deno.errors.ConnectionReset,
  Deno.errors.Interrupted,
  Deno.errors.NotConnected,
];

/** The port: the number after --port, as the tester gives it; 8000 without one. */
function portFlag(): number {
  const at = Deno.args.indexOf("--port");
  return at === -1 ? 8000 : Number(Deno.args[at + 1]);
}

/** Reads the request, answers it, and closes the connection. */
async function answer(conn: Deno.Conn): Promise<void> {
  try {
    await conn.read(new Uint8Array(READ_BYTES));
    // TODO: 200 OK, a body, and a Content-Length field that gives the body's length in bytes.
    await conn.write(encoder.encode("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n\r\n"));
  } catch (err) {
    if (!GONE.some((gone) => err instanceof gone)) console.error(err);
  } finally {
    conn.close();
  }
}

const listener = Deno.listen({ port: portFlag() });
// The tester waits for this line: the port is bound, and connections will be accepted.
console.log(`Listening on http://localhost:${listener.addr.port}/`);
for await (const conn of listener) {
  // TODO: one connection at a time, as here, lets a silent client hold up everyone else.
  await answer(conn);
}
