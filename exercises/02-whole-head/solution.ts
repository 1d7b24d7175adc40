// Exercise 2, a solution: read the whole head, line by line, however its bytes come; answer only
// when its blank line has come.
//   deno run --allow-net exercises/02-whole-head/solution.ts --port 8000

const encoder = new TextEncoder();
// Latin-1 makes each byte one character: a head is ASCII, and no byte is lost or merged.
const latin1 = new TextDecoder("latin1");

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

const CR = 13;
const LF = 10;

/**
 * A client's connection, read through a buffer. TCP carries bytes, not messages: a read may bring
 * half a line, or two requests. So the server asks for a line, and this reads until it has one.
 */
class Reader {
  // The bytes read and not used yet.
  #buffered = new Uint8Array(0);

  constructor(readonly conn: Deno.Conn) {}

  /** The next line, without its CRLF; null if the client closes before it is whole. */
  async line(): Promise<string | null> {
    let end = findCRLF(this.#buffered);
    while (end === -1) {
      if (!(await this.#fill())) return null;
      end = findCRLF(this.#buffered);
    }
    const line = latin1.decode(this.#buffered.subarray(0, end));
    this.#buffered = this.#buffered.subarray(end + "\r\n".length);
    return line;
  }

  /** Reads once more, adding what came to the buffer; false if the client has closed its end. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(READ_BYTES);
    const count = await this.conn.read(chunk);
    if (count === null) return false;
    const joined = new Uint8Array(this.#buffered.length + count);
    joined.set(this.#buffered);
    joined.set(chunk.subarray(0, count), this.#buffered.length);
    this.#buffered = joined;
    return true;
  }
}

/** Where the first CRLF is in `bytes`; -1 if none has come yet. */
function findCRLF(bytes: Uint8Array): number {
  for (let lf = bytes.indexOf(LF); lf !== -1; lf = bytes.indexOf(LF, lf + 1)) {
    if (lf > 0 && bytes[lf - 1] === CR) return lf - 1;
  }
  return -1;
}

/** A request head's lines, up to the blank line that ends it (RFC 9112 2.1); null if cut off. */
async function readHead(reader: Reader): Promise<string[] | null> {
  const lines: string[] = [];
  while (true) {
    const line = await reader.line();
    if (line === null) return null;
    if (line === "") return lines;
    lines.push(line);
  }
}

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

/** Reads a whole head, answers it, and closes the connection. */
async function answer(conn: Deno.Conn): Promise<void> {
  try {
    // A client that leaves mid-head gets no answer.
    if (await readHead(new Reader(conn)) === null) return;
    const body = "Hello, World!";
    const length = encoder.encode(body).length;
    const head = "HTTP/1.1 200 OK\r\n" +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${length}\r\n` +
      "Connection: close\r\n" +
      "\r\n";
    await writeAll(conn, encoder.encode(head + body));
  } catch (err) {
    if (!GONE.some((gone) => err instanceof gone)) console.error(err);
  } finally {
    conn.close();
  }
}

const listener = Deno.listen({ port: portFlag() });
console.log(`Listening on http://localhost:${listener.addr.port}/`);
for await (const conn of listener) answer(conn);
