/**
 * groundwork: a web framework for Deno, from the TCP socket up, in one file. It reads from the top down, the way one
 * request travels, in six layers; each starts with a banner you can search for ("// ===").
 *
 * 1. Status codes and HttpError: how every layer says "no".
 * 2. Bytes to Request: a buffered connection, the request head, the body and its framing.
 * 3. Response to bytes: what handlers return, and how it goes back on the wire.
 * 4. Router: a method and a path to a handler, or 404 / 405.
 * 5. App: middleware, handlers, errors turned into responses, and `fetch` for `Deno.serve`.
 * 6. Server: sockets, keep-alive, pipelining, time limits, a graceful close.
 *
 * @example
 * ```ts
 * import { App } from "./mod.ts";
 * const app = new App().get("/", () => "Hello, World!").get("/users/:id", (req) => ({ id: req.params.id }));
 * const server = await app.listen({ port: 0, log: false });
 * await server.close();
 * ```
 * @module
 */

// ====================================================== 1. Status codes and HttpError ===============================

const STATUS_TEXT = new Map(
  `100 Continue|200 OK|201 Created|202 Accepted|204 No Content|206 Partial Content|301 Moved Permanently|302 Found
  303 See Other|304 Not Modified|307 Temporary Redirect|308 Permanent Redirect|400 Bad Request|401 Unauthorized
  403 Forbidden|404 Not Found|405 Method Not Allowed|408 Request Timeout|409 Conflict|410 Gone|411 Length Required
  412 Precondition Failed|413 Content Too Large|414 URI Too Long|415 Unsupported Media Type|416 Range Not Satisfiable
  417 Expectation Failed|422 Unprocessable Content|429 Too Many Requests|431 Request Header Fields Too Large
  500 Internal Server Error|501 Not Implemented|502 Bad Gateway|503 Service Unavailable|505 HTTP Version Not Supported`
    .split(/\s*[|\n]\s*/).map((s) => [Number(s.slice(0, 3)), s.slice(4)]),
);

/**
 * An error that carries its HTTP answer, e.g. `throw new HttpError(404, "No task 7")`: thrown from any layer, it
 * becomes that response. The client sees the message of a 4xx; of a 5xx, only the reason phrase.
 */
export class HttpError extends Error {
  /** Fields to send with the answer, e.g. `Allow` on a 405 or `Retry-After` on a 429. */
  readonly headers: Headers;
  /** Whether the message may reach the client: by default for a 4xx only (Koa's rule). */
  readonly expose: boolean;
  /** Makes an error with a `status` code; the message defaults to the status's reason phrase. */
  constructor(readonly status: number, message?: string, init: { headers?: HeadersInit; expose?: boolean } = {}) {
    super(message ?? STATUS_TEXT.get(status) ?? "Error");
    [this.name, this.headers, this.expose] = ["HttpError", new Headers(init.headers), init.expose ?? status < 500];
  }
}

// ====================================================== 2. Bytes to Request ========================================

/** The server's defences, each with its answer. Any can be changed, e.g. `app.listen({ maxBodyBytes: 1e7 })`. */
export const LIMITS = {
  maxRequestLineBytes: 8 * 1024, // a longer request line: 414 URI Too Long
  maxHeaderBytes: 16 * 1024, // a bigger header section: 431 Request Header Fields Too Large
  maxHeaderCount: 100, // more header fields: 431
  maxBodyBytes: 1024 * 1024, // a bigger body: 413 Content Too Large, and close
  headersTimeoutMs: 10_000, // a head still incomplete this long after its first byte: 408, and close
  idleTimeoutMs: 5_000, // a kept-alive connection idle this long, or a body stalled this long: close
  maxConnections: 10_000, // a connection beyond this many open ones: 503, and close
};

