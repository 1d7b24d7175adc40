// The docs, checked as they are written (issue 12): every fenced code block in the project's
// Markdown is found, and each one is type-checked, or its commands are run or checked, or it is
// listed as not run, with why. A failure names the file and the line. A block or a command that
// this file can't classify fails the test and says to classify it, so that new docs get a rule
// here rather than slip through.
import assert from "node:assert/strict";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fetch, within } from "./helpers.ts";
import { collect, freePort, ROOT, runCommand, stopProcess } from "./run_example.ts";

// ==== The docs, and their blocks ====

/** The Markdown files that are the project's docs, by their path from the root. */
const DOC_PATHS = [
  /^README\.md$/,
  /^SECURITY\.md$/,
  /^docs\/[^/]+\.md$/,
  /^exercises\/README\.md$/,
  /^exercises\/[^/]+\/README\.md$/,
];

/** Folders the walk does not enter. */
const SKIPPED_FOLDERS = new Set(["node_modules", ".git"]);

/** One fenced code block, and where it is. */
type Block = {
  /** The doc's path from the root. */
  file: string;
  /** The line of the opening fence, from 1. */
  line: number;
  /** The info string's first word, in lower case: "ts", "sh", "" for none. */
  lang: string;
  /** The info string's other words: "ignore". */
  attributes: string[];
  body: string[];
  /** The paragraph or heading just above the block, on one line. */
  before: string;
};

/** The docs under `folder`, found by a walk, as paths from the root. */
async function docFiles(folder = ROOT): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(folder)) {
    const path = join(folder, entry.name);
    const fromRoot = relative(ROOT, path);
    if (entry.isDirectory && !SKIPPED_FOLDERS.has(entry.name)) {
      found.push(...await docFiles(path));
    } else if (entry.isFile && DOC_PATHS.some((pattern) => pattern.test(fromRoot))) {
      found.push(fromRoot);
    }
  }
  return found.sort();
}

/** An opening fence: up to 3 spaces, 3 or more backticks or tildes, then the info string. */
const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)(.*)$/;

/** The lines of the paragraph (or the heading) that ends just above line `index`, joined. */
function textBefore(lines: string[], index: number): string {
  let end = index;
  while (end > 0 && lines[end - 1].trim() === "") end--;
  let start = end;
  while (start > 0 && lines[start - 1].trim() !== "") start--;
  return lines.slice(start, end).join(" ");
}

/** The fenced code blocks of one doc (CommonMark's rule: the closing fence is as long, or longer). */
function blocksOf(file: string, text: string): Block[] {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  let index = 0;
  while (index < lines.length) {
    const open = FENCE.exec(lines[index]);
    index++;
    if (open === null) continue;
    const closing = new RegExp(`^ {0,3}${open[1][0]}{${open[1].length},}\\s*$`);
    const start = index - 1;
    const body: string[] = [];
    while (index < lines.length && !closing.test(lines[index])) {
      body.push(lines[index]);
      index++;
    }
    index++;
    const attributes = open[3].trim().split(/\s+/).filter((word) => word !== "");
    const lang = open[2].toLowerCase();
    blocks.push({
      file,
      line: start + 1,
      lang,
      attributes,
      body,
      before: textBefore(lines, start),
    });
  }
  return blocks;
}

/** How each language of block is checked. */
const LANGUAGES: Record<string, "typescript" | "shell" | "output"> = {
  ts: "typescript",
  typescript: "typescript",
  js: "typescript",
  sh: "shell",
  bash: "shell",
  shell: "shell",
  console: "shell",
  text: "output",
  "": "output",
  mermaid: "output",
};

/** Why a block of output is not checked here. */
const OUTPUT_REASONS: Record<string, string> = {
  text: "output pasted from a run (a trace, what a client printed)",
  "": "output pasted from a run (what the exercise tester prints)",
  mermaid: "a diagram: tests/states_test.ts checks the walkthrough's against the server's trace",
};

const DOCS = await docFiles();
const BLOCKS: Block[] = [];
for (const file of DOCS) BLOCKS.push(...blocksOf(file, await Deno.readTextFile(join(ROOT, file))));

/** "README.md:17", for a message. */
function at(block: Block, offset = 0): string {
  return `${block.file}:${block.line + offset}`;
}

