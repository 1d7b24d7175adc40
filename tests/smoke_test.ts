import assert from "node:assert/strict";
import { App } from "../mod.ts";
import { get, raw, start } from "./helpers.ts";
Deno.test("smoke", async () => {
  const s = await start(new App().get("/", () => "hi"));
  const r = await raw(s.port, get("/") + get("/"), { responses: 2 });
  assert.equal(r.responses.length, 2);
  assert.equal(r.responses[1].body, "hi");
  await s.close();
});
