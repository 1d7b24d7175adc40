// The promises the project makes about mod.ts itself: at most 500 lines, documented exports, no dependencies.
import assert from "node:assert/strict";
import { ROOT, runCommand } from "./run_example.ts";

const MOD = new URL("../mod.ts", import.meta.url);

/** Runs `deno <args>` from the project's root, with a deadline; its exit code and what it printed. */
function deno(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(Deno.execPath(), args, { cwd: ROOT });
}

Deno.test("mod.ts has at most 500 lines", async () => {
  const text = await Deno.readTextFile(MOD);
  const lines = text.split("\n").length - 1; // the number of "\n" characters
  assert.ok(lines <= 500, `mod.ts has ${lines} lines: ${lines - 500} over the budget`);
});

Deno.test("mod.ts keeps every line within 120 columns, comments too (deno fmt leaves long comments as they are)", async () => {
  const lines = (await Deno.readTextFile(MOD)).split("\n");
  const long = lines.flatMap((line, i) => line.length > 120 ? [`line ${i + 1}: ${line.length} columns`] : []);
  assert.deepEqual(long, []);
});

Deno.test("mod.ts passes `deno doc --lint`: every export is documented", async () => {
  const { code, stdout, stderr } = await deno("doc", "--lint", "mod.ts");
  assert.equal(code, 0, stdout + stderr);
});

Deno.test("mod.ts has no import statements: it depends on nothing but Deno and the web platform", async () => {
  const text = await Deno.readTextFile(MOD);
  const imports = text.split("\n").filter((line) =>
    /^\s*import\b|\bimport\s*\(|^\s*export\b.*\bfrom\s*["']/.test(line)
  );
  assert.deepEqual(imports, []);
});

Deno.test("mod.ts is a module graph of one: `deno info` finds no other module", async () => {
  const { code, stdout, stderr } = await deno("info", "--json", "mod.ts");
  assert.equal(code, 0, stderr);
  const graph = JSON.parse(stdout) as { modules: { specifier: string }[] };
  assert.deepEqual(graph.modules.map((m) => m.specifier), [MOD.href]);
});
