// Shared by the tests: start a server on a free loopback port, send it raw bytes, read raw bytes back.
import { App, type Request, type Response, Server, type ServerOptions } from "../mod.ts";

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

// No test waits on a socket, a fetch or a process without a deadline: past it, the test fails and says what it was
// waiting for, rather than hang the suite. The deadlines are guards against a hang, far longer than a wait takes,
// never a measure of speed.

/** How long a fetch() may take to bring a whole answer, head and body, from a server on this machine. */
export const FETCH_MS = 10_000;

/** How long a connection may take to open, or a write to go into the socket, on this machine. */
const SOCKET_MS = 10_000;

/** How long a test server's close() may take, with every client gone. */
const CLOSE_MS = 10_000;

/** Starts `app` (or a bare handler) on 127.0.0.1 with a free port and no access log. Stop it with `close()`. */
export async function start(
  app: App | ((req: Request) => Response | Promise<Response>),
  options: ServerOptions = {},
): Promise<{ port: number; server: Server; url: string; close: () => Promise<void> }> {
  const handler = app instanceof App ? (req: Request) => app.handle(req) : app;
  const server = new Server(handler, { port: 0, hostname: "127.0.0.1", log: false, ...options });
  const { port } = await server.listen();
  const close = () => within(server.close(), CLOSE_MS, "the test server's close()");
  return { port, server, url: `http://127.0.0.1:${port}`, close };
}

/**
 * The web's fetch, with a deadline: if the whole answer (head and body) has not come within `timeoutMs` (FETCH_MS
 * unless given), the fetch, or the reading of its body, fails with an error that names the request and the wait.
 * Tests use it instead of the global fetch, which waits as long as the server makes it.
 */
export function fetch(
  url: string | URL,
  init: Omit<RequestInit, "signal"> & { timeoutMs?: number } = {},
): Promise<globalThis.Response> {
  const { timeoutMs = FETCH_MS, ...rest } = init;
  const request = `${rest.method ?? "GET"} ${url}`;
  const aborting = new AbortController();
  // AbortSignal.timeout's timer doesn't keep a test open; the controller carries an error that says what was late.
  AbortSignal.timeout(timeoutMs).addEventListener("abort", () => {
    aborting.abort(new Error(`${request}: no whole answer within ${timeoutMs} ms`));
  });
  return globalThis.fetch(url, { ...rest, signal: aborting.signal });
}

/** Connects to 127.0.0.1:`port`, or fails if that has not happened within SOCKET_MS. */
export function connect(port: number): Promise<Deno.TcpConn> {
  return within(
    Deno.connect({ hostname: "127.0.0.1", port }),
    SOCKET_MS,
    `a connection to 127.0.0.1:${port}`,
  );
}