/** A count of `items` by `key`, as "README.md: 2 shell, 1 typescript; ...", for the summary. */
function countBy<T>(items: T[], key: (item: T) => string, kind: (item: T) => string): string {
  const counts = new Map<string, Map<string, number>>();
  for (const item of items) {
    const byKind = counts.get(key(item)) ?? new Map<string, number>();
    byKind.set(kind(item), (byKind.get(kind(item)) ?? 0) + 1);
    counts.set(key(item), byKind);
  }
  const lines = [...counts].map(([name, byKind]) => {
    const kinds = [...byKind].map(([k, n]) => `${n} ${k}`).join(", ");
    return `  ${name}: ${kinds}`;
  });
  return lines.join("\n");
}

Deno.test("the docs are found by a walk, and each block's language is one this test knows", () => {
  for (const needed of ["README.md", "SECURITY.md", "docs/walkthrough.md", "exercises/README.md"]) {
    assert.ok(DOCS.includes(needed), `the walk did not find ${needed}: found ${DOCS.join(", ")}`);
  }
  const unknown = BLOCKS.filter((block) => !(block.lang in LANGUAGES)).map((block) =>
    `${at(block)}: a \`\`\`${block.lang} block. Classify its language in LANGUAGES in ` +
    "tests/docs_test.ts: type-checked, shell, or output that is not run"
  );
  assert.deepEqual(unknown, []);
  const kind = (block: Block) => LANGUAGES[block.lang];
  console.log(
    `${BLOCKS.length} blocks in ${DOCS.length} docs:\n${countBy(BLOCKS, (b) => b.file, kind)}`,
  );
  const outputs = BLOCKS.filter((block) => kind(block) === "output");
  const reasons = [
    ...new Set(outputs.map((block) => `\`\`\`${block.lang}: ${OUTPUT_REASONS[block.lang]}`)),
  ];
  console.log(
    `${outputs.length} not checked, being output or a diagram:\n  ${reasons.join("\n  ")}`,
  );
});

// ==== TypeScript blocks: type-checked ====

/**
 * A block marked `ignore` (```ts ignore) is not checked: a naive snippet with the bug the
 * walkthrough is about, a fragment that uses names it doesn't define, an import from a URL that is
 * a placeholder. The paragraph or heading just above it says why, with one of these words; a block
 * ignored without one is counted against UNEXPLAINED_SHARE.
 */
const IGNORE_REASON = /\b(naive|fragment|not run)\b/i;

/** The share of TypeScript blocks that may be ignored with no reason above them: a small one. */
const UNEXPLAINED_SHARE = 0.1;

/** A relative import's specifier, in `from "..."`, `import "..."` and `import("...")`. */
const RELATIVE_IMPORT = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']*)\2/g;

/**
 * `code` with each relative import made relative to `folder` instead of to the doc: a block in
 * docs/ that imports "../mod.ts" still gets the project's mod.ts. The package's own name
 * (`@groundwork/groundwork/cookies`...) needs no change: the file is inside the project, where
 * deno.json's name and exports resolve it.
 */
function rewriteImports(code: string, doc: string, folder: string): string {
  return code.replace(
    RELATIVE_IMPORT,
    (_all, keyword: string, quote: string, specifier: string) => {
      const target = resolve(ROOT, dirname(doc), specifier);
      let path = relative(folder, target);
      if (!path.startsWith(".")) path = `./${path}`;
      return `${keyword}${quote}${path}${quote}`;
    },
  );
}

