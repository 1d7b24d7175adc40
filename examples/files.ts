// A static file server with an upload form: what browsers expect of files (types, caching, ranges), and the ways a
// request tries to reach files it shouldn't.
//   deno run --allow-net=0.0.0.0:8000 --allow-read=examples/public --allow-write=/tmp examples/files.ts
// Options: --port 8000, --root examples/public (the folder served), --uploads DIR (where uploads are saved; by
// default a new folder in /tmp, hence --allow-write=/tmp; with --uploads, allow writing there instead).
// What to look at: `resolve`, which maps a URL path to a file and refuses anything outside the root, symlinks
// included; `fileResponse`, which streams a whole file with its type and length; `notModified`, which lets a browser
// keep its cached copy (304); `parseRange` and `slice`, which send part of a file (206), as a video player asks;
// `safeName`, which makes an uploaded file's name harmless.
// Try it: open http://localhost:8000/ and http://localhost:8000/upload, or
//   curl -i -H 'Range: bytes=0-99' localhost:8000/clip.mp4 -o /dev/null
import { join, sep } from "node:path";
import { App, HttpError, type Request, Response, type ResponseInit } from "../mod.ts";

const UPLOAD_LIMIT = 5 * 1024 * 1024; // bytes in one upload request, form fields included; more: 413
const CHUNK = 64 * 1024; // how much of a file is read from disk at a time

/** The content type for each file extension served here; any other extension is application/octet-stream. */
const MIME_TYPES = new Map([
  ["html", "text/html; charset=utf-8"],
  ["css", "text/css; charset=utf-8"],
  ["js", "text/javascript; charset=utf-8"],
  ["txt", "text/plain; charset=utf-8"],
  ["json", "application/json"],
  ["svg", "image/svg+xml"],
  ["png", "image/png"],
  ["jpg", "image/jpeg"],
  ["jpeg", "image/jpeg"],
  ["gif", "image/gif"],
  ["webp", "image/webp"],
  ["ico", "image/x-icon"],
  ["mp4", "video/mp4"],
  ["webm", "video/webm"],
  ["mp3", "audio/mpeg"],
  ["pdf", "application/pdf"],
  ["wasm", "application/wasm"],
]);

/**
 * A whole file as a response, streamed from disk rather than read whole: its content type from its extension
 * (unless `init.headers` has one), its Content-Length from its size. HttpError 404 if it is missing or not a file.
 * It lives here, not in mod.ts: the core only sends a stream with a declared length as is, and a file helper that
 * does the job properly (types, ETag, Range) belongs with the file server that needs it.
 */
export async function fileResponse(path: string, init?: ResponseInit): Promise<Response> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new HttpError(404, "No such file");
    throw err;
  }
  const { isFile, size } = await file.stat();
  if (!isFile) { // a directory opens fine for reading on Linux, but reading it fails
    file.close();
    throw new HttpError(404, "No such file");
  }
  const extension = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  const type = MIME_TYPES.get(extension) ?? "application/octet-stream";
  const res = new Response(file.readable, init, type); // the type only if init's headers have none
  res.headers.set("content-length", String(size)); // the length is known, so the server needs no chunked framing
  return res;
}

/**
 * The real path of the file or folder that `path`, a URL path still percent-encoded, names under `root` (itself a
 * real path). A path that would leave the root is a 403; one that names nothing, a 404.
 */
async function resolve(root: string, path: string): Promise<string> {
  // The URL parser has already resolved the "." and ".." it could see ("/a/../b" is "/b"). Decoding a segment can
  // reveal more: "..%2Fsecret" is "../secret", "%5C" a backslash (a separator on Windows), "%00" a NUL byte.
  const names = path.split("/").map((segment) => {
    let name: string;
    try {
      name = decodeURIComponent(segment);
    } catch {
      throw new HttpError(400, `A malformed %-escape in ${JSON.stringify(segment)}`);
    }
    if (name === "." || name === ".." || /[/\\\0]/.test(name)) throw new HttpError(403, "That path is not allowed");
    return name;
  });
  let real: string;
  try {
    real = await Deno.realPath(join(root, ...names)); // follows symlinks to where they really lead
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      throw new HttpError(404, `Nothing at ${path}`);
    }
    throw err;
  }
  // A symlink inside the root may point anywhere: what counts is where the real path is.
  if (real !== root && !real.startsWith(root + sep)) throw new HttpError(403, "That path is not allowed");
  return real;
}

