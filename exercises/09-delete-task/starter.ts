// Exercise 9, the starter: the tasks API of examples/tasks.ts, cut down, on a database in memory.
// It has every route the exercise needs but one: DELETE /tasks/:id. Add it (see README.md).
//   deno task exercise 9 path/to/your/copy.ts
import { App, HttpError, Response } from "../../mod.ts";
import { openDatabase, type Task } from "../../examples/tasks.ts";

/** A task, as SQLite stores it: it has no boolean type, so `done` is 0 or 1. */
type Row = { id: number; title: string; done: number; created_at: string };

function toTask(row: Row): Task {
  return { id: row.id, title: row.title, done: row.done === 1, createdAt: row.created_at };
}

/** The task id in the path: a number, or a 400 (a non-number can't be any task's id). */
function taskId(id: string): number {
  if (!/^\d{1,15}$/.test(id)) {
    throw new HttpError(400, `"id" must be a number, not ${JSON.stringify(id)}`);
  }
  return Number(id);
}

// The tasks live in memory: each start begins with none.
const db = openDatabase(":memory:");
// Values travel as parameters (:id), never pasted into the SQL.
const sql = {
  list: db.prepare("SELECT * FROM tasks ORDER BY id"),
  find: db.prepare("SELECT * FROM tasks WHERE id = :id"),
  insert: db.prepare("INSERT INTO tasks (title) VALUES (:title) RETURNING *"),
};
const noTask = (id: number) => new HttpError(404, `No task ${id}`);
const app = new App({ maxBodyBytes: 64 * 1024 });

app.get("/tasks", () => ({ tasks: (sql.list.all() as Row[]).map(toTask) }));

app.post("/tasks", async (req) => {
  const body = await req.json<{ title?: unknown }>();
  if (typeof body?.title !== "string" || body.title.trim() === "") {
    throw new HttpError(400, '"title" must be a string with something in it, e.g. "Buy milk"');
  }
  const task = toTask(sql.insert.get({ title: body.title.trim() }) as Row);
  return Response.json(task, { status: 201, headers: { location: `/tasks/${task.id}` } });
});

app.get("/tasks/:id", (req) => {
  const id = taskId(req.params.id);
  const row = sql.find.get({ id }) as Row | undefined;
  if (!row) throw noTask(id);
  return toTask(row);
});

// TODO: DELETE /tasks/:id: 204 No Content once the task is gone; 404 if there is no such task.

// Every error leaves as JSON: a client error with its message, anything else as a bare 500.
app.onError = (err, req) => {
  if (err instanceof HttpError && err.status < 500) {
    return Response.json({ error: err.message }, { status: err.status, headers: err.headers });
  }
  console.error(`${req.method} ${req.path} failed:`, err);
  return Response.json({ error: "Internal Server Error" }, { status: 500 });
};

await app.listen();
