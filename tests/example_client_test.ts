// examples/client.ts, checked against fetch: the same requests to the same servers must give the same answers.
import assert from "node:assert/strict";
import { App, Response } from "../mod.ts";
import { Client, type ClientResponse } from "../examples/client.ts";
import { fetch, sleep, start, within } from "./helpers.ts";
import { freePort, ROOT, runCommand, runExample } from "./run_example.ts";

const hello = (port: number) => [`--allow-net=0.0.0.0:${port}`];

/** The parts of a response both clients must agree on. */
function essentials(status: number, headers: Headers, body: string) {
  return {
    status,
    type: headers.get("content-type"),
    length: headers.get("content-length"),
    body,
  };
}
const fromClient = (res: ClientResponse) => essentials(res.status, res.headers, res.text());
async function fromFetch(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return essentials(res.status, res.headers, await res.text());
}

/** An app with what hello.ts lacks: a chunked stream, a POST that echoes, a 204, and a route that closes. */
function testApp(): App {
  const encoder = new TextEncoder();
  // Sizes chosen to cross hex digit counts (f, 10, ff, 100) and to span many reads (70 000).
  const sizes = [1, 15, 16, 255, 256, 70_000];
  const piece = (size: number, i: number) =>
    encoder.encode(String.fromCharCode(97 + i).repeat(size));
  return new App()
    .get("/stream", () => ReadableStream.from(sizes.map(piece)))
    .post(
      "/echo",
      async (req) => ({ got: await req.text(), type: req.headers.get("content-type") }),
    )
    .delete("/thing", () => null)
    .get("/bye", () => new Response("bye", { headers: { connection: "close" } }));
}

Deno.test("client example: answers from examples/hello.ts match fetch's, on one kept-alive connection", async () => {
  const server = await runExample("examples/hello.ts", hello);
  const client = new Client(server.url);
  try {
    for (const path of ["/", "/json", "/hello/Ada%20Lovelace", "/missing"]) {
      assert.deepEqual(
        fromClient(await client.request("GET", path)),
        await fromFetch(server.url + path),
        path,
      );
    }
    assert.equal(client.connections, 1);
  } finally {
    client.close();
    await server.stop();
  }
});

