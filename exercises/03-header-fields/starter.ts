// Exercise 3 starts where exercise 2 ended: work on your own file from exercise 2, or copy ours,
//   cp exercises/02-whole-head/solution.ts my_server.ts
// and run `deno task exercise 3 my_server.ts`. Run as it is, this file runs our solution to
// exercise 2, which reads whole heads but checks nothing in them: the checks fail.
import "../02-whole-head/solution.ts";
