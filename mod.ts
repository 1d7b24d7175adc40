/** groundwork: a web framework for Deno from the TCP socket up, in one file to read the way a request travels:
 * 1. Status codes and HttpError: how every layer says "no".
 * 2. Bytes to Request: a buffered connection, the request head, the body and its framing.
 * 3. Response to bytes: what handlers return, and how it goes back on the wire.
 * 4. Router: a method and a path to a handler, or 404 / 405.
 * 5. App: middleware, handlers, errors turned into responses, and `fetch` for `Deno.serve`.
 * 6. Server: sockets, keep-alive, pipelining, time limits, a graceful close.
 * @module */
// ====================================================== 1. Status codes and HttpError ===============================
const PHRASES = `200 OK|201 Created|204 No Content|206 Partial Content|301 Moved Permanently|302 Found|303 See Other
  304 Not Modified|307 Temporary Redirect|308 Permanent Redirect|400 Bad Request|401 Unauthorized|403 Forbidden
  404 Not Found|405 Method Not Allowed|408 Request Timeout|409 Conflict|413 Content Too Large|414 URI Too Long
  415 Unsupported Media Type|416 Range Not Satisfiable|422 Unprocessable Content|429 Too Many Requests
  431 Request Header Fields Too Large|500 Internal Server Error|501 Not Implemented|502 Bad Gateway
  503 Service Unavailable|505 HTTP Version Not Supported`; // the reason phrases, in order
