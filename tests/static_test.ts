// extras/static.ts: fileResponse and serveStatic, over real TCP: types, caching and 304, ranges, HEAD, and every
// way a request tries to leave the folder.
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileResponse, serveStatic, type StaticOptions } from "../extras/static.ts";
import { App, HttpError } from "../mod.ts";
import { bodyText, encoder, get, inTempDir, type Parsed, raw, start } from "./helpers.ts";

const SECRET = `TOP SECRET ${crypto.randomUUID()}`; // in a file beside the root: no request may ever get it
const CLIP = new Uint8Array(5000).map((_, i) => (i * 7919) % 251); // bytes that no wrong range could fake

/**
 * Fills `dir` with `public/` (files of several types, folders, a dotfile, and symlinks in and out of it),
 * `secret.txt` beside it, and `empty/`, a root with nothing in it.
 */
async function fill(dir: string): Promise<string> {
  const pub = join(dir, "public");
  await Deno.mkdir(join(pub, "docs"), { recursive: true });
  await Deno.mkdir(join(pub, "bare"));
  await Deno.mkdir(join(pub, "example.com")); // a folder whose name is a host name
  await Deno.mkdir(join(dir, "empty"));
  for (
    const name of [
      "index.html",
      "style.css",
      "app.js",
      "notes.txt",
      "PHOTO.PNG",
      "archive.unknownext",
      "README",
    ]
  ) {
    await Deno.writeTextFile(join(pub, name), `contents of ${name}`);
  }
  await Deno.writeFile(join(pub, "clip.mp4"), CLIP);
  await Deno.writeTextFile(join(pub, "docs", "index.html"), "<h1>Docs</h1>");
  await Deno.writeTextFile(join(pub, "docs", "home.html"), "<h1>Home</h1>");
  await Deno.writeTextFile(join(pub, ".env"), "PASSWORD=hunter2");
  await Deno.writeTextFile(join(dir, "secret.txt"), SECRET);
  await Deno.symlink("../secret.txt", join(pub, "link.txt")); // a file inside that is really outside
  await Deno.symlink("..", join(pub, "escape")); // a folder inside that is really the parent
  await Deno.symlink("style.css", join(pub, "alias.css")); // a symlink that stays inside: fine
  await Deno.symlink(".env", join(pub, "env.txt")); // a symlink to a dotfile: refused like the dotfile
  await Deno.symlink("loop", join(pub, "loop")); // a symlink to itself: nothing there, not a 500
  return pub;
}

/** Runs `fn` with a filled scratch folder and a server for `app(public)`, both gone afterwards. */
async function withServer(
  app: (pub: string, dir: string) => App,
  fn: (port: number, pub: string) => Promise<void>,
): Promise<void> {
  await inTempDir(async (dir) => {
    const pub = await fill(dir);
    const s = await start(app(pub, dir));
    try {
      await fn(s.port, pub);
    } finally {
      await s.close();
    }
  });
}

/** An app that serves `pub` under /static/. */
const underStatic = (options?: StaticOptions) => (pub: string) =>
  new App().get("/static/*", serveStatic(pub, options));

/** Sends one raw GET (or `method`) with header fields, and returns the one answer. */
async function ask(
  port: number,
  target: string,
  fields: string[] = [],
  method = "GET",
): Promise<Parsed> {
  const request = `${method} ${target} HTTP/1.1\r\nHost: localhost\r\n${
    fields.map((f) => `${f}\r\n`).join("")
  }\r\n`;
  const { responses, text } = await raw(port, request, { responses: 1, method });
  assert.ok(responses[0], `no answer to ${target}: ${text}`);
  return responses[0];
}

/** Each character that the raw helper's decoder ("latin1", which the web takes for windows-1252) makes of a byte. */
const BYTE_OF = new Map(
  Array.from({ length: 256 }, (_, b) => [new TextDecoder("latin1").decode(Uint8Array.of(b)), b]),
);
/** A body read by the raw helper (one character per byte) as bytes again. */
const bytesOf = (body: string) => Uint8Array.from(body, (c) => BYTE_OF.get(c)!);