Deno.test("every TypeScript block in the docs type-checks as written, or is ignored with a reason above it", async () => {
  const blocks = BLOCKS.filter((block) => LANGUAGES[block.lang] === "typescript");
  const ignored = blocks.filter((block) => block.attributes.includes("ignore"));
  const checked = blocks.filter((block) => !block.attributes.includes("ignore"));
  const unexplained = ignored.filter((block) => !IGNORE_REASON.test(block.before));
  const allowed = Math.floor(blocks.length * UNEXPLAINED_SHARE);
  assert.ok(
    unexplained.length <= allowed,
    `${unexplained.length} TypeScript blocks are ignored with no reason just above them (at most ` +
      `${allowed} may be): ${unexplained.map((block) => at(block)).join(", ")}. Say why in the ` +
      `paragraph above each (a naive version, a fragment, not run because...), or make it run`,
  );

  // Inside the project, so that deno.json resolves the package's name; removed in any case.
  const folder = await Deno.makeTempDir({ dir: ROOT, prefix: "docs_test_" });
  try {
    const files = new Map<string, { block: Block; offset: number }>();
    for (const block of checked) {
      const isJs = block.lang === "js";
      // A .js file is type-checked only when it asks to be; that adds a line before the block's.
      const head = isJs ? ["// @ts-check"] : [];
      const name = `${block.file.replaceAll("/", "_")}_line_${block.line}.${isJs ? "js" : "ts"}`;
      const code = rewriteImports([...head, ...block.body].join("\n") + "\n", block.file, folder);
      await Deno.writeTextFile(join(folder, name), code);
      files.set(name, { block, offset: head.length });
    }
    if (files.size > 0) {
      const paths = [...files.keys()].map((name) => join(folder, name));
      const args = ["check", ...paths];
      const result = await runCommand(Deno.execPath(), args, { cwd: ROOT, env: { NO_COLOR: "1" } });
      // deno check names a temporary file and a line in it: say the doc's file and line instead.
      const where = new RegExp(`file://${folder}/([^:\\s]+):(\\d+):(\\d+)`, "g");
      const printed = (result.stdout + result.stderr).replace(where, (all, name, line, column) => {
        const file = files.get(name);
        if (file === undefined) return all;
        return `${at(file.block, Number(line) - file.offset)}:${column}`;
      });
      const blocksAt = [...files.values()].map((file) => at(file.block)).join(", ");
      assert.ok(result.success, `the blocks at ${blocksAt} do not type-check:\n${printed}`);
    }
  } finally {
    await Deno.remove(folder, { recursive: true });
  }

  const summary = ignored.map((block) => `  ${at(block)}: ${block.before}`).join("\n");
  console.log(
    `${blocks.length} TypeScript blocks: ${checked.length} type-checked ` +
      `(${checked.map((block) => at(block)).join(", ")}), ${ignored.length} ignored:\n${summary}`,
  );
});

// ==== Shell blocks: each command run, checked, or listed as not run ====

/** One command of a shell block, split into words the way a simple shell line splits. */
type Command = {
  /** Where it is in the docs: "README.md:18". */
  at: string;
  text: string;
  /** NAME=value words before the command. */
  env: Record<string, string>;
  argv: string[];
};

/** What became of a command. */
type Outcome = { kind: "run" | "checked" | "not run"; what: string };

/** A server a block started, which the block's later commands (curl) talk to. */
type Serving = { port: number; docPort: number; stop: () => Promise<void> };

/** What a block's commands share while it runs. */
type BlockRun = { server?: Serving };

/** Quoted strings stay one word; the quotes go. Nothing else a shell does is done. */
const WORD = /(?:"[^"]*"|'[^']*'|[^\s"'])+/g;

/** Words that would make a line more than one simple command. */
const SHELL_OPERATORS = new Set(["|", "||", "&&", ";", "&", ">", ">>", "<"]);

/** A NAME=value word before a command: its environment. */
const ASSIGNMENT = /^([A-Za-z_]\w*)=(.*)$/;

/** The words of `text`, up to a comment. */
function words(text: string): string[] {
  const found: string[] = [];
  for (const word of text.match(WORD) ?? []) {
    if (word.startsWith("#")) break;
    found.push(word.replace(/"([^"]*)"|'([^']*)'/g, "$1$2"));
  }
  return found;
}

/**
 * The commands of a shell block. In a ```console block, a command is a line that starts with "$ ",
 * and the rest is its output. In the others, every line is a command, but a comment; a line that
 * ends in "\" goes on on the next.
 */
function commandsOf(block: Block): Command[] {
  const commands: Command[] = [];
  let pending = "";
  let pendingLine = 0;
  block.body.forEach((line, index) => {
    const isConsole = block.lang === "console";
    if (pending === "" && isConsole && !line.startsWith("$ ")) return;
    const text = pending === "" ? line.replace(/^\$ /, "") : line;
    if (pending === "") pendingLine = index + 1;
    if (text.trimEnd().endsWith("\\")) {
      pending += text.trimEnd().slice(0, -1) + " ";
      return;
    }
    const whole = (pending + text).trim();
    pending = "";
    if (whole === "" || whole.startsWith("#")) return;
    const all = words(whole);
    const env: Record<string, string> = {};
    let assignment = ASSIGNMENT.exec(all[0] ?? "");
    while (assignment !== null) {
      env[assignment[1]] = assignment[2];
      all.shift();
      assignment = ASSIGNMENT.exec(all[0] ?? "");
    }
    commands.push({ at: at(block, pendingLine), text: whole, env, argv: all });
  });
  return commands;
}

