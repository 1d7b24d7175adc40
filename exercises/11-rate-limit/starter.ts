// Exercise 11, the starter: an app with no limit on how often a client may ask. Add a middleware
// that answers 429 Too Many Requests, with Retry-After, past 5 requests in 2 seconds (README.md).
//   deno task exercise 11 path/to/your/copy.ts
import { App, Response } from "../../mod.ts";

const app = new App();

// TODO: a rate limit, per client: 5 requests in a window of 2 s; more get 429 and Retry-After.

app.get("/", () => "Hello, World!");
app.post("/echo", async (req) => new Response(await req.bytes()));

await app.listen();