// ---------------------------------------------------------------- fileResponse on its own

Deno.test("fileResponse sets the content type from the extension, and Content-Length", async () => {
  await inTempDir(async (dir) => {
    const types = {
      "page.html": "text/html; charset=utf-8",
      "style.css": "text/css; charset=utf-8",
      "app.js": "text/javascript; charset=utf-8",
      "data.json": "application/json",
      "notes.txt": "text/plain; charset=utf-8",
      "logo.svg": "image/svg+xml",
      "PHOTO.PNG": "image/png",
      "photo.jpeg": "image/jpeg",
      "archive.unknownext": "application/octet-stream",
      "html": "application/octet-stream", // a name, not an extension
    };
    for (const [name, type] of Object.entries(types)) {
      await Deno.writeTextFile(join(dir, name), `contents of ${name}`);
      const res = await fileResponse(join(dir, name));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), type, name);
      assert.equal(
        res.headers.get("content-length"),
        String(encoder.encode(`contents of ${name}`).length),
        name,
      );
      assert.equal(await bodyText(res), `contents of ${name}`, name);
    }
  });
});

Deno.test("fileResponse keeps the status and headers it is given", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "report.txt"), "report");
    const res = await fileResponse(join(dir, "report.txt"), undefined, {
      status: 203,
      headers: { "cache-control": "max-age=60", "content-type": "text/x-report" },
    });
    assert.equal(res.status, 203);
    assert.equal(res.headers.get("cache-control"), "max-age=60");
    assert.equal(res.headers.get("content-type"), "text/x-report");
    assert.equal(await bodyText(res), "report");
  });
});

Deno.test("fileResponse throws HttpError 404 for a missing file and for a directory", async () => {
  await inTempDir(async (dir) => {
    const is404 = (err: unknown) => err instanceof HttpError && err.status === 404;
    await assert.rejects(fileResponse(join(dir, "missing.txt")), is404);
    await assert.rejects(fileResponse(join(dir, "missing", "deeper.txt")), is404);
    await assert.rejects(fileResponse(dir), is404); // and closes the directory it opened: the sanitizer checks
  });
});

Deno.test("fileResponse answers a missing file or a directory with 404 through an App", async () => {
  await inTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "sub"));
    const app = new App().get("/files/*", (req) => fileResponse(join(dir, req.params["*"])));
    const s = await start(app);
    try {
      const { responses } = await raw(s.port, get("/files/missing.txt") + get("/files/sub"), {
        responses: 2,
      });
      assert.deepEqual(responses.map((res) => res.status), [404, 404]);
    } finally {
      await s.close();
    }
  });
});

// ---------------------------------------------------------------- serveStatic: files, types, folders

Deno.test("serveStatic serves each file whole, with its type, length, ETag, Last-Modified and Accept-Ranges", async () => {
  await withServer(underStatic(), async (port, pub) => {
    const types = [
      ["style.css", "text/css; charset=utf-8"],
      ["app.js", "text/javascript; charset=utf-8"],
      ["PHOTO.PNG", "image/png"],
      ["README", "application/octet-stream"],
      ["alias.css", "text/css; charset=utf-8"], // a symlink that stays inside the root
    ];
    for (const [name, type] of types) {
      const res = await ask(port, `/static/${name}`);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get("content-type"), type, name);
      assert.equal(res.body, `contents of ${name === "alias.css" ? "style.css" : name}`, name);
      assert.equal(res.headers.get("content-length"), String(res.body.length), name);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", name);
    }
    const clip = await ask(port, "/static/clip.mp4");
    const { mtime } = await Deno.stat(join(pub, "clip.mp4"));
    assert.equal(clip.headers.get("content-type"), "video/mp4");
    assert.deepEqual(bytesOf(clip.body), CLIP);
    assert.match(clip.headers.get("etag") ?? "", /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal(clip.headers.get("last-modified"), mtime!.toUTCString());
    assert.equal(clip.headers.get("accept-ranges"), "bytes");
    assert.equal(clip.headers.get("transfer-encoding"), null, "a length, not chunks");
  });
});

