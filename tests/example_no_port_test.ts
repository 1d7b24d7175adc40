// examples/no_port.ts, run the way its header says: `deno run`, no permission at all. It feeds a keep-alive GET and
// a chunked POST to Server.serve() through an in-memory socket, and prints the trace and every byte written back.
import assert from "node:assert/strict";
import { ROOT, runCommand } from "./run_example.ts";

/** The two answers the example's app gives, status line to body, as it prints them (each CRLF shown as \r\n). */
const ANSWERS = [
  /write 1, \d+ bytes:\nHTTP\/1\.1 200 OK\\r\\n\n[^]*?content-length: 17\\r\\n\n[^]*?\\r\\n\nHello from memory\n/,
  /write 2, \d+ bytes:\nHTTP\/1\.1 200 OK\\r\\n\n[^]*?content-length: 25\\r\\n\n[^]*?\\r\\n\ngot 11 bytes: hello world\n/,
];

Deno.test("no-port example: runs with no permission, and prints both answers and the trace", async () => {
  // --no-prompt: were a permission needed after all, Deno would fail at once rather than ask (and wait).
  const args = ["run", "--no-prompt", "examples/no_port.ts"];
  const { code, stdout, stderr } = await runCommand(Deno.execPath(), args, { cwd: ROOT });
  assert.equal(code, 0, `it failed:\n${stdout}\n${stderr}`);
  assert.equal(stderr.includes("PermissionDenied") || stderr.includes("NotCapable"), false, stderr);
  for (const answer of ANSWERS) assert.match(stdout, answer);
});

Deno.test("no-port example: the trace shows one connection carry both requests, and the chunks as they came", async () => {
  const args = ["run", "--no-prompt", "examples/no_port.ts"];
  const { code, stdout } = await runCommand(Deno.execPath(), args, { cwd: ROOT });
  assert.equal(code, 0, stdout);
  // One connection, #1, from the address the in-memory socket gives.
  assert.match(stdout, /^#1 \+\d+ms open, from 192\.0\.2\.1 port 50000$/m);
  assert.equal(stdout.match(/^#2 /m), null, "no second connection");
  // The GET came in two pieces, and was read as one head.
  assert.equal(stdout.match(/reading a head/g)?.length, 2, "one head for each request");
  assert.ok(stdout.includes("  GET / HTTP/1.1\\r\\n\n  Host: demo\\r\\n\n  \\r\\n"), stdout);
  // The chunked body: each size line, the last chunk, no trailers, and the body put back together.
  for (const size of [5, 6, 0]) {
    assert.match(stdout, new RegExp(`a chunk of ${size} bytes: "${size}"`));
  }
  assert.match(stdout, /trailer fields: none/);
  assert.match(stdout, /the body: 11 bytes, "hello world"/);
  assert.match(stdout, /^#1 \+\d+ms closed: the client closed$/m);
});
