// The request head, scanned in the buffer: its limits to the byte, heads split at awkward places, pipelining, a bare LF
// hidden behind a body's last CR, heads that never end. Then the Response.headers and app.fetch changes that came
// with it, and streams on a kept-alive connection between plain answers.
import assert from "node:assert/strict";
import { App, type Request, Response, type ServerOptions } from "../mod.ts";
import { Client, encoder, get, type Parsed, raw, sleep, start, within } from "./helpers.ts";

/** Answers with what the server parsed, as JSON: the handler's view of the request. */
async function echo(req: Request): Promise<Response> {
  return Response.json({
    path: req.path,
    headers: Object.fromEntries(req.headers),
    body: await req.text(),
  });
}

type Echoed = { path: string; headers: Record<string, string>; body: string };

/** The JSON an echo answered with; the answer must be a 200. */
function echoed(res: Parsed | undefined): Echoed {
  assert.ok(res, "no response");
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body);
}

/** A head: a request line, field lines, and the blank line that ends it. */
const head = (requestLine: string, fields: string[]) =>
  requestLine + "\r\n" + fields.map((field) => field + "\r\n").join("") + "\r\n";

/**
 * Sends `pieces` on a connection of its own, each in its own write with a pause before the next (so that the server
 * reads them apart), and reads `count` answers, or fewer if the server closes first. It stops writing once they are in,
 * or once the server has hung up.
 */
async function inPieces(
  port: number,
  pieces: Iterable<string>,
  count = 1,
): Promise<{ responses: Parsed[]; closed: boolean }> {
  const client = await Client.connect(port);
  try {
    let ended = false;
    const reading = client.next(count, { timeoutMs: 10_000 }).finally(() => ended = true);
    for (const piece of pieces) {
      if (ended) break;
      try {
        await client.send(piece);
      } catch {
        break; // the server hung up while we wrote: the answer says why
      }
      await sleep(5);
    }
    const responses = await within(reading, 5000, "the answers");
    const closing = responses.at(-1)?.headers.get("connection") === "close"; // else it is kept open: don't wait
    return { responses, closed: closing && await client.closedByServer(5000) };
  } finally {
    client.close();
  }
}

/** `request` cut into one-byte pieces. */
const bytes = (request: string) => [...request];

/** How a request is written: in one write, or one byte per write. */
const MODES = [["in one write", (request: string) => [request]], ["byte by byte", bytes]] as const;

/** Asserts the answer to `pieces` is a refusal with `status` that closes the connection. */
async function assertRefused(
  port: number,
  pieces: Iterable<string>,
  status: number,
  what: string,
): Promise<void> {
  const { responses, closed } = await inPieces(port, pieces);
  assert.equal(
    responses[0]?.status,
    status,
    `${what}: got ${responses[0]?.status} ${responses[0]?.body}`,
  );
  assert.equal(responses[0].headers.get("connection"), "close", what);
  assert.ok(closed, `${what}: the server closed the connection`);
}

// Small limits, so that the boundaries are easy to reach and to count.
const LIMITS: ServerOptions = { maxRequestLineBytes: 64, maxHeaderBytes: 128, maxHeaderCount: 4 };

/** A request line of exactly `length` bytes, its CRLF not counted. */
const requestLine = (length: number, path = "/") =>
  `GET ${path}${"a".repeat(length - 13 - path.length)} HTTP/1.1`;

/** Field lines whose section is exactly `size` bytes: each line and the CRLF between it and the next, not the last. */
function fieldsOfSize(size: number, lines = 2): string[] {
  const fields = ["Host: x", ...Array.from({ length: lines - 2 }, (_, i) => `X-${i}: ${i}`)];
  const used = fields.reduce((n, field) => n + field.length + 2, 0) + "X-Pad: ".length; // + the last line's start
  const pad = "X-Pad: " + "p".repeat(size - used);
  return [...fields, pad];
}

/** `count` field lines: Host and then small ones. */
const fieldsCounted = (
  count: number,
) => ["Host: x", ...Array.from({ length: count - 1 }, (_, i) => `X-F${i}: ${i}`)];

// ---------------------------------------------------------------- limits, to the byte

