// A static file server with an upload form: what browsers expect of files (types, caching, ranges), and the ways a
// request tries to reach files it shouldn't.
//   deno run --allow-net=0.0.0.0:8000 --allow-read=examples/public --allow-write=/tmp examples/files.ts
// Options: --port 8000, --root examples/public (the folder served), --uploads DIR (where uploads are saved; by
// default a new folder in /tmp, hence --allow-write=/tmp; with --uploads, allow writing there instead).
// What to look at: the files themselves are served by extras/static.ts (serveStatic and fileResponse), whose
// comments explain the rest: how a URL path is mapped to a file and kept inside the root, symlinks included; how a
// file streams with its type and length; how a browser keeps its cached copy (304); how part of a file is sent (206),
// as a video player asks. Here: `safeName`, which makes an uploaded file's name harmless, and `save`, which never
// overwrites.
// Try it: open http://localhost:8000/ and http://localhost:8000/upload, or
//   curl -i -H 'Range: bytes=0-99' localhost:8000/clip.mp4 -o /dev/null
import { join } from "node:path";
import { serveStatic } from "../extras/static.ts";
import { App, HttpError, Response } from "../mod.ts";

const UPLOAD_LIMIT = 5 * 1024 * 1024; // bytes in one upload request, form fields included; more: 413

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
  const name = safeName(upload.name),
    dot = name.lastIndexOf(".") > 0 ? name.lastIndexOf(".") : name.length;
  for (let n = 0; n < 100; n++) {
    const candidate = n === 0 ? name : `${name.slice(0, dot)}-${n}${name.slice(dot)}`,
      path = join(folder, candidate);
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

/** Builds the app: `root` is the folder to serve (resolved now: it must exist); `uploads`, where uploads go. */
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
    return Response.html(`<p>Saved:</p><ul>${items}</ul><p><a href="/upload">Upload more</a></p>`, {
      status: 201,
    });
  });

  // GET, and so HEAD, for any other path: a file under the root, or a folder's index.html (see extras/static.ts).
  app.get("/*", serveStatic(options.root));
  return app;
}

/** The value after `--name` on the command line, if any. */
function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

if (import.meta.main) {
  const root = flag("root") ?? "examples/public";
  const uploads = flag("uploads") ?? await Deno.makeTempDir({ prefix: "groundwork-uploads-" });
  await Deno.mkdir(uploads, { recursive: true });
  console.error(`Serving ${root}; uploads go to ${uploads}`);
  await createApp({ root, uploads }).listen();
}
