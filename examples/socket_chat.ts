// The tutorials' first lesson, done right: a chat on a bare TCP socket, no HTTP. The server passes each line that
// one client sends to all the others; the client sends the lines you type, and prints the lines that arrive.
//   deno run --allow-net=0.0.0.0:8000 examples/socket_chat.ts serve
//   deno run --allow-net=127.0.0.1:8000 examples/socket_chat.ts connect      (in two more terminals; type, Enter)
// Options: --port 8080 (the same for both, and in --allow-net too); connect --host 192.168.1.20 to join another
// machine's server (allow that host in --allow-net). Any line-based tool can join as well: nc localhost 8000.
// What to look at: `lines`, which buffers the bytes it reads and splits them on "\n". TCP carries a stream of bytes,
// not messages: one read may bring half a line, or three lines, or cut a UTF-8 character in two. A tutorial that
// takes each read for a message works on localhost and breaks on a real network. Also MAX_LINE, without which a
// client that never sends "\n" would make the server buffer forever; and `say`, which drops a client that stopped
// reading rather than hold its lines without end.
import { parseArgs } from "node:util";

const MAX_LINE = 64 * 1024; // bytes: a longer line is refused, and its sender disconnected
const MAX_BEHIND = 1000; // lines a client may leave unread before it is dropped
const encoder = new TextEncoder();

/**
 * Yields each line that `source` sends, without its "\n" (or "\r\n"), until it closes. The bytes wait in `buffer`
 * until a "\n" completes a line, and only whole lines are decoded: a character cut between two reads comes out whole.
 */
export async function* lines(
  source: { read(p: Uint8Array): Promise<number | null> },
): AsyncGenerator<string> {
  const decoder = new TextDecoder(), chunk = new Uint8Array(16 * 1024);
  let buffer = new Uint8Array(0);
  while (true) {
    const n = await source.read(chunk); // any number of bytes, whatever the other side's writes were
    if (n === null) return; // closed. Bytes after the last "\n" were not a line: they are dropped
    const joined = new Uint8Array(buffer.length + n);
    joined.set(buffer);
    joined.set(chunk.subarray(0, n), buffer.length);
    buffer = joined;
    let newline;
    while ((newline = buffer.indexOf(10)) >= 0) { // 10 is "\n"
      yield decoder.decode(buffer.subarray(0, newline)).replace(/\r$/, "");
      buffer = buffer.subarray(newline + 1);
    }
    if (buffer.length > MAX_LINE) throw new RangeError(`A line over ${MAX_LINE} bytes`);
  }
}

// ====================================================== The server =================================================

type Client = { name: string; writer: WritableStreamDefaultWriter<Uint8Array> };
const clients = new Set<Client>();

/** Queues a line for a client. The writer sends in order, and whole: a write may take only part of what it's given. */
function say(client: Client, line: string): void {
  if ((client.writer.desiredSize ?? 0) < -MAX_BEHIND) { // lines pile up in its queue: it isn't reading
    clients.delete(client);
    client.writer.abort().catch(() => {}); // closes the socket, which ends its loop in `join`
    return;
  }
  client.writer.write(encoder.encode(line + "\n")).catch(() => {}); // it left: `join` notices, and cleans up
}

/** Serves one client: greets it, then passes on each line it sends, until it leaves. */
async function join(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true); // a chat line is small and wanted now: don't let Nagle's algorithm hold it for more
  const client = {
    name: `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`,
    writer: conn.writable.getWriter(),
  };
  const others = clients.size;
  clients.add(client);
  console.error(`${client.name} joined`);
  say(
    client,
    `* Welcome, ${client.name}. ${others} other(s) here: type a line and press Enter to send it to them.`,
  );
  try {
    for await (const line of lines(conn)) {
      for (const other of clients) if (other !== client) say(other, line);
    }
  } catch (err) { // a line too long, or the connection reset: either way, this client is done
    if (err instanceof RangeError) say(client, `* ${err.message}: goodbye.`);
  } finally {
    clients.delete(client);
    await client.writer.close().catch(() => {}); // sends what is queued, then closes the socket
    console.error(`${client.name} left`);
  }
}

async function serve(port: number): Promise<void> {
  const listener = Deno.listen({ port, hostname: "0.0.0.0" });
  console.error(
    `Listening on tcp://0.0.0.0:${port}; join with: deno run ... socket_chat.ts connect --port ${port}`,
  );
  for await (const conn of listener) join(conn); // each client on its own: no one waits for another
}

// ====================================================== The client =================================================

async function connect(hostname: string, port: number): Promise<void> {
  const conn = await Deno.connect({ hostname, port });
  const typing = (async () => {
    const writer = conn.writable.getWriter();
    for await (const line of lines(Deno.stdin)) await writer.write(encoder.encode(line + "\n"));
    writer.releaseLock();
    // Ctrl-D ends stdin: we say "no more from me" but go on listening. The server then closes, and so do we.
    await conn.closeWrite();
  })();
  typing.catch((err) => console.error(`* Can't send: ${err.message}`)); // e.g. the server went away mid-write
  try {
    for await (const line of lines(conn)) console.log(line);
  } catch { /* reset by the server: it has gone, as when it closes */ }
  console.error("* Disconnected.");
  conn.close();
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      port: { type: "string", default: "8000" },
      host: { type: "string", default: "127.0.0.1" },
    },
  });
  const port = Number(values.port);
  if (positionals[0] === "serve") {
    await serve(port);
  } else if (positionals[0] === "connect") {
    await connect(values.host, port);
    Deno.exit(0); // the server has gone; stdin may still be waiting for a line, and would keep us running
  } else {
    console.error(
      "Usage: socket_chat.ts serve [--port 8000]\n       socket_chat.ts connect [--port 8000] [--host 127.0.0.1]",
    );
    Deno.exit(2);
  }
}