Deno.test("serveStatic serves a folder's index file, redirects a folder without its / (301), and 404s without one", async () => {
  await withServer(underStatic(), async (port) => {
    assert.equal((await ask(port, "/static/")).body, "contents of index.html");
    assert.equal((await ask(port, "/static/docs/")).body, "<h1>Docs</h1>");
    const redirect = await ask(port, "/static/docs?x=1");
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get("location"), "/static/docs/?x=1");
    const bare = await ask(port, "/static/bare/");
    assert.equal(bare.status, 404, "no listing of a folder");
    assert.equal(bare.body, "No file at /static/bare/");
    assert.equal((await ask(port, "/static/missing.txt")).status, 404);
  });
});

Deno.test("serveStatic's index option names the file a folder serves", async () => {
  await withServer(underStatic({ index: "home.html" }), async (port) => {
    assert.equal((await ask(port, "/static/docs/")).body, "<h1>Home</h1>");
  });
});

Deno.test("serveStatic on /* redirects //example.com to /example.com/, never to another site", async () => {
  await withServer((pub) => new App().get("/*", serveStatic(pub)), async (port) => {
    const res = await ask(port, "//example.com");
    assert.equal(res.status, 301);
    assert.equal(res.headers.get("location"), "/example.com/");
  });
});

Deno.test("serveStatic without a * in its route serves req.path (say, as notFound), and 400s a malformed escape", async () => {
  await withServer((pub) => {
    const app = new App();
    app.notFound = serveStatic(pub);
    return app;
  }, async (port) => {
    assert.equal((await ask(port, "/notes.txt")).body, "contents of notes.txt");
    assert.equal((await ask(port, "/docs/")).body, "<h1>Docs</h1>");
    assert.equal((await ask(port, "/%E2%82")).status, 400);
    assert.equal((await ask(port, "/..%2Fsecret.txt")).status, 404);
  });
});

Deno.test("serveStatic on an empty folder answers every path with a clear 404", async () => {
  await withServer(
    (_pub, dir) => new App().get("/*", serveStatic(join(dir, "empty"))),
    async (port) => {
      for (const path of ["/", "/x", "/index.html", "/a/b/"]) {
        const res = await ask(port, path);
        assert.equal(res.status, 404, path);
        assert.equal(res.body, `No file at ${path}`);
      }
    },
  );
});

Deno.test("serveStatic resolves its root at once against the working directory, and throws if it is no folder", async () => {
  await inTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "file.txt"), "not a folder");
    assert.throws(
      () => serveStatic(join(dir, "missing")),
      /serveStatic: ".*missing" is not there .*: create it/,
    );
    assert.throws(() => serveStatic(join(dir, "file.txt")), /is a file, not a folder/);
    const pub = await fill(dir);
    const handler = serveStatic(relative(Deno.cwd(), pub)); // a relative root, from where the tests run
    const s = await start(new App().get("/*", handler));
    try {
      assert.equal((await ask(s.port, "/notes.txt")).body, "contents of notes.txt");
    } finally {
      await s.close();
    }
  });
});

// ---------------------------------------------------------------- caching: ETag, Last-Modified, 304

Deno.test("If-None-Match with the ETag (or W/ it, in a list, or *) is a 304 with the ETag and no body", async () => {
  await withServer(underStatic(), async (port) => {
    const etag = (await ask(port, "/static/clip.mp4")).headers.get("etag")!;
    for (const tags of [etag, `"other", W/${etag}`, "*"]) {
      const res = await ask(port, "/static/clip.mp4", [`If-None-Match: ${tags}`]);
      assert.equal(res.status, 304, tags);
      assert.equal(res.headers.get("etag"), etag, tags);
      assert.equal(res.body, "", tags);
      assert.equal(res.headers.get("content-length"), null, tags);
    }
    const other = await ask(port, "/static/clip.mp4", ['If-None-Match: "other"']);
    assert.equal(other.status, 200);
    assert.equal(other.body.length, CLIP.length);
  });
});

