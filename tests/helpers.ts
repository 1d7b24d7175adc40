// Shared by the tests: start a server on a free loopback port, send it raw bytes, read raw bytes back.
import { App, type Request, type Response, Server, type ServerOptions } from "../mod.ts";

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/** Starts `app` (or a bare handler) on 127.0.0.1 with a free port and no access log. Stop it with `close()`. */
export async function start(
  app: App | ((req: Request) => Response | Promise<Response>),
  options: ServerOptions = {},
): Promise<{ port: number; server: Server; url: string; close: () => Promise<void> }> {
  const handler = app instanceof App ? (req: Request) => app.handle(req) : app;
  const server = new Server(handler, { port: 0, hostname: "127.0.0.1", log: false, ...options });
  const { port } = await server.listen();
  return { port, server, url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** One parsed HTTP response, as read off the wire. */
export type Parsed = { status: number; reason: string; headers: Headers; body: string; head: string };

/**
 * Opens a TCP connection, writes `request` (all at once, or `split` bytes at a time with a pause between), and
 * reads until the server closes the connection, `responses` complete responses have arrived, or `timeoutMs` passes.
 */
export async function raw(
  port: number,
  request: string | Uint8Array,
  options: { split?: number; pauseMs?: number; responses?: number; timeoutMs?: number; method?: string } = {},
): Promise<{ text: string; responses: Parsed[]; closed: boolean }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = typeof request === "string" ? encoder.encode(request) : request;
  const step = options.split ?? bytes.length;
  const writing = (async () => {
    for (let i = 0; i < bytes.length; i += step) {
      await conn.write(bytes.subarray(i, i + step));
      if (options.pauseMs && i + step < bytes.length) await new Promise((r) => setTimeout(r, options.pauseMs));
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
  await writing;
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
    for (const f of fields) headers.append(f.slice(0, f.indexOf(":")), f.slice(f.indexOf(":") + 1).trim());
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
