// examples/hello.ts and examples/serve.ts, run the way the README says: `deno run` on groundwork's own server,
// and `deno serve --parallel` on Deno's. Both must give the same answers.
import assert from "node:assert/strict";
import { freePort, ROOT, runExample } from "./run_example.ts";

/** What the hello app answers, by path. */
const ANSWERS: [path: string, type: string, body: string][] = [
  ["/", "text/plain; charset=utf-8", "Hello, World!"],
  ["/json", "application/json", '{"message":"Hello, World!"}'],
  ["/hello/Ada", "text/plain; charset=utf-8", "Hello, Ada!"],
  ["/hello/J%C3%B6rg", "text/plain; charset=utf-8", "Hello, Jörg!"],
];

/** Asserts that the server at `base` gives each of ANSWERS. */
async function assertAnswers(base: string): Promise<void> {
  for (const [path, type, body] of ANSWERS) {
    const res = await fetch(base + path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("content-type"), type, path);
    assert.equal(await res.text(), body, path);
  }
  const missing = await fetch(base + "/nope");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
}

/** Fetches `url` until it answers at all, for at most `ms`; a server still starting refuses the connection. */
async function waitUntilServing(url: string, ms: number, gone: Promise<unknown>): Promise<void> {
  let ended = false;
  gone.then(() => (ended = true));
  for (const deadline = Date.now() + ms; Date.now() < deadline && !ended;) {
    try {
      await (await fetch(url)).body?.cancel();
      return;
    } catch { // not listening yet: try again shortly
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(ended ? `the server at ${url} exited before serving` : `nothing answered at ${url} within ${ms} ms`);
}

Deno.test("`deno run --allow-net examples/hello.ts --port N` prints its URL and says Hello, World!", async () => {
  const hello = await runExample("examples/hello.ts", () => ["--allow-net"]);
  try {
    assert.match(hello.stderr(), new RegExp(`Listening on http://localhost:${hello.port}/`));
    const res = await fetch(hello.url + "/");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "Hello, World!");
    await assertAnswers(hello.url);
  } finally {
    await hello.stop();
  }
});

Deno.test("`deno serve --parallel --port N examples/serve.ts` gives the same answers as hello.ts", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["serve", "--parallel", "--port", String(port), "examples/serve.ts"],
    cwd: ROOT,
    env: { DENO_JOBS: "2" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const status = child.status;
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitUntilServing(base + "/", 15_000, status);
    await assertAnswers(base);
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* it has ended already */ }
    await status;
  }
});