Deno.test("If-Modified-Since at or after Last-Modified is a 304, before it a 200; If-None-Match wins over it", async () => {
  await withServer(underStatic(), async (port) => {
    const lastModified = (await ask(port, "/static/clip.mp4")).headers.get("last-modified")!;
    const before = new Date(Date.parse(lastModified) - 1000).toUTCString();
    const later = new Date(Date.parse(lastModified) + 1000).toUTCString();
    assert.equal(
      (await ask(port, "/static/clip.mp4", [`If-Modified-Since: ${lastModified}`])).status,
      304,
    );
    assert.equal(
      (await ask(port, "/static/clip.mp4", [`If-Modified-Since: ${later}`])).status,
      304,
    );
    assert.equal(
      (await ask(port, "/static/clip.mp4", [`If-Modified-Since: ${before}`])).status,
      200,
    );
    assert.equal(
      (await ask(port, "/static/clip.mp4", ["If-Modified-Since: not a date"])).status,
      200,
    );
    const both = await ask(port, "/static/clip.mp4", [
      'If-None-Match: "other"',
      `If-Modified-Since: ${lastModified}`,
    ]);
    assert.equal(both.status, 200);
  });
});

// ---------------------------------------------------------------- ranges: 206 and 416

Deno.test("Range bytes=a-b, a- and -n answer 206 with Content-Range and exactly those bytes", async () => {
  await withServer(underStatic(), async (port) => {
    const size = CLIP.length;
    const cases: [string, number, number][] = [
      ["bytes=0-99", 0, 99],
      ["bytes=100-", 100, size - 1],
      ["bytes=-100", size - 100, size - 1],
      [`bytes=-${size + 50}`, 0, size - 1], // more than there is: all of it
      [`bytes=10-${size + 50}`, 10, size - 1], // an end past the end: to the end
      [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1], // the last byte alone
      ["bytes= 7-8 ", 7, 8], // whitespace around it is allowed
    ];
    for (const [range, start, end] of cases) {
      const res = await ask(port, "/static/clip.mp4", [`Range: ${range}`]);
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/${size}`, range);
      assert.equal(res.headers.get("content-length"), String(end - start + 1), range);
      assert.equal(res.headers.get("content-type"), "video/mp4", range);
      assert.deepEqual(bytesOf(res.body), CLIP.subarray(start, end + 1), range);
    }
  });
});

Deno.test("a malformed or unsatisfiable range is a 416 with Content-Range: bytes */size", async () => {
  await withServer(underStatic(), async (port) => {
    const size = CLIP.length;
    for (
      const range of [
        `bytes=${size}-`,
        "bytes=5-2",
        "bytes=-0",
        "bytes=abc",
        "bytes=-",
        "bytes=1-2-3",
      ]
    ) {
      const res = await ask(port, "/static/clip.mp4", [`Range: ${range}`]);
      assert.equal(res.status, 416, range);
      assert.equal(res.headers.get("content-range"), `bytes */${size}`, range);
    }
  });
});

Deno.test("a Range in another unit, with several ranges, or with a stale If-Range gets the whole file (200)", async () => {
  await withServer(underStatic(), async (port) => {
    const etag = (await ask(port, "/static/clip.mp4")).headers.get("etag")!;
    for (
      const fields of [["Range: items=0-1"], ["Range: bytes=0-1,5-6"], [
        "Range: bytes=0-9",
        'If-Range: "old"',
      ]]
    ) {
      const res = await ask(port, "/static/clip.mp4", fields);
      assert.equal(res.status, 200, fields.join());
      assert.equal(res.body.length, CLIP.length, fields.join());
    }
    const current = await ask(port, "/static/clip.mp4", ["Range: bytes=0-9", `If-Range: ${etag}`]);
    assert.equal(current.status, 206, "If-Range with the current ETag: the part");
    const cached = await ask(port, "/static/clip.mp4", [
      "Range: bytes=0-9",
      `If-None-Match: ${etag}`,
    ]);
    assert.equal(
      cached.status,
      304,
      "a Range with a current If-None-Match: the client has the whole file",
    );
  });
});

Deno.test("HEAD answers GET's fields, Content-Length and Content-Range included, with no body", async () => {
  await withServer(underStatic(), async (port) => {
    // A HEAD, then a GET on the same connection: had the HEAD's answer carried a body, the GET's would be garbled.
    const head = "HEAD /static/clip.mp4 HTTP/1.1\r\nHost: localhost\r\n\r\n";
    const { text } = await raw(port, head + get("/static/style.css"), {
      responses: 2,
      method: "HEAD",
    });
    const headEnd = text.indexOf("\r\n\r\n") + 4;
    assert.match(text.slice(0, headEnd), /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text.slice(0, headEnd), new RegExp(`\r\ncontent-length: ${CLIP.length}\r\n`));
    assert.match(
      text.slice(headEnd),
      /^HTTP\/1\.1 200 OK\r\n/,
      "the next thing on the wire is the GET's answer",
    );
    const ranged = await ask(port, "/static/clip.mp4", ["Range: bytes=0-9"], "HEAD");
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get("content-length"), "10");
    assert.equal(ranged.headers.get("content-range"), `bytes 0-9/${CLIP.length}`);
    assert.equal(ranged.body, "");
  });
});

// ---------------------------------------------------------------- no way out

Deno.test("serveStatic: no request path reaches a file outside the root, or a dotfile", async (t) => {
  await withServer(underStatic(), async (port) => {
    // Sent as raw bytes: fetch and URL would resolve "..", and decode or re-encode escapes, before sending.
    const attempts: [string, string][] = [
      ["dot-dot", "/static/../secret.txt"],
      ["dot-dot, deeper", "/static/docs/../../../secret.txt"],
      ["encoded dot-dot", "/static/%2e%2e/%2e%2e/secret.txt"],
      ["encoded dot-dot, upper case", "/static/%2E%2E/%2E%2E/secret.txt"],
      ["an encoded slash", "/static/..%2Fsecret.txt"],
      ["an encoded slash, lower case", "/static/..%2fsecret.txt"],
      ["all encoded", "/static/%2e%2e%2fsecret.txt"],
      ["encoded slashes after a folder", "/static/docs/..%2F..%2Fsecret.txt"],
      ["an encoded absolute path", "/static/%2Fetc%2Fpasswd"],
      ["a backslash", "/static/..\\secret.txt"],
      ["an encoded backslash", "/static/..%5Csecret.txt"],
      ["a NUL byte", "/static/index.html%00.png"],
      ["an absolute-form target", "http://localhost/static/../secret.txt"],
      ["a symlink to a file outside", "/static/link.txt"],
      ["a symlink to the folder above", "/static/escape/secret.txt"],
      ["a symlinked folder itself", "/static/escape/"],
      ["a dotfile", "/static/.env"],
      ["an encoded dotfile", "/static/%2Eenv"],
      ["a symlink to a dotfile", "/static/env.txt"],
      ["a symlink to itself", "/static/loop"],
    ];
    for (const [what, target] of attempts) {
      await t.step(`${what} (${target}) is a 404 or 400`, async () => {
        const res = await ask(port, target);
        assert.ok([400, 404].includes(res.status), `${target} got ${res.status}`);
        assert.ok(!res.body.includes("TOP SECRET") && !res.body.includes("hunter2"));
      });
    }
  });
});

Deno.test("serveStatic serves dotfiles only when dotfiles is true, and still nothing outside the root", async () => {
  await withServer(underStatic({ dotfiles: true }), async (port) => {
    assert.equal((await ask(port, "/static/.env")).body, "PASSWORD=hunter2");
    assert.equal((await ask(port, "/static/env.txt")).body, "PASSWORD=hunter2");
    assert.equal((await ask(port, "/static/link.txt")).status, 404);
  });
});
