// groundwork's own server, answering the way the stage testers (exercises 1 to 8) expect: the CI
// runs every stage's checks on it, so a check that a correct server fails is a bug in the check.
//   deno task exercise 7 exercises/groundwork_server.ts
// The routes are stage 8's: GET / says "Hello, World!", GET /hello/:name greets, POST /echo
// answers with the body it got. The limits are the stages' (see exercises/README.md): groundwork's
// own, but for the two time limits, which are short so that stage 7's checks are quick.
import { App, Response, Server } from "../mod.ts";

/** How long a head may take, and a kept-alive connection may sit idle: stage 7's limits. */
const TIME_LIMIT_MS = 2_000;

const app = new App()
  .get("/", () => "Hello, World!")
  .get("/hello/:name", (req) => `Hello, ${req.params.name}!`)
  .post("/echo", async (req) => new Response(await req.bytes()));

const server = new Server(app.handle, {
  headersTimeoutMs: TIME_LIMIT_MS,
  idleTimeoutMs: TIME_LIMIT_MS,
  log: false,
});
const { port } = await server.listen();
console.error(`Listening on http://localhost:${port}/`);
