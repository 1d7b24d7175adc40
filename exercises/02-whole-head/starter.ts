// Exercise 2 starts where exercise 1 ended: work on your own file from exercise 1, or copy ours,
//   cp exercises/01-bind-and-answer/solution.ts my_server.ts
// and run `deno task exercise 2 my_server.ts`. Run as it is, this file runs our solution to
// exercise 1, which answers after its first read, whole head or not: the checks fail.
import "../01-bind-and-answer/solution.ts";
