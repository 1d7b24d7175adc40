// Shared by the tests that start processes: run an example as its own process, the way a user would; run a command
// to its end; and stop what was started. Every wait here has a deadline: a process that hangs fails its test, with
// what it printed, and never hangs the suite.
import { fileURLToPath } from "node:url";
import { within } from "./helpers.ts";

/** The project's root folder: examples run from here, so their default paths (e.g. "examples/public") work. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** How long a process gets to exit after SIGTERM before it is killed: a few seconds, far more than an exit takes. */
export const GRACE_MS = 5000;

/** How long a process gets to be gone after SIGKILL, which it can't catch: past that, something else is wrong. */
const KILLED_MS = 5000;

/** How long an example gets to print "Listening on": it may have to be compiled first, on a busy machine. */
const START_MS = 15_000;

/** How long a test's command (`deno doc`, `deno info`, curl...) may run: many times what it needs. */
export const COMMAND_MS = 60_000;

/**
 * How long a pipe may stay open after its process has ended. A child process that inherited it (Chromium has
 * several) may hold it open a moment longer.
 */
const PIPE_MS = 5000;

/** A port that was free a moment ago: bind port 0, note what the system picked, let go of it. */
export function freePort(): number {
  const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** What a process prints on one of its pipes, read as it comes. */
export type Printed = {
  /** Everything printed so far. */
  text: () => string;
  /** Settles when the pipe closes (it never rejects). */
  ended: Promise<void>;
};

/**
 * Reads `stream` as text all along, calling `onText` with all of it after each piece. It must be read all along:
 * a process that fills its pipe blocks mid-write.
 */
export function collect(
  stream: ReadableStream<Uint8Array>,
  onText: (all: string) => void = () => {},
): Printed {
  let all = "";
  const sink = new WritableStream<string>({
    write(piece) {
      all += piece;
      onText(all);
    },
  });
  const ended = stream.pipeThrough(new TextDecoderStream()).pipeTo(sink).catch(() => {}); // a broken pipe ends it too
  return { text: () => all, ended };
}

/** Sends `signal` to `child`, unless it has ended already (then there is no one to send it to). */
function sendSignal(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err; // "Child process has already terminated"
  }
}

/** `promise`'s value, or undefined if it has not settled within `ms`. */
async function valueWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** How a stopped process ended. */
export type Stopped = {
  status: Deno.CommandStatus;
  /** False if it exited by itself after SIGTERM (or before); true if it was still running, and SIGKILL ended it. */
  killed: boolean;
};

/** How stopProcess() treats a process that had to be killed. */
export type StopOptions = {
  /** What the process printed: a failure message quotes it. */
  printed?: () => string;
  /** True where a forced kill is known and not a failure; its caller says why in a comment. */
  killIsExpected?: boolean;
  /** How long to wait after SIGTERM before SIGKILL; GRACE_MS unless given. */
  graceMs?: number;
};

/**
 * Stops `child`: SIGTERM; up to `graceMs` for it to exit by itself; then SIGKILL, and up to KILLED_MS for it to be
 * gone. A process that had to be killed makes this throw, naming it `name` and quoting what it printed, unless
 * `killIsExpected`. A process that has ended already is fine: this only collects its status.
 */
export async function stopProcess(
  child: Deno.ChildProcess,
  name: string,
  options: StopOptions = {},
): Promise<Stopped> {
  const graceMs = options.graceMs ?? GRACE_MS;
  sendSignal(child, "SIGTERM");
  const exited = await valueWithin(child.status, graceMs);
  if (exited !== undefined) return { status: exited, killed: false };

  sendSignal(child, "SIGKILL");
  const status = await within(child.status, KILLED_MS, `${name} ending after SIGKILL`);
  if (options.killIsExpected) return { status, killed: true };
  const printed = options.printed?.() ?? "(its output was not kept)";
  throw new Error(
    `${name} was still running ${graceMs} ms after SIGTERM, and had to be killed. It printed:\n${printed}`,
  );
}

/**
 * Waits up to `ms` for `child` to exit by itself, and returns its status. If it has not exited by then, it is
 * stopped, and this throws an error that names it (`name`), the wait, and what it printed (`printed`).
 */
export async function exitWithin(
  child: Deno.ChildProcess,
  ms: number,
  name: string,
  printed: () => string = () => "(its output was not kept)",
): Promise<Deno.CommandStatus> {
  const status = await valueWithin(child.status, ms);
  if (status !== undefined) return status;
  // Not exiting in time is the failure, and the error below says so: being killed as well is no news.
  await stopProcess(child, name, { killIsExpected: true });
  throw new Error(`${name} did not exit within ${ms} ms. It printed:\n${printed()}`);
}

/** A finished command: how it ended, and what it printed. */
export type Finished = { code: number; success: boolean; stdout: string; stderr: string };

/**
 * Runs `command` with `args` to its end, stdin closed (and `env` added to the environment), and returns what it
 * printed, like Deno.Command's output().
 * If it has not finished within `timeoutMs` (COMMAND_MS unless given), it is stopped, and this throws an error that
 * names the command, the wait, and what it had printed.
 */
export async function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<Finished> {
  const timeoutMs = options.timeoutMs ?? COMMAND_MS;
  const name = [command === Deno.execPath() ? "deno" : command, ...args].join(" ");
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = collect(child.stdout), stderr = collect(child.stderr);
  const status = await exitWithin(
    child,
    timeoutMs,
    `\`${name}\``,
    () => stdout.text() + stderr.text(),
  );
  await within(
    Promise.all([stdout.ended, stderr.ended]),
    PIPE_MS,
    `the end of \`${name}\`'s output`,
  );
  return {
    code: status.code,
    success: status.success,
    stdout: stdout.text(),
    stderr: stderr.text(),
  };
}

/** An example running in a child process. */
export type Running = {
  port: number;
  url: string;
  /** What the process has printed on stderr so far (its access log, and any error). */
  stderr: () => string;
  /** Stops the process with stopProcess(): it fails if the example did not exit on SIGTERM. */
  stop: () => Promise<void>;
};

/**
 * Starts `deno run <permissions> <file> --port N <args>` from the project's root, and resolves once the example
 * has printed "Listening on" (it has bound its port). If it dies first, or has not listened within START_MS, this
 * rejects with what it printed.
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
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const stderr = collect(child.stderr, (all) => {
    if (all.includes("Listening on")) listening();
  });
  const stop = async () => {
    await stopProcess(child, file, { printed: stderr.text });
    await within(stderr.ended, PIPE_MS, `the end of ${file}'s stderr`);
  };

  const started = Promise.race([ready.then(() => "ready"), child.status.then(() => "ended")]);
  const outcome = await valueWithin(started, START_MS);
  if (outcome === "ready") {
    return { port, url: `http://127.0.0.1:${port}`, stderr: stderr.text, stop };
  }

  // It never listened: a failure either way, so a kill is no news; what it printed says why.
  await stopProcess(child, file, { killIsExpected: true });
  await valueWithin(stderr.ended, PIPE_MS);
  const why = outcome === "ended"
    ? "exited before listening"
    : `did not listen within ${START_MS} ms`;
  throw new Error(`${file} ${why}. It printed:\n${stderr.text()}`);
}
