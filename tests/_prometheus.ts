import { assertMatch, assertTrue } from "./_assert.ts";

/** A strict reader of the Prometheus text format 0.0.4: every sample after its HELP and TYPE. */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  const helped = new Set<string>();
  assertTrue(text.endsWith("\n"), "ends with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) (bastion_[a-z_]+) (.+)$/.exec(line);
    if (meta) {
      (meta[1] === "HELP" ? helped : typed).add(meta[2]);
      if (meta[1] === "TYPE") assertMatch(meta[3], /^(counter|gauge|histogram)$/);
      continue;
    }
    const sample = /^(bastion_[a-z_]+)(\{[a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*\})? (-?[0-9.e+]+)$/
      .exec(line);
    assertTrue(sample !== null, `not a valid sample line: ${line}`);
    const family = sample[1].replace(/_(bucket|sum|count)$/, "");
    const base = typed.has(sample[1]) ? sample[1] : family;
    assertTrue(typed.has(base) && helped.has(base), `${sample[1]} has no TYPE/HELP before it`);
    samples.set(sample[1] + (sample[2] ?? ""), Number(sample[3]));
  }
  return samples;
}
