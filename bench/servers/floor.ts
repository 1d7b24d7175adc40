// (e) The floor: about the least a server on Deno.listen can do and still answer the benchmark's four routes. It
// trusts its input (no checks, no limits, no timeouts; never use it for anything else), finds each head by its blank
// line, takes the method and path from the request line and the body by Content-Length, writes its answers into one
// reused buffer, and answers a batch of pipelined requests with one write. Its distance from raw Deno.serve is the
// cost of Deno.listen itself; groundwork's distance from it is the cost of groundwork's JavaScript.
//   deno run -A bench/servers/floor.ts --port 8000
const port = Number(Deno.args[Deno.args.indexOf("--port") + 1] ?? 8000);
const encoder = new TextEncoder(), decoder = new TextDecoder(); // heads are ASCII
let date = new Date().toUTCString();
setInterval(() => date = new Date().toUTCString(), 1000);

/** The status, content type and text of the answer to one request (the body, for POST /echo). */
function route(method: string, path: string): [string, string, string] {
  const user = method === "GET" ? /^\/users\/([^/]+)$/.exec(path) : null;
  if (method === "GET" && path === "/") {
    return ["200 OK", "text/plain;charset=UTF-8", "Hello, World!"];
  }
  if (method === "GET" && path === "/json") {
    return ["200 OK", "application/json", '{"message":"Hello, World!"}'];
  }
  if (user) {
    return ["200 OK", "application/json", JSON.stringify({ id: decodeURIComponent(user[1]) })];
  }
  if (method === "POST" && path === "/echo") return ["200 OK", "application/octet-stream", ""];
  return ["404 Not Found", "text/plain", "Not Found"];
}

async function serve(conn: Deno.TcpConn): Promise<void> {
  const memory = new Uint8Array(4096); // one allocation for both buffers
  let input = memory.subarray(0, 2048),
    out = memory.subarray(2048),
    end = 0,
    close = false,
    writes = 0;
  while (!close) {
    if (end === input.length) input = grow(input, end, 2 * input.length); // a big body: room for it
    const n = await conn.read(input.subarray(end));
    if (n === null) break;
    end += n;
    const view = input.subarray(0, end);
    let start = 0, owed = 0;
    for (let blank; !close && (blank = blankLine(view, start)) >= 0;) {
      const head = decoder.decode(view.subarray(start, blank)), fields = head.toLowerCase();
      const length = Number(/\r\ncontent-length: *(\d+)/.exec(fields)?.[1] ?? 0),
        bodyAt = blank + 4;
      if (bodyAt + length > end) break; // the body is still on its way
      const [method, path] = head.slice(0, head.indexOf("\r\n")).split(" ");
      const [status, type, text] = route(method, path);
      const size = !text
        ? length
        : /^[\0-\x7f]*$/.test(text)
        ? text.length
        : encoder.encode(text).length; // in bytes
      close = /\r\nconnection: *close/.test(fields);
      const answer =
        `HTTP/1.1 ${status}\r\ncontent-type: ${type}\r\ncontent-length: ${size}\r\ndate: ${date}\r\n` +
        (close ? "connection: close\r\n\r\n" : "\r\n");
      if (owed + answer.length + size > out.length) {
        out = grow(out, owed, 2 * (owed + answer.length + size));
      }
      owed += encoder.encodeInto(answer + text, out.subarray(owed)).written;
      if (!text) out.set(view.subarray(bodyAt, bodyAt + length), owed), owed += length; // the echo
      start = bodyAt + length;
    }
    for (let at = 0; at < owed; writes++) { // as groundwork does: Nagle's algorithm off before a 2nd write or a long 1st
      if (writes === 1 || (writes === 0 && owed - at > 536)) conn.setNoDelay(true);
      at += await conn.write(out.subarray(at, owed));
    }
    input.copyWithin(0, start, end);
    end -= start;
  }
  conn.close();
}

/** A bigger buffer that starts with the first `used` bytes of `buf`. */
function grow(buf: Uint8Array, used: number, size: number): Uint8Array<ArrayBuffer> {
  const bigger = new Uint8Array(size);
  bigger.set(buf.subarray(0, used));
  return bigger;
}

/** Where the blank line that ends a head starts ("\r\n\r\n"), at or after `from`; -1 if it has not come yet. */
function blankLine(buf: Uint8Array, from: number): number {
  for (let i = buf.indexOf(13, from); i >= 0; i = buf.indexOf(13, i + 1)) {
    if (buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

for await (const conn of Deno.listen({ hostname: "127.0.0.1", port })) {
  serve(conn).catch(() => conn.close());
}
