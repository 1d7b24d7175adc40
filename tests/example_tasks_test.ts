// examples/tasks.ts, run as its own process with the permissions its header gives, and talked to over TCP.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Request } from "../mod.ts";
import { createApp, openDatabase, type Task } from "../examples/tasks.ts";
import { fetch, raw } from "./helpers.ts";
import { runExample, type Running } from "./run_example.ts";

/** Starts the example on the database file `db`, allowed to touch that file and nothing else. */
function startTasks(db: string): Promise<Running> {
  const permissions = (
    port: number,
  ) => [`--allow-net=0.0.0.0:${port}`, `--allow-read=${db}`, `--allow-write=${db}`];
  return runExample("examples/tasks.ts", permissions, ["--db", db]);
}

/** A page of GET /tasks, and the body of every error. */
type Page = { tasks: Task[]; total: number; limit: number; offset: number };
type Problem = { error: string };

/**
 * Sends one request, and parses the JSON that comes back as a `T`. A `json` option goes out as JSON, and a `body`
 * as it is, both with "Content-Type: application/json" unless `headers` says otherwise.
 */
async function call<T = Problem>(
  server: Running,
  method: string,
  path: string,
  options: { json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: T }> {
  const headers = new Headers(options.headers);
  let body = options.body;
  if ("json" in options) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(options.json);
  } else if (body !== undefined && !headers.has("content-type")) {
    headers.set("content-type", "application/json");
  }
  const res = await fetch(server.url + path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

Deno.test("tasks example: a JSON API over real TCP", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "groundwork-tasks-" });
  const server = await startTasks(join(dir, "tasks.db"));
  const total = async () => (await call<Page>(server, "GET", "/tasks")).body.total;
  try {
    await t.step("GET /health answers 200 with JSON", async () => {
      const res = await call<unknown>(server, "GET", "/health");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.deepEqual(res.body, { status: "ok" });
    });

    await t.step(
      "POST /tasks creates a task: 201, Location /tasks/:id, and the task, its title trimmed",
      async () => {
        const res = await call<Task>(server, "POST", "/tasks", { json: { title: "  Buy milk  " } });
        assert.equal(res.status, 201);
        assert.equal(res.headers.get("location"), "/tasks/1");
        const { id, title, done, createdAt } = res.body;
        assert.deepEqual([id, title, done], [1, "Buy milk", false]);
        assert.match(createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      },
    );

    await t.step("GET /tasks/:id reads back what the Location points at", async () => {
      const res = await call<Task>(server, "GET", "/tasks/1");
      assert.equal(res.status, 200);
      assert.equal(res.body.title, "Buy milk");
    });

    await t.step(
      "a title that looks like SQL is stored as text, because values go in as parameters",
      async () => {
        const title = "'); DROP TABLE tasks; --";
        const res = await call<Task>(server, "POST", "/tasks", { json: { title, done: true } });
        assert.equal(res.status, 201);
        assert.equal(
          (await call<Task>(server, "GET", res.headers.get("location")!)).body.title,
          title,
        );
      },
    );

    await t.step(
      "GET /tasks lists them in id order, with the total and the page asked for",
      async () => {
        await call(server, "POST", "/tasks", { json: { title: "Walk the dog" } });
        const res = await call<Page>(server, "GET", "/tasks");
        assert.equal(res.status, 200);
        const { tasks, total, limit, offset } = res.body;
        assert.deepEqual(tasks.map((task) => task.id), [1, 2, 3]);
        assert.deepEqual([total, limit, offset], [3, 20, 0]);
      },
    );

    await t.step(
      "GET /tasks?done=true and ?done=false filter, and the total counts the filtered tasks",
      async () => {
        const done = (await call<Page>(server, "GET", "/tasks?done=true")).body;
        assert.deepEqual([done.tasks.map((task) => task.id), done.total], [[2], 1]);
        const open = (await call<Page>(server, "GET", "/tasks?done=false")).body;
        assert.deepEqual([open.tasks.map((task) => task.id), open.total], [[1, 3], 2]);
      },
    );

    await t.step("limit and offset page through the list", async () => {
      const page = (await call<Page>(server, "GET", "/tasks?limit=2&offset=1")).body;
      assert.deepEqual([page.tasks.map((task) => task.id), page.total], [[2, 3], 3]);
      const past = (await call<Page>(server, "GET", "/tasks?offset=10")).body;
      assert.deepEqual(past.tasks, []);
    });

    await t.step(
      "a limit or offset out of bounds, or a done that isn't a boolean, is a 400 naming it",
      async () => {
        for (
          const [query, field] of [
            ["limit=0", "limit"],
            ["limit=101", "limit"],
            ["limit=ten", "limit"],
            ["offset=-1", "offset"],
            ["offset=1.5", "offset"],
            ["done=yes", "done"],
          ]
        ) {
          const res = await call(server, "GET", `/tasks?${query}`);
          assert.equal(res.status, 400, query);
          assert.match(res.body.error, new RegExp(`"${field}"`), query);
        }
      },
    );

    await t.step("PATCH /tasks/:id changes only the fields sent", async () => {
      const done = await call<Task>(server, "PATCH", "/tasks/1", { json: { done: true } });
      assert.equal(done.status, 200);
      assert.deepEqual([done.body.title, done.body.done], ["Buy milk", true]);
      const renamed = await call<Task>(server, "PATCH", "/tasks/1", {
        json: { title: "Buy oat milk" },
      });
      assert.deepEqual([renamed.body.title, renamed.body.done], ["Buy oat milk", true]);
    });

    await t.step(
      "bad bodies are 400s whose message names the field, and create nothing",
      async () => {
        const cases: [string, string, RegExp][] = [
          ["{", "invalid JSON", /JSON/],
          ["[1, 2]", "an array", /JSON object/],
          ["null", "null", /JSON object/],
          ['{"title": 42}', "a number for title", /"title"/],
          ['{"title": ""}', "an empty title", /"title"/],
          ['{"title": "   \\t  "}', "a whitespace title", /"title"/],
          [`{"title": "${"x".repeat(201)}"}`, "a too-long title", /"title"/],
          ['{"title": "Fine", "done": "yes"}', "a string for done", /"done"/],
          ['{"title": "Fine", "priority": 1}', "an unknown field", /"priority"/],
          ['{"done": true}', "no title", /"title"/],
        ];
        for (const [body, what, message] of cases) {
          const res = await call(server, "POST", "/tasks", { body });
          assert.equal(res.status, 400, what);
          assert.equal(res.headers.get("content-type"), "application/json", what);
          assert.match(res.body.error, message, what);
        }
        assert.equal(await total(), 3);
      },
    );

    await t.step(
      "a PATCH with one good field and one bad one is refused whole: nothing half-written",
      async () => {
        const res = await call(server, "PATCH", "/tasks/3", {
          json: { title: "Walk the cat", done: "soon" },
        });
        assert.equal(res.status, 400);
        assert.match(res.body.error, /"done"/);
        const task = (await call<Task>(server, "GET", "/tasks/3")).body;
        assert.deepEqual([task.title, task.done], ["Walk the dog", false]);
        assert.equal((await call(server, "PATCH", "/tasks/3", { json: {} })).status, 400); // nothing to change
      },
    );

    await t.step("a body that isn't declared as JSON is a 415", async () => {
      const headers = { "content-type": "text/plain" };
      const res = await call(server, "POST", "/tasks", { body: '{"title": "x"}', headers });
      assert.equal(res.status, 415);
      assert.match(res.body.error, /application\/json/);
    });

    await t.step(
      "a body over 64 KiB is a 413 before the handler runs, and stores nothing",
      async () => {
        // Only the head is sent: the server answers from the Content-Length alone, without reading the body.
        const head =
          `POST /tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${64 * 1024 + 1}\r\n\r\n`;
        const { responses } = await raw(server.port, head, { responses: 1 });
        assert.equal(responses[0]?.status, 413);
        assert.equal(await total(), 3);
      },
    );

    await t.step(
      "an unknown id is a 404 and a non-numeric one a 400, for GET, PATCH and DELETE",
      async () => {
        for (const method of ["GET", "PATCH", "DELETE"]) {
          const json = method === "PATCH" ? { json: { done: true } } : {};
          const missing = await call(server, method, "/tasks/999", json);
          assert.equal(missing.status, 404, method);
          assert.deepEqual(missing.body, { error: "No task 999" }, method);
          const bad = await call(server, method, "/tasks/abc", json);
          assert.equal(bad.status, 400, method);
          assert.match(bad.body.error, /"id"/, method);
        }
      },
    );

    await t.step("DELETE /tasks/:id answers 204 with no body, and the task is gone", async () => {
      const res = await call<null>(server, "DELETE", "/tasks/2");
      assert.equal(res.status, 204);
      assert.equal(res.body, null);
      assert.equal((await call(server, "GET", "/tasks/2")).status, 404);
    });

    await t.step(
      "an unknown path is a JSON 404, and a wrong method a JSON 405 that keeps its Allow",
      async () => {
        const missing = await call(server, "GET", "/nothing");
        assert.equal(missing.status, 404);
        assert.deepEqual(missing.body, { error: "Nothing at /nothing" });
        const wrong = await call(server, "PUT", "/tasks/1", { json: { title: "x" } });
        assert.equal(wrong.status, 405);
        assert.equal(wrong.headers.get("allow"), "GET, PATCH, DELETE, HEAD, OPTIONS");
        assert.match(wrong.body.error, /PUT/);
      },
    );
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tasks example: the schema is created on the first start, and the data survives a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "groundwork-tasks-" });
  const db = join(dir, "tasks.db");
  try {
    const first = await startTasks(db); // no file yet: the example creates it, and the table
    try {
      assert.equal(
        (await call(first, "POST", "/tasks", { json: { title: "Keep me" } })).status,
        201,
      );
      assert.equal((await call(first, "PATCH", "/tasks/1", { json: { done: true } })).status, 200);
      assert.equal(
        (await call(first, "POST", "/tasks", { json: { title: "Delete me" } })).status,
        201,
      );
      assert.equal((await call(first, "DELETE", "/tasks/2")).status, 204);
    } finally {
      await first.stop(); // killed, with no goodbye: what was answered must already be on disk
    }
    const second = await startTasks(db);
    try {
      const { tasks } = (await call<Page>(second, "GET", "/tasks")).body;
      assert.deepEqual(tasks.map((task) => [task.id, task.title, task.done]), [[
        1,
        "Keep me",
        true,
      ]]);
      // AUTOINCREMENT: the deleted task's id 2 is not handed out again
      const created = await call(second, "POST", "/tasks", { json: { title: "New" } });
      assert.equal(created.headers.get("location"), "/tasks/3");
    } finally {
      await second.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tasks example: an unexpected error is a JSON 500 that hides its details, which go to the log", async () => {
  const db = openDatabase(":memory:");
  const app = createApp(db);
  db.close(); // every statement now throws (its message: "statement has been finalized")
  const logged: unknown[][] = [], error = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    const res = await app.handle(new Request("GET", "http://localhost/tasks"));
    assert.equal(res.status, 500);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.body, JSON.stringify({ error: "Internal Server Error" }));
  } finally {
    console.error = error;
  }
  assert.equal(logged.length, 1);
  assert.match(String(logged[0][0]), /GET \/tasks failed/);
  assert.match(String(logged[0][1]), /finalized/); // the details, in the log only
});
