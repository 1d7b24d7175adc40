// Request smuggling, trick by trick. A proxy and the server behind it each find where a request ends; if one of them
// can be made to see a body where the other sees a second request, an attacker's request rides inside an innocent
// one, past the proxy's checks. Each test below hides `GET /smuggled` where a lenient reading of the framing would
// find it, and checks the server's reading: the first request gets its 4xx (400, or 501 for a coding it doesn't
// know), the connection closes (the bytes after a malformed request can't be trusted), and /smuggled is never
// answered, on that connection or after.
import assert from "node:assert/strict";
import { App } from "../mod.ts";
import { get, raw, start } from "./helpers.ts";

/** The request hidden in each case. */
const HIDDEN = get("/smuggled");

/** A POST head with these field lines, each ending in CRLF unless it carries its own line end. */
const post = (...fields: string[]) =>
  `POST /upload HTTP/1.1\r\nHost: localhost\r\n${fields.join("")}\r\n`;

/** A chunked body of one chunk holding `data`, and the last chunk. */
const oneChunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`;

/**
 * Sends `request` (in which HIDDEN is hidden) on a connection of its own, and asserts: one answer, with `status` and
 * a message that matches `why` (the defence that refused it, not some other); a close; and no answer from /smuggled,
 * then or later. A fresh connection is served afterwards.
 */
async function assertNotSmuggled(request: string, status: number, why: RegExp): Promise<void> {
  assert.ok(request.includes(HIDDEN), "the case hides GET /smuggled");
  let smuggled = 0;
  const app = new App()
    .get("/smuggled", () => {
      smuggled++;
      return "smuggled!";
    })
    .post("/upload", async (req) => `${(await req.bytes()).length} bytes`)
    .get("/after", () => "after");
  const s = await start(app);
  try {
    const { responses, closed, text } = await raw(s.port, request);
    const seen = JSON.stringify(text);
    assert.equal(responses.length, 1, `one answer, for the first request only: ${seen}`);
    assert.equal(responses[0].status, status, seen);
    assert.match(responses[0].body, why);
    assert.equal(responses[0].headers.get("connection"), "close", seen);
    assert.ok(closed, "the server closed the connection");
    assert.ok(!text.includes("smuggled!"), seen);
    const after = await raw(s.port, get("/after"), { responses: 1 });
    assert.equal(after.responses[0]?.body, "after", "a fresh connection is served afterwards");
  } finally {
    await s.close();
  }
  // The server has closed every connection: nothing can still reach /smuggled.
  assert.equal(smuggled, 0, "GET /smuggled was answered");
}

// ---------------------------------------------------------------- Content-Length and Transfer-Encoding

Deno.test("CL.TE: Content-Length covering a chunked body that ends early is refused with 400", async () => {
  // By Content-Length, the body is all of it; by the chunks, it ends at "0", and GET /smuggled follows.
  const body = "0\r\n\r\n" + HIDDEN;
  await assertNotSmuggled(
    post(`Content-Length: ${body.length}\r\n`, "Transfer-Encoding: chunked\r\n") + body,
    400,
    /Both Transfer-Encoding and Content-Length/,
  );
});

Deno.test("TE.CL (the fields in the other order): a short Content-Length on a chunked body is refused with 400", async () => {
  // By the chunks, GET /smuggled is chunk data; by Content-Length, the body is only the size line, and it follows.
  const body = oneChunk(HIDDEN);
  const sizeLine = `${HIDDEN.length.toString(16)}\r\n`;
  await assertNotSmuggled(
    post("Transfer-Encoding: chunked\r\n", `Content-Length: ${sizeLine.length}\r\n`) + body,
    400,
    /Both Transfer-Encoding and Content-Length/,
  );
});

// ---------------------------------------------------------------- Content-Length disagreeing with itself

Deno.test("two Content-Length fields with different values are refused with 400", async () => {
  // A reader that takes the first sees no body, and GET /smuggled next; one that takes the last sees it as the body.
  await assertNotSmuggled(
    post("Content-Length: 0\r\n", `Content-Length: ${HIDDEN.length}\r\n`) + HIDDEN,
    400,
    /Bad Content-Length/,
  );
});

Deno.test("a Content-Length list of different values (0, N) is refused with 400", async () => {
  await assertNotSmuggled(
    post(`Content-Length: 0, ${HIDDEN.length}\r\n`) + HIDDEN,
    400,
    /Bad Content-Length/,
  );
});

Deno.test("a Content-Length list of one value repeated (N, N) is that value: the hidden request is only a body", async () => {
  // The contrast to the case above (RFC 9110 8.6): the request is whole, and /smuggled is its body, not a request.
  let smuggled = 0;
  const app = new App()
    .get("/smuggled", () => String(++smuggled))
    .post("/upload", async (req) => await req.text());
  const s = await start(app);
  try {
    const request = post(`Content-Length: ${HIDDEN.length}, ${HIDDEN.length}\r\n`) + HIDDEN;
    const { responses } = await raw(s.port, request, { responses: 1 });
    assert.equal(responses[0]?.status, 200);
    assert.equal(responses[0].body, HIDDEN, "the hidden request is echoed back as the body");
  } finally {
    await s.close();
  }
  assert.equal(smuggled, 0);
});

// ---------------------------------------------------------------- codings other than chunked alone

Deno.test("Transfer-Encoding: chunked, identity is refused with 400: chunked must be the last coding (RFC 9112 6.3)", async () => {
  // A reader that stops at "chunked" reads chunks and finds GET /smuggled after the last; one that goes by the last
  // coding can't frame the body at all.
  await assertNotSmuggled(
    post("Transfer-Encoding: chunked, identity\r\n") + "0\r\n\r\n" + HIDDEN,
    400,
    /^Chunked is not last in "chunked, identity"$/,
  );
});

Deno.test("Transfer-Encoding: identity, chunked is refused with 501: groundwork knows no coding but chunked", async () => {
  await assertNotSmuggled(
    post("Transfer-Encoding: identity, chunked\r\n") + "0\r\n\r\n" + HIDDEN,
    501,
    /^Not Implemented$/, // a 5xx says no more than its reason phrase
  );
});

// ---------------------------------------------------------------- field lines that two readers read apart

Deno.test("Transfer-Encoding folded onto a continuation line (obs-fold) is refused with 400", async () => {
  // RFC 9112 5.2: a server must refuse obs-fold or unfold it; a reader that drops the line sees only Content-Length.
  const body = "0\r\n\r\n" + HIDDEN;
  await assertNotSmuggled(
    post(`Content-Length: ${body.length}\r\n`, "Transfer-Encoding:\r\n chunked\r\n") + body,
    400,
    /Malformed header field/,
  );
});

Deno.test("a space before the colon (Transfer-Encoding :) is refused with 400", async () => {
  // RFC 9112 5.1: a server must refuse whitespace between a field name and its colon; a reader that trims it takes
  // the chunks, and one that keeps it knows no such field and takes Content-Length.
  const body = "0\r\n\r\n" + HIDDEN;
  await assertNotSmuggled(
    post(`Content-Length: ${body.length}\r\n`, "Transfer-Encoding : chunked\r\n") + body,
    400,
    /Malformed header field/,
  );
});

Deno.test("a NUL in a field (Transfer-Encoding: chunked\\0) is refused with 400", async () => {
  // A reader in C may end the value at the NUL and see "chunked"; the bytes after it are not visible characters.
  const body = "0\r\n\r\n" + HIDDEN;
  await assertNotSmuggled(
    post(`Content-Length: ${body.length}\r\n`, "Transfer-Encoding: chunked\0x\r\n") + body,
    400,
    /Malformed header field/,
  );
});

// ---------------------------------------------------------------- where a line ends

Deno.test("a bare LF ending a head line is refused with 400: a field hidden after it is not read as one", async () => {
  // A reader that ends lines at LF sees a Transfer-Encoding field; one that ends them at CRLF sees a field value with
  // an LF in it. Either way the server refuses it, rather than pick one (RFC 9112 2.2).
  const body = "0\r\n\r\n" + HIDDEN;
  await assertNotSmuggled(
    post(`Content-Length: ${body.length}\r\n`, "X-Note: a\nTransfer-Encoding: chunked\r\n") + body,
    400,
    /LF, not CRLF/,
  );
});

Deno.test("a bare LF ending a chunk-size line is refused with 400", async () => {
  // "0\n" is the last chunk to a reader that ends lines at LF; GET /smuggled would follow it.
  await assertNotSmuggled(
    post("Transfer-Encoding: chunked\r\n") + "0\n\r\n" + HIDDEN,
    400,
    /LF, not CRLF/,
  );
});

Deno.test("the chunk-extension trick (0;\\n) is refused with 400: an extension with no name, ended by a bare LF", async () => {
  // A reader that skips an extension up to the next LF takes "0;\n" as the last chunk, and the CRLF after it as the
  // end of the trailers: GET /smuggled follows. By the grammar (RFC 9112 7.1.1) ";" needs a name, and CRLF ends it.
  await assertNotSmuggled(
    post("Transfer-Encoding: chunked\r\n") + "0;\n\r\n" + HIDDEN,
    400,
    /LF, not CRLF/,
  );
});

// ---------------------------------------------------------------- numbers that overflow

Deno.test("a chunk size that overflows 64 bits (ffffffffffffffffff) is refused with 400", async () => {
  for (
    const size of [
      "ffffffffffffffffff", // 72 bits of ones
      `1${"0".repeat(16)}${HIDDEN.length.toString(16)}`, // 2^64 + the hidden request's length: wraps to that length
    ]
  ) {
    await assertNotSmuggled(
      post("Transfer-Encoding: chunked\r\n") + `${size}\r\n${HIDDEN}\r\n0\r\n\r\n`,
      400,
      /malformed chunk size/,
    );
  }
});

// ---------------------------------------------------------------- HTTP/1.0

Deno.test("Transfer-Encoding in an HTTP/1.0 request is refused with 400: HTTP/1.0 has no chunks", async () => {
  // An HTTP/1.0 reader knows no Transfer-Encoding: it sees a request with no body, and then "0", and GET /smuggled.
  await assertNotSmuggled(
    "POST /upload HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + HIDDEN,
    400,
    /HTTP\/1.0/,
  );
});
