// Hello, World: the smallest groundwork app.
//   deno run --allow-net examples/hello.ts            (groundwork's own server; --port 8080 to move it)
//   deno serve --parallel examples/serve.ts          (the same app on Deno.serve, one worker per core)
import { App } from "../mod.ts";

export const app = new App()
  .get("/", () => "Hello, World!")
  .get("/hello/:name", (req) => `Hello, ${req.params.name}!`)
  .get("/json", () => ({ message: "Hello, World!" }));

// `deno serve` imports this file as the main module too, so it runs from examples/serve.ts instead.
if (import.meta.main) await app.listen();
