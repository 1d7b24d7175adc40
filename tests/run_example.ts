// Shared by the example tests: run an example as its own process, the way a user would, and stop it afterwards.
import { fileURLToPath } from "node:url";

/** The project's root folder: examples run from here, so their default paths (e.g. "examples/public") work. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A port that was free a moment ago: bind port 0, note what the system picked, let go of it. */
export function freePort(): number {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** An example running in a child process. */
export type Running = {
  port: number;
  url: string;
  /** What the process has printed on stderr so far (its access log, and any error). */
  stderr: () => string;
  /** Kills the process and waits for it to end. */
  stop: () => Promise<void>;
};

/**
 * Starts `deno run <permissions> <file> --port N <args>` from the project's root, and resolves once the example
 * has printed "Listening on" (it has bound its port). If it dies first, this rejects with what it printed.
 */
export async function runExample(
  file: string,
  permissions: (port: number) => string[],
  args: string[] = [],
): Promise<Running> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions(port), file, "--port", String(port), ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let printed = "";
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  // The child's stderr must be read all along: a full pipe would block it mid-write.
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(text) {
        printed += text;
        if (printed.includes("Listening on")) listening();
      },
    }),
  );
  const ended = child.status;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* it has ended already */ }
    await ended;
    await reading;
  };
  const hung = setTimeout(() => child.kill("SIGKILL"), 15_000); // never listened: a failure, not a hang
  const outcome = await Promise.race([ready.then(() => "ready"), ended.then(() => "ended")]);
  clearTimeout(hung);
  if (outcome === "ended") {
    await reading;
    throw new Error(`${file} exited before listening:\n${printed}`);
  }
  return { port, url: `http://127.0.0.1:${port}`, stderr: () => printed, stop };
}
