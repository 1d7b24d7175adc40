// examples/socket_chat.ts: a line-based chat on bare TCP. Its line splitter on its own, then the server and the
// client as their own processes, talked to over real sockets.
import assert from "node:assert/strict";
import { lines } from "../examples/socket_chat.ts";
import { connect, sleep, within, writeAll } from "./helpers.ts";
import { collect, exitWithin, ROOT, runExample, type Running, stopProcess } from "./run_example.ts";

const encoder = new TextEncoder();

/** Starts `socket_chat.ts serve`, allowed to listen on its port and nothing else. */
function startServer(): Promise<Running> {
  return runExample("examples/socket_chat.ts", (port) => [`--allow-net=0.0.0.0:${port}`], [
    "serve",
  ]);
}

/** A chat client on a raw socket. It keeps the bytes it has read until a "\n" completes a line, as the example does. */
class Peer {
  #pending = new Uint8Array(0);
  private constructor(readonly conn: Deno.TcpConn) {}
  static async connect(port: number): Promise<Peer> {
    return new Peer(await connect(port));
  }
  /** Writes all of `data`, in as few write() calls as the socket takes: what the server reads is up to TCP. */
  async write(data: string | Uint8Array): Promise<void> {
    await writeAll(this.conn, typeof data === "string" ? encoder.encode(data) : data);
  }
  /** The next line, without its "\n"; null if the server closed first. Fails after 5 s rather than hang. */
  async line(): Promise<string | null> {
    const chunk = new Uint8Array(64 * 1024);
    let newline;
    while ((newline = this.#pending.indexOf(10)) < 0) {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        this.close(); // which ends the read with an error
      }, 5000);
      const n = await this.conn.read(chunk).catch((err) => {
        if (!late) throw err;
        const had = JSON.stringify(new TextDecoder().decode(this.#pending));
        throw new Error(
          `no whole line came from the chat server within 5000 ms; the start of one: ${had}`,
        );
      }).finally(() => clearTimeout(timer));
      if (n === null) return null;
      const joined = new Uint8Array(this.#pending.length + n);
      joined.set(this.#pending);
      joined.set(chunk.subarray(0, n), this.#pending.length);
      this.#pending = joined;
    }
    const line = new TextDecoder().decode(this.#pending.subarray(0, newline));
    this.#pending = this.#pending.subarray(newline + 1);
    return line;
  }
  close(): void {
    try {
      this.conn.close();
    } catch { /* closed already */ }
  }
}

/** Connects, and reads the greeting, which also says the server has counted us in: lines sent now reach us. */
async function join(server: Running): Promise<{ peer: Peer; greeting: string | null }> {
  const peer = await Peer.connect(server.port);
  return { peer, greeting: await peer.line() };
}

Deno.test("socket chat example: lines() splits on \\n, however the bytes were cut into reads", async () => {
  const bytes = encoder.encode("Grüße\r\nfrom a\n\nstream\nand a last line with no newline");
  const umlaut = bytes.indexOf(0xc3); // "ü" is two bytes, 0xc3 0xbc: the first read ends between them
  const reads = [
    bytes.subarray(0, umlaut + 1),
    bytes.subarray(umlaut + 1, umlaut + 9),
    bytes.subarray(umlaut + 9),
  ];
  const source = { // reads as a socket gives them: whatever arrived, which here is never a whole line
    read(p: Uint8Array): Promise<number | null> {
      const next = reads.shift();
      if (!next) return Promise.resolve(null);
      p.set(next);
      return Promise.resolve(next.length);
    },
  };
  const got: string[] = [];
  for await (const line of lines(source)) got.push(line);
  assert.deepEqual(got, ["Grüße", "from a", "", "stream"]); // "\r\n" counts as "\n"; an unfinished line is no line
});

Deno.test("socket chat example: the server passes each line to the other clients, whole", async (t) => {
  const server = await startServer();
  const peers: Peer[] = [];
  try {
    const a = await join(server), b = await join(server);
    peers.push(a.peer, b.peer);

    await t.step("each client is greeted, and told how many others are here", () => {
      assert.match(
        a.greeting ?? "",
        /^\* Welcome, 127\.0\.0\.1:\d+\. 0 other\(s\) here: type a line/,
      );
      assert.match(
        b.greeting ?? "",
        /^\* Welcome, 127\.0\.0\.1:\d+\. 1 other\(s\) here: type a line/,
      );
    });

    await t.step(
      "a line written in two parts, cut inside a character, reaches the other client whole",
      async () => {
        const line = encoder.encode("Grüße, wörld: one line, two writes\n");
        const cut = line.indexOf(0xb6); // "ö" is 0xc3 0xb6: the first write ends between its two bytes
        await a.peer.write(line.subarray(0, cut));
        await sleep(50); // so that the server's first read surely holds the first part only
        await a.peer.write(line.subarray(cut));
        assert.equal(await b.peer.line(), "Grüße, wörld: one line, two writes");
      },
    );

    await t.step("a line goes to the others, not back to its sender", async () => {
      await b.peer.write("back to you\n");
      assert.equal(await a.peer.line(), "back to you"); // A's next line is B's: A's own line never came back
    });

    await t.step(
      "two lines in one write arrive as two lines; \\r\\n ends a line as \\n does",
      async () => {
        await a.peer.write("one\ntwo\r\n");
        assert.equal(await b.peer.line(), "one");
        assert.equal(await b.peer.line(), "two");
      },
    );

    await t.step(
      "a client that sends 64 KiB with no newline gets a goodbye and a close; the rest go on",
      async () => {
        const c = await join(server);
        peers.push(c.peer);
        await c.peer.write("x".repeat(64 * 1024 + 1)); // one byte over: the server has read it all, then says no
        assert.equal(await c.peer.line(), "* A line over 65536 bytes: goodbye.");
        assert.equal(await c.peer.line(), null);
        await a.peer.write("still here?\n");
        assert.equal(await b.peer.line(), "still here?");
      },
    );

    await t.step(
      "a client that leaves is forgotten: newcomers are told of B alone, and B is still heard",
      async () => {
        a.peer.close();
        // The server learns of it when its read on A's socket ends, a moment after our close: ask until it has.
        const deadline = Date.now() + 5000;
        let newcomer = await join(server);
        while (!/ 1 other\(s\) here/.test(newcomer.greeting ?? "") && Date.now() < deadline) {
          newcomer.peer.close();
          await sleep(20);
          newcomer = await join(server);
        }
        peers.push(newcomer.peer);
        assert.match(newcomer.greeting ?? "", / 1 other\(s\) here/);
        await b.peer.write("hello, newcomer\n");
        assert.equal(await newcomer.peer.line(), "hello, newcomer");
      },
    );
  } finally {
    for (const peer of peers) peer.close();
    await server.stop();
  }
});

Deno.test("socket chat example: `connect` sends the lines typed on stdin and prints the lines that arrive", async () => {
  const server = await startServer();
  const other = await join(server);
  const client = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--allow-net=127.0.0.1:${server.port}`,
      "examples/socket_chat.ts",
      "connect",
      "--port",
      String(server.port),
    ],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const printed = textLines(client.stdout), typing = client.stdin.getWriter();
  const said = collect(client.stderr);
  try {
    const greeting = await within(printed.next(), 10_000, "the client printing the greeting");
    assert.match(greeting.value ?? "", /^\* Welcome, .* 1 other\(s\) here/);

    await typing.write(encoder.encode("typed in a terminal\n"));
    assert.equal(await other.peer.line(), "typed in a terminal");

    await other.peer.write("sent over TCP\n");
    assert.equal(
      (await within(printed.next(), 5000, "the client printing a line")).value,
      "sent over TCP",
    );

    await typing.close(); // Ctrl-D: the client half-closes, the server closes, the client says so and exits
    const status = await exitWithin(
      client,
      5000,
      "the chat client, after its stdin ended",
      said.text,
    );
    assert.equal(status.code, 0);
    await within(said.ended, 5000, "the end of the client's stderr");
    assert.match(said.text(), /\* Disconnected\./);
  } finally {
    await stopProcess(client, "the chat client", { printed: said.text }); // it has exited, unless a step failed
    await within(toTheEnd(printed), 5000, "the end of the client's stdout");
    await within(said.ended, 5000, "the end of the client's stderr");
    await typing.close().catch(() => {}); // closed above, unless a step failed first
    other.peer.close();
    await server.stop();
  }
});

/** Reads the lines that are left, and drops them. */
async function toTheEnd(lines: AsyncGenerator<string>): Promise<void> {
  for await (const _ of lines); // each one
}

/** The lines a process prints, as they come. */
async function* textLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    for (let newline; (newline = text.indexOf("\n")) >= 0; text = text.slice(newline + 1)) {
      yield text.slice(0, newline);
    }
  }
}
