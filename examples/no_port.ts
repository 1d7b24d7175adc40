// HTTP with no open port: the server's connection logic, fed bytes from memory. It needs no permission at all.
//   deno run examples/no_port.ts
// `Server.serve(socket)` takes any object with read, write, close, setNoDelay and remoteAddr (the type `Socket` in
// mod.ts). Here that object is a queue of byte chunks that we fill by hand, and a list of what the server wrote.
// We send a keep-alive GET, cut in two pieces, then a chunked POST in three, and close. The server's trace shows
// what it made of each piece; at the end comes every byte it wrote back, \r\n shown.
// What to look at: `MemorySocket.read`, which waits (a promise, not a loop) until a chunk is fed, and returns null
// once the other side has closed; and the trace between two pieces of one head: "reading a head" comes once, and
// the head is whole only after the second piece. A short read is not the end of a request.
import { App, Server, type Socket } from "../mod.ts";

const encoder = new TextEncoder();

/** How long the demo waits for the server's answer before it gives up: far more than an answer takes. */
const ANSWER_MS = 5000;

/** How long the client pauses between two pieces, so that the server reads each one on its own. */
const PAUSE_MS = 10;

/** A read waiting for bytes, with the buffer to put them in. */
type PendingRead = {
  into: Uint8Array;
  resolve: (count: number | null) => void;
  reject: (err: Error) => void;
};

/** One end of an in-memory connection: we feed it the client's bytes, and it keeps what the server writes. */
class MemorySocket implements Socket {
  /** Where the bytes come from, as a TCP socket would tell the server. */
  readonly remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "192.0.2.1", port: 50000 };
  /** Everything the server wrote, one entry per write. */
  readonly written: Uint8Array[] = [];
  #chunks: Uint8Array[] = [];
  #pending?: PendingRead;
  #ended = false;
  #closed = false;
  #onWrite: () => void = () => {};

  /** The client sends `text` (as UTF-8): a waiting read gets it at once. */
  feed(text: string): void {
    this.#chunks.push(encoder.encode(text));
    this.#wake();
  }

  /** The client closes its end: once the queue is empty, read returns null, as at the end of a TCP stream. */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** Resolves at the server's next write, or fails after `ms`. */
  nextWrite(ms: number): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    this.#onWrite = () => {
      clearTimeout(timer);
      resolve();
    };
    return promise;
  }

  read(into: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("The socket is closed"));
    const { promise, resolve, reject } = Promise.withResolvers<number | null>();
    // Nothing there yet: the read waits, as a read on a TCP socket does, until #wake settles it.
    this.#pending = { into, resolve, reject };
    this.#wake();
    return promise;
  }

  write(bytes: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("The socket is closed"));
    this.written.push(bytes.slice());
    this.#onWrite();
    return Promise.resolve(bytes.length);
  }

  close(): void {
    this.#closed = true;
    // A read still waiting fails, as it does on a TCP socket closed under it.
    this.#pending?.reject(new Deno.errors.BadResource("The socket is closed"));
    this.#pending = undefined;
  }

  setNoDelay(): void {
    // There is no Nagle's algorithm in memory: nothing to turn off.
  }

  /** Settles the waiting read, if there is one and something to give it: bytes, or the end. */
  #wake(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    const chunk = this.#chunks[0];
    if (chunk === undefined && !this.#ended) return;
    this.#pending = undefined;
    if (chunk === undefined) {
      pending.resolve(null);
      return;
    }
    // A read takes what fits in its buffer; the rest waits for the next read.
    const count = Math.min(chunk.length, pending.into.length);
    pending.into.set(chunk.subarray(0, count));
    if (count === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(count);
    pending.resolve(count);
  }
}

/** Text with each CRLF shown as \r\n and a line break, the way the trace shows heads. */
function showCRLF(text: string): string {
  return text.replaceAll("\r\n", "\\r\\n\n");
}

const app = new App()
  .get("/", () => "Hello from memory")
  .post("/upload", async (req) => `got ${(await req.bytes()).length} bytes: ${await req.text()}`);

const server = new Server(app.handle, { log: false, trace: (line) => console.log(line) });
const socket = new MemorySocket();
const served = server.serve(socket);

// A keep-alive GET, in two pieces: the server reads the first, finds no end of head, and waits for more.
const firstAnswer = socket.nextWrite(ANSWER_MS);
await send("GET / HTTP/1.1\r\nHo");
await send("st: demo\r\n\r\n");
await firstAnswer;

// A chunked POST on the same connection: two chunks ("hello", " world"), the last chunk (0), no trailers.
// The first chunk is cut in two, between its third and fourth bytes.
const secondAnswer = socket.nextWrite(ANSWER_MS);
await send("POST /upload HTTP/1.1\r\nHost: demo\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
await send("lo\r\n6\r\n world\r\n");
await send("0\r\n\r\n");
await secondAnswer;

console.log("client: closes its end");
socket.end();
await served;
// The server's sweeper (one timer for every connection's deadlines) stops with close().
await server.close();

console.log("\nWhat the server wrote back, write by write:");
for (const [i, bytes] of socket.written.entries()) {
  console.log(
    `\nwrite ${i + 1}, ${bytes.length} bytes:\n${showCRLF(new TextDecoder().decode(bytes))}`,
  );
}

/** The client sends one piece, and lets the server read it before the next one comes. */
async function send(piece: string): Promise<void> {
  console.log(`client: sends ${JSON.stringify(piece)}`);
  socket.feed(piece);
  await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
}
