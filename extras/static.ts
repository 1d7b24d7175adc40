/**
 * Files from disk, as browsers expect them: {@linkcode fileResponse} answers with one file, and
 * {@linkcode serveStatic} is a handler for the files under a folder.
 * - The type from the extension, and Content-Length from the size (no chunked framing).
 * - ETag and Last-Modified, and a bodiless 304 when the client's copy is current (RFC 9110 13).
 * - One byte range with 206, as video players and resumed downloads ask, or 416 (RFC 9110 14).
 * - No way out of the folder: "..", encoded or not, backslashes, NUL bytes, and symlinks that
 *   lead outside all get 404; so do dotfiles, unless allowed.
 *
 * What it does not do: list a folder; compress (serve precompressed files yourself); answer
 * several ranges at once (multipart/byteranges: the whole file goes instead, which RFC 9110 14.2
 * allows); keep files in memory.
 * @module
 */
import { extname, isAbsolute, join, relative, sep } from "node:path";
import { type Handler, HttpError, type Request, Response, type ResponseInit } from "../mod.ts";

/**
 * How {@linkcode serveStatic} serves a folder.
 * @example A site whose folders serve home.html
 * ```ts
 * import type { StaticOptions } from "@groundwork/groundwork/static";
 *
 * const options: StaticOptions = { index: "home.html" };
 * ```
 */
export type StaticOptions = {
  /** The file that a folder's URL serves: "/docs/" serves docs/index.html by default. */
  index?: string;
  /** Whether names that start with "." may be served (all: .env, .git/ too); false by default. */
  dotfiles?: boolean;
};

/** The content type for each extension; any other is application/octet-stream. */
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
// Any other extension, or none: bytes that the browser should not guess the meaning of.
const OCTET_STREAM = "application/octet-stream";
// A Range in bytes; another unit gets the whole file (RFC 9110 14.1).
const BYTES_UNIT = /^bytes=/i;
// One range: "bytes=0-99" (the first 100 bytes), "bytes=100-" (from 100 on), "bytes=-100" (the
// last 100), with optional whitespace (RFC 9110 14.1.2).
const BYTE_RANGE = /^bytes=[\t ]*(?<first>\d*)-(?<last>\d*)[\t ]*$/i;
// A weak ETag's "W/" (RFC 9110 8.8.3): If-None-Match compares without it.
const WEAK = /^W\//;
// A name that would climb out ("..", "."), or a backslash (a separator on Windows), or a NUL byte
// (the end of a path, to the system).
const UNSAFE_NAME = /^\.\.?$|[\\\0]/;
// The slashes a path starts with: "//example.com/" in a Location is another site.
const LEADING_SLASHES = /^\/+/;

/** Bytes `start` to `end` of a file, both included, as in "Content-Range: bytes 0-99/5208". */
type Range = { start: number; end: number };

/**
 * The file at `path` as a response, streamed from disk: its type from its extension (unless
 * `init.headers` has one), Content-Length, ETag and Last-Modified. With `req`, a GET or HEAD is
 * answered 304 if the client's copy is current (If-None-Match, If-Modified-Since), and 206 with
 * part of the file for a Range (or 416, with a Content-Range that gives the size). A missing
 * file, or a folder, is HttpError 404. `path` is used as given: never pass it a URL's path
 * unchecked (that is what {@linkcode serveStatic} is for).
 * @example One file on one route
 * ```ts
 * import { App } from "@groundwork/groundwork";
 * import { fileResponse } from "@groundwork/groundwork/static";
 *
 * const app = new App().get("/report", (req) => fileResponse("reports/latest.pdf", req));
 * ```
 */
export async function fileResponse(
  path: string,
  req?: Request,
  init: ResponseInit = {},
): Promise<Response> {
  const file = await Deno.open(path).catch(noSuchFile);
  // Until a stream owns the file, whatever goes wrong must close it.
  try {
    const info = await file.stat();
    // A folder opens for reading on Linux; reading it then fails.
    if (!info.isFile) throw new HttpError(404, "No such file");
    const headers = fieldsFor(info, init.headers);
    const type = MIME_TYPES.get(extname(path).slice(1).toLowerCase()) ?? OCTET_STREAM;

    // Conditions and ranges are for GET, and for HEAD, which answers as GET would (RFC 9110 9.3.2).
    const asks = req !== undefined && (req.method === "GET" || req.method === "HEAD");
    if (asks && notModified(req, headers)) {
      // The client's copy will do: no body, so the file is not read (RFC 9110 15.4.5).
      file.close();
      return new Response(null, { status: 304, headers });
    }
    const range = asks ? rangeOf(req, headers, info.size) : null;
    if (range === null) {
      headers.set("content-length", String(info.size));
      return new Response(file.readable, { status: init.status, headers }, type);
    }

    // Part of the file: from its start to its end, both included (RFC 9110 14.1.2, 14.4).
    const length = range.end - range.start + 1;
    await file.seek(range.start, Deno.SeekMode.Start);
    headers.set("content-range", `bytes ${range.start}-${range.end}/${info.size}`);
    headers.set("content-length", String(length));
    const body = file.readable.pipeThrough(firstBytes(length));
    return new Response(body, { status: 206, headers }, type);
  } catch (err) {
    file.close();
    throw err;
  }
}