/** How an example is run when a doc runs it: what to ask it once it listens, or why it isn't run. */
type ExampleRule =
  | { get: string; status: number }
  | { runsToItsEnd: true }
  | { notRun: string };

/** Every file in examples/, and how a doc's command for it is run. */
const EXAMPLES: Record<string, ExampleRule> = {
  "examples/hello.ts": { get: "/", status: 200 },
  "examples/serve.ts": { get: "/", status: 200 },
  "examples/files.ts": { get: "/", status: 200 },
  "examples/auth.ts": { get: "/login", status: 200 },
  "examples/chat.ts": { get: "/stats", status: 200 },
  "examples/trace.ts": { get: "/", status: 200 },
  "examples/no_port.ts": { runsToItsEnd: true },
  "examples/tasks.ts": {
    notRun: "it creates tasks.db in the folder it runs from: tests/example_tasks_test.ts runs it " +
      "on a temporary database",
  },
  "examples/client.ts": {
    notRun: "a client, which needs a server: tests/example_client_test.ts runs it against one",
  },
  "examples/socket_chat.ts": {
    notRun: "a chat on a bare TCP socket, whose client reads the terminal: " +
      "tests/example_socket_chat_test.ts runs both sides",
  },
};

/** The tasks' names, from deno.json. */
const TASKS: Record<string, string> = JSON.parse(
  await Deno.readTextFile(join(ROOT, "deno.json")),
).tasks;

/** The exercises' folders: exercises/01-bind-and-answer and on. */
const EXERCISE_FOLDERS: string[] = [];
for await (const entry of Deno.readDir(join(ROOT, "exercises"))) {
  if (entry.isDirectory && /^\d\d-/.test(entry.name)) EXERCISE_FOLDERS.push(entry.name);
}

/** How long an example or `deno serve` may take to print "Listening on": it is compiled first. */
const START_MS = 15_000;

/** How long a process's pipes may stay open after it has ended. */
const PIPE_MS = 5000;

/** The port a command names: its --port, or the examples' default. */
function portOf(args: string[]): number {
  const at = args.indexOf("--port");
  return at >= 0 ? Number(args[at + 1]) : 8000;
}

/**
 * `args` with the port moved to `port`: the doc's --port taken out, `--port N` put in before the
 * word `before` (at the end if none: a script's own args), and N in --allow-net's hosts instead.
 */
function withPort(args: string[], port: number, before?: string): string[] {
  const docPort = portOf(args);
  const moved = args.map((arg) =>
    arg.startsWith("--allow-net=") ? arg.replaceAll(`:${docPort}`, `:${port}`) : arg
  );
  const at = moved.indexOf("--port");
  if (at >= 0) moved.splice(at, 2);
  const place = before === undefined ? moved.length : moved.indexOf(before);
  moved.splice(place, 0, "--port", String(port));
  return moved;
}

/**
 * Starts `args` (a `deno run` or `deno serve` as the doc has it, the port moved), waits until it
 * prints "Listening on", and asks it `rule`'s request once. It stays up for the block's curl lines;
 * BlockRun's `server.stop()` stops it.
 */
