// Exercise 3, a solution: parse the request line and the field lines by the grammar of RFC 9112,
// and answer 400 Bad Request to a head that breaks it.
//   deno run --allow-net exercises/03-header-fields/solution.ts --port 8000

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

// A request line is method SP target SP version (RFC 9112 3). A method is a token (RFC 9110
// 5.6.2): letters, digits and !#$%&'*+-.^_`|~. A target is visible ASCII.
const REQUEST_LINE = /^([!#$%&'*+.^_`|~\w-]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/;

// A field line is a token, a colon, and a value between optional spaces and tabs (RFC 9112 5).
// No space before the colon. A value is visible ASCII, spaces and tabs (RFC 9110 5.5).
const FIELD_LINE = /^([!#$%&'*+.^_`|~\w-]+):[\t ]*([\t\x20-\x7e]*?)[\t ]*$/;

// A Host is a name or an address, maybe with a port (RFC 9110 7.2).
const HOST = /^(\[[\da-fA-F:.]+\]|[\w.-]+)(:\d{1,5})?$/;

/** The reason phrase of each status this server sends (RFC 9110 15). */
const REASONS: Record<number, string> = { 200: "OK", 400: "Bad Request" };

/** An error that is its own answer: its status, and a message for the client. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

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

/**
 * Where the first CRLF is in `bytes`; -1 if none has come yet. A bare LF ends no line: it stays
 * in the line, which the grammar then refuses.
 */
function findCRLF(bytes: Uint8Array): number {
  for (let lf = bytes.indexOf(LF); lf !== -1; lf = bytes.indexOf(LF, lf + 1)) {
    if (lf > 0 && bytes[lf - 1] === CR) return lf - 1;
  }
  return -1;
}

/** A request head, checked: its method, target, version and fields (names in lowercase). */
type Head = { method: string; target: string; http10: boolean; fields: Map<string, string> };

/** Reads a request head and checks it (RFC 9112 2 to 5); null if the client left first. */
async function readHead(reader: Reader): Promise<Head | null> {
  // Empty lines before a request line are ignored (RFC 9112 2.2).
  let line = await reader.line();
  while (line === "") line = await reader.line();
  if (line === null) return null;
  const requestLine = REQUEST_LINE.exec(line);
  if (requestLine === null) throw new HttpError(400, "A malformed request line");
  const fields = new Map<string, string>();
  while (true) {
    const fieldLine = await reader.line();
    if (fieldLine === null) return null;
    if (fieldLine === "") break;
    const field = FIELD_LINE.exec(fieldLine);
    if (field === null) throw new HttpError(400, "A malformed field line");
    const name = field[1].toLowerCase();
    // A field sent twice is one list of values (RFC 9110 5.3).
    const value = fields.has(name) ? `${fields.get(name)}, ${field[2]}` : field[2];
    fields.set(name, value);
  }
  const http10 = requestLine[3] === "0";
  // HTTP/1.1 requires one valid Host field (RFC 9112 3.2). Two would read "a, b": not a Host.
  const host = fields.get("host");
  if (!http10 && (host === undefined || !HOST.test(host))) {
    throw new HttpError(400, "No valid Host field");
  }
  return { method: requestLine[1], target: requestLine[2], http10, fields };
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

/** An answer: its status, and its body. */
type Reply = { status: number; body: string };

/** Sends an answer with a text body and its length, in one write. */
async function respond(conn: Deno.Conn, reply: Reply): Promise<void> {
  const length = encoder.encode(reply.body).length;
  const head = `HTTP/1.1 ${reply.status} ${REASONS[reply.status]}\r\n` +
    "Content-Type: text/plain; charset=utf-8\r\n" +
    `Content-Length: ${length}\r\n` +
    "Connection: close\r\n" +
    "\r\n";
  await writeAll(conn, encoder.encode(head + reply.body));
}

/** Reads a head, answers it (or says what is wrong with it), and closes the connection. */
async function answer(conn: Deno.Conn): Promise<void> {
  try {
    let reply: Reply = { status: 200, body: "Hello, World!" };
    try {
      if (await readHead(new Reader(conn)) === null) return;
    } catch (err) {
      // A malformed head is the client's mistake: say what it is. Any other error goes on up.
      if (!(err instanceof HttpError)) throw err;
      reply = { status: err.status, body: err.message };
    }
    await respond(conn, reply);
  } catch (err) {
    if (!GONE.some((gone) => err instanceof gone)) console.error(err);
  } finally {
    conn.close();
  }
}

const listener = Deno.listen({ port: portFlag() });
console.log(`Listening on http://localhost:${listener.addr.port}/`);
for await (const conn of listener) answer(conn);
