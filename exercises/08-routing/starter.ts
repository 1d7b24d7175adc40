// Exercise 8 starts where exercise 7 ended: work on your own file from exercise 7, or copy ours,
//   cp exercises/07-limits/solution.ts my_server.ts
// and run `deno task exercise 8 my_server.ts`. Run as it is, this file runs our solution to
// exercise 7, which answers every path alike: the checks fail.
import "../07-limits/solution.ts";