async function startServer(
  command: Command,
  args: string[],
  rule: { get: string; status: number },
  killIsExpected: boolean,
): Promise<Serving> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: command.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const onText = (all: string) => all.includes("Listening on") && listening();
  const stdout = collect(child.stdout, onText);
  const stderr = collect(child.stderr, onText);
  const printed = () => stdout.text() + stderr.text();
  const name = `\`deno ${args.join(" ")}\` (${command.at})`;
  const stop = async () => {
    await stopProcess(child, name, { printed, killIsExpected });
    await within(Promise.all([stdout.ended, stderr.ended]), PIPE_MS, `the end of ${name}'s output`);
  };
  try {
    const ended = child.status.then(() => "ended");
    const started = Promise.race([ready.then(() => "ready"), ended]);
    const outcome = await within(started, START_MS, `${name} printing "Listening on"`);
    if (outcome === "ended") throw new Error("it exited before it listened");
    const port = Number(args[args.indexOf("--port") + 1]);
    const res = await fetch(`http://127.0.0.1:${port}${rule.get}`);
    await res.body?.cancel();
    assert.equal(res.status, rule.status, `GET ${rule.get}: ${res.status}, not ${rule.status}`);
    return { port, docPort: portOf(command.argv), stop };
  } catch (err) {
    // A failure either way; a kill is no news then: what it printed says why.
    await stopProcess(child, name, { printed, killIsExpected: true });
    await within(Promise.all([stdout.ended, stderr.ended]), PIPE_MS, `the end of ${name}'s output`);
    throw new Error(`${(err as Error).message}. It printed:\n${printed()}`);
  }
}

/** Whether `path` (from the root) exists; a `*` in its last part matches any characters. */
async function exists(path: string): Promise<boolean> {
  if (!basename(path).includes("*")) {
    try {
      await Deno.stat(join(ROOT, path));
      return true;
    } catch {
      return false;
    }
  }
  const pattern = new RegExp(`^${basename(path).replaceAll(".", "\\.").replaceAll("*", ".*")}$`);
  try {
    for await (const entry of Deno.readDir(join(ROOT, dirname(path)))) {
      if (pattern.test(entry.name)) return true;
    }
  } catch { /* no such folder */ }
  return false;
}

/** Flags whose value is the next word (`--port 8000`), in deno's commands and the examples'. */
const FLAGS_WITH_VALUES = new Set(["--port", "--host", "--filter", "--config", "-c"]);

/** The words after `deno <subcommand>` that are not flags: files, folders, a script's args. */
function operands(argv: string[]): string[] {
  return argv.slice(2).filter((word, i, all) =>
    !word.startsWith("-") && !FLAGS_WITH_VALUES.has(all[i - 1])
  );
}

/** `deno task NAME ...`: the task is in deno.json; for `exercise N`, exercise N exists. */
function checkTask(command: Command): Promise<Outcome> {
  const [name, number] = command.argv.slice(2);
  assert.ok(name in TASKS, `deno.json has no task "${name}": ${Object.keys(TASKS).join(", ")}`);
  let what = `the task "${name}" is in deno.json`;
  if (name === "exercise" && number !== undefined) {
    const folder = EXERCISE_FOLDERS.find((f) => Number(f.slice(0, 2)) === Number(number));
    assert.ok(folder !== undefined, `there is no exercise ${number} in exercises/`);
    what += `, and exercises/${folder} is exercise ${number}`;
  }
  // Not run: `test` is the suite this file is part of, and exercises_test.ts runs every exercise.
  return Promise.resolve({ kind: "checked", what });
}

/** Stops the server the block started, if it did: a block runs one server at a time. */
async function stopServer(run: BlockRun): Promise<void> {
  const server = run.server;
  run.server = undefined;
  await server?.stop();
}

/** `deno run ... FILE ...`: the file exists; an example runs as its rule in EXAMPLES says. */
async function checkRun(command: Command, run: BlockRun): Promise<Outcome> {
  const [file] = operands(command.argv);
  assert.ok(file !== undefined, "it names no file to run");
  assert.ok(await exists(file), `there is no file ${file}`);
  if (file.startsWith("exercises/")) {
    return { kind: "checked", what: `${file} exists (tests/exercises_test.ts runs the exercises)` };
  }
  const rule = EXAMPLES[file];
  assert.ok(
    rule !== undefined,
    `no rule for ${file}: classify it in EXAMPLES in tests/docs_test.ts`,
  );
  const args = command.argv.slice(1);
  if ("notRun" in rule) return { kind: "not run", what: `${file} exists; not run: ${rule.notRun}` };
  if ("runsToItsEnd" in rule) {
    const result = await runCommand(Deno.execPath(), args, { cwd: ROOT, env: command.env });
    assert.ok(result.success, `it exited with ${result.code}:\n${result.stdout}${result.stderr}`);
    return { kind: "run", what: `ran to its end, and succeeded` };
  }
  await stopServer(run);
  const port = freePort();
  const moved = withPort(args, port);
  run.server = await startServer(command, moved, rule, false);
  return { kind: "run", what: `served on --port ${port}, GET ${rule.get} was ${rule.status}` };
}

