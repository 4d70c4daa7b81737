/**
 * A summary of a bastion log after a run: access lines counted by status, and
 * every other line (warnings, errors, pool status) kept once.
 * @module
 */

/** What a bastion log held. */
export interface LogSummary {
  access: number;
  /** Status → count, for statuses other than 200. */
  statuses: Record<string, number>;
  /**
   * Lines marked `cut=conn`, and unmarked 200 lines with 0 bytes sent (from
   * before the mark): the client left mid-response (wrk stopping).
   */
  truncated: number;
  /** Lines marked `cut=body`: the file changed or failed while being sent. */
  cutByBody: number;
  /** Other lines, timestamps removed, each once, at most {@linkcode MAX_OTHER}. */
  other: string[];
}

const MAX_OTHER = 12;
const ACCESS = /^\S+ INFO w\d+#c\d+ \S+ ".*" (\d{3}) (\d+) \S+ \S+(?: cut=(\w+))?$/;
const ROUTINE = /bastion (listening|stopped)/;

/**
 * Reads `path` line by line.
 *
 * @example
 * ```ts ignore
 * const summary = await scanLog(`${tmp}/bastion-1w.log`);
 * ```
 */
export async function scanLog(path: string): Promise<LogSummary> {
  const summary: LogSummary = { access: 0, statuses: {}, truncated: 0, cutByBody: 0, other: [] };
  const seen = new Set<string>();
  using file = await Deno.open(path);
  let pending = "";
  for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) _take(summary, seen, line);
  }
  if (pending) _take(summary, seen, pending);
  return summary;
}

/**
 * One sentence for the report.
 *
 * @example
 * ```ts
 * import { describeLog } from "./logscan.ts";
 * describeLog({ access: 10, statuses: {}, truncated: 0, cutByBody: 0, other: [] }); // "10 access lines, all 200"
 * ```
 */
export function describeLog(summary: LogSummary): string {
  const statuses = Object.entries(summary.statuses).map(([s, n]) => `${n} × ${s}`);
  let text = `${summary.access.toLocaleString("en-US")} access lines, ` +
    (statuses.length === 0 ? "all 200" : `non-200: ${statuses.join(", ")}`);
  if (summary.truncated > 0) text += `; ${summary.truncated} cut short by the client`;
  if (summary.cutByBody > 0) text += `; ${summary.cutByBody} cut short by their body (file)`;
  if (summary.other.length > 0) {
    text += `; other lines: ${summary.other.map((l) => `\`${l}\``).join(", ")}`;
  }
  return text;
}

function _take(summary: LogSummary, seen: Set<string>, line: string): void {
  if (line === "") return;
  const access = line.match(ACCESS);
  if (access !== null) {
    summary.access++;
    if (access[1] !== "200") summary.statuses[access[1]] = (summary.statuses[access[1]] ?? 0) + 1;
    if (access[3] === "body") summary.cutByBody++;
    else if (access[3] === "conn" || (access[1] === "200" && access[2] === "0")) {
      summary.truncated++;
    }
    return;
  }
  if (ROUTINE.test(line)) return;
  const text = line.replace(/^\S+Z /, "").slice(0, 200);
  if (seen.has(text) || summary.other.length >= MAX_OTHER) return;
  seen.add(text);
  summary.other.push(text);
}
