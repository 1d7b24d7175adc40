// An HTTP/1.1 client on a bare TCP socket: the other side of what mod.ts does, small enough to read in one sitting.
//   deno run --allow-net=localhost:8000,127.0.0.1:8000 examples/client.ts http://localhost:8000/ /json /hello/Ada
// The first argument is a URL; any more are paths to ask for on the same connection, kept alive between them. It
// prints each response's head and body. Deno checks --allow-net against the host as the URL names it: "localhost"
// and "127.0.0.1" are two names to allow, though they reach the same server. For another host or port, allow that
// one instead; without the permission, the client says which --allow-net it needs. Plain HTTP only: no TLS.
// What to look at: `#send`, which writes a request by hand; `#receive`, which reads the status line, the header
// fields, and a body whose end is marked in one of three ways (RFC 9112 6.3); and `request`, which keeps the
// connection for the next request, and opens a new one when the server has closed it.
const encoder = new TextEncoder();
const MAX_LINE = 64 * 1024; // a longer status or header line is not HTTP we want to read
const MAX_BODY = 64 * 1024 * 1024; // bodies are held in memory: a server can't make us hold more than this
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]); // asking twice does no more than once

/** A response as it came off the wire. */
export type ClientResponse = {
  status: number;
  reason: string;
  headers: Headers;
  body: Uint8Array;
  /** The status line and header lines as received, each ended by CRLF. */
  head: string;
  /** The body as UTF-8 text. */
  text(): string;
};

/** The server closed the connection before a single byte of the answer came: the request may never have been read. */
class ClosedBeforeAnswer extends Error {}

/**
 * A socket with a read buffer. TCP delivers a stream of bytes in pieces of any size: one read may bring half a line,
 * or a whole response and the start of the next. So we read on until we have what we need, and keep what is left.
 */