const STATUS_TEXT = new Map(PHRASES.split(/\s*[|\n]\s*/).map((s) => [Number(s.slice(0, 3)), s.slice(4)]));
/** An error that is its own HTTP answer, e.g. `throw new HttpError(404, "No task 7")` from any layer. */
export class HttpError extends Error {
  /** Fields to send with the answer, e.g. `Allow` on a 405 or `Retry-After` on a 429. */
  readonly headers: Headers;
  /** Makes an error with a `status` code; the message defaults to the status's reason phrase. */
  constructor(readonly status: number, message?: string, init: { headers?: HeadersInit } = {}) {
    super(message ?? STATUS_TEXT.get(status) ?? "Error");
    [this.name, this.headers] = ["HttpError", new Headers(init.headers)];
  }
}
// ====================================================== 2. Bytes to Request ========================================
/** The server's defences, each with its answer; any can be changed, e.g. `app.listen({ maxBodyBytes: 1e7 })`. */
export const LIMITS = {
  maxRequestLineBytes: 8 * 1024, // a longer request line: 414 URI Too Long
  maxHeaderBytes: 16 * 1024, // a bigger header section: 431 Request Header Fields Too Large
  maxHeaderCount: 100, // more header fields: 431
  maxBodyBytes: 1024 * 1024, // a bigger body: 413 Content Too Large, and close
  headersTimeoutMs: 10_000, // a head still incomplete this long after its first byte: close (slowloris)
  bodyTimeoutMs: 30_000, // a body still incomplete this long after its head: 408, and close
  idleTimeoutMs: 5_000, // a kept-alive connection idle this long, or a write to a client stalled this long: close
  maxConnections: 10_000, // a connection beyond this many open ones: 503, and close
};
const REQUEST_LINE = /^([!#$%&'*+.^_`|~\w-]+) ([\x21-\x7e]+) HTTP\/(\d)\.(\d)$/; // a method is a "token" (RFC 9110)
const FIELD_LINE = /^([!#$%&'*+.^_`|~\w-]+):[\t ]*([\t\x20-\x7e]*?)[\t ]*$/; // no control bytes, no non-ASCII
const HOST = /^(\[[\da-fA-F:.]+\]|[\w.-]+)(:\d{1,5})?$/, CHUNK_SIZE = /^([\da-fA-F]{1,8})[\t ]*(;.*)?$/;
const SMALL = () => new Uint8Array(2048), ascii = new TextDecoder(), encoder = new TextEncoder(); // heads: ASCII
/** A socket and its two buffers. TCP has no message boundaries, so a short read is not "the end": read on. */
class Connection {
  idle = false; // waiting for a new request: a graceful close may end the connection now
  closed = false; // by us, or by the sweeper
  deadline = Infinity; // while we wait on the client: past it, the server's sweeper closes us (which ends the wait)
  #buf: Uint8Array = new Uint8Array(4096).subarray(0, 2048); // 2 KiB: most heads fit (4 would cost 6% on a short one)
  #start = 0; // the unread bytes are #buf[#start, #end)
  #end = 0;
  #out = new Uint8Array(this.#buf.buffer, 2048); // what we owe, #out[0, #owed): #buf's other half (one allocation: -7%)
  #owed = 0;
  constructor(readonly conn: Deno.TcpConn, readonly idleMs: number, private writes = 0) {} // writes: how many so far
  buffered = (): number => this.#end - this.#start;
  async fill(until: number, idle = false): Promise<boolean> { // waits until `until` for bytes; false: the client closed
    const late = (err: unknown) => Promise.reject(this.closed && !idle ? new HttpError(408, "Too slow") : err);
    if (this.#owed) await this.flush().catch(late); // before we wait on the client, we send what we owe it
    if (!this.buffered()) [this.#start, this.#end, this.#buf] = [0, 0, this.#buf.length > 65536 ? SMALL() : this.#buf];
    if (this.#end === this.#buf.length) { // full: the unread bytes go first in a new buffer, twice as big if need be
      const unread = this.#buf.subarray(this.#start), grow = unread.length * 2 > this.#buf.length;
      [this.#buf, this.#start, this.#end] = [concat([unread], this.#buf.length * (grow ? 2 : 1)), 0, unread.length];
    }
    [this.deadline, this.idle] = [until, idle]; // past the deadline, the sweeper closes us; idle: we owe no answer
    const n = await this.conn.read(this.#buf.subarray(this.#end)).catch(late); // swept: 408; one hop (a chain costs 5%)
    [this.deadline, this.idle, this.#end] = [Infinity, false, this.#end + (n ?? 0)];
    return n !== null;
  }
  head({ maxRequestLineBytes: maxLine, maxHeaderBytes: maxFields, maxHeaderCount }: typeof LIMITS) {
    const buf = this.#buf.subarray(0, this.#end); // the head's lines once all of it is in; undefined: read on
    while (buf[this.#start] === 13 && buf[this.#start + 1] === 10) this.#start += 2; // CRLFs first: ignored (9112 2.2)
    let at = this.#start, lf, fields = 0, count = 0; // fields: where the field lines start, after the request line
    for (; (lf = buf.indexOf(10, at)) >= 0; at = lf + 1) { // one scan of the bytes read (not stale ones), one decode
      if (lf === at || buf[lf - 1] !== 13) throw new HttpError(400, "A line ended in LF, not CRLF");
      if (lf === at + 1) return ascii.decode(buf.subarray(this.#start, (this.#start = lf + 1) - 4)).split("\r\n");
      if (!fields && lf - at > maxLine + 1) throw new HttpError(414);
      if ((fields ||= lf + 1) && lf - fields > maxFields + 1) throw new HttpError(431);
      if (++count > maxHeaderCount + 1) throw new HttpError(431, "Too many header fields");
    }
    if (this.#end - (fields || at) > (fields ? maxFields + 3 : maxLine + 1)) throw new HttpError(fields ? 431 : 414);
  }
  async line(max: number, until: number, status = 400): Promise<string> { // the next line, without its CRLF
    let lf; // the first LF from #start on, among the bytes read: past #end, stale ones could fill a MiB
    while ((lf = this.#buf.subarray(0, this.#end).indexOf(10, this.#start)) < 0 && this.buffered() <= max + 1) {
      if (!(await this.fill(until))) throw new HttpError(400, "The connection closed mid-request");
    }
    if (lf < 0 || lf - this.#start > max + 1) throw new HttpError(status, "A line too long");
    if (lf === this.#start || this.#buf[lf - 1] !== 13) throw new HttpError(400, "A line ended in LF, not CRLF");
    return ascii.decode(this.#buf.subarray(this.#start, (this.#start = lf + 1) - 2)); // the line; the rest stays
  }
  async take(n: number, until: number): Promise<Uint8Array> { // the next `n` bytes
    while (this.buffered() < n) if (!(await this.fill(until))) throw new HttpError(400, "A body cut short");
    return this.#buf.slice(this.#start, this.#start += n);
  }
  write(data: string | Uint8Array): number { // adds to what we owe; flush() sends it. Text goes in as UTF-8
    const most = this.#owed + (typeof data === "string" ? 3 * data.length : data.length); // UTF-8: at most 3 per unit
    if (most > this.#out.length) this.#out = concat([this.#out.subarray(0, this.#owed)], most + this.#owed); // 2x
    if (typeof data !== "string") return (this.#out.set(data, this.#owed), this.#owed += data.length);
    return this.#owed += encoder.encodeInto(data, this.#out.subarray(this.#owed)).written; // no new buffer each time
  }
  async flush(): Promise<void> { // all we owe; a client that won't read is cut off like a slow one
    this.deadline = Date.now() + this.idleMs; // Nagle's algorithm delays a short segment while sent bytes await an ACK
    for (let at = 0; at < this.#owed; this.writes++) { // (40 ms or more), so: off before a 2nd write or a long 1st one
      if (this.writes === 1 || (!this.writes && this.#owed - at > 536)) this.conn.setNoDelay(true); // 536: least MSS
      at += await this.conn.write(this.#out.subarray(at, this.#owed)); // all, or a part; one short write: no extra call
    }
    [this.#owed, this.#out, this.deadline] = [0, this.#out.length > 131072 ? new Uint8Array(0) : this.#out, Infinity];
  }
  close = (): boolean => this.closed ||= (this.conn.close(), true); // once: the sweeper and Server.close() may both try
}
function concat(parts: Uint8Array[], size = parts.reduce((n, p) => n + p.length, 0), out = new Uint8Array(size)) {
  return (parts.reduce((at, part) => (out.set(part, at), at + part.length), 0), out); // (`out` is a local)
}
type Fields = Record<string, string>; // by lowercase name; a repeated field's values joined by ", " as Headers.get does
type Head = { lines: string[]; method: string; url: URL; fields: Fields; http10: boolean; size: number | "chunked" };
async function readHead(c: Connection, limits: typeof LIMITS, until = Date.now() + limits.headersTimeoutMs) {
  let lines; // the head, checked (RFC 9112 2-5), with one deadline for all of it; usually it is all in already
  while (!(lines = c.head(limits))) if (!(await c.fill(until))) throw new HttpError(400, "Closed mid-request");
  const [, method, target, major, minor] = REQUEST_LINE.exec(lines[0]) ?? [];
  if (!method) throw new HttpError(400, `Malformed request line ${JSON.stringify(lines[0].slice(0, 80))}`);
  if (major !== "1") throw new HttpError(505, `HTTP/${major}.${minor} is not served here`); // 1.2 would be 1.1
  const fields: Fields = Object.create(null); // no prototype: a field named "__proto__" is just a field
  for (let i = 1; i < lines.length; i++) { // no space before the colon, no obs-fold (RFC 9112 5)
    const [, name, value] = FIELD_LINE.exec(lines[i]) ?? [], key = name?.toLowerCase();
    if (name === undefined) throw new HttpError(400, `Malformed header field ${JSON.stringify(lines[i].slice(0, 80))}`);
    fields[key] = key in fields ? `${fields[key]}, ${value}` : value;
  }
  const http10 = minor === "0", host = fields.host ?? (http10 ? "localhost" : ""); // "absolute-form": RFC 9112 3.2.2
  const href = target[0] === "/" ? `http://${host}${target}` : /^https?:\/\/[^/]/i.test(target) ? target : "";
  const url = HOST.test(host) ? URL.parse(href) : null; // parsed once, here
  if (!url) throw new HttpError(400, HOST.test(host) ? `Bad target ${JSON.stringify(target)}` : "No valid Host");
  return { lines, method, url, fields, http10, size: bodySize(fields, http10) };
}
function bodySize(fields: Fields, http10: boolean): number | "chunked" { // where the body ends: RFC 9112 6.3
  const te = fields["transfer-encoding"], cl = fields["content-length"];
  if (te !== undefined) { // both: two servers on the way could disagree on where the body ends ("request smuggling")
    if (cl !== undefined || http10) throw new HttpError(400, "Transfer-Encoding with Content-Length, or in HTTP/1.0");
    if (!/^chunked$/i.test(te)) throw new HttpError(501, `Transfer-Encoding "${te}" is not supported`);
    return "chunked";
  }
  const values = cl === undefined ? ["0"] : [...new Set(cl.split(",").map((v) => v.trim()))]; // "5, 5": 5 sent twice
  if (values.length > 1 || !/^\d{1,15}$/.test(values[0])) throw new HttpError(400, `Bad Content-Length "${cl}"`);
  return Number(values[0]);
}
async function readBody(c: Connection, head: Head, limits: typeof LIMITS): Promise<Uint8Array> { // RFC 9112 6.3, 7.1
  const { maxBodyBytes: max } = limits, { size } = head, until = Date.now() + limits.bodyTimeoutMs;
  if (size !== "chunked" && size > max) throw new HttpError(413, `A body over ${max} bytes`);
  if (/^100-continue$/i.test(head.fields.expect ?? "") && !head.http10) c.write("HTTP/1.1 100 Continue\r\n\r\n");
  if (size !== "chunked") return await c.take(size, until);
  const chunks: Uint8Array[] = []; // each: its size in hex (";extensions" ignored), CRLF, bytes, CRLF; size 0 ends
  for (let total = 0, n; (n = parseInt(CHUNK_SIZE.exec(await c.line(1024, until))?.[1] ?? "x", 16)) !== 0;) {
    if (Number.isNaN(n)) throw new HttpError(400, "A malformed chunk size line");
    if ((total += n) > max) throw new HttpError(413, `A body over ${max} bytes`);
    if (chunks.push(await c.take(n, until)) > 8192) throw new HttpError(413, "Over 8192 chunks"); // each costs memory
    if (await c.line(2, until) !== "") throw new HttpError(400, "A chunk longer than its size");
  }
  for (let t = 0, l; (l = await c.line(limits.maxHeaderBytes - t, until, 431)) !== ""; t += l.length + 2); // trailers
  return concat(chunks);
}
/** How to make a {@linkcode Request}, e.g. `{ headers: { accept: "text/html" }, body: bytes, remoteAddr: "::1" }`. */
export type RequestInit = { headers?: HeadersInit; body?: Uint8Array | Promise<Uint8Array>; remoteAddr?: string };
/** A request, e.g. `GET /users/42?a=1` on "/users/:id": `req.path` "/users/42", `req.params.id` "42". */
export class Request<P = Record<string, string>> {
  /** The full URL, its dot segments ("/a/../b") already resolved. */
  readonly url: URL;
  /** The URL's path, percent-encoded as sent, e.g. "/users/42". */
  readonly path: string;
  /** The client's IP address. */
  readonly remoteAddr: string;
  /** What the route captured, decoded: "/users/:id" gives `{ id }`. It may hold "/" or "..": not a safe file path. */
  params = {} as P;
  #headers?: HeadersInit; // a Headers object only once asked for: checking every field costs time
  #body?: Uint8Array | Promise<Uint8Array>;
  /** Makes a request with a `method` such as "GET", as the server does; tests can too. */
  constructor(readonly method: string, url: string | URL, init: RequestInit = {}) {
    [this.url, this.#headers, this.#body] = [url instanceof URL ? url : new URL(url), init.headers, init.body];
    [this.path, this.remoteAddr] = [this.url.pathname, init.remoteAddr ?? ""];
  }
  /** The query string's parameters, e.g. `req.query.get("page")`. */
  get query(): URLSearchParams { // the URL makes it on first use: a field would make it for every request
    return this.url.searchParams;
  }
  /** The header fields; their names are case-insensitive. */
  get headers(): Headers {
    return this.#headers instanceof Headers ? this.#headers : (this.#headers = new Headers(this.#headers));
  }
  /** The cookies the client sent, by name, each value as it was sent. */
  get cookies(): Record<string, string> { // from "a=1; b=2"
    return Object.fromEntries(this.headers.get("cookie")?.matchAll(/ ?([^;=]+)=([^;]*)/g).map((m) => m.slice(1)) ?? []);
  }
  /** The body's bytes; the server has already held it to the body limit (413 beyond). */
  bytes = async (): Promise<Uint8Array> => await (this.#body ?? new Uint8Array());
  /** The body as UTF-8 text. */
  text = async (): Promise<string> => new TextDecoder().decode(await this.bytes());
  /** The body parsed as JSON; invalid JSON is HttpError 400 (and a body over the limit stays a 413). */
  json = async <T = unknown>(): Promise<T> =>
    await Promise.resolve(await this.text()).then(JSON.parse).catch((e) => Promise.reject(new HttpError(400, `${e}`)));
  /** The body as a form, urlencoded or multipart; another type is HttpError 415, a broken form 400. */
  async form(): Promise<FormData> {
    const type = this.headers.get("content-type") ?? "";
    if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) throw new HttpError(415);
    const form = new globalThis.Response(await this.bytes() as BufferSource, { headers: { "content-type": type } });
    return await form.formData().catch(() => Promise.reject(new HttpError(400, "A malformed form"))); // it knows both
  }
}
// ====================================================== 3. Response to bytes =======================================
/** A response body: text, bytes, a stream (sent as it comes), or none; e.g. `"hi"` or `file.readable`. */
export type Body = string | Uint8Array | ReadableStream<Uint8Array> | null;
/** The status and header fields of a {@linkcode Response}, e.g. `{ status: 201, headers: { location: "/x" } }`. */
export type ResponseInit = { status?: number; headers?: HeadersInit };
const FRAMING = /^(content-length|transfer-encoding|connection|date)$/, BYTES = "application/octet-stream"; // ours
const date = { text: "" }; // the Date field, kept fresh by the servers' sweepers: formatting it per response is slow
const quiet = <T>(promise: Promise<T>): Promise<T> => (promise.catch(() => {}), promise); // for whoever awaits it
const drop = (body: Body): null => (body instanceof ReadableStream && body.cancel().catch(() => {}), null);
let fieldsOf: (res: Response) => [Headers | undefined, string | undefined]; // for send(): [its Headers, or its type]
/** A response, e.g. `Response.json({ ok: true }, { status: 201 })`; cookies: `headers.append("set-cookie", c)`. */
export class Response {
  /** The status code, e.g. 200. */
  status: number;
  #headers?: Headers; // made only when asked for: most responses need nothing but their content type
  #init?: HeadersInit;
  #type?: string;
  /** Makes a response; the content type defaults to `type`, or text/plain for text, octet-stream for bytes. */
  constructor(public body: Body = null, init: ResponseInit = {}, type?: string) {
    [this.status, this.#init] = [init.status ?? 200, init.headers];
    if (!Number.isInteger(this.status) || this.status < 200 || this.status > 599) throw new RangeError("Not 200-599");
    if (body !== null) this.#type = type ?? (typeof body === "string" ? "text/plain; charset=utf-8" : BYTES);
    if (init.headers || /[^\t\x20-\x7e]/.test(type ?? "")) this.#headers = this.headers; // a bad field throws here, now
  }
  /** The header fields; the server adds Date and the framing fields, such as Content-Length. */
  get headers(): Headers {
    const headers = this.#headers ??= new Headers(this.#init); // on first use, with the content type unless it has one
    if (this.#type && !headers.has("content-type")) headers.set("content-type", this.#type);
    return (this.#type = undefined, headers); // (once: a content type deleted on purpose stays deleted)
  }
  static { // a static block may share private fields: send() can skip making Headers that nobody asked for
    fieldsOf = (res) => (res.#headers || res.#init) ? [res.headers, undefined] : [undefined, res.#type];
  }
  /** An HTML page, e.g. `Response.html("<h1>Hi</h1>")`. */
  static html = (html: string, init?: ResponseInit): Response => new Response(html, init, "text/html; charset=utf-8");
  /** A JSON document, e.g. `Response.json({ id: 7 }, { status: 201 })`. */
  static json = (data: unknown, init?: ResponseInit) => new Response(JSON.stringify(data), init, "application/json");
  /** A redirect: 302 by default; 303 after a form post; 307 or 308 to keep the method. */
  static redirect = (location: string | URL, status: 301 | 302 | 303 | 307 | 308 = 302): Response =>
    new Response(null, { status, headers: { location: String(location) } });
}
/** Sends a response (RFC 9112 6): a head with the framing, then the body; says if the connection may stay open. */
async function send(c: Connection, res: Response, method: string, http10: boolean, keepAlive: boolean, trace: boolean) {
  const { status } = res, [headers, type] = fieldsOf(res), declared = headers?.get("content-length");
  const text = typeof res.body === "string" && res.body.length < 65536 && /^[\0-\x7f]*$/.test(res.body); // 1 byte/char
  let body = typeof res.body === "string" && !text ? encoder.encode(res.body) : res.body; // lengths are in bytes
  let framing = "", chunked = false, sent = 0;
  if (status === 204 || status === 304) body = drop(body); // never a body (RFC 9110 6.4.1); a stream is cancelled
  else if (!(body instanceof ReadableStream)) framing = `content-length: ${body?.length ?? 0}\r\n`; // text, bytes, none
  else if (declared && /^\d+$/.test(declared)) framing = `content-length: ${declared}\r\n`;
  else if (http10) keepAlive = false; // HTTP/1.0 has no chunked framing: closing the connection ends the body
  else [framing, chunked] = ["transfer-encoding: chunked\r\n", true];
  if (method === "HEAD") body = drop(body); // the fields GET would send, its length included, but no body
  if (/\bclose\b/i.test(headers?.get("connection") ?? "")) keepAlive = false;
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT.get(status) ?? "Unknown"}\r\n${framing}`;
  if (type) head += `content-type: ${type}\r\n`;
  for (const [name, value] of headers ?? []) if (!FRAMING.test(name)) head += `${name}: ${value}\r\n`;
  const connection = keepAlive ? (http10 ? "connection: keep-alive\r\n" : "") : "connection: close\r\n";
  head += `date: ${date.text}\r\n${connection}\r\n`;
  if (trace) console.error(head.replaceAll("\r\n", "\\r\\n\n")); // and as it goes
  if (!(body instanceof ReadableStream)) { // it waits for our next read or the close: pipelined answers leave together
    const owed = typeof body === "string" ? c.write(head + body) : (c.write(head), c.write(body ?? "")); // text: 1 op
    if (owed > 65536) await c.flush(); // but not a pile: past 64 KiB, send it now
    return { keepAlive, sent: body?.length ?? 0 };
  }
  await (c.write(head), c.flush()).catch((err) => Promise.reject((drop(body), err))); // the client left: let go of it
  for await (const chunk of body) { // if a write throws (the client left), leaving the loop cancels the stream
    if (chunk.length === 0) continue; // an empty chunk would say "the body ends here"
    if ((sent += chunk.length) > Number(declared ?? Infinity)) throw new Error(`A stream over its ${declared} bytes`);
    c.write(chunked ? `${chunk.length.toString(16)}\r\n` : "");
    await (c.write(chunk), c.write(chunked ? "\r\n" : ""), c.flush());
  }
  if (chunked) await (c.write("0\r\n\r\n"), c.flush());
  return { keepAlive: keepAlive && (chunked || sent === Number(declared)), sent }; // it lied about its length: close
}
// ====================================================== 4. Router ==================================================
/** What a route pattern captures: `Params<"/users/:id/*">` is `{ id: string } & { "*": string }`. */
export type Params<P extends string> = P extends `${infer S}/${infer Rest}` ? Params<S> & Params<Rest>
  : P extends `:${infer Name}` ? { [K in Name]: string }
  : P extends "*" ? { "*": string }
  : Record<never, never>;
type Route<T> = { value: T; names: string[]; pattern: string };
type Found<T> = [Route<T>, string[]] | undefined;
type Node<T> = { routes: Map<string, Route<T>>; children: Map<string, Node<T>>; param?: Node<T>; rest?: Node<T> };
const node = <T>(): Node<T> => ({ routes: new Map(), children: new Map() });
const ROUTE_RULES = `start it with "/", use URL characters, name each :param once, and put "*" last`;
const SEGMENT = /^(:[A-Za-z_]\w*|\*|(?!:)[\w\-.~!$&'()+,;=:@]*)$/; // a :param, a *, or characters a URL path allows
/** Maps a method and a path to a value, e.g. `.add("GET", "/users/:id", x)`, in a tree of path segments. */
export class Router<T> {
  #tree: Node<T> = node();
  /** Adds a route like "/users/:id" or "/files/*"; a malformed pattern or a second route for it throws. */
  add(method: string, pattern: string, value: T): this {
    const names: string[] = [];
    let at = this.#tree;
    if (pattern[0] !== "/") throw new Error(`Bad route "${pattern}": ${ROUTE_RULES}`);
    for (const s of pattern.split("/").slice(1)) {
      const name = s[0] === ":" ? s.slice(1) : s === "*" ? s : ""; // a param's name, "*", or "" for a fixed segment
      const bad = !SEGMENT.test(s) || /^\.\.?$/.test(s) || names.at(-1) === "*" || (name && names.includes(name));
      if (bad) throw new Error(`Bad route "${pattern}" at "${s}": ${ROUTE_RULES}`);
      if (name) names.push(name);
      if (s === "*") at = at.rest ??= node();
      else if (s[0] === ":") at = at.param ??= node();
      else at = at.children.get(s) ?? at.children.set(s, node()).get(s)!;
    }
    const old = at.routes.get(method);
    if (old) throw new Error(`Route ${method} ${pattern} clashes with ${method} ${old.pattern}: keep one of them`);
    return (at.routes.set(method, { value, names, pattern }), this);
  }
  /** The route's value and params; null if no route has the path (a 404); HttpError 405 with `Allow` if no method. */
  match(method: string, path: string): { value: T; params: Record<string, string> } | null {
    const allowed: string[] = [], segments = path.split("/"); // segments[0] is the "" before the first "/"
    const pick = (routes: Map<string, Route<T>>, values: string[]): Found<T> => { // HEAD may use GET (RFC 9110 9.3.2)
      const route = routes.get(method) ?? (method === "HEAD" ? routes.get("GET") : undefined);
      if (route) return [route, values];
      allowed.push(...routes.keys()); // the path exists, but not with this method: remember for Allow
    };
    const walk = (at: Node<T>, i: number, values: string[]): Found<T> => { // a static child, else :param, else *
      const s = segments[i], child = at.children.get(s);
      const found = i === segments.length ? pick(at.routes, values) : (child && walk(child, i + 1, values)) ??
        (at.param && s !== "" ? walk(at.param, i + 1, [...values, s]) : undefined);
      return found ?? (at.rest && pick(at.rest.routes, [...values, segments.slice(i).join("/")]));
    };
    const [route, values = []] = walk(this.#tree, 1, []) ?? [];
    try { // percent-decoded: "/users/J%C3%B6rg" gives "Jörg"
      const params = Object.fromEntries(route?.names.map((name, i) => [name, decodeURIComponent(values[i])]) ?? []);
      if (route) return { value: route.value, params };
    } catch {
      throw new HttpError(400, "A malformed %-escape in the path");
    }
    if (allowed.length === 0) return null;
    const allow = [...new Set([...allowed, ...(allowed.includes("GET") ? ["HEAD"] : []), "OPTIONS"])].join(", ");
    throw new HttpError(405, `${method} is not allowed here; ${allow} are`, { headers: { allow } });
  }
}
// ====================================================== 5. App =====================================================
/** What a handler may return: a Response; text; bytes or a stream; null for 204; anything else goes as JSON. */
export type Result = Response | Body | Record<string, unknown> | unknown[] | number | boolean;
/** A route handler, e.g. `(req) => ({ id: req.params.id })`. */
export type Handler<P = Record<string, string>> = (req: Request<P>) => Result | Promise<Result>;
/** Middleware wraps the rest of the chain, which `next()` runs, e.g. `(req, next) => next()`. */
export type Middleware = (req: Request, next: () => Promise<Response>) => Result | Promise<Result>;
function errorResponse(err: unknown): Response { // an HttpError answers itself; anything else: a 500 saying no more
  if (err instanceof HttpError) return new Response(err.status < 500 ? err.message : STATUS_TEXT.get(err.status)!, err);
  return (console.error(err), new Response("Internal Server Error", { status: 500 })); // the details: only in our log
}
function toResponse(out: Result | void, who: string): Response { // what a handler put out, as a Response
  if (out instanceof Response) return out;
  if (out === undefined) throw new TypeError(`${who} returned nothing: did you forget to \`return\`?`);
  if (out instanceof globalThis.Response) throw new TypeError(`${who} returned a web Response: use groundwork's`);
  const raw = out === null || typeof out === "string" || out instanceof Uint8Array || out instanceof ReadableStream;
  return raw ? new Response(out, { status: out === null ? 204 : 200 }) : Response.json(out);
}
/** Middleware and routes, e.g. `new App().get("/hi", () => "Hi")`; `listen()`, or `Deno.serve(app.fetch)`. */
export class App {
  #router = new Router<Handler>();
  #middleware: Middleware[] = [];
  /** The answer for a path that no route has; replace it to change the 404 page. */
  notFound: Handler = (req) => new Response(`Nothing at ${req.path}`, { status: 404 });
  /** Turns anything thrown into a response; replace it to show errors your way. */
  onError: (err: unknown, req: Request) => Response | Promise<Response> = errorResponse;
  /** Makes an app; `maxBodyBytes` caps request bodies (413 beyond) on `listen()` and `fetch` alike. */
  constructor(readonly options: { maxBodyBytes?: number } = {}) {}
  /** Adds middleware; each runs around those added after it, and around the handler. */
  use = (middleware: Middleware): this => (this.#middleware.push(middleware), this);
  /** Routes GET requests (and so HEAD ones) for `path`, e.g. "/users/:id" or "/static/*", to `handler`. */
  get = <P extends string>(path: P, handler: Handler<Params<P>>): this => this.#add("GET", path, handler);
  /** Routes POST requests. */
  post = <P extends string>(path: P, handler: Handler<Params<P>>): this => this.#add("POST", path, handler);
  /** Routes PUT requests. */
  put = <P extends string>(path: P, handler: Handler<Params<P>>): this => this.#add("PUT", path, handler);
  /** Routes PATCH requests. */
  patch = <P extends string>(path: P, handler: Handler<Params<P>>): this => this.#add("PATCH", path, handler);
  /** Routes DELETE requests. */
  delete = <P extends string>(path: P, handler: Handler<Params<P>>): this => this.#add("DELETE", path, handler);
  #add = (method: string, path: string, h: unknown): this => (this.#router.add(method, path, h as Handler), this);
  /** Answers one request: the middleware in order, then the route's handler. It never throws. */
  handle = (req: Request): Promise<Response> => { // not async around next(0): a promise less, +9% (and never throws)
    let called = -1;
    const next = async (i: number): Promise<Response> => {
      if (i <= called) throw new Error("A middleware called next() twice: call it once");
      called = i;
      if (this.#middleware[i]) return toResponse(await this.#middleware[i](req, () => next(i + 1)), "A middleware");
      const route = this.#router.match(req.method, req.path);
      if (!route) return toResponse(await this.notFound(req), "notFound");
      req.params = route.params;
      return toResponse(await route.value(req), `The handler for ${req.method} ${req.path}`);
    };
    return next(0).catch((err) => { // OPTIONS asks which methods a path allows (RFC 9110 9.3.7): so does a 405
      if (req.method === "OPTIONS" && err?.status === 405) return new Response(null, { ...err, status: 204 }); // Allow
      return Promise.resolve(err).then((e) => this.onError(e, req)).catch(errorResponse); // (onError may throw)
    });
  };
  /** Answers a web Request with a web Response: what `Deno.serve(app.fetch)` and `deno serve` call. */
  fetch = async (web: globalThis.Request, info?: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<globalThis.Response> => {
    const body = web.body ? quiet(readAll(web, this.options.maxBodyBytes ?? LIMITS.maxBodyBytes)) : undefined;
    const req = new Request(web.method, web.url, { headers: web.headers, body, remoteAddr: info?.remoteAddr.hostname });
    const res = await this.handle(req), [headers, type] = fieldsOf(res), { status } = res; // HEAD: Deno drops the body
    const init: ResponseInit = { status, headers: headers ?? (type ? { "content-type": type } : {}) }; // no copy: +8%
    const out = status === 204 || status === 304 ? drop(res.body) : res.body; // bytes: Deno adds text/plain to text
    return new globalThis.Response((headers && typeof out === "string" ? encoder.encode(out) : out) as BodyInit, init);
  };
  /** Serves the app on groundwork's own {@linkcode Server}; resolves once it is listening. */
  async listen(options: ServerOptions = {}): Promise<Server> {
    const server = new Server(this.handle, { ...this.options, ...options }), { port } = await server.listen();
    if (options.log !== false) console.error(`Listening on http://localhost:${port}/`);
    return server;
  }
}
async function readAll(web: globalThis.Request, n: number, cl = web.headers.get("content-length") ?? "") { // or 413
  if (/^\d{1,15}$/.test(cl) && +cl <= n) return await web.bytes(); // Deno.serve holds it to that length: 1.5x faster
  return concat(await Array.fromAsync(web.body!, (p) => (n -= p.length) < 0 ? Promise.reject(new HttpError(413)) : p));
}
// ====================================================== 6. Server ==================================================
/** Where a {@linkcode Server} listens, what it prints, and any {@linkcode LIMITS} to change. */
export type ServerOptions = Partial<typeof LIMITS> & {
  port?: number; // 0 picks a free port; by default: `--port N` from the command line, else PORT, else 8000
  hostname?: string; // the default "0.0.0.0" is every interface
  reusePort?: boolean; // several processes share one port (Linux; Deno asks for --unstable-net)
  log?: boolean; // an access-log line per request on stderr; on by default
  trace?: boolean; // print every head as it was on the wire, \r\n shown (also: GROUNDWORK_TRACE=1)
};
const GONE = /^(HttpError|BadResource|BrokenPipe|ConnectionReset|Interrupted|NotConnected)$/; // errors: a client gone
/** HTTP/1.1 on TCP, e.g. `new Server(() => new Response("hi")).listen()`: it knows no routes (Python's WSGI split). */
export class Server {
  #listener?: Deno.TcpListener;
  #accepting?: Promise<unknown>;
  #connections = new Map<Connection, Promise<unknown>>();
  #closing = false;
  #sweeper?: ReturnType<typeof setInterval>;
  /** The address the server listens on, once `listen()` has bound it (with port 0: the port it was given). */
  addr?: Deno.NetAddr;
  /** Makes a server that answers with `handler`; nothing happens until `listen()`. */
  constructor(readonly handler: (req: Request) => Response | Promise<Response>, readonly options: ServerOptions = {}) {}
  /** Binds the port and starts accepting; resolves with the address bound (with port 0, a free one). */
  listen(): Promise<Deno.NetAddr> {
    const flag = Deno.args.indexOf("--port"), { hostname = "0.0.0.0", reusePort } = this.options;
    const port = this.options.port ?? Number(flag >= 0 ? Deno.args[flag + 1] : env("PORT") ?? 8000);
    const listener = this.#listener = Deno.listen({ port, hostname, reusePort } as Deno.TcpListenOptions);
    const limits = { ...LIMITS, ...Object.fromEntries(Object.entries(this.options).filter((o) => o[1] !== undefined)) };
    const trace = this.options.trace ?? env("GROUNDWORK_TRACE") === "1", log = this.options.log ?? true; // once, here
    const sweep = () => { // one timer for every deadline: a timer per read and per write costs a third of our speed
      date.text = new Date().toUTCString();
      this.#connections.forEach((_, c) => Date.now() > c.deadline && c.close());
    };
    this.#sweeper = (sweep(), setInterval(sweep, 200)); // (and a first time now)
    this.#accepting = (async () => {
      for (let conn; !this.#closing;) {
        if (!(conn = await listener.accept().catch(backoff))) continue; // one failing (a reset, no fds) ends nothing
        const c = new Connection(conn, limits.idleTimeoutMs); // also how long a write may wait on the client
        const done = this.#serve(c, limits, trace, log).catch(unlessGone).then(() => c.flush()).catch(unlessGone);
        this.#connections.set(c, done.finally(() => (c.close(), this.#connections.delete(c))));
      }
    })().catch(unlessGone); // (nothing above should throw; if it does, it is logged, not a crash)
    return Promise.resolve(this.addr = listener.addr);
  }
  /** Stops gracefully: it accepts no more, lets the requests in flight finish, and closes idle connections. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#listener?.close();
    await this.#accepting;
    for (const c of this.#connections.keys()) if (c.idle) c.close();
    await Promise.all(this.#connections.values());
    clearInterval(this.#sweeper);
  }
  async #serve(c: Connection, limits: typeof LIMITS, trace: boolean, log: boolean): Promise<void> { // its requests
    const full = this.#connections.size >= limits.maxConnections; // too many open: answer 503, and close
    if (full) await send(c, errorResponse(new HttpError(503)), "GET", false, false, trace);
    while (!this.#closing && !full) {
      if (c.buffered() === 0 && !(await c.fill(Date.now() + limits.idleTimeoutMs, true))) return; // idle; or: it left
      const started = log ? performance.now() : 0;
      let head: Head | undefined, req: Request | undefined, res: Response, keepAlive = false;
      try {
        head = await readHead(c, limits);
        if (trace) console.error([...head.lines, "", ""].join("\\r\\n\n")); // a head as it came, its CRLFs shown
        const connection = head.fields.connection ?? "", remoteAddr = c.conn.remoteAddr.hostname;
        keepAlive = head.http10 ? /\bkeep-alive\b/i.test(connection) : !/\bclose\b/i.test(connection); // 1.1 by default
        const body = head.size === 0 ? undefined : quiet(readBody(c, head, limits)); // read as the handler runs
        req = new Request(head.method, head.url, { headers: head.fields, body, remoteAddr });
        res = await Promise.resolve(req).then(this.handler).catch(errorResponse); // then we wait for the body, always:
        keepAlive = (!body || await body.then(() => true, () => false)) && keepAlive; // closing on unread bytes: a RST
      } catch (err) {
        if (!(err instanceof HttpError)) throw err; // the socket failed: there is no one to answer
        res = errorResponse(err); // a malformed request: the bytes after it can't be trusted, so close after answering
      }
      const done = await send(c, res, head?.method ?? "GET", head?.http10 ?? false, keepAlive && !this.#closing, trace);
      const ms = log && (performance.now() - started).toFixed(1); // the access log: one line per request
      if (log) console.error(`${head?.method} ${req?.path} ${res.status} ${done.sent}B ${ms}ms`);
      if (!done.keepAlive) return;
    }
  }
}
const unlessGone = (err: unknown) => GONE.test((err as Error)?.name) || console.error("groundwork: failed:", err);
const backoff = (err: unknown) => unlessGone(err) ? undefined : new Promise<void>((ok) => setTimeout(ok, 50)); // logged
function env(name: string): string | undefined { // if allowed, and never with a prompt: --allow-net alone must run
  if (Deno.permissions.querySync?.({ name: "env", variable: name }).state === "granted") return Deno.env.get(name);
}
