// (c) the same groundwork app on Deno's built-in server: deno run -A bench/servers/groundwork_fetch.ts --port 8000
import { app } from "./serve_app.ts";

const port = Number(Deno.args[Deno.args.indexOf("--port") + 1] ?? 8000);
Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, app.fetch);
