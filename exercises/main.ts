// The command that runs an exercise's tester: `deno task exercise N [path/to/your/server.ts]`.
// Without a path, it runs the exercise's starter, which fails. It exits 0 if every check passed.
// (It is a file of its own because the checks import tester.ts: a module that awaits at its top
// level can't be imported back while it runs.)
import { EXERCISES, runExercise, starter } from "./tester.ts";

const [number, file] = Deno.args;
if (!/^\d+$/.test(number ?? "") || Number(number) < 1 || Number(number) > EXERCISES.length) {
  console.error(
    `Usage: deno task exercise N [path/to/your/server.ts], N from 1 to ${EXERCISES.length}`,
  );
  Deno.exit(2);
}
const target = file ?? starter(Number(number));
try {
  await Deno.stat(target);
} catch {
  console.error(`There is no file ${target}`);
  Deno.exit(2);
}
const outcome = await runExercise(Number(number), target, { print: console.log });
Deno.exit(outcome.failed === 0 ? 0 : 1);
