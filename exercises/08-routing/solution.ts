// Exercise 8, a solution: a route table answers by method and path: 404 for a path it has no route
// for, 405 and Allow for a method it has none for; HEAD is answered as GET, without the body.
//   deno run --allow-net exercises/08-routing/solution.ts --port 8000

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

/** A request line's most bytes: more is 414 URI Too Long. RFC 9112 3 asks for 8000 at least. */
const MAX_REQUEST_LINE_BYTES = 8 * 1024;

/** The most bytes of field lines, all together, CRLFs counted: more is 431. */
const MAX_HEADER_BYTES = 16 * 1024;

/** A chunk size line's most bytes, extensions and all: a longer one is no size, 400. */
const MAX_CHUNK_LINE_BYTES = 1024;

/**
 * How long a head may take to come whole, from when the server starts to wait for it. That is
 * the limit for a connection that sits idle too, and for a head that trickles in (slowloris).
 */
const HEAD_TIME_LIMIT_MS = 2_000;

/** How long a body may take to come whole, from the end of its head. */
const BODY_TIME_LIMIT_MS = 30_000;

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

// A chunk's size is hex (RFC 9112 7.1): 8 digits are 4 GiB, past the limit, so a longer size is
// refused rather than overflowed. Extensions may follow, after a ";" (7.1.1): they are skipped.
const CHUNK_SIZE = /^([\da-fA-F]{1,8})[\t ]*(;[\t\x20-\x7e]*)?$/;

// A Host is a name or an address, maybe with a port (RFC 9110 7.2).
const HOST = /^(\[[\da-fA-F:.]+\]|[\w.-]+)(:\d{1,5})?$/;

