// Exercise 10, the starter: an app with an answer of each kind, 200, 404, 405, 418 and 500, and a
// slow one. Add a middleware that tells, on every answer, how long the app took (see README.md).
//   deno task exercise 10 path/to/your/copy.ts
import { App, HttpError, Response } from "../../mod.ts";

/** How long GET /slow takes to answer. */
const SLOW_MS = 100;

const app = new App();

// TODO: a middleware that adds "Server-Timing: app;dur=<milliseconds>" to every answer.

app.get("/", () => "Hello, World!");
app.get("/slow", async () => {
  await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
  return "Done, slowly.";
});
app.get("/teapot", () => {
  throw new HttpError(418, "Short and stout");
});
app.get("/broken", () => {
  throw new Error("A bug: its message must not reach the client");
});
app.post("/echo", async (req) => new Response(await req.bytes()));

await app.listen();
