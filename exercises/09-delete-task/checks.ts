// Exercise 9's checks: DELETE /tasks/:id removes a task for good (204), and a task that is not
// there is 404; the other routes go on working.
import { type Check, type Got, head, type Wire } from "../tester.ts";

const decoder = new TextDecoder();

/** A request with no body, on a connection that stays open. */
function request(method: string, target: string): string {
  return head(`${method} ${target} HTTP/1.1`, "Host: localhost");
}

/** POST /tasks with a JSON body that gives the title. */
function create(title: string): string {
  const json = JSON.stringify({ title });
  const length = new TextEncoder().encode(json).length;
  const fields = ["Host: localhost", "Content-Type: application/json", `Content-Length: ${length}`];
  return head("POST /tasks HTTP/1.1", ...fields) + json;
}

/** The body of an answer as JSON; a body that is not JSON fails the check at its first byte. */
function json<T>(wire: Wire, got: Got): T {
  try {
    return JSON.parse(decoder.decode(got.body));
  } catch {
    throw wire.fail("The body should be JSON.", got.bodyStart, "expected JSON here");
  }
}

/** Creates a task with `title` on `wire`, and returns its id. */
async function newTask(wire: Wire, title: string): Promise<number> {
  await wire.send(create(title));
  const got = await wire.answer({ status: 201 });
  return json<{ id: number }>(wire, got).id;
}

/** A check on one connection: `run` gets the Wire. */
function check(name: string, why: string, run: (wire: Wire) => Promise<void>): Check {
  return { name, why, run: async (open) => await run(await open()) };
}

const checks: Check[] = [
  check(
    "answers DELETE /tasks/:id with 204 No Content",
    "A deletion has nothing to show: 204 (RFC 9110 15.3.5). In groundwork, a handler that " +
      "returns null answers 204.",
    async (wire) => {
      const id = await newTask(wire, "Buy milk");
      await wire.send(request("DELETE", `/tasks/${id}`));
      await wire.answer({ status: 204 });
    },
  ),
  check(
    "really deletes: GET /tasks/:id is 404 afterwards, and GET /tasks lists it no more",
    "The row must be gone from the database, not only the answer say so.",
    async (wire) => {
      const id = await newTask(wire, "Walk the dog");
      await wire.send(request("DELETE", `/tasks/${id}`));
      await wire.answer({ status: 204 });
      await wire.send(request("GET", `/tasks/${id}`));
      await wire.answer({ status: 404 });
      await wire.send(request("GET", "/tasks"));
      const got = await wire.answer({ status: 200 });
      const { tasks } = json<{ tasks: { id: number }[] }>(wire, got);
      if (tasks.some((task) => task.id === id)) {
        throw wire.fail(`GET /tasks still lists task ${id}.`, got.bodyStart, "here");
      }
    },
  ),
  check(
    "answers 404 for a task that does not exist",
    "Deleting what is not there is 404 Not Found, as GET /tasks/:id would say.",
    async (wire) => {
      await wire.send(request("DELETE", "/tasks/999999"));
      await wire.answer({ status: 404 });
    },
  ),
  check(
    "answers 404 to a second DELETE of the same task",
    "Once a task is gone, it is not there to delete.",
    async (wire) => {
      const id = await newTask(wire, "Water the plants");
      await wire.send(request("DELETE", `/tasks/${id}`) + request("DELETE", `/tasks/${id}`));
      await wire.answer({ status: 204 });
      await wire.answer({ status: 404 });
    },
  ),
  check(
    "leaves the other tasks alone",
    "DELETE ... WHERE id = :id: without the WHERE, every task goes.",
    async (wire) => {
      const first = await newTask(wire, "First");
      const second = await newTask(wire, "Second");
      await wire.send(request("DELETE", `/tasks/${first}`));
      await wire.answer({ status: 204 });
      await wire.send(request("GET", `/tasks/${second}`));
      const got = await wire.answer({ status: 200 });
      if (json<{ title: string }>(wire, got).title !== "Second") {
        throw wire.fail("Task Second has changed.", got.bodyStart, "here");
      }
    },
  ),
  check(
    "answers DELETE /tasks/abc with 400: that is no id",
    "As GET /tasks/:id does: taskId() turns a path that can't be an id into a 400.",
    async (wire) => {
      await wire.send(request("DELETE", "/tasks/abc"));
      await wire.answer({ status: 400 });
    },
  ),
];

export default { title: "DELETE /tasks/:id", checks };