Deno.test("a request line of exactly maxRequestLineBytes is served, one byte more gets 414, in one write or byte by byte", async () => {
  const s = await start(echo, LIMITS);
  try {
    assert.equal(requestLine(64).length, 64);
    for (const [mode, pieces] of MODES) {
      const { responses } = await inPieces(
        s.port,
        pieces(head(requestLine(64, "/exact"), ["Host: x"])),
      );
      assert.ok(echoed(responses[0]).path.startsWith("/exactaaa"), mode);
      const afterBlankLines = await inPieces(
        s.port,
        pieces("\r\n\r\n" + head(requestLine(64, "/blank"), ["Host: x"])),
      );
      assert.ok(
        echoed(afterBlankLines.responses[0]).path.startsWith("/blank"),
        `${mode}: blank lines don't count`,
      );
      await assertRefused(
        s.port,
        pieces(head(requestLine(65), ["Host: x"])),
        414,
        `${mode}, 65 bytes`,
      );
    }
  } finally {
    await s.close();
  }
});

Deno.test("a field section of exactly maxHeaderBytes is served, one byte more gets 431, in one write", async () => {
  const s = await start(echo, LIMITS);
  try {
    for (const lines of [2, 4]) { // the CRLFs between field lines count, the last one's does not
      const exact = fieldsOfSize(128, lines), over = fieldsOfSize(129, lines);
      assert.equal(exact.join("\r\n").length, 128);
      const { responses } = await inPieces(s.port, [head("GET /exact HTTP/1.1", exact)]);
      assert.equal(
        echoed(responses[0]).headers["x-pad"],
        exact.at(-1)!.slice("X-Pad: ".length),
        `${lines} lines`,
      );
      await assertRefused(s.port, [head("GET / HTTP/1.1", over)], 431, `${lines} lines, 129 bytes`);
    }
  } finally {
    await s.close();
  }
});

Deno.test("a field section one byte over maxHeaderBytes gets 431 byte by byte; one of exactly maxHeaderBytes is served byte by byte until the blank line", async () => {
  const s = await start(echo, LIMITS);
  try {
    for (const lines of [2, 4]) {
      const exact = head("GET /exact HTTP/1.1", fieldsOfSize(128, lines));
      // Byte by byte up to the last field line's LF: the server must wait, not refuse, with 128 + 2 bytes of fields in
      // hand. The blank line's CRLF then comes in one piece (the next test sends its CR alone).
      const { responses } = await inPieces(s.port, [...bytes(exact.slice(0, -2)), "\r\n"]);
      assert.equal(echoed(responses[0]).path, "/exact", `${lines} lines`);
      await assertRefused(
        s.port,
        bytes(head("GET / HTTP/1.1", fieldsOfSize(129, lines))),
        431,
        `${lines} lines, 129`,
      );
    }
  } finally {
    await s.close();
  }
});

Deno.test({
  // An incomplete head may hold a full field section, its last CRLF, and the CR of the blank line: maxHeaderBytes + 3
  // bytes after the request line. (A bound of + 2 once refused this head with 431 when the CR came alone.)
  name:
    "a field section of exactly maxHeaderBytes is served when the blank line's CR and LF come apart",
  async fn() {
    const s = await start(echo, LIMITS);
    try {
      const exact = head("GET /exact HTTP/1.1", fieldsOfSize(128));
      const { responses } = await inPieces(s.port, [exact.slice(0, -1), "\n"]);
      assert.equal(echoed(responses[0]).path, "/exact");
      const byteByByte = await inPieces(s.port, bytes(exact));
      assert.equal(echoed(byteByByte.responses[0]).path, "/exact");
    } finally {
      await s.close();
    }
  },
});

Deno.test("exactly maxHeaderCount fields are served, one more gets 431, in one write or byte by byte", async () => {
  const s = await start(echo, LIMITS);
  try {
    for (const [mode, pieces] of MODES) {
      const { responses } = await inPieces(
        s.port,
        pieces(head("GET /four HTTP/1.1", fieldsCounted(4))),
      );
      assert.deepEqual(Object.keys(echoed(responses[0]).headers).sort(), [
        "host",
        "x-f0",
        "x-f1",
        "x-f2",
      ], mode);
      await assertRefused(
        s.port,
        pieces(head("GET / HTTP/1.1", fieldsCounted(5))),
        431,
        `${mode}, 5 fields`,
      );
    }
  } finally {
    await s.close();
  }
});

