/**
 * `deno task bench`: the side-by-side benchmark of SPEC §9 is not built yet
 * (issue 5). This placeholder says so and exits non-zero, so no one mistakes
 * it for a measurement.
 * @module
 */

console.error("bastion bench: not built yet (the benchmark against peers is tracked in issue 5)");
Deno.exit(1);
