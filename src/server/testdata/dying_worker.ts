/// <reference lib="deno.worker" />
// A worker that serves like any other, then dies once from an error nothing
// catches, as a bug would: 300 ms after it starts, if the file named by
// DYING_WORKER_FLAG still exists (it removes it first, so its restart lives).
import { startBastion } from "../../assemble.ts";
import { runWorker } from "../workers.ts";

runWorker(startBastion);

const flag = Deno.env.get("DYING_WORKER_FLAG");
setTimeout(() => {
  if (flag === undefined) return;
  try {
    Deno.removeSync(flag);
  } catch {
    return;
  }
  throw new Error("dying on purpose");
}, 300);
