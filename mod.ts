/**
 * groundwork: a web framework for Deno, written from the TCP socket up, in one file that reads in
 * the order a request travels:
 *
 * 1. Status codes and HttpError: how every layer says "no".
 * 2. Bytes to Request: a buffered connection, the request head, the body and its framing.
 * 3. Response to bytes: what handlers return, and how it goes back on the wire.
 * 4. Router: a method and a path to a handler, or 404 and 405.
 * 5. App: middleware, handlers, errors turned into responses, and `fetch` for `Deno.serve`.
 * 6. Server: sockets, keep-alive, time limits and a graceful close.
 *
 * @example A whole app
 * ```ts
 * import { App } from "@groundwork/groundwork";
 *
 * const app = new App()
 *   .get("/", () => "Hello, World!")
 *   .get("/users/:id", (req) => ({ id: req.params.id }));
 *
 * // await app.listen();      groundwork's own server, on port 8000
 * // Deno.serve(app.fetch);   or Deno's
 * ```
 *
 * @module
 */

// ================================================================================================
// 1. Status codes and HttpError
// ================================================================================================

// The reason phrase of each status code in IANA's registry (RFC 9110 15). A client must not depend
// on it (RFC 9112 4), but people read it in logs. 418 is unused; RFC 2324's joke names it.
const REASON_PHRASES = `100 Continue|101 Switching Protocols|102 Processing|103 Early Hints
  200 OK|201 Created|202 Accepted|203 Non-Authoritative Information|204 No Content
  205 Reset Content|206 Partial Content|207 Multi-Status|208 Already Reported|226 IM Used
  300 Multiple Choices|301 Moved Permanently|302 Found|303 See Other|304 Not Modified
  305 Use Proxy|307 Temporary Redirect|308 Permanent Redirect|400 Bad Request
  401 Unauthorized|402 Payment Required|403 Forbidden|404 Not Found|405 Method Not Allowed
  406 Not Acceptable|407 Proxy Authentication Required|408 Request Timeout|409 Conflict
  410 Gone|411 Length Required|412 Precondition Failed|413 Content Too Large
  414 URI Too Long|415 Unsupported Media Type|416 Range Not Satisfiable
  417 Expectation Failed|418 I'm a teapot|421 Misdirected Request|422 Unprocessable Content
  423 Locked|424 Failed Dependency|425 Too Early|426 Upgrade Required
  428 Precondition Required|429 Too Many Requests|431 Request Header Fields Too Large
  451 Unavailable For Legal Reasons|500 Internal Server Error|501 Not Implemented
  502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout|505 HTTP Version Not Supported
  506 Variant Also Negotiates|507 Insufficient Storage|508 Loop Detected|510 Not Extended
  511 Network Authentication Required`;

const STATUS_TEXT = new Map<number, string>();
for (const phrase of REASON_PHRASES.split(/\s*[|\n]\s*/)) {
  STATUS_TEXT.set(Number(phrase.slice(0, 3)), phrase.slice(4));
}

/**
 * An error that is its own HTTP answer: any layer may throw one, handler, middleware or parser.
 *
 * @example
 * ```ts
 * import { HttpError } from "@groundwork/groundwork";
 *
 * const missing = new HttpError(404, "No task 7");
 * const slowDown = new HttpError(429, undefined, { headers: { "retry-after": "60" } });
 * console.log(missing.status, slowDown.message); // 404 "Too Many Requests"
 * ```
 */
export class HttpError extends Error {
  /** Fields to send with the answer, e.g. `Allow` on a 405 or `Retry-After` on a 429. */
  readonly headers: Headers;

  /** Makes an error with a status code; the message defaults to the status's reason phrase. */
  constructor(readonly status: number, message?: string, init: { headers?: HeadersInit } = {}) {
    super(message ?? STATUS_TEXT.get(status) ?? "Error");
    // It becomes a Response, whose status is a final one: checked now, where the mistake is.
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(
        `An HttpError's status is a whole number from 200 to 599, not ${status}`,
      );
    }
    this.name = "HttpError";
    this.headers = new Headers(init.headers);
  }
}

// ================================================================================================
// 2. Bytes to Request
// ================================================================================================

/**
 * The server's defences, each with the answer it gives. Any of them can be changed per server.
 *
 * @example
 * ```ts
 * import { LIMITS } from "@groundwork/groundwork";
 *
 * console.log(LIMITS.maxBodyBytes); // 1048576
 * // await app.listen({ maxBodyBytes: 10_000_000 });
 * ```
 */
export const LIMITS = {
  /** A request line's bytes; more: 414 URI Too Long. RFC 9112 3 asks for at least 8000. */
  maxRequestLineBytes: 8 * 1024,
  /** The field lines' bytes, all together; more: 431 Request Header Fields Too Large. */
  maxHeaderBytes: 16 * 1024,
  /** How many field lines a head may have; more: 431. */
  maxHeaderCount: 100,
  /** A request body's bytes; more: 413 Content Too Large, and the connection closes. */
  maxBodyBytes: 1024 * 1024,
  /** How long a head may take, once its first bytes are in; longer: 408, and a close. */
  headersTimeoutMs: 10_000,
  /** How long a body may take, from the end of its head; longer: 408, and a close. */
  bodyTimeoutMs: 30_000,
  /** How long a connection may sit idle between requests, or a write stall; then: a close. */
  idleTimeoutMs: 5_000,
  /** How long a handler may take to answer; longer: 503 Service Unavailable, and a close. */
  handlerTimeoutMs: 30_000,
  /** How long `close()` lets answers in flight finish; then streams are ended, and the rest cut. */
  closeGraceMs: 5_000,
  /** How many connections may be open at once; one more gets 503, and a close. */
  maxConnections: 10_000,
};

/**
 * The limits a server works with, as in {@linkcode LIMITS}.
 *
 * @example
 * ```ts
 * import { LIMITS, type Limits } from "@groundwork/groundwork";
 *
 * const strict: Limits = { ...LIMITS, maxBodyBytes: 64 * 1024, handlerTimeoutMs: 5_000 };
 * console.log(strict.maxBodyBytes); // 65536
 * ```
 */
export type Limits = typeof LIMITS;

