// The benchmark's app, on groundwork's own Server or on Deno.serve(app.fetch), that exits after a
// number of requests: for bench/instructions.ts, which counts the instructions run under valgrind.
//   deno run -A bench/servers/counted.ts --port 8000 --requests 1000 --on fetch|own
import { app } from "./serve_app.ts";
import { Server } from "../../mod.ts";

const flag = (name: string) => Deno.args[Deno.args.indexOf(name) + 1];
const port = Number(flag("--port"));
const requests = Number(flag("--requests"));
let answered = 0;

/** Counts an answer; after the last one the process exits, and valgrind writes its counts. */
function counted<T>(res: T): T {
  answered++;
  if (answered === requests) setTimeout(() => Deno.exit(0), 0);
  return res;
}

if (flag("--on") === "own") {
  const options = { port, hostname: "127.0.0.1", log: false };
  await new Server(async (req) => counted(await app.handle(req)), options).listen();
} else {
  const options = { port, hostname: "127.0.0.1", onListen() {} };
  Deno.serve(options, async (req, info) => counted(await app.fetch(req, info)));
}
