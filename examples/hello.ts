// Hello, World: the smallest groundwork app.
//   deno run --allow-net examples/hello.ts            (groundwork's own server; --port 8080 to move it)
//   deno serve --parallel examples/serve.ts          (the same app on Deno.serve, one worker per core)
// The port may come from $PORT too, and GROUNDWORK_TRACE=1 prints every head as it is on the wire; but a program may
// read the environment only with --allow-env, and without it both are ignored, silently:
//   PORT=8080 GROUNDWORK_TRACE=1 deno run --allow-net --allow-env=PORT,GROUNDWORK_TRACE examples/hello.ts
import { App } from "../mod.ts";

export const app = new App()
  .get("/", () => "Hello, World!")
  .get("/hello/:name", (req) => `Hello, ${req.params.name}!`)
  .get("/json", () => ({ message: "Hello, World!" }));

// `deno serve` imports this file as the main module too, so it runs from examples/serve.ts instead.
if (import.meta.main) await app.listen();