/** Writes all of `bytes` to `conn`. A write stuck for SOCKET_MS (no one reads) closes `conn`, and this fails. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let rest = bytes, stuck = false;
  while (rest.length > 0) {
    const timer = setTimeout(() => {
      stuck = true;
      try {
        conn.close(); // which ends the write with an error
      } catch { /* closed already */ }
    }, SOCKET_MS);
    try {
      rest = rest.subarray(await conn.write(rest));
    } catch (err) {
      if (stuck) {
        throw new Error(`writing ${rest.length} bytes did not happen within ${SOCKET_MS} ms`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** One parsed HTTP response, as read off the wire. */
export type Parsed = {
  status: number;
  reason: string;
  headers: Headers;
  body: string;
  head: string;
};

/**
 * Opens a TCP connection, writes `request` (all at once, or `split` bytes at a time with a pause between), and
 * reads until the server closes the connection, `responses` complete responses have arrived, or `timeoutMs` passes.
 */
export async function raw(
  port: number,
  request: string | Uint8Array,
  options: {
    split?: number;
    pauseMs?: number;
    responses?: number;
    timeoutMs?: number;
    method?: string;
  } = {},
): Promise<{ text: string; responses: Parsed[]; closed: boolean }> {
  const conn = await connect(port);
  const bytes = typeof request === "string" ? encoder.encode(request) : request;
  const step = options.split ?? bytes.length;
  const writing = (async () => {
    for (let i = 0; i < bytes.length; i += step) {
      await writeAll(conn, bytes.subarray(i, i + step));
      if (options.pauseMs && i + step < bytes.length) {
        await new Promise((r) => setTimeout(r, options.pauseMs));
      }
    }
  })().catch(() => {}); // the server may close before we finish: that is what some tests check
  let text = "", closed = false, responses: Parsed[] = [];
  const deadline = Date.now() + (options.timeoutMs ?? 3000);
  const buf = new Uint8Array(64 * 1024);
  while (Date.now() < deadline) {
    const timer = setTimeout(() => conn.close(), deadline - Date.now());
    let n: number | null = null;
    try {
      n = await conn.read(buf);
    } catch {
      n = null; // closed by our timer, or reset by the server
    } finally {
      clearTimeout(timer);
    }
    if (n === null) {
      closed = Date.now() < deadline;
      break;
    }
    text += new TextDecoder("latin1").decode(buf.subarray(0, n));
    responses = parseAll(text, options.method);
    if (options.responses !== undefined && responses.length >= options.responses) break;
  }
  await writing; // it ends: each write has a deadline, and fails once the connection is closed
  try {
    conn.close();
  } catch { /* closed already */ }
  return { text, responses, closed };
}

/** Parses every complete response in `text` (Content-Length, chunked, or no body). */
export function parseAll(text: string, method = "GET"): Parsed[] {
  const out: Parsed[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const head = text.slice(at, end);
    const [statusLine, ...fields] = head.split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
    if (!m) throw new Error(`Not a status line: ${JSON.stringify(statusLine)}`);
    const headers = new Headers();
    for (const f of fields) {
      headers.append(f.slice(0, f.indexOf(":")), f.slice(f.indexOf(":") + 1).trim());
    }
    const status = Number(m[1]);
    let pos = end + 4, body = "";
    if (status < 200) { // an interim response: skip it
      at = pos;
      continue;
    }
    const bodiless = method === "HEAD" || status === 204 || status === 304;
    if (bodiless) {
      // nothing
    } else if (headers.get("transfer-encoding") === "chunked") {
      let complete = false;
      while (true) {
        const lineEnd = text.indexOf("\r\n", pos);
        if (lineEnd < 0) break;
        const size = parseInt(text.slice(pos, lineEnd), 16);
        if (size === 0) {
          const trailerEnd = text.indexOf("\r\n", lineEnd + 2);
          if (trailerEnd < 0) break;
          pos = trailerEnd + 2;
          complete = true;
          break;
        }
        if (text.length < lineEnd + 2 + size + 2) break;
        body += text.slice(lineEnd + 2, lineEnd + 2 + size);
        pos = lineEnd + 2 + size + 2;
      }
      if (!complete) break;
    } else if (headers.has("content-length")) {
      const n = Number(headers.get("content-length"));
      if (text.length < pos + n) break;
      body = text.slice(pos, pos + n);
      pos += n;
    } else {
      body = text.slice(pos); // delimited by the close
      pos = text.length;
    }
    out.push({ status, reason: m[2], headers, body, head });
    at = pos;
  }
  return out;
}

/** A GET request's bytes, with extra header lines. */
export function get(path: string, ...fields: string[]): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${fields.map((f) => f + "\r\n").join("")}\r\n`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A connection kept open across requests, for tests about what happens between them: keep-alive, timeouts, closes.
 * Each wait lasts at most `timeoutMs`; past it, the connection is closed, so a test fails rather than hangs.
 */
export class Client {
  /** Everything received so far, one character per byte. */
  text = "";
  #taken = 0; // responses already handed out by next()
  #ended: "open" | "closed by the server" | "timed out" = "open";
  private constructor(readonly conn: Deno.TcpConn) {}
  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<Client> {
    return new Client(await connect(port));
  }
  /** Writes all of `bytes`; fails if the server has stopped reading them for SOCKET_MS. */
  async send(bytes: string | Uint8Array): Promise<void> {
    await writeAll(this.conn, typeof bytes === "string" ? encoder.encode(bytes) : bytes);
  }
  /** Reads until `count` more complete responses are in (interim 1xx ones skipped), the server closes, or time's up. */
  async next(count = 1, options: { method?: string; timeoutMs?: number } = {}): Promise<Parsed[]> {
    await this.#readUntil(
      () => parseAll(this.text, options.method).length >= this.#taken + count,
      options.timeoutMs,
    );
    const all = parseAll(this.text, options.method),
      fresh = all.slice(this.#taken, this.#taken + count);
    this.#taken += fresh.length;
    return fresh;
  }
  /** Reads until `fragment` has arrived; false if the server closed first or time ran out. */
  until(fragment: string, timeoutMs?: number): Promise<boolean> {
    return this.#readUntil(() => this.text.includes(fragment), timeoutMs);
  }
  /** Reads until the server closes the connection: true if it did, false if time ran out first. */
  async closedByServer(timeoutMs?: number): Promise<boolean> {
    await this.#readUntil(() => false, timeoutMs);
    return this.#ended === "closed by the server";
  }
  /** Closes our end (again is fine). */
  close(): void {
    try {
      this.conn.close();
    } catch { /* closed already */ }
  }
  async #readUntil(done: () => boolean, timeoutMs = 3000): Promise<boolean> {
    const buf = new Uint8Array(64 * 1024), deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.#ended !== "open") return false;
      const timer = setTimeout(
        () => (this.#ended = "timed out", this.close()),
        Math.max(0, deadline - Date.now()),
      );
      let n: number | null = null;
      try {
        n = await this.conn.read(buf);
      } catch {
        n = null; // closed by our timer, or reset by the server
      } finally {
        clearTimeout(timer);
      }
      if (n === null) {
        if (this.#ended === "open") this.#ended = "closed by the server";
        return done();
      }
      this.text += new TextDecoder("latin1").decode(buf.subarray(0, n));
    }
    return true;
  }
}

/** Rejects if `promise` has not settled within `ms`: a guard against a hang, not a timing assertion. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` with a fresh temporary directory, and removes the directory afterwards. */
export async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "groundwork_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads one of groundwork's responses whole, as text, without a socket. */
export async function bodyText(res: Response): Promise<string> {
  const body = res.body;
  if (body instanceof ReadableStream) return await new globalThis.Response(body).text();
  return typeof body === "string" ? body : new TextDecoder().decode(body ?? new Uint8Array());
}
/** Replaces console.error while `fn` runs, and returns what was printed: the access log, and errors. */
export async function capturingStderr(fn: () => Promise<void>): Promise<string> {
  const original = console.error, printed: string[] = [];
  console.error = (...args: unknown[]) => printed.push(args.map(String).join(" "));
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return printed.join("\n");
}
