// Exercise 10, a solution: a middleware, added first, times everything after it, and puts the
// time on every answer, errors and 404s included.
//   deno run --allow-net exercises/10-timing/solution.ts --port 8000
import { App, HttpError, Response } from "../../mod.ts";

/** How long GET /slow takes to answer. */
const SLOW_MS = 100;

const app = new App();

// Added first, it runs around everything else. What a handler throws, and a path with no route,
// have become answers by the time next() gives them back: so every answer comes through here.
app.use(async (_req, next) => {
  const started = performance.now();
  const res = await next();
  const took = (performance.now() - started).toFixed(1);
  // Server-Timing names a metric and its duration in milliseconds (W3C Server Timing).
  res.headers.set("server-timing", `app;dur=${took}`);
  return res;
});

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
