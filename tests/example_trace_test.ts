// examples/trace.ts, run the way its header says, with the trace on: what it prints on stderr is the lesson, so the
// tests read it. Requests go over real TCP, and each wait on the trace has a deadline.
import assert from "node:assert/strict";
import { Client, raw, sleep } from "./helpers.ts";
import { runExample, type Running } from "./run_example.ts";

/** How long the trace may take to print a line after the request that causes it: far more than it takes. */
const TRACE_MS = 10_000;

/** How often the stderr collected so far is looked at again while waiting for a line. */
const POLL_MS = 20;

/** Starts examples/trace.ts, allowed to listen on its port and nothing else. */
function startTrace(): Promise<Running> {
  return runExample("examples/trace.ts", (port) => [`--allow-net=0.0.0.0:${port}`]);
}

/** Waits until the example's stderr matches `pattern`, and returns all of it; fails after TRACE_MS. */
async function printed(example: Running, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + TRACE_MS;
  while (!pattern.test(example.stderr())) {
    if (Date.now() > deadline) {
      throw new Error(
        `the trace did not show ${pattern} within ${TRACE_MS} ms:\n${example.stderr()}`,
      );
    }
    await sleep(POLL_MS);
  }
  return example.stderr();
}

Deno.test("trace example: shows a connection's number, each state with its deadline, both heads with \\r\\n, and why it closed", async () => {
  const example = await startTrace();
  try {
    const request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    const { responses } = await raw(example.port, request);
    assert.equal(responses[0]?.status, 200);
    const trace = await printed(example, /^#1 \+\d+ms closed: /m);
    assert.match(trace, /^#1 \+\d+ms open, from 127\.0\.0\.1 port \d+$/m);
    assert.match(trace, /^#1 \+\d+ms idle, for at most 5000 ms$/m);
    assert.match(trace, /^#1 \+\d+ms reading a head, for at most 10000 ms$/m);
    assert.match(trace, /^#1 \+\d+ms the handler runs, for at most 30000 ms$/m);
    // The head as it came, each line ending in a visible \r\n, the blank line too.
    const head =
      "  GET / HTTP/1.1\\r\\n\n  Host: localhost\\r\\n\n  Connection: close\\r\\n\n  \\r\\n\n";
    assert.ok(trace.includes(head), `the request head, \\r\\n shown, in:\n${trace}`);
    assert.match(
      trace,
      /the answer's head:\n {2}HTTP\/1\.1 200 OK\\r\\n\n {2}content-type: text\/html/,
    );
    assert.match(trace, /^#1 \+\d+ms closed: the answer said it would close$/m);
  } finally {
    await example.stop();
  }
});

Deno.test("trace example: a form's POST shows its Content-Length and first bytes, /stream its chunked answer", async () => {
  const example = await startTrace();
  const client = await Client.connect(example.port);
  try {
    const form = "words=h%C3%A9llo";
    await client.send(
      "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
        `Content-Length: ${form.length}\r\n\r\n${form}`,
    );
    const [posted] = await client.next();
    assert.equal(posted?.status, 200);
    assert.match(posted.body, /You said: h\xc3\xa9llo/, "the form's words, as UTF-8 bytes");
    await client.send("GET /stream HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const [streamed] = await client.next(1, { timeoutMs: TRACE_MS });
    assert.equal(streamed?.body, "piece 1 of 3\npiece 2 of 3\npiece 3 of 3\n");
    const trace = await printed(example, /transfer-encoding: chunked/);
    assert.match(trace, /^#1 \+\d+ms reading a body of 16 bytes, for at most \d+ ms$/m);
    assert.match(trace, /^#1 \+\d+ms the body: 16 bytes, "words=h%C3%A9llo"$/m);
    assert.equal(
      trace.match(/^#2 /m),
      null,
      "both requests came on connection #1: it was kept alive",
    );
  } finally {
    client.close();
    await example.stop();
  }
});
