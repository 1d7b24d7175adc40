// Exercise 5 starts where exercise 4 ended: work on your own file from exercise 4, or copy ours,
//   cp exercises/04-content-length/solution.ts my_server.ts
// and run `deno task exercise 5 my_server.ts`. Run as it is, this file runs our solution to
// exercise 4, which knows no chunks: the checks fail.
import "../04-content-length/solution.ts";