Deno.test("a request at every limit at once is served: the request line is not counted in the field section", async () => {
  const s = await start(echo, LIMITS);
  try {
    const fields = fieldsOfSize(128, 4); // four fields, 128 bytes
    const { responses } = await inPieces(s.port, [head(requestLine(64, "/all"), fields)]);
    const seen = echoed(responses[0]);
    assert.ok(seen.path.startsWith("/all"));
    assert.equal(Object.keys(seen.headers).length, 4);
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- a head split at awkward places

Deno.test("a head split at awkward places is served whole: mid request line, between CR and LF, after a lone CR", async () => {
  const s = await start(echo);
  try {
    const cases: [string, string[]][] = [
      ["mid request line", ["GET /sp", "lit/path?q=1 HT", "TP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n"]],
      ["between the request line's CR and LF", [
        "GET /split/path?q=1 HTTP/1.1\r",
        "\nHost: x\r\nX-A: 1\r\n\r\n",
      ]],
      ["between a field line's CR and LF", [
        "GET /split/path?q=1 HTTP/1.1\r\nHost: x\r",
        "\nX-A: 1\r\n\r\n",
      ]],
      ["between the blank line's CR and LF", [
        "GET /split/path?q=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r",
        "\n",
      ]],
      ["a blank line before it, split", [
        "\r",
        "\nGET /split/path?q=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n",
      ]],
      ["two blank lines before it, split", [
        "\r\n\r",
        "\nGET /split/path?q=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n",
      ]],
      ["mid field name and value", [
        "GET /split/path?q=1 HTTP/1.1\r\nHo",
        "st: x\r\nX-A:",
        " 1\r\n\r\n",
      ]],
    ];
    for (const [what, pieces] of cases) {
      const { responses } = await inPieces(s.port, pieces);
      const seen = echoed(responses[0]);
      assert.equal(seen.path, "/split/path", what);
      assert.deepEqual(seen.headers, { host: "x", "x-a": "1" }, what);
    }
  } finally {
    await s.close();
  }
});

Deno.test("a head cut in two at any byte, after a blank line, is served the same", async () => {
  const s = await start(echo);
  try {
    const request = "\r\nGET /cut?x=1 HTTP/1.1\r\nHost: x\r\nX-A: a\r\nX-B: b\r\n\r\n";
    for (let cut = 1; cut < request.length; cut++) {
      const { responses } = await inPieces(s.port, [request.slice(0, cut), request.slice(cut)]);
      const seen = echoed(responses[0]);
      assert.equal(seen.path, "/cut", `cut at ${cut}`);
      assert.deepEqual(seen.headers, { host: "x", "x-a": "a", "x-b": "b" }, `cut at ${cut}`);
    }
  } finally {
    await s.close();
  }
});

Deno.test("a lone CR left over after a request, and its LF in the next write, start the next request", async () => {
  const s = await start(echo);
  try {
    const first = "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
    const { responses } = await inPieces(s.port, [first + "\r", "\n" + get("/two")], 2);
    assert.deepEqual(responses.map((res) => echoed(res).path), ["/one", "/two"]);
    assert.equal(echoed(responses[0]).body, "abc", "the CR after the body is not part of it");
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- pipelining

Deno.test("answers a request at once while the next one's head is still half in, then answers that one", async () => {
  const s = await start(echo);
  const client = await Client.connect(s.port);
  try {
    const second = get("/second", "X-Second: 2");
    const cut = second.indexOf("X-Sec") + 3; // mid field name
    await client.send(get("/first", "X-First: 1") + second.slice(0, cut));
    const [first] = await client.next(); // not held back until the second head is complete
    assert.equal(echoed(first).path, "/first");
    assert.equal(echoed(first).headers["x-first"], "1");
    await client.send(second.slice(cut));
    const [next] = await client.next();
    assert.equal(echoed(next).path, "/second");
    assert.deepEqual(echoed(next).headers, { host: "localhost", "x-second": "2" });
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("three pipelined requests in one write, the middle one with a body, are answered in order", async () => {
  const s = await start(echo);
  try {
    const body = "line one\r\n\r\nGET /not-a-request HTTP/1.1\r\n"; // CRLFs, even a head, inside a body stay body
    const middle =
      `POST /middle HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const { responses } = await raw(s.port, get("/first") + middle + get("/last"), {
      responses: 3,
    });
    assert.equal(responses.length, 3);
    assert.deepEqual(responses.map((res) => echoed(res).path), ["/first", "/middle", "/last"]);
    assert.deepEqual(responses.map((res) => echoed(res).body), ["", body, ""]);
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- a bare LF behind a body's last CR

Deno.test("a body ending in CR does not lend it to the next request's first LF: that one gets 400 and a close", async () => {
  const s = await start(echo);
  try {
    const first = "POST /first HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\n\r\nhello\r";
    const second = "\nGET /second HTTP/1.1\r\nHost: localhost\r\n\r\n"; // its first line: a bare LF
    for (const pieces of [[first + second], [first, second]]) {
      const { responses, closed } = await inPieces(s.port, pieces, 2);
      const what = `${pieces.length} write(s)`;
      assert.equal(responses.length, 2, what);
      assert.equal(echoed(responses[0]).body, "hello\r", what);
      assert.equal(responses[1].status, 400, what);
      assert.match(responses[1].body, /\bLF\b/, `${what}: refused for its bare LF`);
      assert.equal(responses[1].headers.get("connection"), "close", what);
      assert.ok(closed, `${what}: the server closed the connection`);
    }
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- a head that never ends

/** A head that never ends: `start`, then `more(i)` for i = 0, 1, 2... until the server hangs up (or 10 000 pieces). */
function* endless(start: string, more: (i: number) => string): Generator<string> {
  yield start;
  for (let i = 0; i < 10_000; i++) yield more(i);
}

Deno.test("a head that keeps growing past the limits is cut off with 414 or 431, long before headersTimeoutMs", async () => {
  const s = await start(echo, { ...LIMITS, headersTimeoutMs: 60_000 });
  try {
    // Sent in small pieces, with no end in sight: were the server to keep buffering, only the 60 s deadline would
    // stop it, and `within` would fail the test first.
    const top = "GET / HTTP/1.1\r\nHost: x\r\n";
    const cases: [string, Generator<string>, number][] = [
      ["a request line with no end", endless("GET /", () => "a".repeat(8)), 414],
      ["a field line with no end", endless(top + "X-Endless: ", () => "v".repeat(8)), 431],
      [
        "field lines of 61 bytes with no blank line",
        endless(top, (i) => `X-${i}: ${"v".repeat(54)}\r\n`),
        431,
      ],
      [
        "more field lines than maxHeaderCount, no blank line",
        endless(top, (i) => `X-${i}: ${i}\r\n`),
        431,
      ],
    ];
    for (const [what, pieces, status] of cases) {
      await within(assertRefused(s.port, pieces, status, what), 5000, `the ${status} for ${what}`);
    }
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- Response.headers, and app.fetch

/** The lines of a raw head that carry the field `name`. */
const fieldLines = (head: string, name: string) =>
  head.split("\r\n").filter((line) => line.startsWith(`${name}:`));

function withoutType(body: string | Uint8Array): Response {
  const res = new Response(body);
  res.headers.delete("content-type");
  assert.equal(res.headers.get("content-type"), null, "read again, it stays deleted");
  return res;
}

const typesApp = () =>
  new App()
    .get("/untyped-text", () => withoutType("x"))
    .get("/untyped-bytes", () => withoutType(encoder.encode("x")))
    .get("/json", () => Response.json({ a: 1 }, { headers: { "x-a": "1" } }))
    .get("/text", () => "plain")
    .get("/none", () => null);

Deno.test("a content type deleted on purpose stays deleted on groundwork's server, for text and bytes", async () => {
  const s = await start(typesApp());
  try {
    const { responses } = await raw(s.port, get("/untyped-text") + get("/untyped-bytes"), {
      responses: 2,
    });
    for (const res of responses) {
      assert.equal(res.status, 200);
      assert.deepEqual(fieldLines(res.head, "content-type"), [], res.head);
      assert.equal(res.body, "x");
    }
  } finally {
    await s.close();
  }
});

Deno.test("a content type deleted on purpose stays deleted through app.fetch, for bytes", async () => {
  const res = await typesApp().fetch(new globalThis.Request("http://localhost/untyped-bytes"));
  assert.equal(res.headers.get("content-type"), null);
  assert.equal(await res.text(), "x");
});

Deno.test({
  // The web's Response gives a string body "text/plain;charset=UTF-8" when the headers have no content type, so
  // app.fetch hands it such text as bytes. (It once came back through app.fetch, while the own server sent none.)
  name: "a content type deleted on purpose stays deleted through app.fetch, for text",
  async fn() {
    const res = await typesApp().fetch(new globalThis.Request("http://localhost/untyped-text"));
    assert.equal(res.headers.get("content-type"), null);
    assert.equal(await res.text(), "x");
  },
});

Deno.test("Response.json with headers sends both its type and its fields, on groundwork's server and through app.fetch", async () => {
  const app = typesApp(), s = await start(app);
  try {
    const { responses } = await raw(s.port, get("/json"), { responses: 1 });
    assert.deepEqual(fieldLines(responses[0].head, "content-type"), [
      "content-type: application/json",
    ]);
    assert.equal(responses[0].headers.get("x-a"), "1");
    assert.deepEqual(JSON.parse(responses[0].body), { a: 1 });
  } finally {
    await s.close();
  }
  const res = await app.fetch(new globalThis.Request("http://localhost/json"));
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("x-a"), "1");
  assert.deepEqual(await res.json(), { a: 1 });
});

Deno.test("through app.fetch, a 204 has no content type and text is text/plain in UTF-8", async () => {
  const app = typesApp();
  const none = await app.fetch(new globalThis.Request("http://localhost/none"));
  assert.equal(none.status, 204);
  assert.equal(none.headers.get("content-type"), null);
  assert.equal(none.body, null);
  const text = await app.fetch(new globalThis.Request("http://localhost/text"));
  assert.equal(text.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(await text.text(), "plain");
});

// ---------------------------------------------------------------- streams on a kept-alive connection

/** A stream of `count` chunks, each made in a later macrotask, so that each is its own write. */
function slowStream(name: string, count: number): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      await sleep(0);
      if (i === count) return controller.close();
      controller.enqueue(encoder.encode(`${name}-${i++};`));
    },
  });
}

const streamed = (name: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${name}-${i};`).join("");

Deno.test("on one kept-alive connection, a stream of 20 chunks, then text, then a stream again, all arrive intact", async () => {
  const app = new App()
    .get("/stream/:name", (req) => new Response(slowStream(req.params.name, 20)))
    .get("/text", () => "plain text");
  const s = await start(app);
  const client = await Client.connect(s.port);
  try {
    const answers: Parsed[] = [];
    for (const path of ["/stream/a", "/text", "/stream/b"]) {
      await client.send(get(path));
      answers.push(...await client.next());
    }
    assert.deepEqual(answers.map((res) => res.body), [
      streamed("a", 20),
      "plain text",
      streamed("b", 20),
    ]);
    assert.equal(answers[0].headers.get("transfer-encoding"), "chunked");
    assert.equal(answers[1].headers.get("content-length"), "10");
    const chunks = (name: string) => Array.from({ length: 20 }, (_, i) => `${name}-${i};`);
    const wire = (name: string) =>
      chunks(name).map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join("") + "0\r\n\r\n";
    assert.ok(
      client.text.includes("\r\n\r\n" + wire("a") + "HTTP/1.1 200 OK\r\n"),
      "one chunk per piece, then the end",
    );
    assert.ok(
      client.text.endsWith("\r\n\r\n" + wire("b")),
      JSON.stringify(client.text.slice(-200)),
    );
    // pipelined: the text answer waits in the buffer while the next stream goes out, and must still go first
    const { responses } = await raw(s.port, get("/stream/c") + get("/text") + get("/stream/d"), {
      responses: 3,
    });
    assert.deepEqual(responses.map((res) => res.body), [
      streamed("c", 20),
      "plain text",
      streamed("d", 20),
    ]);
  } finally {
    client.close();
    await s.close();
  }
});

// ---------------------------------------------------------------- app.fetch and a request body

/** A web POST whose body is `body`, a stream; `duplex` is what the Fetch standard asks (Deno's types lack it). */
function upload(body: ReadableStream<Uint8Array>): globalThis.Request {
  const init = { method: "POST", body, duplex: "half" };
  return new globalThis.Request("http://localhost/", init);
}

Deno.test("app.fetch echoes a streamed body up to maxBodyBytes intact, and answers 413 one byte past it", async () => {
  const app = new App({ maxBodyBytes: 300 }).post(
    "/",
    async (req) => new Response(await req.bytes()),
  );
  const all = Uint8Array.from({ length: 300 }, (_, i) => i % 256); // every byte value, UTF-8 or not
  const post = (parts: Uint8Array[]) => app.fetch(upload(ReadableStream.from(parts)));
  const fits = await post([all.subarray(0, 100), all.subarray(100, 250), all.subarray(250)]); // 3 chunks, 300 bytes
  assert.equal(fits.status, 200);
  assert.deepEqual(new Uint8Array(await fits.arrayBuffer()), all);
  const over = await post([
    all.subarray(0, 100),
    all.subarray(100, 250),
    all.subarray(250),
    new Uint8Array([1]),
  ]);
  assert.equal(over.status, 413);
  await over.body?.cancel();
});

Deno.test("app.fetch stops reading an endless body once it is past maxBodyBytes, and answers 413", async () => {
  const app = new App({ maxBodyBytes: 1000 }).post("/", async (req) => (await req.bytes()).length);
  let pulled = 0, cancelled = false;
  const endless = new ReadableStream<Uint8Array>({
    pull: (controller) => (pulled++, controller.enqueue(new Uint8Array(100))),
    cancel: () => void (cancelled = true),
  });
  const res = await within(app.fetch(upload(endless)), 5000, "the 413");
  assert.equal(res.status, 413);
  await res.body?.cancel();
  assert.ok(cancelled, "the body's stream was cancelled");
  assert.ok(pulled < 100, `it read ${pulled} chunks of 100 bytes for a limit of 1000`);
});