/**
 * Whether the client's cached copy is still current, so that a bodiless 304 will do (RFC 9110 13.2.2). If-None-Match
 * (ETags) is the precise test; If-Modified-Since is used only when it is absent.
 */
function notModified(req: Request, etag: string, modified: Date): boolean {
  const tags = req.headers.get("if-none-match");
  if (tags !== null) {
    return tags.split(",").some((tag) => tag.trim() === "*" || tag.trim().replace(/^W\//, "") === etag);
  }
  const since = Date.parse(req.headers.get("if-modified-since") ?? "");
  return !Number.isNaN(since) && Math.floor(modified.getTime() / 1000) * 1000 <= since; // HTTP dates have no ms
}

/** A byte range, both ends included, as in "Content-Range: bytes 0-99/5208". */
type Range = { start: number; end: number };

/**
 * The byte range that a Range field asks for (RFC 9110 14.1.2): "bytes=0-99" is the first 100 bytes, "bytes=100-"
 * all from byte 100 on, "bytes=-100" the last 100. null means "send the whole file": no Range, another unit, or
 * several ranges (their multipart answer is more than an example needs, and a server may always ignore a Range).
 * A malformed range, or one that starts past the end, is a 416 that says how big the file is.
 */
function parseRange(field: string | null, size: number): Range | null {
  if (field === null || !/^bytes=/i.test(field) || field.includes(",")) return null;
  const [, first = "", last = ""] = /^bytes=[\t ]*(\d*)-(\d*)[\t ]*$/i.exec(field) ?? [];
  const unsatisfiable = () =>
    new HttpError(416, `Range ${JSON.stringify(field)} is not within 0-${size - 1}`, {
      headers: { "content-range": `bytes */${size}` },
    });
  if (first === "" && last === "") throw unsatisfiable(); // malformed: "bytes=abc", "bytes=-", ...
  if (first === "") { // a suffix: the last n bytes, or the whole file if it is shorter
    if (Number(last) === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - Number(last)), end: size - 1 };
  }
  const start = Number(first), end = last === "" ? size - 1 : Number(last);
  if (start >= size || end < start) throw unsatisfiable();
  return { start, end: Math.min(end, size - 1) }; // an end past the file's end means "to the end"
}

/** Bytes `start` to `end` of a file, as a stream that reads from disk only as fast as they are sent. */
async function slice(path: string, { start, end }: Range): Promise<ReadableStream<Uint8Array>> {
  const file = await Deno.open(path);
  await file.seek(start, Deno.SeekMode.Start);
  let left = end - start + 1, open = true;
  const release = () => { // once only: both the last read and a cancel (say, for a HEAD) may call it
    if (!open) return;
    open = false;
    file.close();
  };
  return new ReadableStream({
    async pull(controller) { // called whenever the reader (the server, sending) wants more; the first call is at once
      try {
        const chunk = new Uint8Array(Math.min(left, CHUNK)), n = await file.read(chunk);
        if (n === null) throw new Error(`${path} got shorter while it was being sent`);
        controller.enqueue(chunk.subarray(0, n));
        left -= n;
        if (left === 0) {
          release();
          controller.close();
        }
      } catch (err) {
        release();
        controller.error(err);
      }
    },
    cancel: release, // the client left, or the answer was to a HEAD: let go of the file
  });
}

/** Answers a GET or HEAD for a file: 304 if the client has it already, 206 for a range, 200 with the whole file. */
async function sendFile(req: Request, path: string, info: Deno.FileInfo): Promise<Response> {
  const modified = info.mtime ?? new Date(0);
  const headers = new Headers({
    etag: `"${info.size.toString(16)}-${modified.getTime().toString(16)}"`, // changes whenever the file does
    "last-modified": modified.toUTCString(),
    "cache-control": "no-cache", // the browser may keep a copy, but must ask (and may get a 304) before using it
    "accept-ranges": "bytes",
    "x-content-type-options": "nosniff", // trust our Content-Type: don't guess that a .txt is a page to run
  });
  if (notModified(req, headers.get("etag")!, modified)) return new Response(null, { status: 304, headers });
  const range = parseRange(req.headers.get("range"), info.size);
  const res = await fileResponse(path, { headers }); // the whole file: streamed, with its type and length
  if (range === null) return res;
  // Only part of it is wanted: keep the fields fileResponse worked out, such as the type, but send the range.
  await (res.body as ReadableStream<Uint8Array>).cancel(); // closes the file the whole-file stream had open
  res.status = 206;
  res.body = await slice(path, range);
  res.headers.set("content-range", `bytes ${range.start}-${range.end}/${info.size}`);
  res.headers.set("content-length", String(range.end - range.start + 1));
  return res;
}

/**
 * A harmless name for an uploaded file, from the one the browser sent: its last part only (no folders, whether
 * "../../x" or "C:\x"), at most 100 characters, each one of A-Z a-z 0-9 . _ - (others become "_"), and no leading
 * dot (no hidden files, no "..").
 */
export function safeName(sent: string): string {
  const last = sent.split(/[/\\]/).pop()!.slice(-100);
  return last.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "") || "upload";
}