/** `deno serve ... FILE`: run like an example, with --port N before the file. */
async function checkServe(command: Command, run: BlockRun): Promise<Outcome> {
  const [file] = operands(command.argv);
  assert.ok(file !== undefined, "it names no file to serve");
  assert.ok(await exists(file), `there is no file ${file}`);
  const rule = EXAMPLES[file];
  assert.ok(rule !== undefined && "get" in rule, `no rule for serving ${file} in EXAMPLES`);
  await stopServer(run);
  const args = command.argv.slice(1);
  const port = freePort();
  const moved = withPort(args, port, file);
  // `deno serve` does not always exit on SIGTERM (see example_hello_test.ts): that is Deno's
  // server, not groundwork's, so a kill after the grace period is no failure.
  run.server = await startServer(command, moved, rule, true);
  return { kind: "run", what: `served on --port ${port}, GET ${rule.get} was ${rule.status}` };
}

/** `deno test|check|fmt|lint|doc ... PATHS`: the paths exist (none is fine: the whole project). */
async function checkPaths(command: Command): Promise<Outcome> {
  const paths = operands(command.argv);
  const missing: string[] = [];
  for (const path of paths) if (!(await exists(path))) missing.push(path);
  assert.deepEqual(missing, [], `no such files or folders: ${missing.join(", ")}`);
  return { kind: "checked", what: `the paths exist: ${paths.join(", ") || "(none named)"}` };
}

/** A URL on this machine, with or without its scheme. */
const LOCAL_URL = /^(https?:\/\/)?(localhost|127\.0\.0\.1)(:\d+)?(\/\S*)?$/;

/** `curl ... URL`: against the server its block started, if it started one; else only parsed. */
async function checkCurl(command: Command, run: BlockRun): Promise<Outcome> {
  const urlAt = command.argv.findIndex((word) => LOCAL_URL.test(word));
  if (urlAt < 0) return { kind: "not run", what: "not run: it asks another machine" };
  const url = command.argv[urlAt];
  new URL(url.startsWith("http") ? url : `http://${url}`); // throws if it does not parse
  if (run.server === undefined) {
    return { kind: "checked", what: "parsed only: its block starts no server to ask" };
  }
  const { docPort, port } = run.server;
  const args = command.argv.slice(1);
  const local = new RegExp(`(localhost|127\\.0\\.0\\.1):${docPort}\\b`);
  args[urlAt - 1] = url.replace(local, `127.0.0.1:${port}`);
  // A proxy in the environment must not come between curl and this machine.
  const env = { ...command.env, NO_PROXY: "127.0.0.1", no_proxy: "127.0.0.1" };
  const result = await runCommand("curl", args, { env });
  assert.ok(result.success, `curl exited with ${result.code}:\n${result.stderr}`);
  return { kind: "run", what: `run against the block's server on port ${port}` };
}

/** `cp FROM TO`: FROM exists. It is not run: it writes into the reader's own folder. */
async function checkCopy(command: Command): Promise<Outcome> {
  const [from] = command.argv.slice(1).filter((word) => !word.startsWith("-"));
  assert.ok(await exists(from), `there is no file ${from}`);
  return { kind: "not run", what: `${from} exists; not run: it writes the reader's own file` };
}

/** Commands listed as not run, and why. */
const NOT_RUN: Record<string, string> = {
  "apt-get": "it installs system packages, as root",
  npm: "it installs from npm, which the tests must not reach",
  git: "it needs the network, or changes the repository",
};

/** How each command is handled: the first rule whose words match. */
const COMMANDS: { words: string[]; check: (c: Command, run: BlockRun) => Promise<Outcome> }[] = [
  { words: ["deno", "task"], check: checkTask },
  { words: ["deno", "run"], check: checkRun },
  { words: ["deno", "serve"], check: checkServe },
  { words: ["deno", "test"], check: checkPaths },
  { words: ["deno", "check"], check: checkPaths },
  { words: ["deno", "fmt"], check: checkPaths },
  { words: ["deno", "lint"], check: checkPaths },
  { words: ["deno", "doc"], check: checkPaths },
  { words: ["curl"], check: checkCurl },
  { words: ["cp"], check: checkCopy },
  ...Object.entries(NOT_RUN).map(([name, why]) => ({
    words: [name],
    check: () => Promise.resolve({ kind: "not run" as const, what: `not run: ${why}` }),
  })),
];

