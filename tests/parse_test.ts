// Layer 2, bytes to Request: real bytes over real TCP, and what the server makes of them. Every malformed request
// gets its status, and the server goes on serving a fresh connection afterwards.
import assert from "node:assert/strict";
import { App, HttpError, Request, Response, type ServerOptions } from "../mod.ts";
import { Client, encoder, get, type Parsed, raw, start } from "./helpers.ts";

/** Answers with what the server parsed, as JSON: the handler's view of the request. */
async function echo(req: Request): Promise<Response> {
  return Response.json({
    method: req.method,
    path: req.path,
    search: req.url.search,
    host: req.url.host,
    headers: Object.fromEntries(req.headers),
    body: await req.text(),
  });
}

type Echoed = {
  method: string;
  path: string;
  search: string;
  host: string;
  headers: Record<string, string>;
  body: string;
};

/**
 * Starts an echo server with `options`, sends `request` on a connection of its own, and returns the first answer.
 * Then it checks the server still answers a fresh connection: one bad client must not break it for the others.
 */
async function answer(request: string, options: ServerOptions = {}): Promise<Parsed> {
  const s = await start(echo, options);
  try {
    const { responses, text } = await raw(s.port, request, { responses: 1 });
    assert.ok(responses[0], `no answer to ${JSON.stringify(request)}; got ${JSON.stringify(text)}`);
    const after = await raw(s.port, get("/after"), { responses: 1 });
    assert.equal(after.responses[0]?.status, 200, "a fresh connection is served afterwards");
    return responses[0];
  } finally {
    await s.close();
  }
}

/**
 * Asserts `request` is refused with `status`, in plain text that says why: the message for a 4xx, only the reason
 * phrase for a 5xx.
 */
async function assertRefused(
  request: string,
  status: number,
  options: ServerOptions = {},
): Promise<Parsed> {
  const res = await answer(request, options);
  assert.equal(
    res.status,
    status,
    `${JSON.stringify(request)} should get ${status}, got ${res.status} ${res.body}`,
  );
  assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
  if (status < 500) assert.ok(res.body.length > 0, "a 4xx says what was wrong");
  else assert.equal(res.body, res.reason, "a 5xx says no more than its reason phrase");
  return res;
}

/** The JSON a handler answered with, from a raw response. */
function echoed(res: Parsed | undefined): Echoed {
  assert.ok(res, "no response");
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body);
}

const POST =
  "POST /submit?draft=1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n" +
  "hello world";
const CHUNKED_POST =
  "POST /chunks HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";

// ---------------------------------------------------------------- a request arrives in pieces

Deno.test("parses a request that arrives one byte at a time", async () => {
  const s = await start(echo);
  try {
    const { responses } = await raw(s.port, POST, { split: 1, pauseMs: 1, responses: 1 });
    const seen = echoed(responses[0]);
    assert.equal(seen.method, "POST");
    assert.equal(seen.path, "/submit");
    assert.equal(seen.search, "?draft=1");
    assert.equal(seen.body, "hello world");
  } finally {
    await s.close();
  }
});

Deno.test("parses a chunked body that arrives one byte at a time", async () => {
  const s = await start(echo);
  try {
    const { responses } = await raw(s.port, CHUNKED_POST, { split: 1, pauseMs: 1, responses: 1 });
    assert.equal(echoed(responses[0]).body, "hello world");
  } finally {
    await s.close();
  }
});