Deno.test("client example: the head is kept as it came, status line first", async () => {
  const server = await runExample("examples/hello.ts", hello);
  const client = new Client(server.url);
  try {
    const res = await client.request("GET", "/json");
    assert.match(res.head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(res.head, /\r\ncontent-type: application\/json\r\n/);
    assert.ok(res.head.endsWith("\r\n") && !res.head.endsWith("\r\n\r\n"));
    assert.equal(res.reason, "OK");
    assert.deepEqual(JSON.parse(res.text()), { message: "Hello, World!" });
  } finally {
    client.close();
    await server.stop();
  }
});

Deno.test("client example: a chunked body is put back together as fetch does", async () => {
  const server = await start(testApp());
  const client = new Client(server.url);
  try {
    const res = await client.request("GET", "/stream");
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    assert.equal(res.headers.get("content-length"), null);
    assert.equal(res.body.length, 1 + 15 + 16 + 255 + 256 + 70_000);
    assert.deepEqual(fromClient(res), await fromFetch(`${server.url}/stream`));
    // and the connection is still good for the next request: the chunked body ended exactly where it should
    assert.equal((await client.request("GET", "/stream")).body.length, res.body.length);
    assert.equal(client.connections, 1);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("client example: a POST body, a 204 and a HEAD leave the connection ready for the next request", async () => {
  const server = await start(testApp());
  const client = new Client(server.url);
  try {
    const body = JSON.stringify({ title: "héllo" }),
      headers = { "content-type": "application/json" };
    const posted = await client.request("POST", "/echo", { headers, body });
    assert.deepEqual(
      fromClient(posted),
      await fromFetch(`${server.url}/echo`, { method: "POST", headers, body }),
    );
    assert.deepEqual(JSON.parse(posted.text()), { got: body, type: "application/json" });

    const deleted = await client.request("DELETE", "/thing");
    assert.deepEqual([deleted.status, deleted.body.length], [204, 0]);

    const head = await client.request("HEAD", "/stream"); // GET's fields, and no body to wait for
    assert.deepEqual([head.status, head.body.length], [200, 0]);

    const after = await client.request("GET", "/stream");
    assert.equal(after.status, 200);
    assert.equal(client.connections, 1);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("client example: an interim 100 Continue is skipped, and the final answer read", async () => {
  const server = await start(testApp());
  const client = new Client(server.url);
  try {
    const res = await client.request("POST", "/echo", {
      headers: { expect: "100-continue" },
      body: "x",
    });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.text()).got, "x");
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("client example: after a Connection: close answer, the next request opens a new connection", async () => {
  const server = await start(testApp());
  const client = new Client(server.url);
  try {
    const bye = await client.request("GET", "/bye");
    assert.deepEqual([bye.headers.get("connection"), bye.text()], ["close", "bye"]);
    assert.equal((await client.request("GET", "/stream")).status, 200);
    assert.equal(client.connections, 2);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("client example: a body without a length is read until the server closes", async () => {
  // A server that ends every answer by hanging up, as an HTTP/1.0 server would: mod.ts never does so for 1.1.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) {
      const request = new Uint8Array(1024);
      await conn.read(request);
      await conn.write(
        new TextEncoder().encode(
          "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end",
        ),
      );
      conn.close();
    }
  })();
  const client = new Client(`http://127.0.0.1:${listener.addr.port}`);
  try {
    const first = await client.request("GET", "/");
    assert.deepEqual([first.status, first.headers.get("content-length"), first.text()], [
      200,
      null,
      "until the end",
    ]);
    assert.equal((await client.request("GET", "/")).text(), "until the end");
    assert.equal(client.connections, 2); // a close-delimited body uses its connection up
  } finally {
    client.close();
    listener.close();
    await within(serving, 5000, "the end of the little server's accept loop");
  }
});

Deno.test("client example: a connection the server closed while idle is replaced, for a GET only", async () => {
  const server = await start(testApp(), { idleTimeoutMs: 50 });
  const client = new Client(server.url);
  try {
    assert.equal((await client.request("GET", "/stream")).status, 200);
    await sleep(200); // the server closes the idle connection; the client finds out only when it next uses it
    assert.equal((await client.request("GET", "/stream")).status, 200); // sent again, on a new connection
    assert.equal(client.connections, 2);
    await sleep(200);
    // A POST is not sent twice on its own: the server might have acted on the first one.
    await assert.rejects(client.request("POST", "/echo", { body: "once" }), /closed/);
    assert.equal(client.connections, 2);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("client example: a path or method that would smuggle a second request is refused", async () => {
  const client = new Client("http://127.0.0.1:9"); // never connected to: the checks come first
  await assert.rejects(client.request("GET", "/ HTTP/1.1\r\nHost: x\r\n\r\nGET /admin"), TypeError);
  await assert.rejects(client.request("GET", "no-slash"), TypeError);
  await assert.rejects(client.request("GET /x", "/"), TypeError);
  assert.throws(() => new Client("https://example.com/"), TypeError);
});

Deno.test("client example: the command line prints each response's head and body", async () => {
  const server = await runExample("examples/hello.ts", hello);
  try {
    const args = [
      "run",
      `--allow-net=127.0.0.1:${server.port}`,
      "examples/client.ts",
      `${server.url}/json`,
      "/hello/Ada",
    ];
    const { code, stdout: out, stderr: log } = await runCommand(Deno.execPath(), args, {
      cwd: ROOT,
    });
    assert.equal(code, 0, log);
    assert.match(
      out,
      /^HTTP\/1\.1 200 OK\r\n[^]*content-type: application\/json\r\n[^]*\r\n\n\{"message":"Hello, World!"\}\n/,
    );
    assert.match(out, /HTTP\/1\.1 200 OK\r\n[^]*\r\n\nHello, Ada!\n$/);
    assert.match(log, /\* GET \/json \(connection 1\)\n\* GET \/hello\/Ada \(connection 1\)/);
  } finally {
    await server.stop();
  }
});

/** Runs `deno run <permissions> examples/client.ts <args>` to its end, from the project's root. */
function runClient(permissions: string[], ...args: string[]) {
  return runCommand(Deno.execPath(), ["run", ...permissions, "examples/client.ts", ...args], {
    cwd: ROOT,
  });
}

/** Asserts that `stderr` is one line, with no stack trace under it. */
function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line, not:\n${stderr}`);
  assert.match(lines[0], pattern);
}

Deno.test("client example: on the URL hello.ts prints, the header's command works, and a missing permission is a one-line hint", async () => {
  const server = await runExample("examples/hello.ts", hello);
  try {
    assert.match(server.stderr(), new RegExp(`Listening on http://localhost:${server.port}/`));
    const url = `http://localhost:${server.port}/`;
    // The header's command: both names of this machine allowed, since Deno checks the name as the URL gives it.
    const allowed = [`--allow-net=localhost:${server.port},127.0.0.1:${server.port}`];
    const ok = await runClient(allowed, url);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\nHello, World!\n$/);

    const refused = await runClient([`--allow-net=127.0.0.1:${server.port}`], url);
    assert.equal(refused.code, 1);
    assertOneLine(
      refused.stderr,
      new RegExp(
        `^client\\.ts: no permission to connect to localhost:${server.port}: run it with ` +
          `--allow-net=localhost:${server.port}$`,
      ),
    );
  } finally {
    await server.stop();
  }
});

Deno.test("client example: an https:// URL is a one-line message, not a stack trace", async () => {
  const { code, stderr } = await runClient(["--allow-net=127.0.0.1"], "https://127.0.0.1:1/");
  assert.equal(code, 2);
  assertOneLine(
    stderr,
    /^client\.ts: This client speaks plain HTTP only; use curl or fetch for https$/,
  );
});

Deno.test("client example: a URL where nothing listens, or no URL at all, is a one-line message too", async () => {
  const port = freePort();
  const refused = await runClient([`--allow-net=127.0.0.1:${port}`], `http://127.0.0.1:${port}/`);
  assert.equal(refused.code, 1);
  assertOneLine(
    refused.stderr,
    new RegExp(`^client\\.ts: nothing listens at 127\\.0\\.0\\.1:${port}: `),
  );
  const notUrl = await runClient([], "localhost:8000");
  assert.equal(notUrl.code, 2);
  assertOneLine(
    notUrl.stderr,
    /^client\.ts: Only http:\/\/ URLs, not "localhost:8000": write it as http:\/\/HOST/,
  );
  const none = await runClient([]);
  assert.equal(none.code, 2);
  assertOneLine(none.stderr, /^Usage: /);
});
