/// <reference lib="deno.worker" />
// Opens `rounds` connections on a shared ClientTable from a second thread,
// starting at the same moment as the test's own loop.
import { ClientTable } from "../client_table.ts";

interface Job {
  table: SharedArrayBuffer;
  control: SharedArrayBuffer;
  rounds: number;
}

self.onmessage = (event: MessageEvent<Job>) => {
  const table = ClientTable.attach(event.data.table);
  const caps = { perIp: 1e9, global: 1e9 };
  Atomics.store(new Int32Array(event.data.control), 0, 1);
  for (let i = 0; i < event.data.rounds; i++) table.open(`10.0.0.${i % 4}`, caps, 1);
  self.postMessage("done");
};