class Reader {
  #buf: Uint8Array = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}
  /** Reads once more from the socket into the buffer; false if the server has closed its end. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(16 * 1024), n = await this.conn.read(chunk);
    if (n === null) return false;
    this.#buf = concat([this.#buf, chunk.subarray(0, n)]);
    return true;
  }
  /** Waits for the first byte of an answer: false if the server closed the connection instead. */
  async started(): Promise<boolean> {
    return this.#buf.length > 0 || await this.#fill();
  }
  /** The next line, without its line end. Head lines are ASCII; Latin-1 keeps any other byte as one character. */
  async line(): Promise<string> {
    let lf: number;
    while ((lf = this.#buf.indexOf(10)) < 0) { // 10 is "\n"
      if (this.#buf.length > MAX_LINE) throw new Error(`A line longer than ${MAX_LINE} bytes`);
      if (!(await this.#fill())) {
        throw new Error("The server closed the connection in the middle of a line");
      }
    }
    const line = new TextDecoder("latin1").decode(this.#buf.subarray(0, lf));
    this.#buf = this.#buf.subarray(lf + 1);
    return line.endsWith("\r") ? line.slice(0, -1) : line;
  }
  /** Exactly `n` bytes: first what the buffer holds, then straight from the socket into the result. */
  async bytes(n: number): Promise<Uint8Array> {
    if (n > MAX_BODY) throw new Error(`A body over ${MAX_BODY} bytes`);
    const out = new Uint8Array(n);
    let got = Math.min(n, this.#buf.length);
    out.set(this.#buf.subarray(0, got));
    this.#buf = this.#buf.subarray(got);
    while (got < n) {
      const read = await this.conn.read(out.subarray(got));
      if (read === null) {
        throw new Error(`The server closed the connection ${n - got} bytes before the body's end`);
      }
      got += read;
    }
    return out;
  }
  /** Everything until the server closes the connection. */
  async rest(): Promise<Uint8Array> {
    const parts = [this.#buf];
    let size = this.#buf.length;
    this.#buf = new Uint8Array(0);
    while (true) {
      const chunk = new Uint8Array(64 * 1024), n = await this.conn.read(chunk);
      if (n === null) return concat(parts);
      if ((size += n) > MAX_BODY) throw new Error(`A body over ${MAX_BODY} bytes`);
      parts.push(chunk.subarray(0, n));
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A body sent as chunks (RFC 9112 7.1): each is its size in hex, CRLF, the bytes, CRLF; a size of 0 ends them. */
async function readChunked(reader: Reader): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let size = await chunkSize(reader); size > 0; size = await chunkSize(reader)) {
    if ((total += size) > MAX_BODY) throw new Error(`A body over ${MAX_BODY} bytes`);
    chunks.push(await reader.bytes(size));
    if (await reader.line() !== "") throw new Error("A chunk longer than its size");
  }
  while (await reader.line() !== ""); // trailer fields, if any: read, and dropped
  return concat(chunks);
}

async function chunkSize(reader: Reader): Promise<number> {
  const line = await reader.line(), size = /^([0-9a-fA-F]{1,8})[\t ]*(;.*)?$/.exec(line); // ";..." is an extension
  if (!size) throw new Error(`A malformed chunk size ${JSON.stringify(line)}`);
  return parseInt(size[1], 16);
}

/**
 * An HTTP/1.1 client for one server, e.g. `new Client("http://127.0.0.1:8000")`. Requests go one at a time over one
 * connection, kept open between them: no new TCP handshake per request.
 */
export class Client {
  /** How many connections it has opened: 1 for as long as the server keeps the first one open. */
  connections = 0;
  readonly url: URL;
  #reader?: Reader;
  /** A client for the server at `url` (http only: this client speaks plain TCP, not TLS). */
  constructor(url: string | URL, readonly options: { timeoutMs?: number } = {}) {
    this.url = new URL(url);
    if (this.url.protocol === "https:") {
      throw new TypeError("This client speaks plain HTTP only; use curl or fetch for https");
    }
    if (this.url.protocol !== "http:") {
      const hint = "write it as http://HOST:PORT/path";
      throw new TypeError(`Only http:// URLs, not ${JSON.stringify(this.url.href)}: ${hint}`);
    }
  }

  /** Sends a request, e.g. `request("GET", "/json")`, and reads its response whole. */
  async request(
    method: string,
    path: string,
    options: { headers?: HeadersInit; body?: string | Uint8Array } = {},
  ): Promise<ClientResponse> {
    // A space or CRLF in either would let the caller write a second request inside the first: refuse.
    if (!/^[!#$%&'*+.^_`|~\w-]+$/.test(method)) {
      throw new TypeError(`"${method}" is not an HTTP method`);
    }
    if (!/^\/[\x21-\x7e]*$/.test(path)) {
      throw new TypeError(`"${path}" must start with "/" and be encoded: no spaces`);
    }
    const reused = this.#reader !== undefined;
    try {
      return await this.#exchange(method, path, options);
    } catch (err) {
      // A server closes a kept-alive connection once it has been idle a while; if it did so just before we wrote,
      // nothing came back. Then we ask again on a new connection, but only if asking twice is harmless: a POST
      // might have been carried out (RFC 9110 9.2.2).
      if (!(reused && err instanceof ClosedBeforeAnswer && IDEMPOTENT.has(method))) throw err;
      return await this.#exchange(method, path, options);
    }
  }

  /** Closes the connection, if one is open; the next request opens another. */
  close(): void {
    try {
      this.#reader?.conn.close();
    } catch { /* closed already */ }
    this.#reader = undefined;
  }

  /** One request and its response, with a time limit, on the open connection or a new one. */
  async #exchange(
    method: string,
    path: string,
    options: { headers?: HeadersInit; body?: string | Uint8Array },
  ): Promise<ClientResponse> {
    if (!this.#reader) {
      const hostname = this.url.hostname.replace(/^\[(.*)\]$/, "$1"); // "[::1]" in a URL is "::1" to connect to
      this.#reader = new Reader(
        await Deno.connect({ hostname, port: Number(this.url.port || 80) }),
      );
      this.connections++;
    }
    const reader = this.#reader, ms = this.options.timeoutMs ?? 30_000;
    let timedOut = false, answered = false;
    const timer = setTimeout(() => { // closing the socket ends the read that is waiting
      timedOut = true;
      this.close();
    }, ms);
    try {
      await this.#send(reader.conn, method, path, options);
      answered = await reader.started();
      if (!answered) {
        throw new ClosedBeforeAnswer("The server closed the connection before answering");
      }
      const { response, keepAlive } = await this.#receive(reader, method);
      if (!keepAlive) this.close();
      return response;
    } catch (err) {
      this.close(); // after a failure, we can't know where the next response would begin
      if (timedOut) throw new Error(`No complete response to ${method} ${path} within ${ms} ms`);
      const reset = err instanceof Deno.errors.BrokenPipe ||
        err instanceof Deno.errors.ConnectionReset;
      if (!reset || answered) throw err;
      throw new ClosedBeforeAnswer(
        `The server closed the connection before answering (${err.message})`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes the request: a request line, header fields, an empty line, then the body (RFC 9112 3-6). */
  async #send(
    conn: Deno.Conn,
    method: string,
    path: string,
    options: { headers?: HeadersInit; body?: string | Uint8Array },
  ): Promise<void> {
    const headers = new Headers(options.headers); // Headers itself refuses a CR or LF in a value
    const body = typeof options.body === "string"
      ? encoder.encode(options.body)
      : options.body ?? new Uint8Array();
    if (!headers.has("host")) headers.set("host", this.url.host); // the one field HTTP/1.1 requires
    if (body.length > 0 || ["POST", "PUT", "PATCH"].includes(method)) {
      headers.set("content-length", `${body.length}`);
    }
    let head = `${method} ${path} HTTP/1.1\r\n`;
    for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
    let bytes = concat([encoder.encode(head + "\r\n"), body]);
    while (bytes.length > 0) bytes = bytes.subarray(await conn.write(bytes)); // a write may take only a part
  }

  /** Reads one response: skipping any 1xx interim ones, then the status line, the fields, and the body. */
  async #receive(
    reader: Reader,
    method: string,
  ): Promise<{ response: ClientResponse; keepAlive: boolean }> {
    let status: number, reason: string, version: string, head: string, headers: Headers;
    do { // a "100 Continue" (or another 1xx) may come first: it is a head with no body, and not the answer
      const line = await reader.line(), parsed = /^HTTP\/(1\.[01]) (\d{3})(?: (.*))?$/.exec(line);
      if (!parsed) {
        throw new Error(`Not an HTTP/1.x status line: ${JSON.stringify(line.slice(0, 80))}`);
      }
      [version, status, reason] = [parsed[1], Number(parsed[2]), parsed[3] ?? ""];
      [head, headers] = [line + "\r\n", new Headers()];
      for (let field = await reader.line(); field !== ""; field = await reader.line()) {
        const colon = field.indexOf(":");
        if (colon <= 0) {
          throw new Error(`A malformed header line: ${JSON.stringify(field.slice(0, 80))}`);
        }
        headers.append(field.slice(0, colon), field.slice(colon + 1).trim());
        head += field + "\r\n";
      }
    } while (status < 200);

    // Where does the body end? The order of these checks is the order RFC 9112 6.3 gives.
    const connection = headers.get("connection") ?? "";
    let keepAlive = version === "1.1"
      ? !/\bclose\b/i.test(connection)
      : /\bkeep-alive\b/i.test(connection);
    let body: Uint8Array;
    if (method === "HEAD" || status === 204 || status === 304) {
      body = new Uint8Array(); // never a body, whatever Content-Length says (for a HEAD, it is GET's length)
    } else if (headers.has("transfer-encoding")) {
      if (!/^chunked$/i.test(headers.get("transfer-encoding")!)) {
        throw new Error("Only chunked transfer coding is known");
      }
      body = await readChunked(reader);
    } else if (headers.has("content-length")) {
      const length = headers.get("content-length")!;
      if (!/^\d{1,15}$/.test(length)) {
        throw new Error(`A malformed Content-Length ${JSON.stringify(length)}`);
      }
      body = await reader.bytes(Number(length));
    } else {
      body = await reader.rest(); // no length given: the body ends when the server closes the connection
      keepAlive = false;
    }
    const text = () => new TextDecoder().decode(body);
    return { response: { status, reason, headers, body, head, text }, keepAlive };
  }
}

/** The `--allow-net` value that lets a client connect to `url`'s host and port, as Deno names them. */
function netPermission(url: URL): string {
  return `${url.hostname}:${url.port || 80}`;
}

/**
 * The command line: GET the URL, then each further path, on one connection, printing each response. What a user can
 * fix (a bad URL, https, a missing permission, no server there) is one line on stderr, not a stack trace.
 */
async function main(args: string[]): Promise<number> {
  const [first, ...paths] = args;
  const usage =
    "Usage: deno run --allow-net=HOST:PORT examples/client.ts http://HOST:PORT/path [/another/path ...]";
  if (!first) {
    console.error(usage);
    return 2;
  }
  const url = URL.parse(first);
  if (url === null) {
    console.error(`client.ts: ${JSON.stringify(first)} is not a URL. ${usage}`);
    return 2;
  }
  let client: Client;
  try {
    client = new Client(url);
  } catch (err) {
    console.error(`client.ts: ${(err as Error).message}`);
    return 2;
  }
  try {
    for (const path of [url.pathname + url.search, ...paths]) {
      const res = await client.request("GET", path);
      console.error(`* GET ${path} (connection ${client.connections})`);
      console.log(res.head);
      console.log(res.text());
    }
    return 0;
  } catch (err) {
    const where = netPermission(url);
    // Deno refuses a connection the command line did not allow: say which flag would allow it.
    if (err instanceof Deno.errors.NotCapable) {
      console.error(
        `client.ts: no permission to connect to ${where}: run it with --allow-net=${where}`,
      );
      return 1;
    }
    if (err instanceof Deno.errors.ConnectionRefused) {
      console.error(`client.ts: nothing listens at ${where}: start a server there first`);
      return 1;
    }
    throw err;
  } finally {
    client.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
