// Exercise 12, a solution. The planted bug is in readBody: of two Content-Length fields, it takes
// the first, whatever the second says. The fix is one condition: every value must be the same,
//   if (values.some((value) => value !== values[0]) || !CONTENT_LENGTH.test(values[0])) {
// and the fixed server is stage 6's solution, which this runs. See the whole fix with
//   git diff --no-index exercises/12-planted-bug/starter.ts exercises/06-keep-alive/solution.ts
import "../06-keep-alive/solution.ts";
