// (d) Hono on Deno.serve, for comparison: deno run -A --lock=bench/deno.lock bench/servers/hono.ts --port 8000
// Hono comes from npm (only the benchmark uses it); Deno keeps it in its global cache, not in a node_modules folder.
// Its version is pinned in bench/deno.lock, not in a deno.lock beside deno.json: `deno task` fetches every npm package
// that lock file names, and `deno task test` must run with no registry in reach.
import { Hono } from "npm:hono@4";

const port = Number(Deno.args[Deno.args.indexOf("--port") + 1] ?? 8000);
const app = new Hono()
  .get("/", (c) => c.text("Hello, World!"))
  .get("/json", (c) => c.json({ message: "Hello, World!" }))
  .get("/users/:id", (c) => c.json({ id: c.req.param("id") }))
  .post(
    "/echo",
    async (c) =>
      c.body(await c.req.arrayBuffer(), 200, { "content-type": "application/octet-stream" }),
  );

Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, app.fetch);