/** The fields that every answer about this file carries, unless `given` has them already. */
function fieldsFor(info: Deno.FileInfo, given?: HeadersInit): Headers {
  const headers = new Headers(given);
  const modified = info.mtime ?? new Date(0);
  // The size and the time, in hex: the tag changes whenever the file does (RFC 9110 8.8.3).
  const etag = `"${info.size.toString(16)}-${modified.getTime().toString(16)}"`;
  const defaults = [
    ["etag", etag],
    ["last-modified", modified.toUTCString()],
    ["accept-ranges", "bytes"],
    // A browser may keep a copy, but must ask (and may get a 304) before using it.
    ["cache-control", "no-cache"],
    // Trust our Content-Type: don't guess that a .txt is a page, and run it.
    ["x-content-type-options", "nosniff"],
  ];
  for (const [name, value] of defaults) {
    if (headers.has(name)) continue;
    headers.set(name, value);
  }
  return headers;
}

/**
 * Whether the client's copy is current, so that a 304 will do (RFC 9110 13.2.2). If-None-Match is
 * the precise test; If-Modified-Since counts only without it (RFC 9110 13.1.3).
 */
function notModified(req: Request, headers: Headers): boolean {
  const tags = req.headers.get("if-none-match");
  if (tags !== null) return matchesAny(tags, headers.get("etag") ?? "");
  // Both are HTTP dates, in whole seconds; an invalid one is NaN, and so never "at or after".
  const since = Date.parse(req.headers.get("if-modified-since") ?? "");
  const modified = Date.parse(headers.get("last-modified") ?? "");
  return modified <= since;
}

/** Whether a list of ETags is "*" or has `etag`, W/ or not (weak comparison, RFC 9110 8.8.3.2). */
function matchesAny(list: string, etag: string): boolean {
  const tags = list.split(",").map((tag) => tag.trim().replace(WEAK, ""));
  return tags.includes("*") || tags.includes(etag.replace(WEAK, ""));
}

/** The range a GET asks for, or null for the whole file; HttpError 416 if it can't be served. */
function rangeOf(req: Request, headers: Headers, size: number): Range | null {
  const field = req.headers.get("range");
  // No Range, another unit, or several ranges: the whole file, which is always an answer (14.2).
  if (field === null || !BYTES_UNIT.test(field) || field.includes(",")) return null;

  // If-Range: the part only if the file is still the one whose rest the client has (13.1.5).
  const ifRange = req.headers.get("if-range");
  const same = [null, headers.get("etag"), headers.get("last-modified")].includes(ifRange);
  if (!same) return null;

  const match = BYTE_RANGE.exec(field)?.groups;
  const first = match?.first ?? "";
  const last = match?.last ?? "";
  // A 416 says how big the file is, so that the client can ask again (RFC 9110 15.5.17).
  const why = `Range ${JSON.stringify(field)} is not within the ${size} bytes`;
  const refusal = new HttpError(416, why, { headers: { "content-range": `bytes */${size}` } });
  // Malformed ("bytes=abc", "bytes=-", "bytes=1-2-3"): no range to serve.
  if (first === "" && last === "") throw refusal;
  if (first === "") {
    // A suffix: the last n bytes, or all of a shorter file; none of an empty one.
    const count = Number(last);
    if (count === 0 || size === 0) throw refusal;
    return { start: Math.max(0, size - count), end: size - 1 };
  }
  const start = Number(first);
  // No end, or an end past the file's: to the end.
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) throw refusal;
  return { start, end };
}

/** A stream step that passes on the first `count` bytes, then ends (which closes the file). */
function firstBytes(count: number): TransformStream<Uint8Array, Uint8Array> {
  let left = count;
  return new TransformStream({
    transform(chunk, controller) {
      const part = chunk.subarray(0, left);
      left -= part.length;
      controller.enqueue(part);
      // (A file that got shorter ends the stream early: the server then closes the connection.)
      if (left === 0) {
        controller.terminate();
      }
    },
  });
}