/** Runs or checks one command with its rule: an unclassified command is a failure. */
function checkCommand(command: Command, run: BlockRun): Promise<Outcome> {
  const operator = command.argv.find((word) => SHELL_OPERATORS.has(word));
  if (operator !== undefined) {
    throw new Error(`"${operator}": this test runs simple commands only; one command a line`);
  }
  const rule = COMMANDS.find((r) => r.words.every((word, i) => command.argv[i] === word));
  if (rule === undefined) {
    throw new Error(
      "no rule for this command: classify it in COMMANDS in tests/docs_test.ts (run it, check " +
        "it, or list it in NOT_RUN with why)",
    );
  }
  return rule.check(command, run);
}

/** What each command of `blocks` came to, and the failures, each with its file and line. */
async function checkShellBlocks(blocks: Block[]) {
  const outcomes: { command: Command; outcome: Outcome }[] = [];
  const failures: string[] = [];
  for (const block of blocks) {
    const run: BlockRun = {};
    try {
      for (const command of commandsOf(block)) {
        try {
          outcomes.push({ command, outcome: await checkCommand(command, run) });
        } catch (err) {
          failures.push(`${command.at}: \`${command.text}\`: ${(err as Error).message}`);
        }
      }
    } finally {
      await stopServer(run);
    }
  }
  return { outcomes, failures };
}

Deno.test("every shell command in the docs is run or checked, or listed as not run with why", async () => {
  const blocks = BLOCKS.filter((block) => LANGUAGES[block.lang] === "shell");
  const { outcomes, failures } = await checkShellBlocks(blocks);
  assert.ok(failures.length === 0, `commands in the docs that fail:\n${failures.join("\n")}`);
  const lines = outcomes.map(({ command, outcome }) =>
    `  ${command.at} ${outcome.kind}: \`${command.text}\`: ${outcome.what}`
  );
  const kinds = countBy(outcomes, (o) => o.command.at.split(":")[0], (o) => o.outcome.kind);
  console.log(`${outcomes.length} commands in ${blocks.length} shell blocks:\n${kinds}`);
  console.log(lines.join("\n"));
});

Deno.test("the command rules: a server and the curl after it run, a path is checked, and an unknown command fails", async () => {
  const lines = [
    "deno serve --port 8001 examples/serve.ts",
    "curl -s localhost:8001/hello/Ada",
    "PORT=8080 deno run --allow-net --allow-env=PORT examples/hello.ts",
    "deno run --no-prompt examples/no_port.ts",
    "deno check mod.ts extras/*.ts",
    "deno fmt --check no_such_file.ts",
    "apt-get install curl",
    "make install",
    "deno task hello | head",
  ];
  const block: Block = {
    file: "(made up)",
    line: 0,
    lang: "sh",
    attributes: [],
    body: lines,
    before: "",
  };
  const { outcomes, failures } = await checkShellBlocks([block]);
  const kinds = outcomes.map(({ command, outcome }) => `${command.text}: ${outcome.kind}`);
  assert.deepEqual(kinds, [
    "deno serve --port 8001 examples/serve.ts: run",
    "curl -s localhost:8001/hello/Ada: run",
    "PORT=8080 deno run --allow-net --allow-env=PORT examples/hello.ts: run",
    "deno run --no-prompt examples/no_port.ts: run",
    "deno check mod.ts extras/*.ts: checked",
    "apt-get install curl: not run",
  ]);
  assert.equal(failures.length, 3, failures.join("\n"));
  assert.match(failures[0], /^\(made up\):6: .*no such files or folders: no_such_file\.ts/);
  assert.match(failures[1], /^\(made up\):8: .*classify it in COMMANDS/);
  assert.match(failures[2], /^\(made up\):9: .*simple commands only/);
});

Deno.test("EXAMPLES has a rule for every file in examples/, so a doc may run any of them", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, "examples"))) {
    if (entry.isFile && entry.name.endsWith(".ts")) files.push(`examples/${entry.name}`);
  }
  assert.deepEqual(files.sort(), Object.keys(EXAMPLES).sort());
});
