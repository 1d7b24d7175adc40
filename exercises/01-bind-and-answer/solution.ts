// Exercise 1, a solution: bind the port, and answer every request 200 OK with a body, then close.
//   deno run --allow-net exercises/01-bind-and-answer/solution.ts --port 8000

const encoder = new TextEncoder();

/** The most bytes one read takes: a request may need more reads than one (stage 2). */
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

/** Writes all of `bytes`: a write may take only part of what it is given. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let sent = 0;
  while (sent < bytes.length) sent += await conn.write(bytes.subarray(sent));
}

/** Reads a request (in one read, for now), answers it, and closes the connection. */
async function answer(conn: Deno.Conn): Promise<void> {
  try {
    // A client that closes before it asks anything gets no answer.
    if (await conn.read(new Uint8Array(READ_BYTES)) === null) return;
    const body = "Hello, World!";
    // Content-Length counts bytes, not characters: "ö" is one character and two bytes in UTF-8.
    const length = encoder.encode(body).length;
    const head = "HTTP/1.1 200 OK\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${length}\r\n` +
      "Connection: close\r\n" +
      "\r\n";
    // The head and the body go in one write.
    await writeAll(conn, encoder.encode(head + body));
  } catch (err) {
    if (!GONE.some((gone) => err instanceof gone)) console.error(err);
  } finally {
    conn.close();
  }
}

const listener = Deno.listen({ port: portFlag() });
// The tester waits for this line: the port is bound, and connections will be accepted.
console.log(`Listening on http://localhost:${listener.addr.port}/`);
// Each connection is answered on its own, not awaited here: a silent client holds up no one.
for await (const conn of listener) answer(conn);
