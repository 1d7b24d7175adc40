// What bench/before.ts and bench/instructions.ts share: the other mod.ts to compare with.

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
