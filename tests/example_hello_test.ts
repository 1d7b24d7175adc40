// examples/hello.ts and examples/serve.ts, run the way the README says: `deno run` on groundwork's own server,
// and `deno serve --parallel` on Deno's. Both must give the same answers.
import assert from "node:assert/strict";
import { fetch, sleep, within } from "./helpers.ts";
import { collect, freePort, GRACE_MS, ROOT, runExample, stopProcess } from "./run_example.ts";

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
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline && !ended) {
    try {
      await (await fetch(url, { timeoutMs: Math.max(1, deadline - Date.now()) })).body?.cancel();
      return;
    } catch (err) { // not listening yet: try again shortly
      last = err;
      await sleep(50);
    }
  }
  if (ended) throw new Error(`the server at ${url} exited before serving`);
  throw new Error(`nothing answered at ${url} within ${ms} ms; the last try: ${last}`);
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
    stderr: "piped",
  }).spawn();
  const stderr = collect(child.stderr);
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitUntilServing(base + "/", 15_000, child.status);
    await assertAnswers(base);
  } finally {
    // `deno serve --parallel` does not always exit on SIGTERM: in about one full run of the suite in five, it was still
    // serving 5 s later, one of its two worker threads gone and the other waiting for connections. (With SIGTERM sent
    // a second later, once both workers had surely started, it always exited.) That is Deno's behaviour, not
    // groundwork's: this is Deno's server. So a kill after the grace period is no failure here.
    const { killed } = await stopProcess(child, "deno serve --parallel", {
      printed: stderr.text,
      killIsExpected: true,
    });
    if (killed) {
      console.warn(
        `deno serve --parallel was still running ${GRACE_MS} ms after SIGTERM: killed it`,
      );
    }
    await within(stderr.ended, 5000, "the end of deno serve's stderr");
  }
});
