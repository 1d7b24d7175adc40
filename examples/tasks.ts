// A JSON API on SQLite: a task list whose input is checked field by field, whose errors are JSON, and whose data
// survives a restart.
//   deno run --allow-net=0.0.0.0:8000 --allow-read=tasks.db --allow-write=tasks.db examples/tasks.ts
// Options: --port 8000, --db tasks.db (the file and its table are created on the first start; with another --db,
// name that file in --allow-read and --allow-write instead).
// What to look at: `readChanges`, which checks the whole body before anything is written; `app.onError`, which turns
// every error into {"error": "..."}; and the SQL, which takes values only as parameters (`:id`), never pasted in.
// Try it:
//   curl -i localhost:8000/tasks -H 'content-type: application/json' -d '{"title": "Buy milk"}'
//   curl -i 'localhost:8000/tasks?done=false&limit=10'
//   curl -i -X PATCH localhost:8000/tasks/1 -H 'content-type: application/json' -d '{"done": true}'
import { DatabaseSync } from "node:sqlite";
import { App, HttpError, type Request, Response } from "../mod.ts";

/** A task, as the API shows it. */
export type Task = { id: number; title: string; done: boolean; createdAt: string };

/** A task, as SQLite stores it: it has no boolean type, so `done` is 0 or 1. */
type Row = { id: number; title: string; done: number; created_at: string };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: a deleted task's id never comes back for a new one
    title TEXT NOT NULL CHECK (length(trim(title)) > 0),
    done INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`;

const MAX_TITLE = 200; // characters
const PAGE = { fallback: 20, min: 1, max: 100 }; // ?limit=: a client can't ask for the whole table at once
const OFFSET = { fallback: 0, min: 0, max: 1_000_000_000 };

/** Opens the database file, creating it and its table on the first start. */
export function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec(SCHEMA);
  return db;
}

function toTask(row: Row): Task {
  return { id: row.id, title: row.title, done: row.done === 1, createdAt: row.created_at };
}

/** What a POST or a PATCH may set. */
type Changes = { title?: string; done?: boolean };

/**
 * Reads the body as a task's fields. Every field is checked before the caller writes anything, so a body that is
 * half right changes nothing. Each problem is a 400 whose message names the field.
 */
async function readChanges(req: Request): Promise<Changes> {
  if (!/^application\/json\b/i.test(req.headers.get("content-type") ?? "")) {
    throw new HttpError(415, 'Send JSON, with the header "Content-Type: application/json"');
  }
  const body = await req.json(); // invalid JSON: HttpError 400
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'The body must be a JSON object, e.g. {"title": "Buy milk"}');
  }
  const changes: Changes = {};
  for (const [field, value] of Object.entries(body)) {
    if (field === "title") {
      if (typeof value !== "string" || value.trim() === "") {
        throw new HttpError(400, '"title" must be a string with something in it, e.g. "Buy milk"');
      }
      if (value.length > MAX_TITLE) {
        throw new HttpError(400, `"title" must be at most ${MAX_TITLE} characters`);
      }
      changes.title = value.trim();
    } else if (field === "done") {
      if (typeof value !== "boolean") throw new HttpError(400, '"done" must be true or false');
      changes.done = value;
    } else {
      throw new HttpError(
        400,
        `Unknown field ${JSON.stringify(field)}: a task has only "title" and "done"`,
      );
    }
  }
  return changes;
}

/** The task id in the path: a number, or a 400 (a non-number can't be any task's id, so it isn't a 404). */
function taskId(id: string): number {
  if (!/^\d{1,15}$/.test(id)) {
    throw new HttpError(400, `"id" must be a number, not ${JSON.stringify(id)}`);
  }
  return Number(id);
}

/** A whole number from the query string, between `min` and `max`; `fallback` if it is absent; else a 400. */
function wholeNumber(
  query: URLSearchParams,
  name: string,
  range: { fallback: number; min: number; max: number },
): number {
  const text = query.get(name);
  if (text === null) return range.fallback;
  const n = Number(text);
  if (!/^\d{1,15}$/.test(text) || n < range.min || n > range.max) {
    throw new HttpError(400, `"${name}" must be a whole number from ${range.min} to ${range.max}`);
  }
  return n;
}

/** ?done=true or ?done=false as 1 or 0 (how SQLite stores it), or null for "either". */
function doneFilter(query: URLSearchParams): number | null {
  const done = query.get("done");
  if (done === null) return null;
  if (done !== "true" && done !== "false") throw new HttpError(400, '"done" must be true or false');
  return done === "true" ? 1 : 0;
}

/** Builds the app on an open database; the tests build one on a database they control. */
export function createApp(db: DatabaseSync): App {
  // Each statement is compiled once. Values travel separately, as parameters: a title such as
  // "'); DROP TABLE tasks; --" is stored as that text, never run as SQL.
  const sql = {
    ping: db.prepare("SELECT 1"),
    count: db.prepare("SELECT count(*) AS total FROM tasks WHERE :done IS NULL OR done = :done"),
    list: db.prepare(
      "SELECT * FROM tasks WHERE :done IS NULL OR done = :done ORDER BY id LIMIT :limit OFFSET :offset",
    ),
    find: db.prepare("SELECT * FROM tasks WHERE id = :id"),
    insert: db.prepare("INSERT INTO tasks (title, done) VALUES (:title, :done) RETURNING *"),
    // coalesce(:x, x): a field the PATCH left out (null) keeps its value
    update: db.prepare(
      "UPDATE tasks SET title = coalesce(:title, title), done = coalesce(:done, done) WHERE id = :id RETURNING *",
    ),
    remove: db.prepare("DELETE FROM tasks WHERE id = :id"),
  };
  const noTask = (id: number) => new HttpError(404, `No task ${id}`);
  const app = new App({ maxBodyBytes: 64 * 1024 }); // a task is small: a bigger body is a mistake or an attack (413)

  app.get("/health", () => {
    sql.ping.get(); // the database answers
    return { status: "ok" };
  });

  app.get("/tasks", (req) => {
    const done = doneFilter(req.query);
    const limit = wholeNumber(req.query, "limit", PAGE),
      offset = wholeNumber(req.query, "offset", OFFSET);
    const tasks = (sql.list.all({ done, limit, offset }) as Row[]).map(toTask);
    const { total } = sql.count.get({ done }) as { total: number };
    return { tasks, total, limit, offset };
  });

  app.post("/tasks", async (req) => {
    const { title, done = false } = await readChanges(req);
    if (title === undefined) {
      throw new HttpError(400, '"title" is required, e.g. {"title": "Buy milk"}');
    }
    // One statement is one atomic write: it is all done, or not at all. RETURNING hands back the stored row.
    const task = toTask(sql.insert.get({ title, done: done ? 1 : 0 }) as Row);
    return Response.json(task, { status: 201, headers: { location: `/tasks/${task.id}` } });
  });

  app.get("/tasks/:id", (req) => {
    const id = taskId(req.params.id), row = sql.find.get({ id }) as Row | undefined;
    if (!row) throw noTask(id);
    return toTask(row);
  });

  app.patch("/tasks/:id", async (req) => {
    const id = taskId(req.params.id), { title, done } = await readChanges(req);
    if (title === undefined && done === undefined) {
      throw new HttpError(400, 'Send "title", "done", or both');
    }
    const row = sql.update.get({
      id,
      title: title ?? null,
      done: done === undefined ? null : done ? 1 : 0,
    });
    if (!row) throw noTask(id);
    return toTask(row as Row);
  });

  app.delete("/tasks/:id", (req) => {
    const id = taskId(req.params.id);
    if (sql.remove.run({ id }).changes === 0) throw noTask(id);
    return null; // 204 No Content
  });

  app.notFound = (req) => Response.json({ error: `Nothing at ${req.path}` }, { status: 404 });

  // Every error leaves as JSON, in this one place. A client error keeps its message (and headers, such as the Allow
  // of a 405); anything else is our fault: the details go to the log, and the client learns only that it failed.
  app.onError = (err, req) => {
    if (err instanceof HttpError && err.status < 500) {
      return Response.json({ error: err.message }, { status: err.status, headers: err.headers });
    }
    console.error(`${req.method} ${req.path} failed:`, err);
    return Response.json({ error: "Internal Server Error" }, { status: 500 });
  };
  return app;
}

/** The value after `--name` on the command line, if any. */
function flag(name: string): string | undefined {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}

// No shutdown hook is needed: each write is committed before its response is sent, and SQLite's journal keeps the
// file whole even if the process is killed mid-write. Ctrl-C loses nothing that a client was told was saved.
if (import.meta.main) await createApp(openDatabase(flag("db") ?? "tasks.db")).listen();