/**
 * A handler for a route that ends in `*`, e.g. `app.get("/static/*", serveStatic("public"))`: the
 * file that `req.params["*"]` (else `req.path`) names under `root`. `root` is resolved once, now,
 * against the current working directory, to its real path; if it is not a folder, this throws.
 * A folder's URL serves its `index` file; without the final "/", a 301 adds it. Anything else
 * that names no file under the root (a "..", encoded or not, a backslash, a NUL byte, a symlink
 * that leads outside, a dotfile unless `dotfiles` is true) is HttpError 404.
 * @example A folder of files under /static
 * ```ts
 * import { App } from "@groundwork/groundwork";
 * import { serveStatic } from "@groundwork/groundwork/static";
 *
 * // Run with --allow-read=public: public/logo.png is then /static/logo.png.
 * export function createApp(): App {
 *   return new App().get("/static/*", serveStatic("public"));
 * }
 * ```
 */
export function serveStatic(root: string, options: StaticOptions = {}): Handler {
  const folder = realFolder(root);
  const index = options.index ?? "index.html";
  const dotfiles = options.dotfiles ?? false;
  return async (req) => {
    // The route's "*" comes decoded; without one, the path is decoded here.
    const wanted = req.params["*"] ?? decodePath(req.path);
    const found = await resolve(folder, wanted, dotfiles);
    if (found === null) throw new HttpError(404, `No file at ${req.path}`);
    if (!found.info.isDirectory) return await fileResponse(found.path, req);

    // A folder's URL ends in "/", or relative links in its page miss ("a.css" from "/docs").
    // One leading "/" only: a browser takes "//example.com/" for another site (an open redirect).
    const folderPath = req.path.replace(LEADING_SLASHES, "");
    if (!req.path.endsWith("/")) return Response.redirect(`/${folderPath}/${req.url.search}`, 301);
    const page = await resolve(folder, `${wanted}/${index}`, dotfiles);
    if (page === null) throw new HttpError(404, `No file at ${req.path}`);
    return await fileResponse(page.path, req);
  };
}

/**
 * What `wanted`, a decoded URL path, names under `root`: its real path and what it is. null if
 * nothing is there, or if that is outside the root, or a dotfile when they are refused.
 */
async function resolve(root: string, wanted: string, dotfiles: boolean) {
  const names = wanted.split("/").filter((name) => name !== "");
  // Decoding reveals what the URL parser could not see: "..%2F" is "../", "%5C" is "\\".
  if (names.some((name) => UNSAFE_NAME.test(name))) return null;
  // The real path: symlinks followed to where they really lead.
  const path = await Deno.realPath(join(root, ...names)).catch(nothing);
  if (path === null) return null;

  // A symlink inside the root may lead anywhere: what counts is where its real path is.
  const inside = relative(root, path);
  if (inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return null;
  // Dotfiles hold secrets (.env) and history (.git) more often than pages; by the real path, so
  // that a symlink to one is refused too.
  const hidden = inside.split(sep).some((name) => name.startsWith("."));
  if (hidden && !dotfiles) return null;
  const info = await Deno.stat(path).catch(nothing);
  if (info === null) return null;
  return { path, info };
}

/** `root` as a real path, from the working directory; an Error that says why if it is no folder. */
function realFolder(root: string): string {
  const named = `serveStatic: ${JSON.stringify(root)}`;
  let real: string;
  try {
    real = Deno.realPathSync(root);
  } catch (err) {
    if (!missing(err)) throw err;
    const where = "is not there (from the working directory)";
    throw new Error(`${named} ${where}: create it, or fix the path`);
  }
  if (Deno.statSync(real).isDirectory) return real;
  throw new Error(`${named} is a file, not a folder: pass the folder that holds the files`);
}

/** A URL path, percent-decoded; HttpError 400 for a malformed %-escape. */
function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    throw new HttpError(400, "A malformed %-escape in the path");
  }
}

/** Whether a file system error means "nothing there": no such name, a file for a folder, a loop. */
function missing(err: unknown): boolean {
  const { NotFound, NotADirectory, FilesystemLoop } = Deno.errors;
  return err instanceof NotFound || err instanceof NotADirectory || err instanceof FilesystemLoop;
}

/** null for "nothing there"; any other error is thrown on. */
function nothing(err: unknown): null {
  if (missing(err)) return null;
  throw err;
}

/** HttpError 404 for "nothing there"; any other error is thrown on. */
function noSuchFile(err: unknown): never {
  if (missing(err)) throw new HttpError(404, "No such file");
  throw err;
}
