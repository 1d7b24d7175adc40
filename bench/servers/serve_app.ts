// The benchmark's app, written once for groundwork. Three servers run it: groundwork.ts (groundwork's own Server),
// groundwork_fetch.ts (Deno.serve(app.fetch)), and `deno serve --parallel bench/servers/serve_app.ts`, which wants
// the default export.
import { App } from "../../mod.ts";

export const app = new App()
  .get("/", () => "Hello, World!")
  .get("/json", () => ({ message: "Hello, World!" }))
  .get("/users/:id", (req) => ({ id: req.params.id }))
  .post("/echo", async (req) => await req.bytes());

export default app;