/** Saves an upload in `folder` under a safe name, never over another file: "a.txt", then "a-1.txt", ... */
async function save(folder: string, upload: File): Promise<string> {
  const name = safeName(upload.name), dot = name.lastIndexOf(".") > 0 ? name.lastIndexOf(".") : name.length;
  for (let n = 0; n < 100; n++) {
    const candidate = n === 0 ? name : `${name.slice(0, dot)}-${n}${name.slice(dot)}`, path = join(folder, candidate);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { write: true, createNew: true }); // fails if the file exists: no overwrite, no race
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) continue;
      throw err;
    }
    try {
      await upload.stream().pipeTo(file.writable); // closes the file when done
    } catch (err) {
      await Deno.remove(path).catch(() => {}); // leave no half-written file (if removing fails, report the first error)
      throw err;
    }
    return candidate;
  }
  throw new HttpError(409, `Too many files named ${name}: rename yours`);
}

const FORM = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Upload</title><link rel="stylesheet" href="/style.css"></head>
<body>
  <h1>Upload</h1>
  <form method="post" action="/upload" enctype="multipart/form-data">
    <input type="file" name="file" multiple required>
    <button>Upload</button>
  </form>
  <p>Up to ${UPLOAD_LIMIT / 1024 / 1024} MiB in all.</p>
</body>
</html>`;

/** Builds the app: `root` is the folder to serve, as a real path (see `Deno.realPath`); `uploads`, where uploads go. */
export function createApp(options: { root: string; uploads: string }): App {
  const app = new App({ maxBodyBytes: UPLOAD_LIMIT });

  app.get("/upload", () => Response.html(FORM));

  app.post("/upload", async (req) => {
    // A browser sends a file field with no file chosen as a part with an empty file name: skip those.
    const files = (await req.form()).getAll("file").filter((value): value is File =>
      value instanceof File && value.name !== ""
    );
    if (files.length === 0) throw new HttpError(400, 'No file: send one in the form field "file"');
    const saved: string[] = [];
    for (const file of files) saved.push(await save(options.uploads, file));
    const items = saved.map((name) => `<li>${name}</li>`).join(""); // safe names need no HTML escaping
    return Response.html(`<p>Saved:</p><ul>${items}</ul><p><a href="/upload">Upload more</a></p>`, { status: 201 });
  });

  app.get("/*", async (req) => { // GET, and so HEAD, for any other path: a file under the root
    let path = await resolve(options.root, req.path), info = await Deno.stat(path);
    if (info.isDirectory) {
      // "/docs" must become "/docs/" first, or the page's relative links ("style.css") would miss the folder. One
      // leading slash only: a browser reads "//example.com/" as another site, and we'd be an open redirect.
      const folder = `/${req.path.replace(/^\/+/, "")}/`;
      if (!req.path.endsWith("/")) return Response.redirect(folder + req.url.search, 301);
      path = await resolve(options.root, `${req.path}index.html`); // checked like any path: it may be a symlink
      info = await Deno.stat(path);
    }
    if (!info.isFile) throw new HttpError(404, `Nothing at ${req.path}`);
    return await sendFile(req, path, info);
  });
  return app;
}

/** The value after `--name` on the command line, if any. */
function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

if (import.meta.main) {
  const root = await Deno.realPath(flag("root") ?? "examples/public"); // real: so that resolve() can compare with it
  const uploads = flag("uploads") ?? await Deno.makeTempDir({ prefix: "groundwork-uploads-" });
  await Deno.mkdir(uploads, { recursive: true });
  console.error(`Serving ${root}; uploads go to ${uploads}`);
  await createApp({ root, uploads }).listen();
}