Deno.test("parses pipelined requests that arrive in pieces of odd sizes", async () => {
  const s = await start(echo);
  try {
    for (const split of [2, 3, 7, 13, 64]) {
      const { responses } = await raw(s.port, POST + CHUNKED_POST + get("/last"), {
        split,
        pauseMs: 1,
        responses: 3,
      });
      assert.equal(responses.length, 3, `pieces of ${split} bytes`);
      assert.deepEqual(responses.map((res) => echoed(res).body), [
        "hello world",
        "hello world",
        "",
      ]);
      assert.deepEqual(responses.map((res) => echoed(res).path), ["/submit", "/chunks", "/last"]);
    }
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- the request line

Deno.test("accepts any token as a method, case and all", async () => {
  const s = await start(echo);
  try {
    for (const method of ["GET", "PURGE", "M-SEARCH", "get", "X_CUSTOM.1"]) {
      const { responses } = await raw(s.port, `${method} / HTTP/1.1\r\nHost: localhost\r\n\r\n`, {
        responses: 1,
      });
      assert.equal(echoed(responses[0]).method, method);
    }
  } finally {
    await s.close();
  }
});

Deno.test("reads an origin-form target into a path and a query", async () => {
  const s = await start(echo);
  try {
    const { responses } = await raw(s.port, get("/users/42/posts?tab=recent&page=2"), {
      responses: 1,
    });
    const seen = echoed(responses[0]);
    assert.equal(seen.path, "/users/42/posts");
    assert.equal(seen.search, "?tab=recent&page=2");
    assert.equal(seen.host, "localhost");
  } finally {
    await s.close();
  }
});

Deno.test("resolves dot segments in the target, so a path cannot climb above /", async () => {
  const s = await start(echo);
  try {
    const { responses } = await raw(s.port, get("/a/../b") + get("/../../etc/passwd"), {
      responses: 2,
    });
    assert.deepEqual(responses.map((res) => echoed(res).path), ["/b", "/etc/passwd"]);
  } finally {
    await s.close();
  }
});

Deno.test("reads an absolute-form target, whose host wins over the Host field", async () => {
  const s = await start(echo);
  try {
    const request = "GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n";
    const seen = echoed((await raw(s.port, request, { responses: 1 })).responses[0]);
    assert.equal(seen.host, "example.com:8080");
    assert.equal(seen.path, "/p");
    assert.equal(seen.search, "?q=1");
  } finally {
    await s.close();
  }
});

Deno.test("serves HTTP/1.1, and HTTP/1.0 even without a Host field", async () => {
  const s = await start(echo);
  try {
    const http11 = await raw(s.port, "GET /eleven HTTP/1.1\r\nHost: localhost\r\n\r\n", {
      responses: 1,
    });
    assert.equal(echoed(http11.responses[0]).path, "/eleven");
    const http10 = await raw(s.port, "GET /ten HTTP/1.0\r\n\r\n", { responses: 1 });
    assert.equal(echoed(http10.responses[0]).path, "/ten");
  } finally {
    await s.close();
  }
});

Deno.test("answers HTTP/2.0 in a request line with 505", async () => {
  await assertRefused("GET / HTTP/2.0\r\nHost: localhost\r\n\r\n", 505);
});

Deno.test("answers a malformed request line with 400 and a close", async () => {
  const malformed = [
    "HELLO\r\n\r\n", // no target, no version
    "GET /\r\n\r\n", // HTTP/0.9 style: no version
    "GET / HTTP/1.1 extra\r\nHost: localhost\r\n\r\n", // a fourth part
    "GET  / HTTP/1.1\r\nHost: localhost\r\n\r\n", // two spaces
    "G(T / HTTP/1.1\r\nHost: localhost\r\n\r\n", // "(" is not a token character
    "GET / HTTP/1.x\r\nHost: localhost\r\n\r\n", // not a version
    "GET / http/1.1\r\nHost: localhost\r\n\r\n", // the version is case-sensitive
    "GET users HTTP/1.1\r\nHost: localhost\r\n\r\n", // neither origin-form nor absolute-form
  ];
  for (const request of malformed) {
    const res = await assertRefused(request, 400);
    assert.equal(res.headers.get("connection"), "close", JSON.stringify(request));
  }
});

// ---------------------------------------------------------------- header fields

Deno.test("reads header fields: names case-insensitive, values trimmed, repeated ones joined", async () => {
  const s = await start(echo);
  try {
    const request = get(
      "/",
      "X-Custom:   padded value \t",
      "accept: text/html",
      "Accept: application/json",
      "X-Empty:",
    );
    const { headers } = echoed((await raw(s.port, request, { responses: 1 })).responses[0]);
    assert.equal(headers["x-custom"], "padded value");
    assert.equal(headers["accept"], "text/html, application/json");
    assert.equal(headers["x-empty"], "");
  } finally {
    await s.close();
  }
});

Deno.test("answers whitespace between a field name and its colon with 400", async () => {
  const res = await assertRefused(get("/", "X-Test : 1"), 400);
  assert.equal(res.headers.get("connection"), "close");
});

Deno.test("answers an obs-fold continuation line with 400", async () => {
  await assertRefused(get("/", "X-Test: first", " continued"), 400);
  await assertRefused(get("/", "X-Test: first", "\tcontinued"), 400);
});

Deno.test("answers a field line that is not a token, a colon and a value with 400", async () => {
  await assertRefused(get("/", "No colon here"), 400);
  await assertRefused(get("/", "X(Test): 1"), 400);
  await assertRefused(get("/", ": no name"), 400);
});

Deno.test("answers control characters in a field value with 400", async () => {
  for (const control of ["\x00", "\x01", "\x1b", "\x7f", "\r"]) {
    await assertRefused(get("/", `X-Test: a${control}b`), 400);
  }
});

Deno.test("answers bare LF line endings with 400", async () => {
  await assertRefused("GET / HTTP/1.1\nHost: localhost\n\n", 400);
  await assertRefused("GET / HTTP/1.1\r\nHost: localhost\n\r\n", 400);
  await assertRefused("GET / HTTP/1.1\r\nHost: localhost\r\n\n", 400);
});

Deno.test("answers an HTTP/1.1 request without Host with 400", async () => {
  const res = await assertRefused("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400);
  assert.equal(res.headers.get("connection"), "close");
});

Deno.test("answers two different Host values with 400", async () => {
  await assertRefused("GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", 400);
});

// ---------------------------------------------------------------- body framing

Deno.test("reads exactly Content-Length bytes of body", async () => {
  const s = await start(echo);
  try {
    const { responses } = await raw(s.port, POST, { responses: 1 });
    assert.equal(echoed(responses[0]).body, "hello world");
  } finally {
    await s.close();
  }
});

Deno.test("accepts a Content-Length list of identical values", async () => {
  const s = await start(echo);
  try {
    const inOneField = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5, 5\r\n\r\nhello";
    const inTwoFields =
      "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello";
    const { responses } = await raw(s.port, inOneField + inTwoFields, { responses: 2 });
    assert.deepEqual(responses.map((res) => echoed(res).body), ["hello", "hello"]);
  } finally {
    await s.close();
  }
});

Deno.test("answers a Content-Length that is not one decimal number with 400 and a close", async () => {
  for (const length of ["5, 6", "abc", "-5", "+5", "5.0", "0x5"]) {
    const res = await assertRefused(
      `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${length}\r\n\r\nhello`,
      400,
    );
    assert.equal(res.headers.get("connection"), "close", `Content-Length: ${length}`);
  }
});

Deno.test("reads a chunked body, ignoring chunk extensions and dropping trailer fields", async () => {
  const s = await start(echo);
  try {
    const request =
      "POST /chunks HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;name=value\r\nhello\r\n" + // a chunk extension
      '6;a;b="quoted"\r\n world\r\n' +
      "A\r\n, chunked!\r\n" + // the size is hexadecimal: A is 10
      "0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"; // trailer fields, then the empty line
    const { responses } = await raw(s.port, request + get("/next"), { responses: 2 });
    assert.equal(echoed(responses[0]).body, "hello world, chunked!");
    assert.equal(echoed(responses[1]).path, "/next", "the trailer was read to its end");
  } finally {
    await s.close();
  }
});

Deno.test("answers a malformed chunk size with 400", async () => {
  for (const size of ["zz", "-1", "0x5", "", " 5"]) {
    const request =
      `POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nhello\r\n0\r\n\r\n`;
    await assertRefused(request, 400);
  }
});

Deno.test("answers a chunk longer than its size with 400", async () => {
  const request =
    "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n";
  await assertRefused(request, 400);
});

Deno.test("answers Content-Length together with Transfer-Encoding with 400, and closes the connection", async () => {
  const s = await start(echo);
  try {
    const smuggler =
      "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0\r\n\r\n" + get("/smuggled");
    const { responses, closed } = await raw(s.port, smuggler);
    assert.equal(responses.length, 1, "the bytes after the bad request are not read as a request");
    assert.equal(responses[0].status, 400);
    assert.equal(responses[0].headers.get("connection"), "close");
    assert.ok(closed, "the server closed the connection");
    assert.equal((await raw(s.port, get("/after"), { responses: 1 })).responses[0]?.status, 200);
  } finally {
    await s.close();
  }
});

Deno.test("answers a coding before chunked (gzip, chunked) with 501, and one with chunked not last with 400", async () => {
  // RFC 9112 6.1: a coding the server does not know, 501. RFC 9112 6.3: chunked not the final coding
  // means the body's end can't be found, 400 and a close.
  const body = "5\r\nhello\r\n0\r\n\r\n";
  const post = (coding: string) =>
    `POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: ${coding}\r\n\r\n${body}`;
  await assertRefused(post("gzip, chunked"), 501);
  for (const coding of ["gzip", "chunked, gzip", "identity", "chunked, identity"]) {
    await assertRefused(post(coding), 400);
  }
});

// ---------------------------------------------------------------- Expect

Deno.test("answers Expect: 100-continue with 100 before the body is sent, then the final response", async () => {
  const s = await start(echo);
  const client = await Client.connect(s.port);
  try {
    await client.send(
      "POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    assert.ok(await client.until("\r\n\r\n"), "an answer came before the body was sent");
    assert.ok(client.text.startsWith("HTTP/1.1 100 Continue\r\n\r\n"), JSON.stringify(client.text));
    await client.send("hello");
    const [res] = await client.next();
    assert.equal(echoed(res).body, "hello");
  } finally {
    client.close();
    await s.close();
  }
});

Deno.test("answers 413 at once, with no 100 Continue, when the body announced is over maxBodyBytes", async () => {
  const s = await start(echo, { maxBodyBytes: 16 });
  try {
    const request =
      "POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n";
    const { responses, text } = await raw(s.port, request, { responses: 1 });
    assert.equal(responses[0]?.status, 413);
    assert.ok(
      !text.includes("100 Continue"),
      "the client is not invited to send a body that will be refused",
    );
    assert.equal((await raw(s.port, get("/after"), { responses: 1 })).responses[0]?.status, 200);
  } finally {
    await s.close();
  }
});

Deno.test("sends no 100 Continue to an HTTP/1.0 client, which would not understand it", async () => {
  const s = await start(echo);
  try {
    const request = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello";
    const { responses, text } = await raw(s.port, request);
    assert.equal(echoed(responses[0]).body, "hello");
    assert.ok(!text.includes("100 Continue"), JSON.stringify(text)); // RFC 9110 10.1.1: a MUST NOT
  } finally {
    await s.close();
  }
});

Deno.test("ignores an Expect value other than 100-continue, and sends no 100", async () => {
  const s = await start(echo);
  try { // RFC 9110 10.1.1: a server MAY answer 417 to an expectation it can't meet; groundwork just ignores it
    const request =
      "POST / HTTP/1.1\r\nHost: localhost\r\nExpect: teapot\r\nContent-Length: 5\r\n\r\nhello";
    const { responses, text } = await raw(s.port, request, { responses: 1 });
    assert.equal(echoed(responses[0]).body, "hello");
    assert.ok(!text.includes("100 Continue"));
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- limits

Deno.test("answers a request line over maxRequestLineBytes with 414", async () => {
  const options = { maxRequestLineBytes: 64 };
  assert.equal(echoed(await answer(get("/short"), options)).path, "/short");
  const res = await assertRefused(get("/" + "a".repeat(200)), 414, options);
  assert.equal(res.headers.get("connection"), "close");
});

Deno.test("answers a header section over maxHeaderBytes with 431", async () => {
  const options = { maxHeaderBytes: 256 };
  assert.equal(echoed(await answer(get("/", "X-Small: 1"), options)).headers["x-small"], "1");
  await assertRefused(get("/", "X-Big: " + "b".repeat(300)), 431, options); // one big field
  const many = Array.from({ length: 10 }, (_, i) => `X-Field-${i}: ${"v".repeat(30)}`); // small ones adding up
  await assertRefused(get("/", ...many), 431, options);
});

Deno.test("does not count blank lines before a request line against maxHeaderBytes", async () => {
  const options = { maxHeaderBytes: 200 }, blank = "\r\n".repeat(100); // 200 bytes, were they counted: all of it
  assert.equal(
    echoed(await answer(blank + get("/after-blank-lines"), options)).path,
    "/after-blank-lines",
  );
  await assertRefused(blank + get("/", "X-Big: " + "b".repeat(300)), 431, options); // the head itself still is
});

Deno.test("answers more than maxHeaderCount fields with 431", async () => {
  const options = { maxHeaderCount: 5 };
  const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-Field-${i}: ${i}`);
  assert.equal(echoed(await answer(get("/", ...fields(4)), options)).headers["x-field-3"], "3"); // Host and 4: five
  await assertRefused(get("/", ...fields(5)), 431, options); // Host and 5: six
});

Deno.test("answers a Content-Length body over maxBodyBytes with 413 and a close", async () => {
  const options = { maxBodyBytes: 16 };
  const post = (body: string) =>
    `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  assert.equal(echoed(await answer(post("x".repeat(16)), options)).body, "x".repeat(16));
  const res = await assertRefused(post("x".repeat(17)), 413, options);
  assert.equal(res.headers.get("connection"), "close");
});

Deno.test("answers 413 from the head alone, without waiting for a body over maxBodyBytes", async () => {
  await assertRefused(
    "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n",
    413,
    {
      maxBodyBytes: 16,
    },
  );
});

Deno.test("answers 413 even when the client has already sent a large body", async () => {
  const body = "x".repeat(256 * 1024);
  await assertRefused(
    `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    413,
    {
      maxBodyBytes: 16,
    },
  );
});

Deno.test("answers a chunked body over maxBodyBytes with 413", async () => {
  const options = { maxBodyBytes: 16 };
  const post = (...chunks: string[]) =>
    "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
    chunks.map((chunk) => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join("") + "0\r\n\r\n";
  assert.equal(
    echoed(await answer(post("x".repeat(8), "y".repeat(8)), options)).body,
    "xxxxxxxxyyyyyyyy",
  );
  await assertRefused(post("x".repeat(8), "y".repeat(9)), 413, options);
});

// ---------------------------------------------------------------- the request a handler sees

Deno.test("gives the handler the method, path, query, headers, params and the client's address", async () => {
  let seen: Request | undefined;
  const app = new App().put("/users/:id/files/*", (req) => (seen = req, "ok"));
  const s = await start(app);
  try {
    const request =
      "PUT /users/caf%C3%A9/files/a/b.txt?x=1&x=2&y=%20z HTTP/1.1\r\nHost: localhost\r\n" +
      "X-Request-Id: abc123\r\nContent-Length: 0\r\n\r\n";
    const { responses } = await raw(s.port, request, { responses: 1 });
    assert.equal(responses[0]?.status, 200);
    assert.ok(seen);
    assert.equal(seen.method, "PUT");
    assert.equal(seen.path, "/users/caf%C3%A9/files/a/b.txt", "the path stays percent-encoded");
    assert.deepEqual(seen.query.getAll("x"), ["1", "2"]);
    assert.equal(seen.query.get("y"), " z");
    assert.equal(seen.headers.get("x-request-id"), "abc123");
    assert.equal(seen.headers.get("X-REQUEST-ID"), "abc123");
    assert.deepEqual(
      { ...seen.params },
      { id: "café", "*": "a/b.txt" },
      "params are percent-decoded",
    );
    assert.equal(seen.remoteAddr, "127.0.0.1");
  } finally {
    await s.close();
  }
});

Deno.test("gives every reader the same req.headers, so a field that middleware sets reaches the handler", async () => {
  let same = false;
  const app = new App()
    .use((req, next) => (req.headers.set("x-user", "ada"), next()))
    .get("/", (req) => (same = req.headers === req.headers, req.headers.get("x-user") ?? "none"));
  const s = await start(app);
  try {
    const { responses } = await raw(s.port, get("/"), { responses: 1 });
    assert.equal(responses[0]?.body, "ada");
    assert.ok(same, "req.headers is one object, not a new one on each read");
  } finally {
    await s.close();
  }
});

Deno.test("serves header fields named __proto__ and constructor like any other", async () => {
  let seen: Request | undefined;
  const s = await start(new App().get("/", (req) => (seen = req, "ok")));
  try {
    const request = get("/", "__proto__: p", "Constructor: c", "toString: t");
    const { responses } = await raw(s.port, request, { responses: 1 });
    assert.equal(responses[0]?.status, 200);
    assert.ok(seen);
    assert.equal(seen.headers.get("__proto__"), "p");
    assert.equal(seen.headers.get("constructor"), "c");
    assert.equal(seen.headers.get("TOSTRING"), "t");
    assert.equal(seen.headers.get("host"), "localhost");
  } finally {
    await s.close();
  }
});

Deno.test("gives req.query and req.url.searchParams that agree", async () => {
  let seen: Request | undefined;
  const s = await start(new App().get("/search", (req) => (seen = req, "ok")));
  try {
    await raw(s.port, get("/search?tag=a&tag=b&q=caf%C3%A9&empty="), { responses: 1 });
    assert.ok(seen);
    assert.deepEqual([...seen.query], [["tag", "a"], ["tag", "b"], ["q", "café"], ["empty", ""]]);
    assert.deepEqual([...seen.query], [...seen.url.searchParams]);
  } finally {
    await s.close();
  }
});

/** A POST with a body of a given content type. */
function post(path: string, type: string, body: string): string {
  const length = new TextEncoder().encode(body).length;
  return `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n${body}`;
}

/** JSON with every non-ASCII character escaped, so that raw()'s one-character-per-byte reading keeps it intact. */
function asciiJson(data: unknown): Response {
  const text = JSON.stringify(data).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return new Response(text, { headers: { "content-type": "application/json" } });
}

Deno.test("reads a body as text and as JSON", async () => {
  const app = new App()
    .post("/text", async (req) => asciiJson({ text: await req.text() }))
    .post("/json", async (req) => asciiJson(await req.json()));
  const s = await start(app);
  try {
    const { responses } = await raw(
      s.port,
      post("/text", "text/plain; charset=utf-8", "grüße ✓") +
        post("/json", "application/json", '{"a":[1,"é"]}'),
      { responses: 2 },
    );
    assert.deepEqual(JSON.parse(responses[0].body), { text: "grüße ✓" });
    assert.deepEqual(JSON.parse(responses[1].body), { a: [1, "é"] });
  } finally {
    await s.close();
  }
});

Deno.test("answers json() of invalid JSON with 400", async () => {
  const s = await start(
    new App().post("/json", async (req) => await req.json() as Record<string, unknown>),
  );
  try {
    const { responses } = await raw(s.port, post("/json", "application/json", "{not json"), {
      responses: 1,
    });
    assert.equal(responses[0]?.status, 400);
  } finally {
    await s.close();
  }
});

Deno.test("reads a urlencoded form", async () => {
  const s = await start(new App().post("/form", async (req) => asciiJson([...await req.form()])));
  try {
    const body = "name=Ada+Lovelace&lang=en&lang=fr&note=caf%C3%A9%26co";
    const { responses } = await raw(
      s.port,
      post("/form", "application/x-www-form-urlencoded", body),
      {
        responses: 1,
      },
    );
    assert.deepEqual(JSON.parse(responses[0].body), [["name", "Ada Lovelace"], ["lang", "en"], [
      "lang",
      "fr",
    ], [
      "note",
      "café&co",
    ]]);
  } finally {
    await s.close();
  }
});

Deno.test("reads a multipart form with a text field and a file", async () => {
  const app = new App().post("/upload", async (req) => {
    const form = await req.form(), file = form.get("file");
    assert.ok(file instanceof File);
    return asciiJson({
      title: form.get("title"),
      name: file.name,
      type: file.type,
      content: await file.text(),
    });
  });
  const s = await start(app);
  try {
    const body = [
      "--XyZ",
      'Content-Disposition: form-data; name="title"',
      "",
      "My notes",
      "--XyZ",
      'Content-Disposition: form-data; name="file"; filename="notes.txt"',
      "Content-Type: text/plain",
      "",
      "line one\r\nline two",
      "--XyZ--",
      "",
    ].join("\r\n");
    const { responses } = await raw(
      s.port,
      post("/upload", "multipart/form-data; boundary=XyZ", body),
      {
        responses: 1,
      },
    );
    assert.equal(responses[0]?.status, 200, responses[0]?.body);
    assert.deepEqual(JSON.parse(responses[0].body), {
      title: "My notes",
      name: "notes.txt",
      type: "text/plain",
      content: "line one\r\nline two",
    });
  } finally {
    await s.close();
  }
});

Deno.test("answers form() of a text/plain body with 415", async () => {
  const s = await start(new App().post("/form", async (req) => [...await req.form()].length));
  try {
    const { responses } = await raw(s.port, post("/form", "text/plain", "name=Ada"), {
      responses: 1,
    });
    assert.equal(responses[0]?.status, 415);
  } finally {
    await s.close();
  }
});

Deno.test("throws HttpError 400 from json() and 415 from form() on a Request made in a test", async () => {
  const bad = new Request("POST", "http://localhost/", {
    body: encoder.encode("{oops"),
    headers: { "content-type": "text/plain" },
  });
  await assert.rejects(bad.json(), (err) => err instanceof HttpError && err.status === 400);
  await assert.rejects(bad.form(), (err) => err instanceof HttpError && err.status === 415);
});

// ---------------------------------------------------------------- what RFC 9112 allows, and what URL refuses

Deno.test("ignores an empty line before a request line, alone or between pipelined requests", async () => {
  assert.equal(echoed(await answer("\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")).path, "/"); // RFC 9112 2.2
  const s = await start(echo);
  try {
    const extraCrlf = "POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello" +
      "\r\n" + get("/b");
    const { responses } = await raw(s.port, extraCrlf, { responses: 2 });
    assert.equal(responses.length, 2, "both requests are answered");
    assert.deepEqual(responses.map((res) => echoed(res).path), ["/a", "/b"]);
    assert.equal(echoed(responses[0]).body, "hello", "the CRLF after a body is not part of it");
  } finally {
    await s.close();
  }
});

Deno.test("serves HTTP/1.2 as HTTP/1.1, while HTTP/2.0 still gets 505", async () => {
  const res = await answer("GET /minor HTTP/1.2\r\nHost: localhost\r\n\r\n"); // RFC 9110 2.5: same major version
  assert.equal(echoed(res).path, "/minor");
  assert.match(
    res.head,
    /^HTTP\/1\.1 200 OK\r\n/,
    "the answer is in HTTP/1.1, the version the server speaks",
  );
  await assertRefused("GET / HTTP/2.0\r\nHost: localhost\r\n\r\n", 505);
});

Deno.test("answers 400 to a Host that looks like a host but is not one a URL can hold", async () => {
  for (const host of ["a.1", "1.2.3.999", "x:99999"]) { // a numeric last label must be IPv4; a port is at most 65535
    await assertRefused(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 400);
  }
});

Deno.test("answers a bad IPv4 address, IPv6 literal or port in Host with 400, and reads nothing after it", async () => {
  const s = await start(echo);
  try {
    for (const host of ["1.2.3.999", "[::zz]", "example.com:99999"]) {
      const { responses, closed } = await raw(
        s.port,
        `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n` + get("/after"),
      );
      assert.deepEqual(responses.map((res) => res.status), [400], host);
      assert.equal(responses[0].headers.get("connection"), "close", host);
      assert.ok(closed, `${host}: the server closed the connection`);
    }
    const { responses } = await raw(s.port, "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", {
      responses: 1,
    });
    assert.equal(
      echoed(responses[0]).host,
      "[::1]:8080",
      "a well-formed IPv6 literal and port are served",
    );
  } finally {
    await s.close();
  }
});

/** A chunked POST whose body is `count` chunks of one byte each. */
function oneByteChunks(count: number): string {
  return "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
    "1\r\nx\r\n".repeat(count) +
    "0\r\n\r\n";
}

Deno.test("answers a chunked body of more than 8192 chunks with 413, however small", async () => {
  assert.equal(echoed(await answer(oneByteChunks(8192))).body, "x".repeat(8192)); // each chunk costs memory
  const res = await answer(oneByteChunks(9000)); // 9000 bytes: far under maxBodyBytes
  assert.equal(res.status, 413, `9000 chunks got ${res.status} ${res.body.slice(0, 80)}`);
});

Deno.test("holds trailer fields after a chunked body to maxHeaderBytes: 431, or a close", async () => {
  const s = await start(echo, { maxHeaderBytes: 1024 });
  try {
    const trailers = Array.from({ length: 1024 }, (_, i) => `X-Trailer-${i}: ${"t".repeat(48)}\r\n`)
      .join(""); // ~64 KiB
    const request =
      "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n" +
      trailers + "\r\n";
    const { responses, closed } = await raw(s.port, request, { responses: 1 });
    const status = responses[0]?.status;
    assert.ok(
      status === 431 || (status === undefined && closed),
      `got ${status} ${responses[0]?.body}`,
    );
    assert.equal((await raw(s.port, get("/after"), { responses: 1 })).responses[0]?.status, 200);
  } finally {
    await s.close();
  }
});

// ---------------------------------------------------------------- chunk extensions and trailers, by the grammar

/** A chunked POST whose first chunk-size line is `sizeLine` and whose trailer section is `trailers`. */
const chunkedWith = (sizeLine: string, trailers = "") =>
  "POST /chunks HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" +
  `${sizeLine}\r\nhello\r\n0\r\n${trailers}\r\n`;

Deno.test("reads chunk extensions that follow the grammar: names, tokens, quoted strings, spaces around ; and =", async () => {
  // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ) (RFC 9112 7.1.1)
  const s = await start(echo);
  try {
    for (
      const line of [
        "5;a",
        "5;a=b",
        "5 ;a",
        "5; a = b",
        "5\t;\ta\t=\tb",
        '5;a="q"',
        '5;a="x \\" y;z=w"',
        "5;a;b=c;d",
      ]
    ) {
      const { responses } = await raw(s.port, chunkedWith(line), { responses: 1 });
      assert.equal(echoed(responses[0]).body, "hello", JSON.stringify(line));
    }
  } finally {
    await s.close();
  }
});

Deno.test("answers a chunk-size line with anything but extensions by the grammar with 400, and closes", async () => {
  const cases = [
    "5 ", // a space after the size, and no ";"
    "5;", // a ";" and no name
    "5;a\0=b", // a NUL in a name
    "5;=b", // a value and no name
    "5;a=", // a "=" and no value
    '5;a="open', // a quoted string that does not end
    "5;a=b c", // a value with a space in it, unquoted
    "5;a@b", // "@" is not a token character
    "5;a=\x01", // a control character
  ];
  const s = await start(echo);
  try {
    for (const line of cases) {
      const { responses, closed } = await raw(s.port, chunkedWith(line) + get("/smuggled"));
      assert.equal(
        responses.length,
        1,
        `${JSON.stringify(line)}: what follows is not read as a request`,
      );
      assert.equal(responses[0].status, 400, JSON.stringify(line));
      assert.equal(responses[0].headers.get("connection"), "close", JSON.stringify(line));
      assert.ok(closed, `${JSON.stringify(line)}: the server closed the connection`);
    }
  } finally {
    await s.close();
  }
});

Deno.test("holds trailer lines to the field grammar: a line that is not a field gets 400, and a close", async () => {
  const s = await start(echo);
  try {
    for (
      const trailer of [
        "not a field\r\n",
        "X-Space : 1\r\n",
        "X-Nul: a\0b\r\n",
        " folded: 1\r\n",
        ": no name\r\n",
      ]
    ) {
      const { responses, closed } = await raw(s.port, chunkedWith("5", trailer) + get("/smuggled"));
      assert.equal(responses.length, 1, JSON.stringify(trailer));
      assert.equal(responses[0].status, 400, JSON.stringify(trailer));
      assert.ok(closed, `${JSON.stringify(trailer)}: the server closed the connection`);
    }
    const fine = await raw(s.port, chunkedWith("5", "X-Checksum: abc\r\n"), { responses: 1 });
    assert.equal(
      echoed(fine.responses[0]).body,
      "hello",
      "a well-formed trailer field is read and dropped",
    );
  } finally {
    await s.close();
  }
});

Deno.test("holds trailer fields to maxHeaderCount, as a head's fields are: 431", async () => {
  const trailers = Array.from({ length: 5 }, (_, i) => `X-T${i}: ${i}\r\n`).join("");
  const res = await answer(chunkedWith("5", trailers), { maxHeaderCount: 4 });
  assert.equal(res.status, 431);
});
