// Exercise 4 starts where exercise 3 ended: work on your own file from exercise 3, or copy ours,
//   cp exercises/03-header-fields/solution.ts my_server.ts
// and run `deno task exercise 4 my_server.ts`. Run as it is, this file runs our solution to
// exercise 3, which reads no body: the checks fail.
import "../03-header-fields/solution.ts";
