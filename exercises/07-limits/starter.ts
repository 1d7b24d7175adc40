// Exercise 7 starts where exercise 6 ended: work on your own file from exercise 6, or copy ours,
//   cp exercises/06-keep-alive/solution.ts my_server.ts
// and run `deno task exercise 7 my_server.ts`. Run as it is, this file runs our solution to
// exercise 6, which has no limits at all: the checks fail.
import "../06-keep-alive/solution.ts";
