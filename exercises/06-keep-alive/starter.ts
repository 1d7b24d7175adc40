// Exercise 6 starts where exercise 5 ended: work on your own file from exercise 5, or copy ours,
//   cp exercises/05-chunked/solution.ts my_server.ts
// and run `deno task exercise 6 my_server.ts`. Run as it is, this file runs our solution to
// exercise 5, which closes every connection after one answer: the checks fail.
import "../05-chunked/solution.ts";
