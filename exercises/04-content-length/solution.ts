// Exercise 4, a solution: read a body of Content-Length bytes, however it comes, up to a limit;
// POST /echo answers with it.
//   deno run --allow-net exercises/04-content-length/solution.ts --port 8000

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

/** The biggest body taken: more is 413 Content Too Large. */
const MAX_BODY_BYTES = 1024 * 1024;

const CR = 13;
const LF = 10;

// A request line is method SP target SP version (RFC 9112 3). A method is a token (RFC 9110
// 5.6.2): letters, digits and !#$%&'*+-.^_`|~. A target is visible ASCII.
const REQUEST_LINE = /^([!#$%&'*+.^_`|~\w-]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/;

// A field line is a token, a colon, and a value between optional spaces and tabs (RFC 9112 5).
// No space before the colon. A value is visible ASCII, spaces and tabs (RFC 9110 5.5).
const FIELD_LINE = /^([!#$%&'*+.^_`|~\w-]+):[\t ]*([\t\x20-\x7e]*?)[\t ]*$/;

// A Content-Length is digits (RFC 9110 8.6); past 15 of them a JavaScript number loses precision.
const CONTENT_LENGTH = /^\d{1,15}$/;

// A Host is a name or an address, maybe with a port (RFC 9110 7.2).
const HOST = /^(\[[\da-fA-F:.]+\]|[\w.-]+)(:\d{1,5})?$/;

/** The reason phrase of each status this server sends (RFC 9110 15). */
const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  413: "Content Too Large",
};

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

  /** The next `count` bytes; null if the client closes before they have all come. */
  async bytes(count: number): Promise<Uint8Array | null> {
    while (this.#buffered.length < count) {
      if (!(await this.#fill())) return null;
    }
    const bytes = this.#buffered.slice(0, count);
    this.#buffered = this.#buffered.subarray(count);
    return bytes;
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

/**
 * Reads the body that the head announces with Content-Length; none without one. Null if the
 * client left before it was whole.
 */
async function readBody(reader: Reader, head: Head): Promise<Uint8Array | null> {
  const length = head.fields.get("content-length");
  if (length === undefined) return new Uint8Array(0);
  // A field sent twice is a list, "5, 5": one value, repeated, is that value (RFC 9110 8.6).
  const values = length.split(",").map((value) => value.trim());
  if (values.some((value) => value !== values[0]) || !CONTENT_LENGTH.test(values[0])) {
    throw new HttpError(400, "A bad Content-Length");
  }
  // A body over the limit is refused before a byte of it is read.
  if (Number(values[0]) > MAX_BODY_BYTES) throw new HttpError(413, "A body over 1 MiB");
  return await reader.bytes(Number(values[0]));
}

/** An answer: its status, and its body, text or bytes. */
type Reply = { status: number; body: string | Uint8Array };

/** The answer to a request: POST /echo gets its body back, anything else Hello, World!. */
function route(head: Head, body: Uint8Array): Reply {
  if (head.method === "POST" && head.target === "/echo") return { status: 200, body };
  return { status: 200, body: "Hello, World!" };
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

/** Sends an answer: text, or bytes, with its length in bytes; head and body in one write. */
async function respond(conn: Deno.Conn, reply: Reply): Promise<void> {
  const text = typeof reply.body === "string";
  const bytes = typeof reply.body === "string" ? encoder.encode(reply.body) : reply.body;
  const type = text ? "text/plain; charset=utf-8" : "application/octet-stream";
  const head = encoder.encode(
    `HTTP/1.1 ${reply.status} ${REASONS[reply.status]}\r\n` +
      `Content-Type: ${type}\r\n` +
      `Content-Length: ${bytes.length}\r\n` +
      "Connection: close\r\n" +
      "\r\n",
  );
  const whole = new Uint8Array(head.length + bytes.length);
  whole.set(head);
  whole.set(bytes, head.length);
  await writeAll(conn, whole);
}

/** Reads a request, answers it (or says what is wrong with it), and closes the connection. */
async function answer(conn: Deno.Conn): Promise<void> {
  try {
    const reader = new Reader(conn);
    let reply: Reply;
    try {
      const head = await readHead(reader);
      if (head === null) return;
      // The body is read whole before the answer goes. Closing a connection with bytes unread
      // makes the kernel reset it, and the client may lose the answer.
      const body = await readBody(reader, head);
      if (body === null) return;
      reply = route(head, body);
    } catch (err) {
      // A malformed request is the client's mistake: say what it is. Any other error goes on up.
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