/** The reason phrase of each status this server sends (RFC 9110 15). */
const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Content Too Large",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
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
  /** When the wait for the client ends (ms since 1970): then the connection is closed. */
  deadline = Infinity;
  // The bytes read and not used yet.
  #buffered = new Uint8Array(0);
  #closed = false;

  constructor(readonly conn: Deno.Conn) {}

  /**
   * The next line, without its CRLF; null if the client closes before it is whole. A line over
   * `max` bytes is HttpError `tooLong`, as soon as that many have come without a CRLF.
   */
  async line(max: number, tooLong: number): Promise<string | null> {
    let end = findCRLF(this.#buffered);
    while (end === -1) {
      // With no CRLF yet, every byte buffered is the line's (and one may be its CR).
      if (this.#buffered.length > max + "\r".length) {
        throw new HttpError(tooLong, "A line too long");
      }
      if (!(await this.#fill())) return null;
      end = findCRLF(this.#buffered);
    }
    if (end > max) throw new HttpError(tooLong, "A line too long");
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

  /** Closes the connection, once: the deadline's timer and the end of `serve` may both try. */
  close(): void {
    if (!this.#closed) this.conn.close();
    this.#closed = true;
  }

  /** Reads once more, adding what came to the buffer; false if the client has closed its end. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(READ_BYTES);
    // Past the deadline, the connection is closed under the read, which then fails.
    const timer = setTimeout(() => this.close(), Math.max(0, this.deadline - Date.now()));
    let count: number | null;
    try {
      count = await this.conn.read(chunk);
    } finally {
      clearTimeout(timer);
    }
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
  reader.deadline = Date.now() + HEAD_TIME_LIMIT_MS;
  // Empty lines before a request line are ignored (RFC 9112 2.2).
  let line = await reader.line(MAX_REQUEST_LINE_BYTES, 414);
  while (line === "") line = await reader.line(MAX_REQUEST_LINE_BYTES, 414);
  if (line === null) return null;
  const requestLine = REQUEST_LINE.exec(line);
  if (requestLine === null) throw new HttpError(400, "A malformed request line");
  const fields = await readFields(reader);
  if (fields === null) return null;
  const http10 = requestLine[3] === "0";
  // HTTP/1.1 requires one valid Host field (RFC 9112 3.2). Two would read "a, b": not a Host.
  const host = fields.get("host");
  if (!http10 && (host === undefined || !HOST.test(host))) {
    throw new HttpError(400, "No valid Host field");
  }
  return { method: requestLine[1], target: requestLine[2], http10, fields };
}

/**
 * Field lines, up to the blank line that ends them, held to MAX_HEADER_BYTES in all; null if the
 * client left first. A head's fields, and a chunked body's trailer fields, are read alike.
 */
async function readFields(reader: Reader): Promise<Map<string, string> | null> {
  const fields = new Map<string, string>();
  // The bytes of the field lines so far, each with its CRLF.
  let bytes = 0;
  while (true) {
    const fieldLine = await reader.line(MAX_HEADER_BYTES - bytes, 431);
    if (fieldLine === null) return null;
    if (fieldLine === "") return fields;
    bytes += fieldLine.length + "\r\n".length;
    const field = FIELD_LINE.exec(fieldLine);
    if (field === null) throw new HttpError(400, "A malformed field line");
    const name = field[1].toLowerCase();
    // A field sent twice is one list of values (RFC 9110 5.3).
    const value = fields.has(name) ? `${fields.get(name)}, ${field[2]}` : field[2];
    fields.set(name, value);
  }
}

/**
 * Reads the body, framed as the head says (RFC 9112 6.3): in chunks, or by Content-Length, or
 * none. Null if the client left before it was whole.
 */
async function readBody(reader: Reader, head: Head): Promise<Uint8Array | null> {
  reader.deadline = Date.now() + BODY_TIME_LIMIT_MS;
  const coding = head.fields.get("transfer-encoding");
  const length = head.fields.get("content-length");
  if (coding !== undefined) {
    // Both at once is how request smuggling starts: two servers on the way may each believe
    // another one, and so disagree on where the next request begins (RFC 9112 6.1).
    if (length !== undefined) throw new HttpError(400, "Transfer-Encoding and Content-Length");
    // With another coding, where the body ends can't be known (RFC 9112 6.1).
    if (!/^chunked$/i.test(coding)) throw new HttpError(501, "Only chunked is known here");
    return await readChunks(reader);
  }
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

/**
 * Reads a chunked body: each chunk is its size in hex on a line, that many bytes, and a CRLF; a
 * chunk of size 0 is the last; then trailer fields, and a blank line (RFC 9112 7.1).
 */
async function readChunks(reader: Reader): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const sizeLine = await reader.line(MAX_CHUNK_LINE_BYTES, 400);
    if (sizeLine === null) return null;
    const size = CHUNK_SIZE.exec(sizeLine);
    if (size === null) throw new HttpError(400, "A malformed chunk size");
    const count = parseInt(size[1], 16);
    if (count === 0) break;
    total += count;
    if (total > MAX_BODY_BYTES) throw new HttpError(413, "A body over 1 MiB");
    const chunk = await reader.bytes(count);
    if (chunk === null) return null;
    chunks.push(chunk);
    // After the chunk's bytes, its CRLF: anything else means the size was wrong.
    const end = await reader.line("".length, 400);
    if (end === null) return null;
    if (end !== "") throw new HttpError(400, "A chunk longer than its size");
  }
  // Trailer fields are held to the grammar and the limit of a head's, and dropped (RFC 9112
  // 7.1.2).
  if (await readFields(reader) === null) return null;
  return concatenate(chunks, total);
}

/** The parts one after the other, in one array of `size` bytes. */
function concatenate(parts: Uint8Array[], size: number): Uint8Array {
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}

/** An answer: its status, its body (text or bytes), and any fields of its own. */
type Reply = { status: number; body: string | Uint8Array; fields?: Record<string, string> };

/** A route: a method, a pattern for the whole path, and the answer to what the pattern took. */
type Route = {
  method: string;
  pattern: RegExp;
  answer: (params: string[], body: Uint8Array) => Reply;
};

// Each ([^/]+) takes one segment of the path, never an empty one.
const ROUTES: Route[] = [
  { method: "GET", pattern: /^\/$/, answer: () => ({ status: 200, body: "Hello, World!" }) },
  {
    method: "GET",
    pattern: /^\/hello\/([^/]+)$/,
    answer: ([name]) => ({ status: 200, body: `Hello, ${name}!` }),
  },
  { method: "POST", pattern: /^\/echo$/, answer: (_, body) => ({ status: 200, body }) },
];

/** The answer to a request, by its method and its path (RFC 9110 15.5.5 and 15.5.6). */
function route(head: Head, body: Uint8Array): Reply {
  // The path ends where the query begins (RFC 3986 3.4).
  const path = head.target.split("?")[0];
  const routes = ROUTES.filter((route) => route.pattern.test(path));
  if (routes.length === 0) return { status: 404, body: `Nothing at ${path}` };
  // HEAD is answered as GET would be; `respond` leaves the body out (RFC 9110 9.3.2).
  const method = head.method === "HEAD" ? "GET" : head.method;
  const found = routes.find((route) => route.method === method);
  if (found === undefined) {
    // The path is known, with other methods: Allow says which. GET brings HEAD along.
    const methods = routes.map((route) => route.method);
    if (methods.includes("GET")) methods.push("HEAD");
    const allow = methods.join(", ");
    return { status: 405, body: `${head.method} is not allowed here`, fields: { Allow: allow } };
  }
  const params = found.pattern.exec(path)!.slice(1).map(decode);
  return found.answer(params, body);
}

/** A segment of the path, percent-decoded: "J%C3%B6rg" is "Jörg"; a bad escape is 400. */
function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "A malformed %-escape in the path");
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

/** What `respond` needs to know of the request: whether the connection stays open; if HEAD. */
type Framing = { keepAlive: boolean; head: boolean };

/** Sends an answer: text, or bytes, with its length in bytes; head and body in one write. */
async function respond(conn: Deno.Conn, reply: Reply, framing: Framing): Promise<void> {
  const text = typeof reply.body === "string";
  const bytes = typeof reply.body === "string" ? encoder.encode(reply.body) : reply.body;
  const type = text ? "text/plain; charset=utf-8" : "application/octet-stream";
  const fields = Object.entries(reply.fields ?? {}).map(([name, value]) => `${name}: ${value}\r\n`);
  const head = encoder.encode(
    `HTTP/1.1 ${reply.status} ${REASONS[reply.status]}\r\n` +
      `Content-Type: ${type}\r\n` +
      fields.join("") +
      // A HEAD answer gives the length a GET's body would have, and no body (RFC 9110 9.3.2).
      `Content-Length: ${bytes.length}\r\n` +
      (framing.keepAlive ? "" : "Connection: close\r\n") +
      "\r\n",
  );
  const body = framing.head ? new Uint8Array(0) : bytes;
  await writeAll(conn, concatenate([head, body], head.length + body.length));
}

/**
 * Whether the connection stays open after this request: HTTP/1.1 keeps it unless a side says
 * "close"; HTTP/1.0 closes it unless the client says "keep-alive" (RFC 9112 9.3).
 */
function keepsAlive(head: Head): boolean {
  const connection = head.fields.get("connection") ?? "";
  if (head.http10) return /\bkeep-alive\b/i.test(connection);
  return !/\bclose\b/i.test(connection);
}

/** Reads one request and answers it; true if the connection may carry another. */
async function exchange(conn: Deno.Conn, reader: Reader): Promise<boolean> {
  let reply: Reply;
  let keepAlive = false;
  let isHead = false;
  try {
    const head = await readHead(reader);
    if (head === null) return false;
    keepAlive = keepsAlive(head);
    isHead = head.method === "HEAD";
    // The body is read whole before the answer goes: until it has been, the next request's
    // bytes can't be told from it.
    const body = await readBody(reader, head);
    if (body === null) return false;
    reply = route(head, body);
  } catch (err) {
    // A malformed request is the client's mistake: say what it is. Any other error goes on up.
    if (!(err instanceof HttpError)) throw err;
    reply = { status: err.status, body: err.message };
    // Where a malformed request ends is unknown, and so is where the next one begins: close.
    keepAlive = false;
  }
  await respond(conn, reply, { keepAlive, head: isHead });
  return keepAlive;
}

/** Answers the requests on a connection, one after another, in order; then closes it. */
async function serve(conn: Deno.Conn): Promise<void> {
  // One reader for the connection's whole life: the bytes after a request are the next one's.
  const reader = new Reader(conn);
  try {
    let open = true;
    while (open) open = await exchange(conn, reader);
  } catch (err) {
    if (!GONE.some((gone) => err instanceof gone)) console.error(err);
  } finally {
    reader.close();
  }
}

const listener = Deno.listen({ port: portFlag() });
console.log(`Listening on http://localhost:${listener.addr.port}/`);
for await (const conn of listener) serve(conn);
