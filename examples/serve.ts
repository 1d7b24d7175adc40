// The hello app for `deno serve` (and Deno Deploy): they want a default export with a `fetch` method.
//   deno serve --parallel --port 8000 examples/serve.ts
// It lives in its own file because `import.meta.main` is true under `deno serve` as well, and hello.ts would then
// start groundwork's own server beside Deno's.
import { app } from "./hello.ts";

export default app;
