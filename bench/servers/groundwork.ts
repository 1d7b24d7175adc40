// (b) groundwork's own HTTP/1.1 server: deno run -A bench/servers/groundwork.ts --port 8000 [--reuse-port]
// With --reuse-port (and `deno run --unstable-net`), several processes can share the port; Linux spreads the
// connections among them.
import { app } from "./serve_app.ts";

await app.listen({
  hostname: "127.0.0.1",
  log: false,
  reusePort: Deno.args.includes("--reuse-port"),
});
