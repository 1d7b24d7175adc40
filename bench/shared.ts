// What the benchmark scripts share: the other mod.ts to compare with, wrk's pipelining script,
// and writing a report.

const HERE = new URL(".", import.meta.url).pathname;

/** The other mod.ts: the file `revision` names, if there is one, else that git revision's. */
export async function earlierMod(revision: string): Promise<Uint8Array> {
  const file = await Deno.readFile(revision).catch(() => null);
  if (file !== null) return file;
  const show = await new Deno.Command("git", { args: ["-C", HERE, "show", `${revision}:mod.ts`] })
    .output();
  if (!show.success) throw new Error(`git show ${revision}:mod.ts failed`);
  return show.stdout;
}

/** A wrk script that sends 16 requests in each write, and waits for their 16 answers. */
export const PIPELINE_16 = `init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format() end
  req = table.concat(r)
end
request = function() return req end
`;

/** The commit the project is at, short, and whether mod.ts has changes not committed. */
export async function gitState(): Promise<{ commit: string; dirty: boolean }> {
  const text = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args: ["-C", HERE, ...args] }).output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  const commit = await text("log", "-1", "--format=%h");
  const dirty = await text("status", "--porcelain", "../mod.ts") !== "";
  return { commit, dirty };
}

/** Writes a Markdown report, formatted, and says where. */
export async function writeReport(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text);
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
  console.error(`Written to ${path}`);
}