// A token (RFC 9110 5.6.2): letters, digits and !#$%&'*+-.^_`|~. Methods, field names and chunk
// extension names are tokens. A quoted-string (5.6.4) is visible ASCII and spaces in double quotes,
// where a backslash escapes the next character.
const TOKEN = /[!#$%&'*+.^_`|~\w-]+/.source;
const QUOTED = /"(?:[\t !#-[\]-~]|\\[\t -~])*"/.source;

// A request line is method SP target SP version (RFC 9112 3). The target is visible ASCII: the URL
// parser judges the rest.
const REQUEST_LINE = new RegExp(String.raw`^(${TOKEN}) ([\x21-\x7e]+) HTTP/(\d)\.(\d)$`);

// A field line is a name, ":", and a value between optional spaces (RFC 9112 5), with no space
// before the colon (5.1). We take a value to be visible ASCII, spaces and tabs: no CR, LF or NUL
// (RFC 9110 5.5), and, our choice, none of the bytes over 127 that the RFC still tolerates. The
// spaces around the value are trimmed after the match: three patterns in a row that all take
// spaces would make the regular expression try every way to share a long run of them out.
const FIELD_LINE = new RegExp(String.raw`^(${TOKEN}):([\t\x20-\x7e]*)$`);

// A Host is a name or an IP address (IPv6 in brackets), maybe with a port (RFC 9110 7.2).
const HOST = /^(\[[\da-fA-F:.]+\]|[\w.-]+)(:\d{1,5})?$/;

// A chunk's size is hex (RFC 9112 7.1); 8 hex digits are 4 GiB, past any body limit, so a longer
// size is refused rather than overflowed. Extensions may follow (7.1.1): each is ";" and a name,
// maybe "=" and a value, which is a token or a quoted-string.
const EXTENSION = String.raw`[\t ]*;[\t ]*${TOKEN}(?:[\t ]*=[\t ]*(?:${TOKEN}|${QUOTED}))?`;
const CHUNK_SIZE = new RegExp(String.raw`^([\da-fA-F]{1,8})(?:${EXTENSION})*$`);

// A Content-Length is digits (RFC 9110 8.6); past 15 of them a JavaScript number loses precision.
const CONTENT_LENGTH = /^\d{1,15}$/;

// A connection's read buffer starts with room for most request heads; it grows for big bodies,
// and once it has grown past 64 KiB, a small one replaces it when all of it has been read.
const SMALL_BUFFER_BYTES = 4096;
const MAX_KEPT_BUFFER_BYTES = 64 * 1024;

// A chunk-size line longer than this is no size: 400. Each chunk costs memory however small it is:
// more chunks than MAX_CHUNKS get 413.
const MAX_CHUNK_LINE_BYTES = 1024;
const MAX_CHUNKS = 8192;

const CR = 13;
const LF = 10;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * What a connection needs of its socket: a TCP one, or an in-memory one for a demo or a test. Once
 * `close()` has been called, a read still waiting must end: with null, or by throwing.
 *
 * @example A socket that gives one request, then its end, and keeps what the server writes
 * ```ts
 * import { Response, Server, type Socket } from "@groundwork/groundwork";
 *
 * const head = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
 * const request = new TextEncoder().encode(head);
 * const written: string[] = [];
 * let given = false;
 * const socket: Socket = {
 *   remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
 *   read(buffer) {
 *     if (given) return Promise.resolve(null);
 *     given = true;
 *     buffer.set(request);
 *     return Promise.resolve(request.length);
 *   },
 *   write(bytes) {
 *     written.push(new TextDecoder().decode(bytes));
 *     return Promise.resolve(bytes.length);
 *   },
 *   close() {},
 *   setNoDelay() {},
 * };
 * const server = new Server(() => new Response("hi"), { log: false });
 * await server.serve(socket);
 * console.log(written.join("").split("\r\n")[0]); // "HTTP/1.1 200 OK"
 * await server.close();
 * ```
 */
export type Socket = Pick<Deno.TcpConn, "read" | "write" | "close" | "setNoDelay" | "remoteAddr">;

/**
 * One client's TCP connection: a read buffer, and the answers we owe.
 *
 * TCP carries a stream of bytes with no message boundaries: one read may bring half a request line,
 * or three pipelined requests. So a read is never taken for a request. The parser asks for "a line"
 * or "n bytes", and the connection reads until it has them.
 */
class Connection {
  /** Prints a line of the trace about this connection, when the server traces. */
  note?: (text: string) => void;
  /** True while we wait for a new request: nothing is owed, so a graceful close may end us now. */
  idle = false;
  /** True once we have closed the socket (the sweeper may do it for us). */
  closed = false;
  /** When the wait on the client must end (ms since 1970); past it, the sweeper closes us. */
  deadline = Infinity;
  /** How many bytes of answers we owe. */
  owedBytes = 0;
  /** The stream being sent, if one is: a closing server may end it. */
  stream?: ReadableStreamDefaultReader<Uint8Array>;
  /** While a handler runs: ends the wait for it. The sweeper calls it past the deadline. */
  onHandlerTimeout?: () => void;
  // While a read in the middle of a request waits, and what ends that wait when it is too slow.
  #reading = false;
  #tooSlow = Promise.withResolvers<"too slow">();
  // The bytes read and not yet parsed: #buffer from index #start up to, not including, #end.
  #buffer = new Uint8Array(SMALL_BUFFER_BYTES);
  #start = 0;
  #end = 0;
  // The bytes we owe the client: #owed from 0 up to, not including, owedBytes.
  #owed = new Uint8Array(SMALL_BUFFER_BYTES);

  // A client that won't read our answer is as idle as one that won't send: the same limit.
  constructor(readonly socket: Socket, readonly idleTimeoutMs: number) {}

  /** How many bytes have been read and not yet parsed. */
  buffered(): number {
    return this.#end - this.#start;
  }

  /** Reads more bytes, waiting at most until `deadline`; false if the client closed its end. */
  async fill(deadline: number, idle = false): Promise<boolean> {
    // Before we wait on the client, we send what we owe: it may be waiting for that answer. So the
    // answers to pipelined requests leave together, in one write.
    if (this.owedBytes > 0) await this.flush();
    this.#makeRoom();
    this.deadline = deadline;
    this.idle = idle;
    let count: number | null = null;
    try {
      const read = this.socket.read(this.#buffer.subarray(this.#end));
      // In the middle of a request, a client too slow is told so: the sweeper ends the wait, and
      // the answer is 408 (RFC 9110 15.5.9). Between requests, it just closes the socket.
      this.#reading = !idle;
      const result = idle ? await read : await Promise.race([read, this.#tooSlow.promise]);
      if (result === "too slow") throw new HttpError(408, "The request took too long");
      count = result;
    } catch (err) {
      // A read that failed by itself (the client reset the connection) goes up, and so does a
      // 408. A read under a socket that we closed (while idle, or the server closing) is the end.
      if (!this.closed || err instanceof HttpError) throw err;
    } finally {
      this.#reading = false;
    }
    this.deadline = Infinity;
    this.idle = false;
    this.#end += count ?? 0;
    return count !== null;
  }

  #makeRoom(): void {
    const unread = this.buffered();
    // A buffer that grew for a big request is let go once all of it is read.
    if (unread === 0 && this.#buffer.length > MAX_KEPT_BUFFER_BYTES) {
      this.#buffer = new Uint8Array(SMALL_BUFFER_BYTES);
    }
    // A full buffer doubles. Then the unread bytes move to its front, to make room after them.
    if (unread === this.#buffer.length) {
      const bigger = new Uint8Array(unread * 2);
      bigger.set(this.#buffer);
      this.#buffer = bigger;
    }
    this.#buffer.copyWithin(0, this.#start, this.#end);
    this.#start = 0;
    this.#end = unread;
  }

  /**
   * The next line, without its CRLF, if all of it has come; else undefined. Over `max` bytes, it
   * is an HttpError of status `tooLongStatus`, whole or not.
   */
  #takeLine(max: number, tooLongStatus: number): string | undefined {
    const lf = this.#buffer.subarray(0, this.#end).indexOf(LF, this.#start);
    // The line so far, its CR included: up to the LF, or all we have if no LF has come. Too long
    // is too long whether the rest has come or not: no need to wait for it.
    const soFar = lf === -1 ? this.buffered() : lf - this.#start;
    if (soFar > max + "\r".length) throw new HttpError(tooLongStatus, "A line too long");
    if (lf === -1) return undefined;
    // Every line ends in CRLF (RFC 9112 2.2). A bare LF is refused: if two servers on the way
    // disagree on where lines end, a client can hide a request inside another (smuggling).
    const bareLF = lf === this.#start || this.#buffer[lf - 1] !== CR;
    if (bareLF) throw new HttpError(400, "A line ended in LF, not CRLF");
    // An empty line, as at the end of every head, needs no decoding.
    const empty = lf - 1 === this.#start;
    const line = empty ? "" : decoder.decode(this.#buffer.subarray(this.#start, lf - 1));
    this.#start = lf + 1;
    return line;
  }

  /** The next line, read until all of it has come. */
  async line(max: number, deadline: number, tooLongStatus: number): Promise<string> {
    let line = this.#takeLine(max, tooLongStatus);
    while (line === undefined) {
      if (!(await this.fill(deadline))) throw new HttpError(400, "Closed mid-request");
      line = this.#takeLine(max, tooLongStatus);
    }
    return line;
  }

  /** The next `count` bytes, as a copy of their own. */
  async bytes(count: number, deadline: number): Promise<Uint8Array> {
    while (this.buffered() < count) {
      if (!(await this.fill(deadline))) throw new HttpError(400, "Closed mid-body");
    }
    this.#start += count;
    return this.#buffer.slice(this.#start - count, this.#start);
  }

  /** Adds bytes, or text as UTF-8, to what we owe the client; `flush()` sends it. */
  write(data: string | Uint8Array): void {
    // UTF-8 takes at most 3 bytes for each UTF-16 code unit of a string.
    const most = this.owedBytes + (typeof data === "string" ? data.length * 3 : data.length);
    if (most > this.#owed.length) {
      const bigger = new Uint8Array(Math.max(most, this.#owed.length * 2));
      bigger.set(this.#owed.subarray(0, this.owedBytes));
      this.#owed = bigger;
    }
    // Text is encoded straight into the buffer, not into an array of its own first.
    if (typeof data === "string") {
      this.owedBytes += encoder.encodeInto(data, this.#owed.subarray(this.owedBytes)).written;
    } else {
      this.#owed.set(data, this.owedBytes);
      this.owedBytes += data.length;
    }
  }

  /** Sends all we owe. A client that won't read gets as long as an idle one, then it is cut off. */
  async flush(): Promise<void> {
    // A write may take only part of what it is given: the loop sends the rest. The deadline is
    // for each write, so that a slow client that does read is never cut off.
    let sent = 0;
    while (sent < this.owedBytes) {
      this.deadline = Date.now() + this.idleTimeoutMs;
      sent += await this.socket.write(this.#owed.subarray(sent, this.owedBytes));
    }
    this.owedBytes = 0;
    this.deadline = Infinity;
    // A buffer that grew for a big answer is let go.
    if (this.#owed.length > MAX_KEPT_BUFFER_BYTES) this.#owed = new Uint8Array(SMALL_BUFFER_BYTES);
  }

  /**
   * Past the deadline: a handler's wait ends (its answer: 503), a request too slow to come ends
   * (408), or a client that sits idle or won't read is cut off.
   */
  expire(): void {
    if (this.onHandlerTimeout !== undefined) this.onHandlerTimeout();
    else if (this.#reading) this.#tooSlow.resolve("too slow");
    else this.close();
  }

  /** Closes the socket, once: the sweeper, a graceful close and #run's end may all try. */
  close(): void {
    if (!this.closed) this.socket.close();
    this.closed = true;
  }
}

/** The parts one after the other, in one array of `size` bytes; one part is itself. */
function concatenate(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}

/** Header fields by lowercase name; a repeated field's values joined by ", ", as in Headers. */
type Fields = Record<string, string>;

/** A request head, checked: its method, URL and fields; `lines` as they came, for the trace. */
type Head = { method: string; url: URL; fields: Fields; http10: boolean; lines: string[] };

/** Reads a request head (RFC 9112 2 to 5), and checks it. */
async function readHead(c: Connection, limits: Limits): Promise<Head> {
  // One deadline for the whole head, from its first byte: a client that sends a byte now and then,
  // to hold the connection for ever (slowloris), is cut off all the same.
  const deadline = Date.now() + limits.headersTimeoutMs;
  c.note?.(`reading a head, for at most ${limits.headersTimeoutMs} ms`);
  // Empty lines before a request line are ignored (RFC 9112 2.2).
  let line = "";
  const max = limits.maxRequestLineBytes;
  while (line === "") line = await c.line(max, deadline, 414);
  const requestLine = REQUEST_LINE.exec(line);
  if (requestLine === null) throw new HttpError(400, `Malformed request line ${quote(line)}`);
  const [, method, target, major, minor] = requestLine;
  // A later HTTP/1.x is served as 1.1 (RFC 9110 2.5); HTTP/2 does not come as text.
  if (major !== "1") throw new HttpError(505, `HTTP/${major}.${minor} is not served here`);
  const http10 = minor === "0";
  const lines = [line];
  const fields = await readFields(c, limits, deadline, lines);
  c.note?.(`the head, as it came:\n${showCRLF(lines.join("\r\n") + "\r\n\r\n")}`);

  // HTTP/1.1 requires one valid Host field (RFC 9112 3.2). HTTP/1.0 came before it: its requests
  // may have none, and are taken to be for this machine.
  let host = fields.host;
  if (host === undefined && http10) host = "localhost";
  if (host === undefined || !HOST.test(host)) throw new HttpError(400, "No valid Host field");
  let url: URL | null = null;
  if (target[0] === "/") {
    // The origin-form, a path: "/users/7?x=1" (RFC 9112 3.2.1).
    url = URL.parse(`http://${host}${target}`);
  } else if (/^https?:\/\/[^/]/i.test(target)) {
    // The absolute-form, a whole URL, as proxies are sent; its host wins (RFC 9112 3.2.2).
    url = URL.parse(target);
  }
  // Other forms, "*" and "host:port" (3.2.3, 3.2.4), are for OPTIONS and CONNECT: not served here.
  if (url === null) throw new HttpError(400, `Bad request target ${quote(target)}`);
  return { method, url, fields, http10, lines };
}

/**
 * Field lines up to the empty line that ends them (RFC 9112 5), held to the limits of a head. The
 * lines are added to `lines` as they came.
 */
async function readFields(c: Connection, limits: Limits, deadline: number, lines: string[]) {
  // No prototype: a field named "__proto__" is a field like any other.
  const fields: Fields = Object.create(null);
  // The section's bytes so far: each line, and the CRLF between it and the next.
  let bytes = 0;
  for (let count = 0;; count++) {
    // What is left of the section's limit is the most this line may take. After a section of
    // exactly the limit, that is less than nothing: the empty line may still come.
    const max = Math.max(0, limits.maxHeaderBytes - bytes);
    const line = await c.line(max, deadline, 431);
    if (line === "") return fields;
    if (count === limits.maxHeaderCount) throw new HttpError(431, "Too many header fields");
    // A line that starts with a space continues the one before (obs-fold): refused (RFC 9112 5.2).
    const field = FIELD_LINE.exec(line);
    if (field === null) throw new HttpError(400, `Malformed header field ${quote(line)}`);
    const name = field[1].toLowerCase();
    // A field sent twice is one list of values, joined by commas (RFC 9110 5.3); cookies are
    // joined by "; " (RFC 6265 5.4).
    const comma = name === "cookie" ? "; " : ", ";
    const value = field[2].trim();
    fields[name] = name in fields ? fields[name] + comma + value : value;
    lines.push(line);
    bytes += line.length + "\r\n".length;
  }
}

/** A text cut short and quoted, for an error message. */
function quote(text: string): string {
  return JSON.stringify(text.slice(0, 80));
}

/**
 * Reads a request's body, held to the body limit and to its time limit. Where it ends is told by
 * the head (RFC 9112 6.3): after chunks, after Content-Length bytes, or at once.
 */
async function readBody(c: Connection, head: Head, limits: Limits): Promise<Uint8Array> {
  const max = limits.maxBodyBytes;
  const deadline = Date.now() + limits.bodyTimeoutMs;
  const coding = head.fields["transfer-encoding"];
  const length = head.fields["content-length"];
  if (coding === undefined) {
    if (length === undefined) return new Uint8Array(0);
    // A list of one value sent twice, "5, 5", is that value (RFC 9110 8.6); any other is refused.
    const values = length.split(",").map((value) => value.trim());
    if (values.some((value) => value !== values[0]) || !CONTENT_LENGTH.test(values[0])) {
      throw new HttpError(400, `Bad Content-Length ${quote(length)}`);
    }
    // A length over the limit is refused before a byte of the body is read.
    if (Number(values[0]) > max) throw new HttpError(413);
    expectContinue(c, head);
    c.note?.(`reading a body of ${values[0]} bytes, for at most ${limits.bodyTimeoutMs} ms`);
    return await c.bytes(Number(values[0]), deadline);
  }
  // Both at once is how request smuggling starts: two servers on the way may each believe one,
  // and so disagree on where the next request begins (RFC 9112 6.1).
  if (length !== undefined) throw new HttpError(400, "Both Transfer-Encoding and Content-Length");
  if (head.http10) throw new HttpError(400, "Transfer-Encoding in an HTTP/1.0 request");
  // Unless chunked is the last coding, the body's end can't be found: 400 (RFC 9112 6.3). One
  // before it (gzip, say) would have to be undone, which is not done here: 501 (6.1).
  const codings = coding.toLowerCase().split(",").map((name) => name.trim());
  if (codings.at(-1) !== "chunked") {
    throw new HttpError(400, `Chunked is not last in ${quote(coding)}`);
  }
  if (codings.length > 1) {
    throw new HttpError(501, `Transfer-Encoding ${quote(coding)} is not supported`);
  }
  expectContinue(c, head);
  c.note?.(`reading a chunked body, for at most ${limits.bodyTimeoutMs} ms`);

  // Each chunk is its size in hex on a line, that many bytes, and a CRLF (RFC 9112 7.1). A chunk
  // of size 0 is the last; trailer fields and an empty line follow.
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const line = await c.line(MAX_CHUNK_LINE_BYTES, deadline, 400);
    const sizeLine = CHUNK_SIZE.exec(line);
    if (sizeLine === null) throw new HttpError(400, "A malformed chunk size");
    const size = parseInt(sizeLine[1], 16);
    c.note?.(`a chunk of ${size} bytes: ${quote(line)}`);
    if (size === 0) break;
    total += size;
    if (total > max) throw new HttpError(413);
    if (chunks.length === MAX_CHUNKS) throw new HttpError(413, `Over ${MAX_CHUNKS} chunks`);
    chunks.push(await c.bytes(size, deadline));
    // After a chunk's bytes, an empty line.
    const end = await c.line(MAX_CHUNK_LINE_BYTES, deadline, 400);
    if (end !== "") throw new HttpError(400, "A chunk longer than its size");
  }
  // Trailer fields are held to the rules and limits of a head's, and dropped (RFC 9112 7.1.2).
  const trailers: string[] = [];
  await readFields(c, limits, deadline, trailers);
  c.note?.(`trailer fields: ${trailers.length === 0 ? "none" : quote(trailers.join("\r\n"))}`);
  return concatenate(chunks, total);
}

/**
 * "Expect: 100-continue" asks for a go-ahead before the body is sent (RFC 9110 10.1.1); HTTP/1.0
 * clients know no interim answers.
 */
function expectContinue(c: Connection, head: Head): void {
  const expect = head.fields.expect ?? "";
  if (/^100-continue$/i.test(expect) && !head.http10) c.write("HTTP/1.1 100 Continue\r\n\r\n");
}

/**
 * How to make a {@linkcode Request}: its header fields, its body, the client's address.
 *
 * @example
 * ```ts
 * import { Request, type RequestInit } from "@groundwork/groundwork";
 *
 * const body = new TextEncoder().encode('{"name":"Ada"}');
 * const init: RequestInit = { headers: { "content-type": "application/json" }, body };
 * const req = new Request("POST", "http://localhost/users", { ...init, remoteAddr: "192.0.2.7" });
 * console.log(await req.json(), req.remoteAddr); // { name: "Ada" } "192.0.2.7"
 * ```
 */
export type RequestInit = {
  /** The header fields, e.g. `{ accept: "text/html" }`. */
  headers?: HeadersInit;
  /** The body's bytes, or a promise of them while they arrive. */
  body?: Uint8Array | Promise<Uint8Array>;
  /** The client's IP address, e.g. "127.0.0.1". */
  remoteAddr?: string;
};

/**
 * A request, as a handler sees it.
 *
 * @example
 * ```ts
 * import { Request } from "@groundwork/groundwork";
 *
 * const req = new Request("GET", "http://localhost/users/42?tab=posts");
 * console.log(req.path, req.query.get("tab")); // "/users/42" "posts"
 * // On the route "/users/:id", req.params.id is "42".
 * ```
 */
export class Request<P = Record<string, string>> {
  /** The full URL, its dot segments ("/a/../b") already resolved. */
  readonly url: URL;
  /** The URL's path, percent-encoded as sent, e.g. "/users/42". */
  readonly path: string;
  /** What the route's pattern captured, decoded. It may hold "/" or "..": not a safe file path. */
  params: P = {} as P;
  #headers?: Headers;

  /** Makes a request with a method such as "GET", as the server does; tests can too. */
  constructor(readonly method: string, url: string | URL, readonly init: RequestInit = {}) {
    this.url = url instanceof URL ? url : new URL(url);
    this.path = this.url.pathname;
  }

  /** The client's IP address. */
  get remoteAddr(): string {
    return this.init.remoteAddr ?? "";
  }

  /** The query string's parameters, e.g. `req.query.get("page")`. */
  get query(): URLSearchParams {
    return this.url.searchParams;
  }

  /** The header fields; their names are case-insensitive. */
  get headers(): Headers {
    // Made on first use: Headers checks every field, and most handlers never ask.
    this.#headers ??= new Headers(this.init.headers);
    return this.#headers;
  }

  /** The body's bytes; the server has held it to the body limit (413 beyond). */
  async bytes(): Promise<Uint8Array> {
    return await (this.init.body ?? new Uint8Array(0));
  }

  /** The body as UTF-8 text. */
  async text(): Promise<string> {
    return decoder.decode(await this.bytes());
  }

  /** The body parsed as JSON; invalid JSON is HttpError 400. */
  async json<T = unknown>(): Promise<T> {
    const text = await this.text();
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new HttpError(400, `The body is not valid JSON: ${(err as Error).message}`);
    }
  }

  /** The body as a form, urlencoded or multipart: another type is HttpError 415, a bad one 400. */
  async form(): Promise<FormData> {
    const type = this.headers.get("content-type") ?? "";
    if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) {
      throw new HttpError(415, "A form must be urlencoded or multipart/form-data");
    }
    // The web's Response parses both kinds of form, given the bytes and their type.
    const bytes = await this.bytes() as Uint8Array<ArrayBuffer>;
    const web = new globalThis.Response(bytes, { headers: { "content-type": type } });
    return await web.formData().catch(() => Promise.reject(new HttpError(400, "A broken form")));
  }
}

// ================================================================================================
// 3. Response to bytes
// ================================================================================================

const TEXT = "text/plain; charset=utf-8";
const BYTES = "application/octet-stream";

/**
 * A response body: text, bytes, a stream (sent as it comes), or none.
 *
 * @example
 * ```ts
 * import { type Body, Response } from "@groundwork/groundwork";
 *
 * const chunk = new TextEncoder().encode("a chunk");
 * const bodies: Body[] = ["text", new Uint8Array([1, 2, 3]), ReadableStream.from([chunk]), null];
 * for (const body of bodies) console.log(new Response(body).headers.get("content-type"));
 * ```
 */
export type Body = string | Uint8Array | ReadableStream<Uint8Array> | null;

/**
 * The status and header fields of a {@linkcode Response}.
 *
 * @example
 * ```ts
 * import { Response, type ResponseInit } from "@groundwork/groundwork";
 *
 * const created: ResponseInit = { status: 201, headers: { location: "/tasks/7" } };
 * const res = Response.json({ id: 7 }, created);
 * console.log(res.status, res.headers.get("location")); // 201 "/tasks/7"
 * ```
 */
export type ResponseInit = { status?: number; headers?: HeadersInit };

/**
 * A response: a status, header fields and a body.
 *
 * @example
 * ```ts
 * import { Response } from "@groundwork/groundwork";
 *
 * const created = Response.json({ id: 7 }, { status: 201 });
 * created.headers.append("set-cookie", "seen=1; Path=/");
 * const page = Response.html("<h1>Hello</h1>");
 * const moved = Response.redirect("/login", 303);
 * console.log(created.status, page.body, moved.headers.get("location"));
 * ```
 */
export class Response {
  /** The status code, e.g. 200. */
  status: number;
  // The header fields are made when asked for: most responses need only a content type, which
  // waits in #type until then.
  #headers?: Headers;
  #type?: string;

  /** Makes a response, of content type `type`, or text/plain for text, octet-stream for bytes. */
  constructor(public body: Body = null, init: ResponseInit = {}, type?: string) {
    this.status = init.status ?? 200;
    // A handler's answer is final: 200 to 599 (RFC 9110 15). Interim 1xx are the server's.
    if (!Number.isInteger(this.status) || this.status < 200 || this.status > 599) {
      throw new RangeError(`A status is a whole number from 200 to 599, not ${this.status}`);
    }
    if (type === undefined && typeof body === "string") type = TEXT;
    if (type === undefined && body !== null) type = BYTES;
    // A field value holds no CR or LF (RFC 9110 5.5): else a content type could add fields.
    if (type !== undefined && /[^\t\x20-\x7e]/.test(type)) {
      throw new TypeError(`Bad content type ${quote(type)}`);
    }
    this.#type = type;
    // Fields given are checked now, so that a bad one fails in the handler that gave it.
    if (init.headers !== undefined) this.#headers = new Headers(init.headers);
  }

  /** The header fields; the server adds Date and the framing fields, such as Content-Length. */
  get headers(): Headers {
    this.#headers ??= new Headers();
    // The first time the fields are asked for, the waiting content type joins them, unless they
    // have one. It is then forgotten: a content type that a handler deletes stays deleted.
    if (this.#type !== undefined && !this.#headers.has("content-type")) {
      this.#headers.set("content-type", this.#type);
    }
    this.#type = undefined;
    return this.#headers;
  }

  /** The header fields as [name, value] pairs; unlike `headers`, this makes no Headers object. */
  fields(): [string, string][] {
    if (this.#headers !== undefined) return [...this.headers];
    return this.#type === undefined ? [] : [["content-type", this.#type]];
  }

  /** An HTML page, e.g. `Response.html("<h1>Hi</h1>")`. */
  static html(html: string, init?: ResponseInit): Response {
    return new Response(html, init, "text/html; charset=utf-8");
  }

  /** A JSON document, e.g. `Response.json({ id: 7 }, { status: 201 })`. */
  static json(data: unknown, init?: ResponseInit): Response {
    // JSON.stringify(undefined) is undefined, not text: it goes as null.
    return new Response(JSON.stringify(data) ?? "null", init, "application/json");
  }

  /** A redirect: 302 by default; 303 after a form post; 307 or 308 to keep the method. */
  static redirect(location: string | URL, status: 301 | 302 | 303 | 307 | 308 = 302): Response {
    return new Response(null, { status, headers: { location: String(location) } });
  }
}

// The fields the server writes itself, from the body and the connection: any given are dropped.
const SERVER_FIELDS = new Set(["content-length", "transfer-encoding", "connection", "date"]);

// Answers wait to leave together, but not past this many bytes: then they go at once.
const FLUSH_AT_BYTES = 64 * 1024;

// The Date field (RFC 9110 6.6.1), kept fresh by the servers' sweepers: formatting a date for each
// response costs time, and the field counts whole seconds anyway.
let dateField = new Date().toUTCString();

/** What `send` needs to know of the request, and whether the connection may stay open. */
type SendOptions = { method: string; http10: boolean; keepAlive: boolean };

/** Sends a response (RFC 9112 6): a head with the framing of the body, then the body. */
async function send(c: Connection, res: Response, options: SendOptions) {
  let keepAlive = options.keepAlive;
  let declared: number | undefined;
  let head = `HTTP/1.1 ${res.status} ${STATUS_TEXT.get(res.status) ?? "Unknown"}\r\n`;
  for (const [name, value] of res.fields()) {
    if (!SERVER_FIELDS.has(name)) head += `${name}: ${value}\r\n`;
    // A stream may say how long it is, and a handler may close the connection.
    if (name === "content-length" && CONTENT_LENGTH.test(value)) declared = Number(value);
    if (name === "connection" && hasToken(value, "close")) keepAlive = false;
  }
  // Text goes as UTF-8: its Content-Length counts bytes, not characters. Text that is all ASCII
  // has as many bytes as characters: it is written with its head, with no array of its own.
  const ascii = typeof res.body === "string" && /^[\0-\x7f]*$/.test(res.body);
  let body = typeof res.body === "string" && !ascii ? encoder.encode(res.body) : res.body;
  let chunked = false;
  // The framing says where the body ends (RFC 9112 6.3).
  if (res.status === 204 || res.status === 304) {
    // These never have a body (RFC 9110 15.3.5, 15.4.5).
    body = cancel(body);
  } else if (!(body instanceof ReadableStream)) {
    // Bytes, or none: their length. A HEAD answer with no body may say the length a GET's body
    // would have (RFC 9110 9.3.2).
    let length = body?.length ?? 0;
    if (options.method === "HEAD" && body === null) length = declared ?? 0;
    head += `content-length: ${length}\r\n`;
  } else if (declared !== undefined) {
    // A stream that says how long it is.
    head += `content-length: ${declared}\r\n`;
  } else if (options.http10) {
    // A stream of unknown length to HTTP/1.0, which has no chunks: the close ends it.
    keepAlive = false;
  } else {
    // A stream of unknown length: chunk by chunk (RFC 9112 7.1).
    head += "transfer-encoding: chunked\r\n";
    chunked = true;
  }
  // HEAD gets the fields that GET would, its Content-Length too, but no body (RFC 9110 9.3.2).
  if (options.method === "HEAD") body = cancel(body);

  // Every answer says when it was made (RFC 9110 6.6.1).
  head += `date: ${dateField}\r\n`;
  // HTTP/1.1 keeps a connection open unless a side says "close"; HTTP/1.0 closes it unless both
  // say "keep-alive" (RFC 9112 9.3).
  if (!keepAlive) head += "connection: close\r\n";
  else if (options.http10) head += "connection: keep-alive\r\n";
  head += "\r\n";
  c.note?.(`the answer's head:\n${showCRLF(head)}`);
  if (body instanceof ReadableStream) {
    c.write(head);
    return await sendStream(c, body, chunked, declared, keepAlive);
  }
  // ASCII text joins its head, in one piece; bytes follow it.
  c.write(typeof body === "string" ? head + body : head);
  if (body instanceof Uint8Array) c.write(body);
  if (c.owedBytes > FLUSH_AT_BYTES) await c.flush();
  return { bytes: body?.length ?? 0, keepAlive };
}

/** A stream goes out as it comes, each piece at once: a chat's messages can't wait. */
async function sendStream(
  c: Connection,
  body: ReadableStream<Uint8Array>,
  chunked: boolean,
  declared: number | undefined,
  keepAlive: boolean,
) {
  let sent = 0;
  // The reader is kept on the connection, so that a closing server can end the stream.
  c.stream = body.getReader();
  c.note?.("the body streams, each piece as it comes");
  try {
    await c.flush();
    let next = await c.stream.read();
    while (!next.done) {
      const chunk = next.value;
      if (!(chunk instanceof Uint8Array)) {
        throw new TypeError("A stream must give Uint8Array chunks");
      }
      sent += chunk.length;
      if (sent > (declared ?? Infinity)) throw new Error(`A stream over its ${declared} bytes`);
      // An empty chunk would read as the last one.
      if (chunked && chunk.length > 0) c.write(`${chunk.length.toString(16)}\r\n`);
      c.write(chunk);
      if (chunked && chunk.length > 0) c.write("\r\n");
      await c.flush();
      next = await c.stream.read();
    }
  } catch (err) {
    // The client left (a write failed), or the stream did: the stream is let go.
    c.stream.cancel().catch(ignore);
    throw err;
  } finally {
    c.stream = undefined;
  }
  // The last chunk is empty, with no trailer fields.
  if (chunked) c.write("0\r\n\r\n");
  c.note?.(`the stream ended, after ${sent} bytes`);
  // A stream shorter than it said leaves the client waiting for the rest: only a close ends that.
  const short = declared !== undefined && sent < declared;
  return { bytes: sent, keepAlive: keepAlive && !short };
}

/** Lets go of a body that won't be sent: a stream is cancelled, so whoever feeds it stops. */
function cancel(body: Body | Uint8Array): null {
  if (body instanceof ReadableStream) body.cancel().catch(ignore);
  return null;
}

/** Whether a field's comma-separated list holds a token, e.g. "close" in "keep-alive, Close". */
function hasToken(list: string, token: string): boolean {
  if (list === "") return false;
  return list.toLowerCase().split(",").some((item) => item.trim() === token);
}

/** For a promise whose failure is dealt with elsewhere. */
function ignore(): void {}

/** A head as it is on the wire, indented, each CRLF shown as \r\n and ending its line. */
function showCRLF(head: string): string {
  return ("  " + head.replaceAll("\r\n", "\\r\\n\n  ")).trimEnd();
}

// ================================================================================================
// 4. Router
// ================================================================================================

/**
 * What a route pattern captures: `Params<"/users/:id/*">` is `{ id: string } & { "*": string }`.
 *
 * @example
 * ```ts
 * import type { Params } from "@groundwork/groundwork";
 *
 * const params: Params<"/users/:id/files/*"> = { id: "7", "*": "a/b.txt" };
 * ```
 */
export type Params<P extends string> = P extends `${infer Segment}/${infer Rest}`
  ? Params<Segment> & Params<Rest>
  : P extends `:${infer Name}` ? { [K in Name]: string }
  : P extends "*" ? { "*": string }
  : Record<never, never>;

type Route<T> = { value: T; names: string[]; pattern: string };

/** A node of the route tree: a segment of a path, and the routes that end there, by method. */
type RouteNode<T> = {
  routes: Map<string, Route<T>>;
  children: Map<string, RouteNode<T>>;
  param?: RouteNode<T>;
  rest?: RouteNode<T>;
};

/** What a search of the tree carries: `allowed` gathers the methods for a 405's Allow field. */
type Search = { method: string; segments: string[]; allowed: Set<string> };

/** A route found, and the values its params captured; undefined if none is. */
type Match<T> = { route: Route<T>; values: string[] } | undefined;

// A segment is a :param, a *, or characters a URL path holds as they are (RFC 3986 3.3).
// ("(?!:)": a static segment does not start with ":", which would be a :param with a bad name.)
const SEGMENT = /^(:[A-Za-z_]\w*|\*|(?!:)[\w\-.~!$&'()+,;=:@]*)$/;

/**
 * A map from a method and a path to a value, such as a handler, kept in a tree of path segments.
 *
 * @example
 * ```ts
 * import { Router } from "@groundwork/groundwork";
 *
 * const router = new Router<string>().add("GET", "/users/:id", "a user");
 * console.log(router.match("GET", "/users/7")); // { value: "a user", params: { id: "7" } }
 * console.log(router.match("GET", "/nothing")); // null: a 404
 * ```
 */
export class Router<T> {
  #root: RouteNode<T> = newNode();

  /** Adds a route: "/users", "/users/:id", "/files/*". A bad pattern, or a second route, throws. */
  add(method: string, pattern: string, value: T): this {
    const bad = (advice: string) => new Error(`Bad route "${pattern}": ${advice}`);
    if (pattern[0] !== "/") throw bad(`start it with "/"`);
    const names: string[] = [];
    let node = this.#root;
    for (const segment of pattern.split("/").slice(1)) {
      if (!SEGMENT.test(segment)) throw bad(`"${segment}" is not a :name, a * or URL characters`);
      // A URL never holds "." or ".." segments: the client resolves them (RFC 3986 5.2.4).
      if (segment === "." || segment === "..") throw bad(`write the path that "${segment}" means`);
      if (names.includes("*")) throw bad(`"*" takes the rest of the path: put it last`);
      // What a :param or a * captures is known by its name: "id" for ":id", "*" for the rest.
      const name = segment[0] === ":" ? segment.slice(1) : segment;
      const captures = segment[0] === ":" || segment === "*";
      if (captures && names.includes(name)) {
        throw bad(`name each :param once, not ":${name}" twice`);
      }
      if (captures) names.push(name);
      node = child(node, segment);
    }
    const old = node.routes.get(method);
    if (old) throw new Error(`Route ${method} ${pattern} clashes with ${old.pattern}: keep one`);
    node.routes.set(method, { value, names, pattern });
    return this;
  }

  /**
   * The value and params for a method and a path; null if no route has the path (a 404). If routes
   * have the path but not the method, it throws HttpError 405, with the Allow field.
   */
  match(method: string, path: string): { value: T; params: Record<string, string> } | null {
    // segments[0] is the "" before the path's first "/".
    const search: Search = { method, segments: path.split("/"), allowed: new Set() };
    const found = walk(this.#root, 1, [], search);
    if (found) return { value: found.route.value, params: decode(found.route.names, found.values) };
    if (search.allowed.size === 0) return null;
    // The path is known, with other methods (RFC 9110 15.5.6): Allow says which.
    if (search.allowed.has("GET")) search.allowed.add("HEAD");
    search.allowed.add("OPTIONS");
    const allow = [...search.allowed].join(", ");
    throw new HttpError(405, `${method} is not allowed here; ${allow} are`, { headers: { allow } });
  }
}

/** The node that a pattern's segment leads to from `node`, made if it is new. */
function child<T>(node: RouteNode<T>, segment: string): RouteNode<T> {
  if (segment === "*") {
    node.rest ??= newNode();
    return node.rest;
  }
  if (segment[0] === ":") {
    node.param ??= newNode();
    return node.param;
  }
  if (!node.children.has(segment)) node.children.set(segment, newNode());
  return node.children.get(segment)!;
}

function newNode<T>(): RouteNode<T> {
  return { routes: new Map(), children: new Map() };
}

/**
 * The route for the segments from `i` on, below `node`. A static segment is tried first, then a
 * :param, then a *: when one leads nowhere, the next is tried.
 */
function walk<T>(node: RouteNode<T>, i: number, values: string[], search: Search): Match<T> {
  const segment = search.segments[i];
  if (i === search.segments.length) {
    const here = pick(node, values, search);
    if (here) return here;
  } else {
    const next = node.children.get(segment);
    const below = next && walk(next, i + 1, values, search);
    if (below) return below;
    // A :param takes one segment, never an empty one.
    const param = node.param && segment !== "" &&
      walk(node.param, i + 1, [...values, segment], search);
    if (param) return param;
  }
  // A * takes the rest of the path, however much, even none.
  if (node.rest === undefined) return undefined;
  return pick(node.rest, [...values, search.segments.slice(i).join("/")], search);
}

/** The route for the method among those ending at `node`; HEAD may use GET's (RFC 9110 9.3.2). */
function pick<T>(node: RouteNode<T>, values: string[], search: Search): Match<T> {
  let route = node.routes.get(search.method);
  if (search.method === "HEAD") route ??= node.routes.get("GET");
  // A route for "*" takes any method.
  route ??= node.routes.get("*");
  if (route !== undefined) return { route, values };
  // The path is here, but not with this method: its methods are noted for a 405.
  for (const method of node.routes.keys()) search.allowed.add(method);
}

/** What the params captured, percent-decoded: "J%C3%B6rg" is "Jörg". */
function decode(names: string[], values: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  try {
    for (let i = 0; i < names.length; i++) params[names[i]] = decodeURIComponent(values[i]);
  } catch {
    throw new HttpError(400, "A malformed %-escape in the path");
  }
  return params;
}

// ================================================================================================
// 5. App
// ================================================================================================

/**
 * What a handler may return: a Response (groundwork's, or the web's); text; bytes or a stream;
 * null for 204 No Content; anything else goes as JSON.
 *
 * @example
 * ```ts
 * import { App, type Result } from "@groundwork/groundwork";
 *
 * const tasks = new Map([["7", { id: 7, title: "Write the tests" }]]);
 * function taskOrNothing(id: string): Result {
 *   return tasks.get(id) ?? null; // JSON, or 204
 * }
 * const app = new App().get("/tasks/:id", (req) => taskOrNothing(req.params.id));
 * console.log((await app.request("/tasks/8")).status); // 204
 * ```
 */
export type Result = Response | globalThis.Response | Body | object | number | boolean;

/**
 * A route handler, e.g. `(req) => ({ id: req.params.id })`.
 *
 * @example
 * ```ts
 * import { App, type Handler } from "@groundwork/groundwork";
 *
 * const hello: Handler<{ name: string }> = (req) => `Hello, ${req.params.name}!`;
 * const app = new App().get("/hello/:name", hello);
 * console.log(await (await app.request("/hello/Ada")).text()); // "Hello, Ada!"
 * ```
 */
export type Handler<P = Record<string, string>> = (req: Request<P>) => Result | Promise<Result>;

/**
 * Middleware: it wraps the rest of the chain, which `next()` runs and gives back as a Response.
 *
 * @example
 * ```ts
 * import { App, type Middleware } from "@groundwork/groundwork";
 *
 * const timing: Middleware = async (_req, next) => {
 *   const started = performance.now();
 *   const res = await next(); // a 404 or a 500 comes back here too
 *   res.headers.set("server-timing", `app;dur=${performance.now() - started}`);
 *   return res;
 * };
 * const app = new App().use(timing);
 * console.log((await app.request("/nothing")).headers.has("server-timing")); // true
 * ```
 */
export type Middleware = (req: Request, next: () => Promise<Response>) => Result | Promise<Result>;

/** What a handler, a middleware or `notFound` returned, as a Response. */
function toResponse(out: Result | void, who: string): Response {
  if (out instanceof Response) return out;
  if (out === undefined) {
    throw new TypeError(`${who} returned nothing: did you forget to \`return\`?`);
  }
  // The web's Response, out of habit or for want of an import, is converted.
  if (out instanceof globalThis.Response) {
    return new Response(out.body, { status: out.status, headers: out.headers });
  }
  if (out === null) return new Response(null, { status: 204 });
  const raw = typeof out === "string" || out instanceof Uint8Array || out instanceof ReadableStream;
  return raw ? new Response(out) : Response.json(out);
}

/**
 * The answer to an error. An HttpError is its own answer; a 5xx one shows only its reason phrase.
 * Anything else is a bug: it is logged here, and the client learns no more than 500.
 */
function errorResponse(err: unknown): Response {
  if (!(err instanceof HttpError)) console.error(err);
  if (!(err instanceof HttpError)) return new Response("Internal Server Error", { status: 500 });
  const text = err.status < 500 ? err.message : STATUS_TEXT.get(err.status);
  return new Response(text ?? "Error", { status: err.status, headers: err.headers });
}

/**
 * An app: routes, middleware, and the answers to what goes wrong. Serve it with `listen()`, or hand
 * `app.fetch` to `Deno.serve`.
 *
 * @example
 * ```ts
 * import { App, Request } from "@groundwork/groundwork";
 *
 * const app = new App()
 *   .use(async (req, next) => {
 *     const res = await next(); // every answer comes back here: 200, 404 and 500 alike
 *     res.headers.set("x-served-by", "groundwork");
 *     return res;
 *   })
 *   .get("/", () => "Hello, World!");
 *
 * const res = await app.handle(new Request("GET", "http://localhost/"));
 * console.log(res.status, res.body); // 200 "Hello, World!"
 * ```
 */
export class App {
  // A route's value is its handler, or an app mounted at a prefix.
  #router = new Router<Handler | { prefix: string; app: App }>();
  #middleware: Middleware[] = [];

  /** The answer for a path that no route has; replace it to change the 404 page. */
  notFound: Handler = (req) => new Response(`Nothing at ${req.path}`, { status: 404 });

  /** Turns anything thrown into a response; replace it to show errors your way. */
  onError: (err: unknown, req: Request) => Response | Promise<Response> = errorResponse;

  /** Makes an app; `maxBodyBytes` caps request bodies (413 beyond), on `listen()` and `fetch`. */
  constructor(readonly config: { maxBodyBytes?: number } = {}) {}

  /** Adds middleware; each runs around those added after it, and around the handler. */
  use(middleware: Middleware): this {
    if (typeof middleware !== "function") throw new TypeError("use() takes (req, next) => ...");
    this.#middleware.push(middleware);
    return this;
  }

  /** Routes GET requests (and so HEAD ones) for a path, e.g. "/users/:id" or "/static/*". */
  get<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("GET", path, handler);
  }

  /** Routes POST requests for a path. */
  post<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("POST", path, handler);
  }

  /** Routes PUT requests for a path. */
  put<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("PUT", path, handler);
  }

  /** Routes PATCH requests for a path. */
  patch<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("PATCH", path, handler);
  }

  /** Routes DELETE requests for a path. */
  delete<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("DELETE", path, handler);
  }

  /** Routes HEAD requests for a path; without such a route, HEAD uses the GET route. */
  head<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("HEAD", path, handler);
  }

  /** Routes OPTIONS requests for a path; without such a route, OPTIONS gets 204 and Allow. */
  options<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("OPTIONS", path, handler);
  }

  /** Routes requests with any method for a path. */
  all<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("*", path, handler);
  }

  /** Routes requests with a method, or one of several: `on(["GET", "POST"], "/x", handler)`. */
  on<P extends string>(methods: string | string[], path: P, handler: Handler<Params<P>>): this {
    for (const method of [methods].flat()) this.#router.add(method, path, handler as Handler);
    return this;
  }

  /**
   * Answers one request: the middleware in order, then the route's handler. It never throws. It is
   * a field, not a method, so that it can be passed around: `new Server(app.handle)`.
   */
  handle = (req: Request): Promise<Response> => this.#run(req, 0, req.path);

  /**
   * Mounts an app at a path: with `app.route("/api", api)`, api's "/users" answers "/api/users".
   * Its middleware runs for its own routes only, inside this app's middleware.
   */
  route(prefix: string, app: App): this {
    // A prefix is fixed segments (the router checks their characters): no :param, no *, no "/"
    // at its end.
    if (!/^(\/[^/:*]+)+$/.test(prefix)) {
      throw new Error(`Bad prefix "${prefix}": a path of fixed segments, such as "/api/v1"`);
    }
    // A route for any method, whose value is the app: a static route beats it, a * loses to it.
    this.#router.add("*", `${prefix}/*`, { prefix, app });
    return this;
  }

  /** Answers a request with no socket, as a test would: `await app.request("/users/7")`. */
  async request(input: string | URL, init?: globalThis.RequestInit): Promise<globalThis.Response> {
    const res = await this.fetch(new globalThis.Request(new URL(input, "http://localhost"), init));
    // No server is in between to drop a HEAD's body, as each does (RFC 9110 9.3.2): it is dropped.
    if (init?.method?.toUpperCase() !== "HEAD") return res;
    await res.body?.cancel();
    return new globalThis.Response(null, res);
  }

  /**
   * Runs middleware number `i`, or past the last one the router (on `path`, which is the request's
   * within a mounted app) and the route's handler. What it throws becomes a response right here,
   * so that the middleware around it gets one from `next()`.
   */
  async #run(req: Request, i: number, path: string): Promise<Response> {
    try {
      const middleware = this.#middleware[i];
      if (middleware !== undefined) {
        let called = false;
        const next = () => {
          if (called) throw new Error("A middleware called next() twice: call it once");
          called = true;
          return this.#run(req, i + 1, path);
        };
        return toResponse(await middleware(req, next), "A middleware");
      }
      const route = this.#router.match(req.method, path);
      if (route === null) return toResponse(await this.notFound(req), "notFound");
      // An app mounted here answers the rest of the path, from its own middleware on.
      if (typeof route.value !== "function") {
        const { prefix, app } = route.value;
        return await app.#run(req, 0, path.slice(prefix.length) || "/");
      }
      req.params = route.params;
      return toResponse(await route.value(req), `The handler for ${req.method} ${req.path}`);
    } catch (err) {
      // OPTIONS asks which methods a path allows (RFC 9110 9.3.7): a 405's Allow field says.
      if (req.method === "OPTIONS" && err instanceof HttpError && err.status === 405) {
        return new Response(null, { status: 204, headers: err.headers });
      }
      try {
        return toResponse(await this.onError(err, req), "onError");
      } catch (failed) {
        // onError threw too: the plain answer.
        return errorResponse(failed);
      }
    }
  }

  /**
   * Answers a web Request with a web Response: what `Deno.serve(app.fetch)` and `deno serve` call.
   * It is a field, not a method, so that it can be passed around.
   */
  fetch = async (
    web: globalThis.Request,
    info?: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Promise<globalThis.Response> => {
    // Deno.serve lets any Host through, and makes the URL from it: "a:b" makes none, and "a/admin?"
    // would choose the route. So the Host is held to the own Server's rule: else, 400.
    const host = web.headers.get("host");
    const url = URL.parse(web.url);
    if (url === null || (host !== null && !HOST.test(host))) {
      return toWeb(errorResponse(new HttpError(400, "No valid Host field")));
    }
    const max = this.config.maxBodyBytes ?? LIMITS.maxBodyBytes;
    const body = web.body === null ? undefined : readWebBody(web, max);
    // A handler may never read the body: then its failure is nobody's to hear.
    body?.catch(ignore);
    const remoteAddr = info?.remoteAddr.hostname;
    const req = new Request(web.method, url, { headers: web.headers, body, remoteAddr });
    return toWeb(await this.handle(req));
  };

  /** Serves the app on groundwork's own {@linkcode Server}; resolves once it is listening. */
  async listen(options: ServerOptions = {}): Promise<Server> {
    const server = new Server(this.handle, { maxBodyBytes: this.config.maxBodyBytes, ...options });
    const { port } = await server.listen();
    if (options.log !== false) console.error(`Listening on http://localhost:${port}/`);
    return server;
  }
}

/** A web request's body, held to the body limit: 413 past it. */
async function readWebBody(web: globalThis.Request, max: number): Promise<Uint8Array> {
  const declared = web.headers.get("content-length") ?? "";
  if (Number(declared) > max) throw new HttpError(413);
  try {
    // Deno.serve holds a body to its declared length, so it is read in one go, which is faster. A
    // web Request made by hand may say less than it holds: what came is checked all the same.
    if (CONTENT_LENGTH.test(declared)) {
      const bytes = await web.bytes();
      if (bytes.length > max) throw new HttpError(413);
      return bytes;
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    // Leaving the loop at the limit cancels the stream: the rest is never read.
    for await (const part of web.body!) {
      size += part.length;
      if (size > max) throw new HttpError(413);
      parts.push(part);
    }
    return concatenate(parts, size);
  } catch (err) {
    // A body that breaks off (a malformed chunk, a client gone) is the client's doing: 400.
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `The body broke off: ${(err as Error).message}`);
  }
}

/** Our Response as the web's, for `Deno.serve`, which frames it, and drops a HEAD's body. */
function toWeb(res: Response): globalThis.Response {
  const headers = res.fields();
  let body = res.body;
  if (res.status === 204 || res.status === 304) body = cancel(body);
  // Text with its content type deleted on purpose goes as bytes: else the web's Response would
  // give it a text/plain one.
  const typed = headers.some((field) => field[0] === "content-type");
  if (typeof body === "string" && !typed) body = encoder.encode(body);
  return new globalThis.Response(body as BodyInit | null, { status: res.status, headers });
}

// ================================================================================================
// 6. Server
// ================================================================================================

/**
 * Where a {@linkcode Server} listens, what it prints, and any {@linkcode LIMITS} to change.
 *
 * @example
 * ```ts
 * import type { ServerOptions } from "@groundwork/groundwork";
 *
 * const options: ServerOptions = { port: 8080, hostname: "127.0.0.1", maxBodyBytes: 10_000_000 };
 * // await app.listen(options);
 * ```
 */
export type ServerOptions = Partial<Limits> & {
  /** The port; 0 picks a free one. By default `--port N` on the command line, or $PORT, or 8000. */
  port?: number;
  /** The address to listen on; by default "0.0.0.0", every interface. */
  hostname?: string;
  /** Lets several processes share the port (Linux; Deno asks for --unstable-net). */
  reusePort?: boolean;
  /** An access-log line per request on stderr; on by default. */
  log?: boolean;
  /**
   * Traces each connection on stderr, or to a function: its states, each with its deadline; the
   * heads as they are on the wire, \r\n shown; a body's framing and first bytes; why it closed.
   * GROUNDWORK_TRACE=1 turns it on too, if the program may read it (`--allow-env`).
   */
  trace?: boolean | ((line: string) => void);
};

// The sweeper runs this often: deadlines are kept to a fifth of a second.
const SWEEP_MS = 200;

// After an accept fails for want of resources (no file descriptor left), wait a little.
const ACCEPT_RETRY_MS = 50;

// Errors that mean the client is gone: it reset or closed the connection, or we closed it. They
// end the connection quietly; any other is a bug, and it is logged.
const GONE =
  /^(BadResource|BrokenPipe|ConnectionAborted|ConnectionReset|Interrupted|NotConnected)$/;

/**
 * HTTP/1.1 on TCP, for any handler that turns a Request into a Response. It knows no routes: the
 * App does. (This is the split that Python's WSGI makes between a server and an application.)
 *
 * @example
 * ```ts
 * import { Response, Server } from "@groundwork/groundwork";
 *
 * const options = { port: 0, hostname: "127.0.0.1", log: false };
 * const server = new Server(() => new Response("hi"), options);
 * const { port } = await server.listen();
 * console.log(await (await fetch(`http://127.0.0.1:${port}/`)).text()); // "hi"
 * await server.close();
 * ```
 */
export class Server {
  /** The address the server listens on, once `listen()` has bound it (with port 0: its port). */
  addr?: Deno.NetAddr;
  #limits: Limits;
  #trace?: (line: string) => void;
  #opened = 0;
  #listener?: Deno.TcpListener;
  #accepting?: Promise<void>;
  #connections = new Map<Connection, Promise<void>>();
  #sweeper?: ReturnType<typeof setInterval>;
  #closing = false;
  #closed?: Promise<void>;

  /** Makes a server that answers with `handler`; nothing happens until `listen()`. */
  constructor(
    readonly handler: (req: Request) => Response | Promise<Response>,
    readonly options: ServerOptions = {},
  ) {
    this.#limits = limitsOf(options);
    const trace = options.trace ?? env("GROUNDWORK_TRACE") === "1";
    if (trace === true) this.#trace = (line) => console.error(line);
    if (typeof trace === "function") this.#trace = trace;
  }

  /** Binds the port and starts accepting; resolves with the address bound. */
  // deno-lint-ignore require-await -- async, so that a port in use is a rejection, not a throw
  async listen(): Promise<Deno.NetAddr> {
    const { hostname = "0.0.0.0", reusePort } = this.options;
    const port = this.options.port ?? defaultPort();
    try {
      this.#listener = Deno.listen({ port, hostname, reusePort } as Deno.TcpListenOptions);
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
      const inUse = new Error(`Port ${port} is in use: stop what runs there, or use --port N`);
      // Deno prints an uncaught error with its stack: this one says all there is in its message.
      inUse.stack = inUse.message;
      throw inUse;
    }
    this.addr = this.#listener.addr;
    this.#accepting = this.#acceptAll(this.#listener);
    return this.#listener.addr;
  }

  /**
   * Serves one connection that is already open, as `listen()` does each one it accepts: for a
   * socket of another kind, e.g. an in-memory pair in a demo. It resolves once it is closed. Call
   * `close()` when done, as after `listen()`: it stops the timer that the first connection starts.
   */
  serve(socket: Socket): Promise<void> {
    // One timer checks every connection's deadline: a timer for each read and write would cost
    // far more. It keeps the Date field fresh too.
    if (this.#sweeper === undefined) {
      this.#sweep();
      this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    }
    const c = new Connection(socket, this.#limits.idleTimeoutMs);
    const trace = this.#trace;
    this.#opened += 1;
    const id = this.#opened;
    const opened = performance.now();
    if (trace) {
      c.note = (text) => trace(`#${id} +${(performance.now() - opened).toFixed(0)}ms ${text}`);
    }
    const full = this.#connections.size >= this.#limits.maxConnections;
    const done = this.#run(c, full);
    // (If #run failed before its first wait, it has closed the connection, and forgotten it.)
    if (!c.closed) this.#connections.set(c, done);
    return done;
  }

  #sweep(): void {
    dateField = new Date().toUTCString();
    const now = Date.now();
    for (const c of this.#connections.keys()) if (now > c.deadline) c.expire();
  }

  async #acceptAll(listener: Deno.TcpListener): Promise<void> {
    while (!this.#closing) {
      let socket: Deno.TcpConn;
      try {
        socket = await listener.accept();
      } catch (err) {
        // close() closes the listener under accept(): that is the way out of this loop. A failed
        // accept must not stop the others: a client that reset first is gone already, and a lack
        // of file descriptors passes, so the next try waits a little.
        if (this.#closing) return;
        if (isGone(err)) continue;
        console.error("groundwork: accept failed:", err);
        await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
        continue;
      }
      this.serve(socket);
    }
  }

  /** A connection's life, from accept to close: nothing it meets may crash the server. */
  async #run(c: Connection, full: boolean): Promise<void> {
    const from = c.socket.remoteAddr;
    c.note?.(`open, from ${from.hostname} port ${from.port}`);
    let why = "the answer said it would close";
    try {
      // Nagle's algorithm holds back a short write while an earlier one waits for its ACK, and a
      // client may delay that ACK for 40 ms. We write whole answers, so it would only delay them.
      c.socket.setNoDelay(true);
      if (full) {
        const refusal = errorResponse(new HttpError(503, "Too many connections"));
        await send(c, refusal, { method: "GET", http10: false, keepAlive: false });
        why = `over ${this.#limits.maxConnections} connections`;
      }
      // Between requests the connection is idle: it waits for the next one, or for the end. When
      // the server closes, the request in progress is answered, and its answer says close.
      while (!full) {
        if (c.buffered() === 0) {
          c.note?.(`idle, for at most ${this.#limits.idleTimeoutMs} ms`);
          const more = await c.fill(Date.now() + this.#limits.idleTimeoutMs, true);
          if (!more) why = c.closed ? "idle too long" : "the client closed";
          if (!more) break;
        }
        if (!(await this.#exchange(c))) break;
      }
      if (this.#closing && why !== "the client closed") why = "the server is closing";
      // The last answer may still wait in the buffer: it goes before the close.
      await c.flush();
    } catch (err) {
      why = `it failed: ${(err as Error)?.name}`;
      if (!isGone(err)) console.error("groundwork: a connection failed:", err);
    } finally {
      c.close();
      this.#connections.delete(c);
      c.note?.(`closed: ${why}`);
    }
  }

  /** Reads one request and answers it; true if the connection may carry another. */
  async #exchange(c: Connection): Promise<boolean> {
    const log = this.options.log ?? true;
    const started = log ? performance.now() : 0;
    let head: Head | undefined;
    let res: Response;
    let keepAlive = false;
    try {
      head = await readHead(c, this.#limits);
      // HTTP/1.1 keeps the connection unless the client says "close"; HTTP/1.0 closes it unless
      // the client says "keep-alive" (RFC 9112 9.3).
      const connection = head.fields.connection ?? "";
      keepAlive = head.http10 ? hasToken(connection, "keep-alive") : !hasToken(connection, "close");
      // The whole body is read before the handler runs; until it has been, the next request's
      // bytes can't be told from it.
      const framed = "content-length" in head.fields || "transfer-encoding" in head.fields;
      const body = framed ? await readBody(c, head, this.#limits) : undefined;
      if (body) {
        c.note?.(`the body: ${body.length} bytes, ${quote(decoder.decode(body.subarray(0, 64)))}`);
      }
      const remoteAddr = c.socket.remoteAddr.hostname;
      const req = new Request(head.method, head.url, { headers: head.fields, body, remoteAddr });
      res = await this.#answer(c, req);
    } catch (err) {
      // The socket failed: there is no one to answer.
      if (!(err instanceof HttpError)) throw err;
      // A malformed request: answer why, then close, since the bytes after it can't be trusted.
      res = errorResponse(err);
      keepAlive = false;
      c.note?.(`refused: ${err.status} ${err.message}; the bytes after it can't be trusted`);
    }
    const method = head?.method ?? "GET";
    const http10 = head?.http10 ?? false;
    keepAlive &&= !this.#closing;
    const sent = await send(c, res, { method, http10, keepAlive });
    if (log) {
      const ms = (performance.now() - started).toFixed(1);
      console.error(`${method} ${head?.url.pathname} ${res.status} ${sent.bytes}B ${ms}ms`);
    }
    // A server that began to close while a stream was going out closes the connection after it.
    return sent.keepAlive && !this.#closing;
  }

  /**
   * The handler's answer. A handler that never answers would hold its client, and the requests
   * behind, for ever: past handlerTimeoutMs, the answer is 503, and the connection closes.
   */
  async #answer(c: Connection, req: Request): Promise<Response> {
    const answer = this.#call(req);
    const timeout = Promise.withResolvers<"late">();
    c.onHandlerTimeout = () => timeout.resolve("late");
    c.deadline = Date.now() + this.#limits.handlerTimeoutMs;
    c.note?.(`the handler runs, for at most ${this.#limits.handlerTimeoutMs} ms`);
    const res = await Promise.race([answer, timeout.promise]);
    c.onHandlerTimeout = undefined;
    c.deadline = Infinity;
    if (res !== "late") return res;
    // A late answer, should it come, is let go.
    answer.then((lost) => cancel(lost.body));
    const late = errorResponse(new HttpError(503, "The handler took too long"));
    late.headers.set("connection", "close");
    return late;
  }

  /** What the handler answers; if it throws, or gives no Response, the answer to that. */
  async #call(req: Request): Promise<Response> {
    try {
      const res = await this.handler(req);
      if (res instanceof Response) return res;
      throw new TypeError(`A server's handler gave ${res}, not a Response: an App's handle does`);
    } catch (err) {
      return errorResponse(err);
    }
  }

  /**
   * Stops gracefully, and always finishes: it accepts no more connections, and answers the
   * requests that have come (the answers say "Connection: close"). Past closeGraceMs, it ends the
   * streams still open, each with its last chunk, and cuts off what is left. Then it resolves.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutDown();
    return this.#closed;
  }

  async #shutDown(): Promise<void> {
    this.#closing = true;
    this.#listener?.close();
    await this.#accepting;
    // An idle connection is closed by the next sweep, unless a request comes in the meantime.
    for (const c of this.#connections.keys()) if (c.idle) c.deadline = Date.now();
    const grace = setTimeout(() => this.#cutOff(), this.#limits.closeGraceMs);
    await Promise.all(this.#connections.values());
    clearTimeout(grace);
    clearInterval(this.#sweeper);
  }

  /** Ends every connection that is left: a stream with its last chunk, anything else now. */
  #cutOff(): void {
    for (const c of this.#connections.keys()) {
      if (c.stream !== undefined) c.stream.cancel().catch(ignore);
      else c.expire();
    }
  }
}

function isGone(err: unknown): boolean {
  return GONE.test((err as Error)?.name);
}

/** The limits a server works with: LIMITS, with each option given in its place. */
function limitsOf(options: ServerOptions): Limits {
  const limits = { ...LIMITS };
  for (const name of Object.keys(LIMITS) as (keyof Limits)[]) {
    const value = options[name];
    // An option given as undefined keeps the default.
    if (value === undefined) continue;
    if (!(value >= 0)) throw new TypeError(`${name} must be a number of 0 or more, not ${value}`);
    limits[name] = value;
  }
  return limits;
}

/** The port by default: `--port N` on the command line, else $PORT, else 8000. */
function defaultPort(): number {
  const flag = Deno.args.indexOf("--port");
  const text = flag === -1 ? env("PORT") ?? "8000" : Deno.args[flag + 1];
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`A port is a whole number from 0 to 65535, not ${quote(String(text))}`);
  }
  return port;
}

/**
 * An environment variable, if the program may read it. The permission is queried, which never
 * prompts: `deno run --allow-net` alone must still run.
 */
function env(name: string): string | undefined {
  const status = Deno.permissions.querySync?.({ name: "env", variable: name });
  return status?.state === "granted" ? Deno.env.get(name) : undefined;
}