const TOKEN = /^[!#$%&'*+.^_`|~\w-]+$/; // RFC 9110 5.6.2: methods and field names are "tokens"
const REQUEST_LINE = /^([!#$%&'*+.^_`|~\w-]+) ([\x21-\x7e]+) HTTP\/(\d)\.(\d)$/;
const FIELD_LINE = /^([!#$%&'*+.^_`|~\w-]+):[\t ]*([\t\x20-\x7e]*?)[\t ]*$/; // no control or non-ASCII bytes
const HOST = /^(\[[\da-fA-F:.]+\]|[\w.-]+)(:\d{1,5})?$/;
const ascii = new TextDecoder(), encoder = new TextEncoder(); // lines are ASCII-checked: UTF-8 decodes them exactly

/**
 * One client's socket and a read buffer. TCP has no message boundaries: one read may bring half a request, or three
 * pipelined ones. So a short read is never "the end": we read on until the line or the bytes we need are here.
 */
class Connection {
  state: "idle" | "head" | "busy" = "idle"; // "idle" is between requests: safe to close
  out: Uint8Array[] = []; // responses not yet written: pipelined ones leave together, in one write
  #buf = new Uint8Array(16 * 1024);
  #start = 0; // the unread bytes are #buf[#start, #end)
  #end = 0;
  constructor(readonly conn: Deno.TcpConn) {}
  get buffered(): number {
    return this.#end - this.#start;
  }
  async fill(ms: number): Promise<boolean> { // waits at most `ms` for more bytes; false once the client has closed
    if (this.out.length) await this.flush(); // before we wait on the client, we send what we owe it
    if (this.#end === this.#buf.length) { // full: slide the unread bytes to the front, doubling the buffer if needed
      const unread = this.#buf.subarray(this.#start, this.#end);
      if (unread.length * 2 > this.#buf.length) this.#buf = new Uint8Array(this.#buf.length * 2);
      this.#buf.set(unread);
      [this.#start, this.#end] = [0, unread.length];
    }
    const timer = setTimeout(() => this.expire(), ms);
    const n = await this.conn.read(this.#buf.subarray(this.#end)).finally(() => clearTimeout(timer)); // null: closed
    this.#end += n ?? 0;
    return n !== null;
  }
  expire(): void { // a slow head gets a 408; anything else, a close. Either way, the pending read ends.
    if (this.state !== "head") return this.close();
    this.conn.write(reply(408)).catch(() => {}).finally(() => this.close());
  }
  async take(n: number, ms: number): Promise<Uint8Array> { // the next `n` bytes
    while (this.buffered < n) if (!(await this.fill(ms))) throw new HttpError(400, "The body was cut short");
    return this.#buf.slice(this.#start, this.#start += n);
  }
  async line(max: number, ms: number, status = 400): Promise<string> { // the next line without its CRLF
    let lf; // the first LF from #start on; one at or past #end is a stale byte, so: no line yet
    while ((lf = this.#buf.indexOf(10, this.#start)) < 0 || lf >= this.#end) {
      if (this.buffered > max + 1) throw new HttpError(status, `A line longer than ${max} bytes`);
      if (!(await this.fill(ms))) throw new HttpError(400, "The connection closed mid-request");
    }
    if (lf - this.#start > max + 1) throw new HttpError(status, `A line longer than ${max} bytes`);
    if (lf === this.#start || this.#buf[lf - 1] !== 13) throw new HttpError(400, "A line ended in LF, not CRLF");
    [lf, this.#start] = [this.#start, lf + 1];
    return ascii.decode(this.#buf.subarray(lf, this.#start - 2));
  }
  async flush(bytes?: Uint8Array): Promise<void> { // writes `bytes` after all that `out` holds, in one write() call
    let data = concat(bytes ? [...this.out.splice(0), bytes] : this.out.splice(0));
    while (data.length > 0) data = data.subarray(await this.conn.write(data)); // a write may take only a part
  }
  close(): void {
    try {
      this.conn.close();
    } catch { /* closed already, by a timeout or by Server.close: nothing left to do */ }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  parts.reduce((at, part) => (out.set(part, at), at + part.length), 0);
  return out;
}

/** A checked request head; `length` says where the body ends (RFC 9112 6.3). */
type Head = {
  lines: string[];
  method: string;
  url: URL;
  headers: Headers;
  http10: boolean;
  length: number | "chunked";
};

/** Reads a request head line by line, within the limits, and checks it as RFC 9112 asks. */
async function readHead(c: Connection, limits: typeof LIMITS): Promise<Head> {
  const lines: string[] = [], until = Date.now() + limits.headersTimeoutMs; // one deadline for the whole head
  for (let size = 0;;) {
    const max = lines.length ? limits.maxHeaderBytes - size : limits.maxRequestLineBytes;
    const line = await c.line(max, until - Date.now(), lines.length ? 431 : 414);
    if (line === "") break;
    if (lines.push(line) > limits.maxHeaderCount + 1) throw new HttpError(431, "Too many header fields");
    size += line.length + 2;
  }
  const [, method, target, major, minor] = REQUEST_LINE.exec(lines[0] ?? "") ?? [];
  if (!method) throw new HttpError(400, `Malformed request line ${JSON.stringify(lines[0]?.slice(0, 80))}`);
  if (major !== "1" || minor > "1") throw new HttpError(505, `HTTP/${major}.${minor} is not served here`);
  const headers = new Headers();
  for (const line of lines.slice(1)) { // no space before the colon, no obs-fold: RFC 9112 5
    const field = FIELD_LINE.exec(line);
    if (!field) throw new HttpError(400, `Malformed header field ${JSON.stringify(line.slice(0, 80))}`);
    headers.append(field[1], field[2]);
  }
  const http10 = minor === "0", host = headers.get("host") ?? (http10 ? "localhost" : "");
  if (!HOST.test(host)) throw new HttpError(400, "A missing or malformed Host header");
  const absolute = /^https?:\/\/[^/]/i.test(target) && URL.canParse(target); // "absolute-form", RFC 9112 3.2.2
  if (!target.startsWith("/") && !absolute) throw new HttpError(400, `Unsupported target ${JSON.stringify(target)}`);
  const url = new URL(absolute ? target : `http://${host}${target}`);
  return { lines, method, url, headers, http10, length: bodyLength(headers, http10) };
}

function bodyLength(headers: Headers, http10: boolean): number | "chunked" {
  const te = headers.get("transfer-encoding"), cl = headers.get("content-length");
  if (te !== null) {
    // With both, two servers on the way could disagree on where the body ends ("request smuggling"): refuse.
    if (cl !== null || http10) throw new HttpError(400, "Transfer-Encoding with Content-Length, or in HTTP/1.0");
    if (!/^chunked$/i.test(te)) throw new HttpError(501, `Transfer-Encoding "${te}" is not supported`);
    return "chunked";
  }
  const values = new Set(cl?.split(",").map((value) => value.trim()) ?? ["0"]); // "5, 5" is a 5 sent twice
  if (values.size > 1 || !/^\d{1,15}$/.test([...values][0])) throw new HttpError(400, `Bad Content-Length "${cl}"`);
  return Number([...values][0]);
}

/** Reads the body the head announced, Content-Length bytes or chunks (RFC 9112 7.1), within the body limit. */
async function readBody(c: Connection, head: Head, limits: typeof LIMITS): Promise<Uint8Array> {
  const { maxBodyBytes: max, idleTimeoutMs: ms } = limits, { length } = head;
  if (length === 0) return new Uint8Array();
  if (length !== "chunked" && length > max) throw new HttpError(413, `A body over ${max} bytes`);
  if (/^100-continue$/i.test(head.headers.get("expect") ?? "")) c.out.push(CONTINUE); // the client waits for it
  if (length !== "chunked") return await c.take(length, ms);
  const chunks: Uint8Array[] = [];
  for (let total = 0, n; (n = chunkSize(await c.line(1024, ms))) > 0;) { // size in hex, CRLF, bytes, CRLF; 0 ends
    if ((total += n) > max) throw new HttpError(413, `A body over ${max} bytes`);
    chunks.push(await c.take(n, ms));
    if (await c.line(2, ms) !== "") throw new HttpError(400, "A chunk longer than its size");
  }
  while (await c.line(limits.maxHeaderBytes, ms, 431) !== ""); // trailer fields: read, and dropped
  return concat(chunks);
}

function chunkSize(line: string): number {
  const size = /^([\da-fA-F]{1,8})[\t ]*(;.*)?$/.exec(line); // chunk extensions (";a=b") are ignored
  if (!size) throw new HttpError(400, `A malformed chunk size ${JSON.stringify(line.slice(0, 20))}`);
  return parseInt(size[1], 16);
}

/** How to make a {@linkcode Request}: header fields, a body, the client's address. */
export type RequestInit = {
  headers?: HeadersInit;
  body?: string | Uint8Array | Promise<Uint8Array>;
  remoteAddr?: string;
};

/**
 * An HTTP request as a handler sees it. For `GET /users/42?tab=posts` on the route "/users/:id", `req.method` is
 * "GET", `req.path` "/users/42", `req.query.get("tab")` "posts", `req.params.id` "42", `await req.text()` "".
 */
export class Request<P extends Record<string, string> = Record<string, string>> {
  /** The full URL, its dot segments ("/a/../b") already resolved. */
  readonly url: URL;
  /** The URL's path, percent-encoded as sent, e.g. "/users/42". */
  readonly path: string;
  /** The header fields; their names are case-insensitive. */
  readonly headers: Headers;
  /** What the route's pattern captured, percent-decoded: "/users/:id" gives `{ id }`. */
  params = {} as P;
  #body: string | Uint8Array | Promise<Uint8Array>;
  /** Makes a request with a `method` such as "GET", as the server does; tests can too. */
  constructor(readonly method: string, url: string | URL, init: RequestInit = {}) {
    [this.url, this.#body] = [typeof url === "string" ? new URL(url) : url, init.body ?? ""];
    this.path = this.url.pathname;
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    this.remoteAddr = init.remoteAddr ?? "";
  }
  /** The client's IP address. */
  readonly remoteAddr: string;
  /** The query string's parameters. */
  get query(): URLSearchParams {
    return this.url.searchParams;
  }
  /** The cookies the client sent, by name, each value as it was sent. */
  get cookies(): Record<string, string> {
    const pairs = (this.headers.get("cookie") ?? "").split(/; */).map((pair) => pair.split(/=(.*)/s));
    return Object.fromEntries(pairs.filter((pair) => pair.length > 1).map(([name, value]) => [name.trim(), value]));
  }
  /** The body's bytes; the server has already held it to the body limit (413 beyond). */
  async bytes(): Promise<Uint8Array> {
    const body = await this.#body;
    return typeof body === "string" ? encoder.encode(body) : body;
  }
  /** The body as UTF-8 text. */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }
  /** The body parsed as JSON; invalid JSON is HttpError 400. */
  async json<T = unknown>(): Promise<T> {
    return await this.text().then(JSON.parse).catch(refuse("Invalid JSON"));
  }
  /** The body as a form, urlencoded or multipart; another type is HttpError 415, a broken form 400. */
  async form(): Promise<FormData> {
    const type = this.headers.get("content-type") ?? "";
    if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) throw new HttpError(415);
    // The web's Response can already parse both form encodings, so we hand ours to it.
    const form = new globalThis.Response(await this.bytes() as BufferSource, { headers: { "content-type": type } });
    return await form.formData().catch(refuse("A malformed form"));
  }
}

/** Makes a `.catch()` handler: the client sent something we can't read, so the error becomes a 400. */
function refuse(what: string): (err: Error) => never {
  return (err) => {
    throw new HttpError(400, `${what}: ${err.message}`);
  };
}

// ====================================================== 3. Response to bytes =======================================

/** A response body: text, bytes, a stream (sent as it comes), or none. */
export type Body = string | Uint8Array | ReadableStream<Uint8Array> | null;
/** The status and header fields for a {@linkcode Response}, e.g. `{ status: 201, headers: { location: "/x" } }`. */
export type ResponseInit = { status?: number; headers?: HeadersInit };

const MIME_TYPES = new Map(
  `html text/html; charset=utf-8|css text/css; charset=utf-8|js text/javascript; charset=utf-8|json application/json
  txt text/plain; charset=utf-8|svg image/svg+xml|png image/png|jpg image/jpeg|jpeg image/jpeg|gif image/gif
  webp image/webp|ico image/x-icon|mp4 video/mp4|webm video/webm|mp3 audio/mpeg|pdf application/pdf|wasm application/wasm`
    .split(/\s*[|\n]\s*/).map((s) => [s.slice(0, s.indexOf(" ")), s.slice(s.indexOf(" ") + 1)]),
);

/**
 * An HTTP response: a status, header fields and a body, e.g. `Response.json({ ok: true }, { status: 201 })`.
 * Handlers may return one, or something simpler that {@linkcode App} turns into one. Several cookies:
 * `res.headers.append("set-cookie", "a=1; HttpOnly")` once for each.
 */
export class Response {
  /** The status code, e.g. 200. */
  status: number;
  /** The header fields; the server adds Date and the framing fields, such as Content-Length. */
  readonly headers: Headers;
  /** Makes a response; a text `body` is text/plain unless said otherwise, bytes or a stream application/octet-stream. */
  constructor(public body: Body = null, init: ResponseInit = {}) {
    this.status = init.status ?? 200;
    if (!(this.status >= 200 && this.status <= 599)) throw new RangeError(`Status ${init.status} is not 200-599`);
    this.headers = new Headers(init.headers);
    if (body === null || this.headers.has("content-type")) return;
    this.headers.set(
      "content-type",
      typeof body === "string" ? "text/plain; charset=utf-8" : "application/octet-stream",
    );
  }
  /** An HTML page, e.g. `Response.html("<h1>Hi</h1>")`. */
  static html(html: string, init?: ResponseInit): Response {
    return typed(html, "text/html; charset=utf-8", init);
  }
  /** A JSON document, e.g. `Response.json({ id: 7 }, { status: 201 })`. */
  static json(data: unknown, init?: ResponseInit): Response {
    return typed(JSON.stringify(data) ?? "null", "application/json", init);
  }
  /** A redirect: 302 by default; 303 after a form post; 307 or 308 to keep the method. */
  static redirect(location: string | URL, status = 302): Response {
    if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError(`${status} is not a redirect status`);
    return new Response(null, { status, headers: { location: String(location) } });
  }
  /** A file, streamed from disk rather than read whole; HttpError 404 if it is missing or not a file. */
  static async file(path: string, init?: ResponseInit): Promise<Response> {
    const file = await Deno.open(path).catch((err) => {
      throw err instanceof Deno.errors.NotFound ? new HttpError(404, "No such file") : err;
    });
    const { isFile, size } = await file.stat();
    if (!isFile) throw (file.close(), new HttpError(404, "No such file"));
    const res = typed(file.readable, MIME_TYPES.get(path.slice(path.lastIndexOf(".") + 1).toLowerCase()), init);
    res.headers.set("content-length", String(size)); // the length is known, so no need for chunked framing
    return res;
  }
}

function typed(body: Body, type = "application/octet-stream", init: ResponseInit = {}): Response {
  const res = new Response(body, { ...init, headers: new Headers(init.headers) });
  if (!new Headers(init.headers).has("content-type")) res.headers.set("content-type", type);
  return res;
}

const FRAMING = new Set(["content-length", "transfer-encoding", "connection", "date"]); // the server's to write
const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"), CRLF = encoder.encode("\r\n");
let dateSecond = 0, dateText = "";

/** The Date field, formatted once a second rather than once a response. */
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) [dateSecond, dateText] = [second, new Date().toUTCString()];
  return dateText;
}

/** A response ready for the wire: its head, its body, how the body is framed, whether the connection stays open. */
type Wire = {
  head: string;
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  chunked: boolean;
  keepAlive: boolean;
};

/** Decides how a response is sent (RFC 9112 6): the status line, the fields, and how the body's end is marked. */
function frame(res: Response, method: string, http10: boolean, keepAlive: boolean): Wire {
  const { status, headers } = res, declared = headers.get("content-length");
  let body = typeof res.body === "string" ? encoder.encode(res.body) : res.body; // a length counts bytes: "é" is 2
  let framing = "", chunked = false;
  if (status === 204 || status === 304) body = drop(body); // these never carry a body (RFC 9110 6.4.1)
  else if (body === null) framing = "content-length: 0\r\n";
  else if (body instanceof Uint8Array) framing = `content-length: ${body.length}\r\n`;
  else if (declared && /^\d+$/.test(declared)) framing = `content-length: ${declared}\r\n`;
  else if (http10) keepAlive = false; // HTTP/1.0 has no chunked framing: closing the connection ends the body
  else [framing, chunked] = ["transfer-encoding: chunked\r\n", true];
  if (method === "HEAD") body = drop(body); // the fields GET would send, its length included, but no body
  if (/\bclose\b/i.test(headers.get("connection") ?? "")) keepAlive = false;
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT.get(status) ?? "Unknown"}\r\ndate: ${httpDate()}\r\n${framing}`;
  for (const [name, value] of headers) if (!FRAMING.has(name)) head += `${name}: ${value}\r\n`; // Set-Cookie: 1 each
  head += keepAlive ? (http10 ? "connection: keep-alive\r\n\r\n" : "\r\n") : "connection: close\r\n\r\n";
  return { head, body, chunked, keepAlive };
}

function drop(body: Body): null {
  if (body instanceof ReadableStream) body.cancel(); // so that its source can let go, e.g. close its file
  return null;
}

/** Sends a stream as it comes, and returns how many bytes it sent. */
async function sendStream(c: Connection, stream: ReadableStream<Uint8Array>, chunked: boolean): Promise<number> {
  let sent = 0;
  for await (const chunk of stream) { // if a write throws (the client left), leaving the loop cancels the stream
    if (chunk.length === 0) continue; // an empty chunk would say "the body ends here"
    sent += chunk.length;
    await c.flush(chunked ? concat([encoder.encode(`${chunk.length.toString(16)}\r\n`), chunk, CRLF]) : chunk);
  }
  if (chunked) await c.flush(encoder.encode("0\r\n\r\n"));
  return sent;
}

// ====================================================== 4. Router ==================================================

type Param<S> = S extends `:${infer Name}` ? { [K in Name]: string } : S extends "*" ? { "*": string } : unknown;
/** What a route pattern captures: `Params<"/users/:id/*">` is `{ id: string } & { "*": string }`. */
export type Params<P extends string> = P extends `${infer S}/${infer Rest}` ? Param<S> & Params<Rest> : Param<P>;

type Route<T> = { value: T; names: string[]; pattern: string };
type Node<T> = { routes: Map<string, Route<T>>; children: Map<string, Node<T>>; param?: Node<T>; rest?: Node<T> };
type Found<T> = [Route<T>, string[]] | undefined;
const node = <T>(): Node<T> => ({ routes: new Map(), children: new Map() });
const SEGMENT = /^(:[A-Za-z_]\w*|\*|[\w\-.~!$&'()+,;=:@]*)$/; // a :param, a *, or characters a URL path allows

/**
 * Finds where a method and a path lead, in a tree of path segments: a lookup costs one Map get per segment, so a
 * thousand routes cost about what ten do.
 *
 * @example
 * ```ts
 * import { Router } from "./mod.ts";
 * const router = new Router<string>().add("GET", "/users/:id", "show a user");
 * console.assert(router.match("GET", "/users/42")?.params.id === "42");
 * ```
 */
export class Router<T> {
  #tree: Node<T> = node();
  /** Adds a route; a malformed pattern, or a second route for the same method and path, throws and says why. */
  add(method: string, pattern: string, value: T): this {
    if (!pattern.startsWith("/")) throw new Error(`Route "${pattern}" must start with "/", e.g. "/${pattern}"`);
    const names: string[] = [];
    let at = this.#tree;
    for (const s of pattern.split("/").slice(1)) {
      const bad = !SEGMENT.test(s) || s === "." || s === ".." || (s[0] === ":" && names.includes(s.slice(1)));
      if (bad || names.at(-1) === "*") {
        throw new Error(
          `Bad route "${pattern}" at "${s}": name each param once (":id"), put "*" only at the end, ` +
            `and use only characters a URL path may hold (no "?", "%", spaces)`,
        );
      }
      if (s === "*" || s[0] === ":") names.push(s === "*" ? s : s.slice(1));
      if (s === "*") at = at.rest ??= node();
      else if (s[0] === ":") at = at.param ??= node();
      else at = at.children.get(s) ?? at.children.set(s, node()).get(s)!;
    }
    const old = at.routes.get(method);
    if (old) throw new Error(`Route ${method} ${pattern} clashes with ${method} ${old.pattern}: keep one of them`);
    at.routes.set(method, { value, names, pattern });
    return this;
  }
  /** The route's value and params; null if no route has the path (a 404); HttpError 405 with `Allow` if no method. */
  match(method: string, path: string): { value: T; params: Record<string, string> } | null {
    const allowed = new Set<string>(), found = find(this.#tree, path.split("/").slice(1), 0, method, allowed, []);
    if (found) {
      const [route, values] = found;
      try {
        return {
          value: route.value,
          params: Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(values[i])])),
        };
      } catch {
        throw new HttpError(400, "A malformed %-escape in the path");
      }
    }
    if (allowed.size === 0) return null;
    const allow = [...allowed, ...(allowed.has("GET") ? ["HEAD"] : []), "OPTIONS"].join(", ");
    throw new HttpError(405, `${method} is not allowed here; ${allow} are`, { headers: { allow } });
  }
}

/** The route for `method` (a HEAD may use GET's: RFC 9110 9.3.2); else it notes which methods there are. */
function pick<T>(routes: Map<string, Route<T>>, method: string, allowed: Set<string>, values: string[]): Found<T> {
  const route = routes.get(method) ?? (method === "HEAD" ? routes.get("GET") : undefined);
  if (route) return [route, values];
  routes.forEach((_, m) => allowed.add(m));
}

/** Walks the tree a segment at a time: a static child first, then a `:param`, then a `*` that takes all the rest. */
function find<T>(
  at: Node<T>,
  segments: string[],
  i: number,
  method: string,
  allowed: Set<string>,
  values: string[],
): Found<T> {
  const s = segments[i], child = at.children.get(s);
  const found = i === segments.length
    ? pick(at.routes, method, allowed, values)
    : (child && find(child, segments, i + 1, method, allowed, values)) ??
      (at.param && s !== "" ? find(at.param, segments, i + 1, method, allowed, [...values, s]) : undefined);
  return found ?? (at.rest && pick(at.rest.routes, method, allowed, [...values, segments.slice(i).join("/")]));
}

// ====================================================== 5. App =====================================================

/** What a handler may return: a Response; text; bytes or a stream; null for 204; anything else goes as JSON. */
export type Result = Response | Body | Record<string, unknown> | unknown[] | number | boolean;
/** A route handler, e.g. `(req) => ({ id: req.params.id })`. */
export type Handler<P = Record<string, string>> = (
  req: Request<P & Record<string, string>>,
) => Result | Promise<Result>;
/** Middleware wraps the rest of the chain, which `next()` runs, e.g. `(req, next) => next()`. */
export type Middleware = (req: Request, next: () => Promise<Response>) => Result | Promise<Result>;
/** Turns anything thrown into the response to send. */
export type ErrorHandler = (err: unknown, req: Request) => Response | Promise<Response>;

const NOT_FOUND: Handler = (req) => new Response(`Nothing at ${req.path}`, { status: 404 });
const ON_ERROR = (err: unknown): Response => { // an HttpError is its own answer; anything else is a 500 that says no more
  if (err instanceof HttpError) return new Response(err.expose ? err.message : STATUS_TEXT.get(err.status)!, err);
  console.error(err); // the details stay in the server's log: a stack trace could help an attacker
  return new Response("Internal Server Error", { status: 500 });
};

function toResponse(result: Result | void, who: string): Response {
  if (result instanceof Response) return result;
  if (result === undefined) throw new TypeError(`${who} returned nothing: did you forget to \`return\`?`);
  if (result === null) return new Response(null, { status: 204 });
  const raw = typeof result === "string" || result instanceof Uint8Array || result instanceof ReadableStream;
  return raw ? new Response(result) : Response.json(result);
}

/**
 * An application: middleware and routes. It runs on groundwork's own {@linkcode Server} with `listen()`, and on
 * anything that takes a `fetch` function: `Deno.serve(app.fetch)`, or `export default app` for `deno serve`.
 *
 * @example
 * ```ts
 * import { App } from "./mod.ts";
 * const app = new App().get("/hi/:name", (req) => `Hi, ${req.params.name}!`);
 * console.assert(await (await app.fetch(new Request("http://localhost/hi/Ada"))).text() === "Hi, Ada!");
 * ```
 */
export class App {
  #router = new Router<Handler>();
  #middleware: Middleware[] = [];
  /** The answer for a path that no route has; replace it to change the 404 page. */
  notFound: Handler = NOT_FOUND;
  /** Turns anything thrown into a response; replace it to show errors your way. */
  onError: ErrorHandler = ON_ERROR;
  /** Makes an app; `maxBodyBytes` caps request bodies (413 beyond) on `listen()` and `fetch` alike. */
  constructor(readonly options: { maxBodyBytes?: number } = {}) {}
  /** Adds middleware; each runs around those added after it, and around the handler. */
  use(middleware: Middleware): this {
    if (typeof middleware !== "function") throw new TypeError(`use() takes a function, not ${typeof middleware}`);
    this.#middleware.push(middleware);
    return this;
  }
  /** Routes requests with `method` for `path`, e.g. "/users/:id" or "/static/*", to `handler`. */
  on<P extends string>(method: string, path: P, handler: Handler<Params<P>>): this {
    if (!TOKEN.test(method)) throw new TypeError(`"${method}" is not an HTTP method`);
    this.#router.add(method.toUpperCase(), path, handler as Handler);
    return this;
  }
  /** Routes GET requests, and so HEAD ones. */
  get<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("GET", path, handler);
  }
  /** Routes POST requests. */
  post<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("POST", path, handler);
  }
  /** Routes PUT requests. */
  put<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("PUT", path, handler);
  }
  /** Routes PATCH requests. */
  patch<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("PATCH", path, handler);
  }
  /** Routes DELETE requests. */
  delete<P extends string>(path: P, handler: Handler<Params<P>>): this {
    return this.on("DELETE", path, handler);
  }
  /** Answers one request: the middleware in order, then the route's handler. It never throws. */
  async handle(req: Request): Promise<Response> {
    let called = -1;
    const next = async (i: number): Promise<Response> => {
      if (i <= called) throw new Error("A middleware called next() twice: call it once");
      called = i;
      if (i < this.#middleware.length) {
        return toResponse(await this.#middleware[i](req, () => next(i + 1)), "A middleware");
      }
      const route = this.#router.match(req.method, req.path);
      if (!route) return toResponse(await this.notFound(req), "notFound");
      req.params = route.params;
      return toResponse(await route.value(req), `The handler for ${req.method} ${req.path}`);
    };
    try {
      return await next(0);
    } catch (err) { // OPTIONS asks which methods a path allows (RFC 9110 9.3.7): a 405's Allow is just that answer
      const options = req.method === "OPTIONS" && err instanceof HttpError && err.status === 405;
      return options ? new Response(null, { status: 204, headers: err.headers }) : await this.onError(err, req);
    }
  }
  /** Answers a web Request with a web Response: what `Deno.serve(app.fetch)` and `deno serve` call. */
  fetch = async (
    request: globalThis.Request,
    info?: Deno.ServeHandlerInfo<Deno.NetAddr>,
  ): Promise<globalThis.Response> => {
    const body = request.body ? readAll(request.body, this.options.maxBodyBytes ?? LIMITS.maxBodyBytes) : undefined;
    body?.catch(() => {}); // a body over the limit is a 413 for the handler that reads it
    const remoteAddr = info?.remoteAddr.hostname;
    const res = await this.handle(
      new Request(request.method, request.url, { headers: request.headers, body, remoteAddr }),
    );
    const bodiless = res.status === 204 || res.status === 304 || request.method === "HEAD";
    return new globalThis.Response((bodiless ? drop(res.body) : res.body) as BodyInit | null, {
      status: res.status,
      headers: res.headers,
    });
  };
  /** Serves the app on groundwork's own {@linkcode Server}; resolves once it is listening. */
  async listen(options: ServerOptions = {}): Promise<Server> {
    const server = new Server((req) => this.handle(req), { ...this.options, ...options });
    const { port } = await server.listen();
    if (options.log !== false) console.error(`Listening on http://localhost:${port}/`);
    return server;
  }
}

/** Reads a stream whole, refusing more than `limit` bytes as they arrive. */
async function readAll(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) if ((limit -= parts[parts.push(part) - 1].length) < 0) throw new HttpError(413);
  return concat(parts);
}

// ====================================================== 6. Server ==================================================

/** Where a {@linkcode Server} listens, what it prints, and any {@linkcode LIMITS} to change. */
export type ServerOptions = Partial<typeof LIMITS> & {
  port?: number; // 0 picks a free port; the default is `--port N` from the command line, PORT, or 8000
  hostname?: string; // the default "0.0.0.0" is every interface
  reusePort?: boolean; // several processes share one port (Linux; Deno asks for --unstable-net)
  log?: boolean; // an access-log line per request on stderr; on by default
  trace?: boolean; // print every head as it was on the wire, \r\n shown (also: GROUNDWORK_TRACE=1)
};

const GONE = [Deno.errors.BadResource, Deno.errors.BrokenPipe, Deno.errors.ConnectionReset, Deno.errors.Interrupted];
const reply = (status: number) =>
  encoder.encode(`HTTP/1.1 ${status} ${STATUS_TEXT.get(status)}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);

/**
 * An HTTP/1.1 server on plain TCP. It knows nothing of routing: it turns bytes into a {@linkcode Request}, calls its
 * handler, and turns the {@linkcode Response} back into bytes (the split Python calls WSGI).
 *
 * @example
 * ```ts
 * import { Response, Server } from "./mod.ts";
 * const server = new Server(() => new Response("hi"), { port: 0, log: false });
 * const { port } = await server.listen();
 * console.assert(await (await fetch(`http://127.0.0.1:${port}/`)).text() === "hi");
 * await server.close();
 * ```
 */
export class Server {
  /** The limits in force: the {@linkcode LIMITS}, with the options' changes. */
  readonly limits: typeof LIMITS;
  #listener?: Deno.TcpListener;
  #accepting?: Promise<void>;
  #connections = new Map<Connection, Promise<void>>();
  #closing = false;
  /** Makes a server that answers with `handler`; nothing happens until `listen()`. */
  constructor(readonly handler: (req: Request) => Response | Promise<Response>, readonly options: ServerOptions = {}) {
    const limits = Object.entries(LIMITS).map(([name, value]) => [name, options[name as keyof typeof LIMITS] ?? value]);
    this.limits = Object.fromEntries(limits) as typeof LIMITS;
  }
  /** Binds the port and starts accepting; resolves with the address bound (with port 0, a free one). */
  listen(): Promise<Deno.NetAddr> {
    const flag = Deno.args.indexOf("--port"); // by default: `--port N`, else the PORT variable, else 8000
    const { port = Number(flag >= 0 ? Deno.args[flag + 1] : env("PORT") ?? 8000), hostname = "0.0.0.0" } = this.options;
    if (!(port >= 0 && port < 65536)) throw new TypeError(`Port ${port} is not 0-65535: try --port 8080`);
    const reusePort = this.options.reusePort;
    this.#listener = Deno.listen({ port, hostname, reusePort } as Deno.TcpListenOptions);
    this.#accepting = this.#accept(this.#listener);
    return Promise.resolve(this.#listener.addr);
  }
  /** Stops gracefully: it accepts no more, lets the requests in flight finish, and closes idle connections. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#listener?.close();
    await this.#accepting;
    for (const c of this.#connections.keys()) if (c.state === "idle") c.close();
    await Promise.all(this.#connections.values());
  }
  async #accept(listener: Deno.TcpListener): Promise<void> {
    for await (const conn of listener) {
      if (this.#connections.size >= this.limits.maxConnections) { // say why, then hang up
        conn.write(reply(503)).catch(() => {}).finally(() => conn.close());
        continue;
      }
      conn.setNoDelay(true); // a response is one write: send it now, rather than let Nagle's algorithm hold it back
      const c = new Connection(conn);
      const done = this.#serve(c).catch(unlessGone).then(() => c.flush()).catch(unlessGone);
      this.#connections.set(c, done.finally(() => (c.close(), this.#connections.delete(c))));
    }
  }
  /** Answers requests on one connection, until either side ends it. */
  async #serve(c: Connection): Promise<void> {
    const { limits, options } = this, trace = options.trace ?? env("GROUNDWORK_TRACE") === "1";
    while (!this.#closing) {
      c.state = "idle"; // between requests: wait for the next one's first byte, but not forever
      if (c.buffered === 0 && !(await c.fill(limits.idleTimeoutMs))) return; // the client hung up
      const started = performance.now();
      let head: Head | undefined, req: Request | undefined, res: Response, keepAlive = false;
      try {
        c.state = "head";
        head = await readHead(c, limits);
        c.state = "busy";
        if (trace) show(c, "<-", head.lines.join("\r\n") + "\r\n\r\n", head.length === "chunked" ? "chunked" : `${head.length} bytes`);
        const body = await readBody(c, head, limits), remoteAddr = c.conn.remoteAddr.hostname;
        req = new Request(head.method, head.url, { headers: head.headers, body, remoteAddr });
        const connection = head.headers.get("connection") ?? ""; // 1.1 keeps the connection unless told; 1.0 if told
        keepAlive = head.http10 ? /\bkeep-alive\b/i.test(connection) : !/\bclose\b/i.test(connection);
        res = await Promise.resolve(req).then(this.handler).catch(ON_ERROR);
      } catch (err) {
        if (!(err instanceof HttpError)) throw err; // the socket failed: there is no one to answer
        res = ON_ERROR(err); // a malformed request: the bytes after it can't be trusted, so close after answering
      }
      const wire = frame(res, head?.method ?? "GET", head?.http10 ?? false, keepAlive && !this.#closing);
      if (trace) show(c, "->", wire.head, wire.chunked ? "chunked" : "as the fields above say");
      let sent = wire.body instanceof Uint8Array ? wire.body.length : 0;
      if (wire.body instanceof ReadableStream) {
        await c.flush(encoder.encode(wire.head));
        sent = await sendStream(c, wire.body, wire.chunked); // a stream shorter or longer than it said: close
        if (!wire.chunked && sent !== Number(res.headers.get("content-length") ?? sent)) wire.keepAlive = false;
      } else {
        c.out.push(encoder.encode(wire.head), ...(wire.body ? [wire.body] : [])); // sent with the next read or close
        if (c.out.length > 32) await c.flush(); // pipelined answers wait to leave in one write, but not too many
      }
      const ms = (performance.now() - started).toFixed(1);
      if (options.log ?? true) console.error(`${head?.method} ${req?.path} ${res.status} ${sent}B ${ms}ms`);
      if (!wire.keepAlive) return;
    }
  }
}

/** Prints a head as it was on the wire, each line's \r\n shown, for the `trace` option. */
function show(c: Connection, arrow: string, head: string, body: string): void {
  const lines = head.split("\r\n").slice(0, -1).map((line) => `  ${arrow} ${line}\\r\\n`);
  console.error(`[${c.conn.remoteAddr.hostname}:${c.conn.remoteAddr.port}]\n${lines.join("\n")}`);
  console.error(`  (the empty line ends the head; the body: ${body})`);
}

function unlessGone(err: unknown): void {
  if (!GONE.some((E) => err instanceof E)) console.error("groundwork: a connection failed:", err);
}

/** Reads an environment variable if allowed, without a prompt: `deno run --allow-net` must never stop to ask. */
function env(name: string): string | undefined {
  const allowed = Deno.permissions.querySync?.({ name: "env", variable: name }).state === "granted";
  return allowed ? Deno.env.get(name) : undefined;
}
