// Layer 6, the Server: connections, keep-alive, pipelining, framing on the way out, time limits, a graceful close.
// Each test starts its own server on a free loopback port and closes it, whatever happens.
import assert from "node:assert/strict";
import net from "node:net";
import { App, type Request, Response, Server, type Socket } from "../mod.ts";
import {
  capturingStderr,
  Client,
  connect,
  encoder,
  get,
  parseAll,
  raw,
  sleep,
  start,
  within,
  writeAll,
} from "./helpers.ts";
import { exitWithin, runCommand, stopProcess } from "./run_example.ts";

const hello = () => new Response("hello");

/** A stream of the given text chunks, sent as they come. */
function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

// ---------------------------------------------------------------- connections

Deno.test("keeps an HTTP/1.1 connection open for the next request", async () => {
  const s = await start(hello);
  const client = await Client.connect(s.port);
  try {
    await client.send(get("/first"));
    const [first] = await client.next();
    assert.equal(first.status, 200);
    assert.notEqual(first.headers.get("connection"), "close");
    await client.send(get("/second"));
    const [second] = await client.next();
    assert.equal(second?.body, "hello", "the second request was answered on the same socket");
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("closes the connection after answering a request with Connection: close", async () => {
  const s = await start(hello);
  try {
    const { responses, closed } = await raw(s.port, get("/", "Connection: close"));
    assert.equal(responses[0].body, "hello");
    assert.equal(responses[0].headers.get("connection"), "close");
    assert.ok(closed, "the server closed the connection");
  } finally {
    await s.close();
  }
});

Deno.test("closes an HTTP/1.0 connection after one request unless asked to keep it", async () => {
  const s = await start(hello);
  try {
    const { responses, closed } = await raw(s.port, "GET / HTTP/1.0\r\n\r\n");
    assert.equal(responses[0].body, "hello");
    assert.equal(responses[0].headers.get("connection"), "close");
    assert.ok(closed, "the server closed the connection");
  } finally {
    await s.close();
  }
});

Deno.test("keeps an HTTP/1.0 connection open when asked with Connection: keep-alive", async () => {
  const s = await start(hello);
  const client = await Client.connect(s.port);
  try {
    for (const path of ["/first", "/second"]) {
      await client.send(`GET ${path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
      const [res] = await client.next();
      assert.equal(res?.body, "hello", path);
      assert.equal(res.headers.get("connection"), "keep-alive");
    }
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("answers a pipelined batch of 16 requests in order", async () => {
  const s = await start(async (req) => {
    await sleep(Number(req.path.slice(1)) % 3); // answers that finish out of order must still leave in order
    return new Response(req.path);
  });
  try {
    const paths = Array.from({ length: 16 }, (_, i) => `/${i}`);
    const { responses } = await raw(s.port, paths.map((path) => get(path)).join(""), {
      responses: 16,
    });
    assert.deepEqual(responses.map((res) => res.body), paths);
  } finally {
    await s.close();
  }
});

Deno.test("skips a body the handler never read, so the next pipelined request parses", async () => {
  const seen: string[] = [];
  const s = await start((req) => (seen.push(req.path), new Response("ok")));
  try {
    const hidden = get("/hidden"); // a request's bytes inside a body: they must stay body
    const withLength =
      `POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`;
    const chunked = "POST /b HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`;
    const { responses } = await raw(s.port, withLength + chunked + get("/c"), { responses: 3 });
    assert.deepEqual(responses.map((res) => res.status), [200, 200, 200]);
    assert.deepEqual(seen, ["/a", "/b", "/c"]);
  } finally {
    await s.close();
  }
});

Deno.test("closes the connection after a framing error, leaving the bytes after it unread", async () => {
  const seen: string[] = [];
  const s = await start((req) => (seen.push(req.path), new Response("ok")));
  try {
    const bad = "POST /bad HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n";
    const { responses, closed } = await raw(s.port, bad + get("/after"));
    assert.deepEqual(responses.map((res) => res.status), [400]);
    assert.ok(closed, "the server closed the connection");
    assert.deepEqual(seen, []);
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- the response on the wire

Deno.test("sends a stream chunked to an HTTP/1.1 client", async () => {
  const s = await start(() => new Response(streamOf("a", "bb", "ccc")));
  try {
    const { responses, text } = await raw(s.port, get("/"), { responses: 1 });
    assert.equal(responses[0].headers.get("transfer-encoding"), "chunked");
    assert.equal(responses[0].headers.get("content-length"), null);
    assert.ok(
      text.endsWith("\r\n\r\n1\r\na\r\n2\r\nbb\r\n3\r\nccc\r\n0\r\n\r\n"),
      JSON.stringify(text),
    );
    assert.equal(responses[0].body, "abbccc");
  } finally {
    await s.close();
  }
});

Deno.test("sends a stream to an HTTP/1.0 client as it comes, and ends it by closing", async () => {
  const s = await start(() => new Response(streamOf("a", "bb", "ccc")));
  try {
    const { responses, closed } = await raw(
      s.port,
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    assert.equal(
      responses[0].headers.get("transfer-encoding"),
      null,
      "HTTP/1.0 has no chunked framing",
    );
    assert.equal(responses[0].headers.get("content-length"), null);
    assert.equal(responses[0].headers.get("connection"), "close");
    assert.ok(closed, "the close marks the end of the body");
    assert.equal(responses[0].body, "abbccc");
  } finally {
    await s.close();
  }
});

Deno.test("sends a stream with a declared Content-Length as is, not chunked", async () => {
  const s = await start(() =>
    new Response(streamOf("ab", "cd"), { headers: { "content-length": "4" } })
  );
  try {
    const { responses } = await raw(s.port, get("/"), { responses: 1 });
    assert.equal(responses[0].headers.get("content-length"), "4");
    assert.equal(responses[0].headers.get("transfer-encoding"), null);
    assert.equal(responses[0].body, "abcd");
  } finally {
    await s.close();
  }
});

Deno.test("answers HEAD with GET's Content-Length but no body", async () => {
  const s = await start(new App().get("/", () => "hello"));
  const client = await Client.connect(s.port);
  try {
    await client.send("HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n" + get("/", "Connection: close"));
    assert.ok(await client.closedByServer());
    const text = client.text;
    const [head, rest] = [
      text.slice(0, text.indexOf("\r\n\r\n")),
      text.slice(text.indexOf("\r\n\r\n") + 4),
    ];
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\ncontent-length: 5(\r\n|$)/);
    assert.ok(
      rest.startsWith("HTTP/1.1 200 OK\r\n"),
      `no body after HEAD's head: ${JSON.stringify(rest)}`,
    );
    assert.ok(rest.endsWith("\r\n\r\nhello"), "GET gets the body");
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("sends no body and no Content-Length with 204 and 304, even when the handler gave a body", async () => {
  const s = await start((req) => new Response("ignored", { status: Number(req.path.slice(1)) }));
  try {
    const { text, closed } = await raw(
      s.port,
      get("/204") + get("/304") + get("/200", "Connection: close"),
    );
    assert.ok(closed);
    const heads = text.split("\r\n\r\n");
    assert.equal(heads.length, 4, JSON.stringify(text)); // three heads, then the 200's body
    assert.match(heads[0], /^HTTP\/1\.1 204 No Content\r\n/);
    assert.match(heads[1], /^HTTP\/1\.1 304 Not Modified\r\n/);
    assert.match(heads[2], /^HTTP\/1\.1 200 OK\r\n/);
    for (const head of heads.slice(0, 2)) {
      assert.doesNotMatch(head, /content-length|transfer-encoding/i, head);
    }
    assert.equal(heads[3], "ignored");
  } finally {
    await s.close();
  }
});

Deno.test("sends a Date field in HTTP-date format and lower-case field names", async () => {
  const s = await start(() => new Response("hi", { headers: { "X-Custom-Field": "yes" } }));
  try {
    const { responses } = await raw(s.port, get("/"), { responses: 1 });
    assert.match(
      responses[0].headers.get("date") ?? "",
      /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
    );
    for (const line of responses[0].head.split("\r\n").slice(1)) {
      const name = line.slice(0, line.indexOf(":"));
      assert.equal(name, name.toLowerCase(), line);
    }
  } finally {
    await s.close();
  }
});

Deno.test("sets Content-Length to the byte length of non-ASCII text", async () => {
  const text = "héllo, wörld ✓ 🌍";
  const s = await start(() => new Response(text));
  try {
    const { responses } = await raw(s.port, get("/"), { responses: 1 });
    const bytes = encoder.encode(text);
    assert.equal(responses[0].headers.get("content-length"), String(bytes.length));
    assert.equal(
      responses[0].body,
      new TextDecoder("latin1").decode(bytes),
      "the body is the UTF-8 bytes, all of them",
    );
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- big answers, many answers, and the Date: what the connection's output buffer must get right

/** Where two strings first differ, or -1: a failure message that names an index rather than printing 300 KB. */
function firstDifference(a: string, b: string): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

Deno.test("sends a 300 KB byte body, a 300 KB text body, then a small one, byte-exact on one connection", async () => {
  const bytes = Uint8Array.from({ length: 300_007 }, (_, i) => (i * 131 + (i >> 9)) & 255); // every byte value
  const text = Array.from({ length: 300_011 }, (_, i) => String.fromCharCode(32 + (i * 7) % 95))
    .join(""); // ASCII
  const s = await start((req) =>
    new Response(req.path === "/bytes" ? bytes : req.path === "/text" ? text : "ok")
  );
  const client = await Client.connect(s.port);
  try { // the connection's output buffer grows for each big answer, and shrinks back after it: none may lose a byte
    const expected = {
      "/bytes": new TextDecoder("latin1").decode(bytes),
      "/text": text,
      "/small": "ok",
    };
    for (const [path, body] of Object.entries(expected)) {
      await client.send(get(path));
      const [res] = await client.next();
      assert.equal(res?.status, 200, path);
      assert.equal(res.headers.get("content-length"), String(body.length), path);
      assert.equal(firstDifference(res.body, body), -1, `${path}: the body differs at this index`);
    }
    assert.ok(client.text.endsWith("\r\n\r\nok"), "nothing came after the last body");
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("turns Nagle's algorithm off on each connection before its first write", async () => {
  const s = await start((req) => new Response(req.path === "/stream" ? streamOf("a", "b") : "hi"));
  const probe = await connect(s.port);
  const proto = Object.getPrototypeOf(probe), { write, setNoDelay } = proto; // the class of every TCP connection
  probe.close();
  const events: string[] = []; // what the server's ends of the connections did, in order
  const ours = (conn: Deno.TcpConn) => conn.localAddr.port === s.port; // not the test's client ends
  proto.write = function (this: Deno.TcpConn, data: Uint8Array) {
    if (ours(this)) events.push("write");
    return write.call(this, data);
  };
  proto.setNoDelay = function (this: Deno.TcpConn, on?: boolean) {
    if (ours(this)) events.push(`setNoDelay(${on})`);
    return setNoDelay.call(this, on);
  };
  try { // with Nagle's algorithm on, a write after a write may wait 40 ms for the client's delayed ACK
    const client = await Client.connect(s.port);
    try {
      for (const path of ["/one", "/two", "/three"]) {
        await client.send(get(path));
        assert.equal((await client.next())[0]?.body, "hi", path);
      }
    } finally {
      client.close();
    }
    assert.deepEqual(
      events.splice(0),
      ["setNoDelay(true)", "write", "write", "write"],
      "kept alive",
    );
    const streamed = await raw(s.port, get("/stream", "Connection: close"));
    assert.equal(streamed.responses[0]?.body, "ab");
    assert.deepEqual(events.slice(0, 2), ["setNoDelay(true)", "write"], "a stream");
  } finally {
    [proto.write, proto.setNoDelay] = [write, setNoDelay];
    await s.close();
  }
});

Deno.test("sends a 1 MiB ASCII text body and a 100 KB non-ASCII one, pipelined, byte-exact with byte-length Content-Lengths", async () => {
  const ascii = "".padEnd(
    1024 * 1024,
    Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join(""),
  );
  const accents = "é".repeat(100_000); // one UTF-16 unit each, two bytes in UTF-8: 200,000 bytes
  const s = await start((req) => new Response(req.path === "/ascii" ? ascii : accents));
  const client = await Client.connect(s.port);
  try { // long text is encoded to UTF-8 before it is written: its length on the wire is in bytes, not characters
    await client.send(get("/ascii") + get("/accents"));
    const [first, second] = await client.next(2);
    assert.equal(first?.headers.get("content-length"), String(1024 * 1024));
    assert.equal(firstDifference(first.body, ascii), -1, "/ascii: the body differs at this index");
    assert.equal(second?.headers.get("content-length"), "200000");
    assert.equal(
      firstDifference(second.body, "\xc3\xa9".repeat(100_000)),
      -1,
      "/accents: the body differs here",
    );
    assert.ok(client.text.endsWith("\xc3\xa9\xc3\xa9"), "nothing came after the last body");
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("answers 100 pipelined requests, over 64 KiB of answers in all, in order and intact", async () => {
  const bodyOf = (i: number) => `${i}:`.padEnd(1500, String.fromCharCode(97 + i % 26)); // 100 of 1.5 KB: ~150 KB
  const s = await start((req) => new Response(bodyOf(Number(req.path.slice(1)))));
  try {
    const requests = Array.from({ length: 100 }, (_, i) => get(`/${i}`)).join(""); // sent in one write
    const { responses } = await raw(s.port, requests, { responses: 100 });
    assert.equal(responses.length, 100);
    responses.forEach((res, i) => assert.equal(res.body, bodyOf(i), `answer ${i}`));
  } finally {
    await s.close();
  }
});

Deno.test("sends an answer over 64 KiB at once, while the next pipelined request is still being handled", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const big = "b".repeat(100_000);
  const s = await start(async (req) =>
    req.path === "/slow" ? (await gate, new Response("slow")) : new Response(big)
  );
  const client = await Client.connect(s.port);
  try { // a small answer may wait in the buffer for the next one; a big one goes out as soon as it is written
    await client.send(get("/big") + get("/slow"));
    const [first] = await client.next(1, { timeoutMs: 2000 });
    assert.equal(first?.body, big, "the big answer arrived before the slow one was done");
    release();
    const [second] = await client.next();
    assert.equal(second?.body, "slow");
  } finally {
    release();
    client.close();
    await s.close();
  }
});

const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

Deno.test("sends a Date that keeps up with the clock: two answers 1.3 s apart carry different, current dates", async () => {
  const s = await start(hello);
  const client = await Client.connect(s.port);
  try {
    const dates: string[] = [];
    for (const pause of [0, 1300]) {
      await sleep(pause);
      await client.send(get("/"));
      const [res] = await client.next();
      const date = res?.headers.get("date") ?? "";
      assert.match(date, IMF_FIXDATE);
      assert.ok(
        Math.abs(Date.parse(date) - Date.now()) < 2000,
        `${date} is not the time now, ${new Date()}`,
      );
      dates.push(date);
    }
    assert.notEqual(dates[0], dates[1], "the second answer's Date moved on");
  } finally {
    client.close();
    await s.close();
  }
});

// ---------------------------------------------------------------- failures

Deno.test("answers a throwing handler with 500, shows no message or stack, and keeps serving", async () => {
  let handlerThrows = true;
  const s = await start(() => {
    if (handlerThrows) throw new Error("secret: the database password is hunter2");
    return new Response("fine");
  });
  try {
    const logged = await capturingStderr(async () => {
      const { responses, text } = await raw(s.port, get("/"), { responses: 1 });
      assert.equal(responses[0].status, 500);
      assert.equal(responses[0].body, "Internal Server Error");
      assert.doesNotMatch(text, /secret|hunter2|Error:|at .*\.ts/);
    });
    assert.match(logged, /hunter2/, "the details go to the server's log");
    handlerThrows = false;
    assert.equal((await raw(s.port, get("/"), { responses: 1 })).responses[0]?.body, "fine");
  } finally {
    await s.close();
  }
});

Deno.test("answers an app whose route throws with 500 that leaks nothing, and keeps serving", async () => {
  const app = new App()
    .get("/boom", () => {
      throw new TypeError("Cannot read properties of undefined (reading 'secretField')");
    })
    .get("/ok", () => "ok");
  const s = await start(app);
  try {
    const logged = await capturingStderr(async () => {
      const { responses, text } = await raw(s.port, get("/boom") + get("/ok"), { responses: 2 });
      assert.equal(responses[0].status, 500);
      assert.doesNotMatch(text, /secretField|TypeError/);
      assert.equal(responses[1].body, "ok", "the same connection goes on");
    });
    assert.match(logged, /secretField/);
  } finally {
    await s.close();
  }
});

Deno.test("shrugs off clients that hang up mid-head or mid-body, and serves the next one", async () => {
  const seen: string[] = [];
  const s = await start((req) => (seen.push(req.path), new Response("ok")));
  try {
    for (
      const partial of [
        "GET /half-a-head HTTP/1.1\r\nHost: loc",
        "POST /half-a-body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789",
      ]
    ) {
      const conn = await connect(s.port);
      await writeAll(conn, encoder.encode(partial));
      conn.close();
    }
    assert.equal((await raw(s.port, get("/whole"), { responses: 1 })).responses[0]?.body, "ok");
    assert.ok(!seen.includes("/half-a-head"), "a cut-short head never reaches the handler");
    assert.ok(seen.includes("/whole"), "the next client is served");
  } finally {
    await s.close();
  }
});

Deno.test("cancels a never-ending stream when its client hangs up, and serves the next one", async () => {
  let cancelled!: () => void;
  const wasCancelled = new Promise<void>((resolve) => cancelled = resolve);
  const s = await start((req) => {
    if (req.path !== "/forever") return new Response("ok");
    return new Response(
      new ReadableStream<Uint8Array>({
        pull: (controller) => controller.enqueue(new Uint8Array(1024).fill(120)),
        cancel: () => cancelled(),
      }),
    );
  });
  try {
    const client = await Client.connect(s.port);
    await client.send(get("/forever"));
    assert.ok(await client.until("xxxx"), "the stream has started");
    client.close();
    await within(wasCancelled, 5000, "the stream's cancel()");
    assert.equal((await raw(s.port, get("/"), { responses: 1 })).responses[0]?.body, "ok");
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- time and number limits

Deno.test("answers a head that stalls past headersTimeoutMs with 408, and closes the connection", async () => {
  const s = await start(hello, { headersTimeoutMs: 300 });
  try {
    const { responses, closed } = await raw(s.port, "GET / HTTP/1.1\r\nHost: localhost\r\n");
    assert.equal(responses[0]?.status, 408, "the client is told why (RFC 9110 15.5.9)");
    assert.equal(responses[0].headers.get("connection"), "close");
    assert.ok(closed, "the server closed the connection");
  } finally {
    await s.close();
  }
});

Deno.test("cuts off a head that trickles in a byte at a time past headersTimeoutMs", async () => {
  const s = await start(hello, { headersTimeoutMs: 300 });
  try {
    const slow = get("/", ...Array.from({ length: 20 }, (_, i) => `X-Slow-${i}: ${i}`)); // ~300 bytes: 15 s at 50 ms each
    const { responses, closed } = await raw(s.port, slow, {
      split: 1,
      pauseMs: 50,
      timeoutMs: 5000,
    });
    assert.equal(
      responses[0]?.status,
      408,
      "the deadline is for the whole head, not for each byte",
    );
    assert.ok(closed, "the server hung up long before the ~300 bytes could arrive");
  } finally {
    await s.close();
  }
});

Deno.test("cuts off a request line that is still trickling in past headersTimeoutMs", async () => {
  const s = await start(hello, { headersTimeoutMs: 300 });
  const client = await Client.connect(s.port);
  try {
    let hungUp = false;
    const reading = client.closedByServer(15_000).then((closed) => hungUp = closed);
    const endless = "GET /" + "a".repeat(150); // no CRLF: each byte is "more of the same line"
    let sent = 0;
    try {
      for (; sent < endless.length && !hungUp; sent++) {
        await client.send(endless[sent]);
        await sleep(20);
      }
    } catch { /* the server hung up while we wrote: what we are waiting for */ }
    await reading;
    assert.ok(hungUp, "the server hung up");
    assert.ok(
      sent < endless.length,
      `the server waited until the client had sent all ${sent} bytes`,
    );
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("closes a kept-alive connection that stays idle past idleTimeoutMs", async () => {
  const s = await start(hello, { idleTimeoutMs: 200 });
  const client = await Client.connect(s.port);
  try {
    await client.send(get("/"));
    assert.equal((await client.next())[0]?.body, "hello");
    assert.ok(await client.closedByServer(3000), "the server closed the idle connection");
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("closes a connection whose body is still incomplete after bodyTimeoutMs", async () => {
  const seen: string[] = [];
  const s = await start((req) => (seen.push(req.path), new Response("ok")), { bodyTimeoutMs: 200 });
  const client = await Client.connect(s.port);
  try {
    await client.send("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n012");
    assert.ok(await client.closedByServer(3000), "the server closed the stalled connection");
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("answers a connection beyond maxConnections with 503, and closes it", async () => {
  const s = await start(hello, { maxConnections: 1 });
  const first = await Client.connect(s.port);
  try {
    await first.send(get("/"));
    assert.equal((await first.next())[0]?.body, "hello", "the first connection is served");
    const { responses, closed } = await raw(s.port, get("/"));
    assert.equal(responses[0]?.status, 503);
    assert.equal(responses[0].headers.get("connection"), "close");
    assert.ok(closed);
    await first.send(get("/"));
    assert.equal((await first.next())[0]?.body, "hello", "the first connection is still served");
  } finally {
    first.close();
    await s.close();
  }
});

// ---------------------------------------------------------------- listening and closing

Deno.test("close() finishes the request in flight, closes idle connections, and refuses new ones", async () => {
  let release!: () => void, started!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const inHandler = new Promise<void>((resolve) => started = resolve);
  const s = await start(async (req) => {
    if (req.path === "/slow") (started(), await gate);
    return new Response(`done ${req.path}`);
  });
  const idle = await Client.connect(s.port), busy = await Client.connect(s.port);
  let closing: Promise<void> | undefined;
  try {
    await idle.send(get("/quick"));
    assert.equal((await idle.next())[0]?.body, "done /quick");
    await busy.send(get("/slow"));
    await within(inHandler, 5000, "the slow handler's start");

    closing = s.close();
    const refused = await Deno.connect({ hostname: "127.0.0.1", port: s.port }).then((
      conn,
    ) => (conn.close(), false))
      .catch(() => true);
    assert.ok(refused, "a new connection is refused");
    assert.ok(await idle.closedByServer(3000), "the idle connection is closed");

    release();
    const [res] = await busy.next();
    assert.equal(res?.body, "done /slow", "the request in flight gets its response");
    assert.equal(res.headers.get("connection"), "close");
    await within(closing, 5000, "close()");
    assert.ok(await busy.closedByServer(3000));
  } finally {
    release();
    idle.close();
    busy.close();
    await (closing ?? s.close());
  }
});

Deno.test("listen() on port 0 reports the port it really bound", async () => {
  const server = new Server(hello, { port: 0, hostname: "127.0.0.1", log: false });
  try {
    const { port, hostname } = await server.listen();
    assert.ok(port > 0);
    assert.equal(hostname, "127.0.0.1");
    assert.equal((await raw(port, get("/"), { responses: 1 })).responses[0]?.body, "hello");
  } finally {
    await server.close();
  }
});

Deno.test("app.listen() on port 0 prints the real port, and serves on it", async () => {
  let server: Server | undefined;
  try {
    const printed = await capturingStderr(async () => {
      server = await new App().get("/", () => "from the app").listen({
        port: 0,
        hostname: "127.0.0.1",
      });
    });
    const port = Number(/Listening on http:\/\/localhost:(\d+)\//.exec(printed)?.[1]);
    assert.ok(port > 0, printed);
    const logged = await capturingStderr(async () => {
      assert.equal(
        (await raw(port, get("/"), { responses: 1 })).responses[0]?.body,
        "from the app",
      );
      await server?.close();
    });
    assert.match(logged, /GET \/ 200/, "the access log has a line for the request");
  } finally {
    await server?.close().catch(() => {});
  }
});

// ---------------------------------------------------------------- a real client

/** Runs curl with `args`; returns what it printed. */
async function curl(...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await runCommand("curl", ["-sS", "--max-time", "5", ...args]);
  assert.equal(code, 0, stderr);
  return stdout;
}

Deno.test("answers curl: a GET, a POST, HTTP/1.0, and a chunked upload", async () => {
  const app = new App()
    .get("/hello", () => "Hello, curl!")
    .post("/echo", async (req: Request) => ({
      framing: req.headers.get("transfer-encoding") ??
        `content-length ${req.headers.get("content-length")}`,
      type: req.headers.get("content-type"),
      body: await req.text(),
    }));
  const s = await start(app);
  try {
    assert.equal(await curl(`${s.url}/hello`), "Hello, curl!");
    assert.deepEqual(JSON.parse(await curl("-d", "name=Ada", `${s.url}/echo`)), {
      framing: "content-length 8",
      type: "application/x-www-form-urlencoded",
      body: "name=Ada",
    });
    const http10 = await curl("-i", "--http1.0", `${s.url}/hello`);
    assert.match(http10, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(http10, /\r\nconnection: close\r\n/);
    assert.ok(http10.endsWith("\r\n\r\nHello, curl!"), http10);
    const upload = "a chunked upload ".repeat(1000);
    const chunked = await curl(
      "-H",
      "Transfer-Encoding: chunked",
      "--data-binary",
      upload,
      `${s.url}/echo`,
    );
    assert.deepEqual(JSON.parse(chunked), {
      framing: "chunked",
      type: "application/x-www-form-urlencoded",
      body: upload,
    });
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- trace

Deno.test("traces request and response heads with their \\r\\n shown", async () => {
  const s = await start(hello, { trace: true });
  try {
    const printed = await capturingStderr(async () => {
      await raw(s.port, get("/traced", "X-Trace-Me: yes"), { responses: 1 });
    });
    assert.ok(printed.includes("GET /traced HTTP/1.1\\r\\n"), printed);
    assert.ok(printed.includes("X-Trace-Me: yes\\r\\n"), printed);
    assert.ok(printed.includes("HTTP/1.1 200 OK\\r\\n"), printed);
    assert.ok(printed.includes("content-length: 5\\r\\n"), printed);
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- a body the handler never reads

Deno.test("survives a body that goes wrong while its handler waits without reading it: too big, or badly chunked", async () => {
  const s = await start(async () => (await sleep(100), new Response("answered without reading")), {
    maxBodyBytes: 16,
  });
  try {
    const tooBig = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n";
    const badlyChunked =
      "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    for (const request of [tooBig, badlyChunked]) { // each body fails while the handler sleeps: no one awaits it yet
      const { responses } = await raw(s.port, request, { responses: 1 });
      const res = responses[0];
      assert.ok(res, `no answer to ${JSON.stringify(request)}`);
      const status = res.status;
      assert.ok(
        res.body === "answered without reading" || (status >= 400 && status < 500),
        `${status} ${res.body}`,
      );
      assert.equal(
        res.headers.get("connection"),
        "close",
        "the bytes after a broken body can't be trusted",
      );
    }
    assert.equal(
      (await raw(s.port, get("/"), { responses: 1 })).responses[0]?.status,
      200,
      "still serving",
    );
  } finally {
    await s.close();
  }
});

/** Answer `i` to a GET for "/i": 60 KB, its number first, so a missing, repeated or swapped answer shows. */
const sixtyKB = (i: number) => `${i}:`.padEnd(60_000, String.fromCharCode(97 + i % 26));

/**
 * Pipelines `gets` GETs for "/0", "/1"... and a POST with Connection: close and a 5-byte body, which goes with its
 * head or, given `bodyLateMs`, that long after it. Then a slow reader: it waits 200 ms, which lets the socket's
 * buffers fill, and reads 4 KB at a time, a millisecond apart, until the server closes (or resets) the connection.
 */
async function slowReaderAfterClosingPost(port: number, gets: number, bodyLateMs?: number) {
  const conn = await connect(port);
  const post =
    "POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 5\r\n\r\n";
  let text = "", ended = "closed by the server", late: Promise<unknown> = Promise.resolve();
  try {
    const requests = Array.from({ length: gets }, (_, i) => get(`/${i}`)).join("") + post;
    if (bodyLateMs === undefined) await writeAll(conn, encoder.encode(requests + "hello"));
    else {
      await writeAll(conn, encoder.encode(requests));
      late = sleep(bodyLateMs).then(() => writeAll(conn, encoder.encode("hello"))).catch(() => {});
    }
    await sleep(200);
    const piece = new Uint8Array(4096);
    for (
      let n;
      (n = await within(conn.read(piece), 5000, "the next piece or the close")) !== null;
      await sleep(1)
    ) {
      text += new TextDecoder("latin1").decode(piece.subarray(0, n));
    }
  } catch (err) {
    ended = err instanceof Deno.errors.ConnectionReset ? "reset" : String(err); // a reset loses what we had not read
  } finally {
    await late;
    conn.close();
  }
  return { text, ended };
}

Deno.test("answers a slow reader's pipelined requests once each, in order, then closes, when the last is a closing POST whose body goes unread", async () => {
  const s = await start((req) =>
    req.method === "POST"
      ? new Response("not read", { status: 401 })
      : new Response(sixtyKB(Number(req.path.slice(1))))
  );
  try {
    const { text, ended } = await slowReaderAfterClosingPost(s.port, 7); // ~420 KB of answers, more than one flush
    const responses = parseAll(text);
    assert.deepEqual(responses.map((res) => res.status), [200, 200, 200, 200, 200, 200, 200, 401]);
    responses.slice(0, 7).forEach((res, i) =>
      assert.ok(res.body === sixtyKB(i), `answer ${i} is not /${i}'s`)
    );
    assert.ok(text.endsWith("\r\n\r\nnot read"), "nothing came after the last answer");
    assert.equal(ended, "closed by the server");
  } finally {
    await s.close();
  }
});

Deno.test("sends every answer it owes before closing, with no reset, when a closing POST's body comes a little late", async () => {
  const s = await start((req) =>
    req.method === "POST"
      ? new Response("not read", { status: 401 })
      : new Response(sixtyKB(Number(req.path.slice(1))))
  );
  try { // the server reads the late body before it closes: a close on unread bytes sends a reset, which loses answers
    const { text, ended } = await slowReaderAfterClosingPost(s.port, 7, 100);
    const responses = parseAll(text);
    assert.equal(
      ended,
      "closed by the server",
      `after ${responses.length} answers, ${text.length} bytes`,
    );
    assert.deepEqual(responses.map((res) => res.status), [200, 200, 200, 200, 200, 200, 200, 401]);
    responses.slice(0, 7).forEach((res, i) =>
      assert.ok(res.body === sixtyKB(i), `answer ${i} is not /${i}'s`)
    );
    assert.ok(text.endsWith("\r\n\r\nnot read"), "nothing came after the last answer");
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- more on limits and time

Deno.test("keeps the default maxBodyBytes when the option is given as undefined, to a Server or an App", async () => {
  const size = 2 * 1024 * 1024; // over the default 1 MiB
  const big = `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${size}\r\n\r\n${
    "x".repeat(size)
  }`;
  const s = await start(async (req) => new Response(await req.text()), { maxBodyBytes: undefined }); // it reads
  try {
    assert.equal((await raw(s.port, big, { responses: 1 })).responses[0]?.status, 413, "a Server");
  } finally {
    await s.close();
  }
  const server = await new App({ maxBodyBytes: undefined }).post(
    "/",
    async (req) => await req.text(),
  )
    .listen({ port: 0, hostname: "127.0.0.1", log: false });
  try {
    assert.equal(
      (await raw(server.addr!.port, big, { responses: 1 })).responses[0]?.status,
      413,
      "an App",
    );
  } finally {
    await server.close();
  }
});

Deno.test("cuts off a body that trickles in a byte at a time past bodyTimeoutMs", async () => {
  const s = await start(async (req) => new Response(await req.text()), { bodyTimeoutMs: 300 });
  const client = await Client.connect(s.port);
  try {
    let hungUp = false;
    const reading = client.closedByServer(15_000).then((closed) => hungUp = closed);
    const body = "b".repeat(100); // 5 s at 50 ms a byte
    await client.send(
      `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\n\r\n${
        body.slice(0, 3)
      }`,
    );
    let sent = 3;
    try {
      for (; sent < body.length && !hungUp; sent++) {
        await sleep(50);
        await client.send(body[sent]);
      }
    } catch { /* the server hung up while we wrote: what we are waiting for */ }
    await reading;
    assert.ok(hungUp, "the server hung up");
    assert.ok(
      sent < body.length,
      `the deadline is for the whole body, yet all ${sent} bytes went in`,
    );
    assert.equal(
      (await raw(s.port, get("/"), { responses: 1 })).responses[0]?.status,
      200,
      "still serving",
    );
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("logs a client cut off mid-body as a 408, with no 500 and no stack trace", async () => {
  const logged = await capturingStderr(async () => {
    const s = await start(async (req) => new Response(await req.text()), {
      bodyTimeoutMs: 200,
      log: true,
    });
    const client = await Client.connect(s.port);
    try {
      await client.send(
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n012",
      );
      assert.ok(await client.closedByServer(3000), "the server closed the stalled connection");
    } finally {
      client.close();
      await s.close(); // waits for the connection to end, and so for its access-log line
    }
  });
  assert.match(logged, /^POST \/upload 408 /m, logged);
  assert.doesNotMatch(logged, /Internal Server Error|^ {4}at /m, logged);
});

// ---------------------------------------------------------------- more on the response on the wire

Deno.test("sends no byte past a stream's declared Content-Length, and closes the connection", async () => {
  const forged = "HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nforged"; // what a client would read as a second answer
  const s = await start((req) =>
    req.path === "/lying"
      ? new Response(streamOf("hello", forged), { headers: { "content-length": "5" } })
      : new Response("ok")
  );
  try {
    let result: Awaited<ReturnType<typeof raw>> | undefined;
    const logged = await capturingStderr(async () =>
      void (result = await raw(s.port, get("/lying")))
    );
    const { text, closed } = result!;
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /\r\ncontent-length: 5\r\n/);
    assert.ok(body.length <= 5, `${body.length} body bytes: ${JSON.stringify(body)}`);
    assert.equal(
      text.split("HTTP/1.1 ").length,
      2,
      `one status line only: ${JSON.stringify(text)}`,
    );
    assert.ok(
      closed,
      "the server closed the connection: the client can't wait for bytes that will not come",
    );
    assert.match(logged, /over its 5 bytes/, "the server's log says why");
    assert.equal(
      (await raw(s.port, get("/"), { responses: 1 })).responses[0]?.body,
      "ok",
      "still serving",
    );
  } finally {
    await s.close();
  }
});

Deno.test("cancels a stream response whose client left before its head could be written", async () => {
  let cancelled!: () => void, reset!: () => void;
  const wasCancelled = new Promise<void>((resolve) => cancelled = resolve);
  const hasReset = new Promise<void>((resolve) => reset = resolve);
  const s = await start(async (req) => {
    if (req.path !== "/stream") return new Response("ok");
    await hasReset; // the client is gone before the head is written
    return new Response(
      new ReadableStream<Uint8Array>({
        pull: (controller) => controller.enqueue(new Uint8Array(1024).fill(120)),
        cancel: () => cancelled(),
      }),
    );
  });
  try {
    // A reset (RST), not a polite close: the server's next write then fails at once.
    const socket = net.connect(s.port, "127.0.0.1");
    await within(new Promise((ok) => socket.on("connect", ok)), 5000, "the connection");
    socket.write(get("/stream"));
    await sleep(100); // the request is read and the handler waits
    socket.resetAndDestroy();
    await sleep(100);
    reset();
    await within(wasCancelled, 5000, "the stream's cancel()");
    assert.equal(
      (await raw(s.port, get("/"), { responses: 1 })).responses[0]?.status,
      200,
      "still serving",
    );
  } finally {
    reset();
    await s.close();
  }
});

Deno.test("close() lets a response being written finish: a slow reader gets all 20 MiB", async () => {
  const size = 20 * 1024 * 1024; // far more than the socket buffers hold: the server is still writing when close() comes
  const s = await start(() => new Response(new Uint8Array(size).fill(120)));
  const conn = await connect(s.port);
  let closing: Promise<void> | undefined, closed = false;
  try {
    await writeAll(conn, encoder.encode(get("/big")));
    const buf = new Uint8Array(64 * 1024);
    let head = "", received = 0;
    while (!head.includes("\r\n\r\n")) {
      const n = await within(conn.read(buf), 5000, "the head");
      assert.ok(n !== null, "the server closed before the head");
      head += new TextDecoder("latin1").decode(buf.subarray(0, n));
    }
    received = head.length - head.indexOf("\r\n\r\n") - 4;
    closing = s.close().then(() => void (closed = true));
    for (
      let n;
      (n = await within(conn.read(buf), 5000, "the rest of the body")) !== null;
      received += n
    ) {
      await sleep(1); // a slow reader
    }
    assert.match(head, new RegExp(`\r\ncontent-length: ${size}\r\n`));
    assert.equal(received, size, "every byte arrived before the server closed the connection");
    await within(closing, 5000, "close()");
    assert.ok(closed);
  } finally {
    conn.close();
    await (closing ?? s.close());
  }
});

Deno.test("keeps accepting after clients that reset their connections before the server accepts them", async () => {
  // A connection reset before accept() makes the accept fail ("not connected"): one such client once stopped all
  // accepting. The server is kept busy while another process connects and resets, so that the accepts come after.
  const s = await start((req) => {
    for (const end = Date.now() + (req.path === "/busy" ? 1000 : 0); Date.now() < end;); // blocks the event loop
    return new Response("still here");
  });
  try {
    const resets = `import net from "node:net";
      await new Promise((ok) => setTimeout(ok, 200));
      for (let i = 0; i < 5; i++) {
        const socket = net.connect(${s.port}, "127.0.0.1");
        await new Promise((ok) => socket.on("connect", () => ok(socket.resetAndDestroy())));
      }`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", resets],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await raw(s.port, get("/busy"), { responses: 1 }); // the child resets its connections while this one is answered
      assert.equal((await exitWithin(child, 10_000, "the resetting child")).success, true);
    } finally {
      await stopProcess(child, "the resetting child"); // it has exited already, unless a step above failed
    }
    const { responses } = await within(
      raw(s.port, get("/"), { responses: 1 }),
      5000,
      "an answer after the resets",
    );
    assert.equal(responses[0]?.body, "still here");
  } finally {
    await s.close();
  }
});

Deno.test("after a 1 MiB body, a head that comes byte by byte is found among the bytes read", async () => {
  // The buffer stays big after a big body, with stale bytes (an LF among them) past the ones read: the search for the
  // head's end must stop at the bytes read (past them, it was right but scanned a MiB for every byte that came).
  const s = await start(async (req) => new Response(`${req.path} ${(await req.bytes()).length}`), {
    maxBodyBytes: 2 ** 21,
  });
  const client = await Client.connect(s.port);
  try {
    const body = "x".repeat(2 ** 20 - 1) + "\n";
    await client.send(
      `POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}G`,
    );
    for (const byte of "ET /next HTTP/1.1\r\nHost: x\r\n\r\n") await client.send(byte); // one write per byte
    assert.deepEqual((await client.next(2)).map((r) => r.body), [`/big ${body.length}`, "/next 0"]);
  } finally {
    client.close();
    await s.close();
  }
});

// ---------------------------------------------------------------- found in review

Deno.test("sends a 20 MiB answer whole to a client that reads slowly but steadily, past idleTimeoutMs", async () => {
  // The deadline is for each write's progress, not for the whole answer: a client that reads is
  // never cut off, however long the answer takes.
  const big = new Uint8Array(20 << 20).fill(97);
  const s = await start(() => new Response(big), { idleTimeoutMs: 300 });
  const conn = await connect(s.port);
  try {
    await writeAll(conn, encoder.encode(get("/", "Connection: close")));
    const piece = new Uint8Array(256 * 1024);
    let received = 0;
    const started = Date.now();
    while (true) {
      const n = await within(conn.read(piece), 5000, "the next piece of the answer");
      if (n === null) break;
      received += n;
      await sleep(5); // about 50 MB/s at most: 20 MiB take well over 300 ms
    }
    assert.ok(Date.now() - started > 300, "the answer took longer than idleTimeoutMs");
    assert.ok(received > 20 << 20, `all of it came: ${received} bytes`);
  } finally {
    conn.close();
    await s.close();
  }
});

Deno.test("keeps a connection whose Connection field only looks like close: tokens are compared whole", async () => {
  const s = await start(() => new Response("ok"));
  try {
    const requests = get("/one", "Connection: x-close-later") + get("/two");
    const { responses } = await raw(s.port, requests, { responses: 2 });
    assert.equal(responses.length, 2);
    assert.equal(responses[0].headers.get("connection"), null, "kept alive");
  } finally {
    await s.close();
  }
});

Deno.test("answers 500 when a bare Server's handler gives something else than a Response, and serves on", async () => {
  const handler = (
    req: Request,
  ) => (req.path === "/bad" ? "text, not a Response" : new Response("ok"));
  const s = await start(handler as unknown as (req: Request) => Response);
  try {
    const logged = await capturingStderr(async () => {
      const { responses } = await raw(s.port, get("/bad") + get("/good"), { responses: 2 });
      assert.deepEqual(responses.map((res) => res.status), [500, 200]);
    });
    assert.match(logged, /not a Response/);
  } finally {
    await s.close();
  }
});

Deno.test("forgets a connection whose socket fails before its first wait: maxConnections is not used up", async () => {
  const server = new Server(() => new Response("ok"), { maxConnections: 1, log: false });
  // A socket that fails at once, as a reset one may on some systems.
  const broken = {
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
    setNoDelay() {
      throw new Error("not connected");
    },
    read: () => Promise.resolve(null),
    write: (bytes: Uint8Array) => Promise.resolve(bytes.length),
    close() {},
  } as unknown as Socket;
  const logged = await capturingStderr(async () => {
    for (let i = 0; i < 3; i++) await within(server.serve(broken), 2000, "a broken socket's end");
  });
  assert.match(logged, /not connected/);
  const { port } = await server.listen();
  try {
    const { responses } = await raw(port, get("/"), { responses: 1 });
    assert.equal(responses[0]?.status, 200, "not a 503: the broken connections were let go");
  } finally {
    await server.close();
  }
});

Deno.test("listen() rejects, with one line that names the port and --port, when the port is in use", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const server = new Server(() => new Response("x"), {
      hostname: "127.0.0.1",
      port: taken.addr.port,
    });
    const listening = server.listen(); // a rejection, not a throw
    await assert.rejects(listening, (err: Error) => {
      assert.equal(
        err.message,
        `Port ${taken.addr.port} is in use: stop what runs there, or use --port N`,
      );
      assert.equal(err.stack, err.message, "no stack trace: the message says all");
      return true;
    });
    // Run as a program, that is all it prints: one line, and no "    at ..." lines.
    const script = `import { App } from "${new URL("../mod.ts", import.meta.url)}";\n` +
      `await new App().listen({ hostname: "127.0.0.1", port: ${taken.addr.port} });`;
    const { code, stderr } = await runCommand(Deno.execPath(), ["eval", script]);
    assert.notEqual(code, 0);
    assert.match(
      stderr,
      new RegExp(`Port ${taken.addr.port} is in use: stop what runs there, or use --port N`),
    );
    assert.doesNotMatch(stderr, /^\s+at /m, stderr);
  } finally {
    taken.close();
  }
});
