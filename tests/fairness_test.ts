// Above 128 open connections a worker takes a timer turn after each response
// (src/server/fair_turn.ts): every connection must still be answered, in order,
// on the same keep-alive connection. Speed is measured by `deno task bench`.
import { assertEquals } from "./_assert.ts";
import { get, RawClient, startBastion } from "./_harness.ts";

const CONNECTIONS = 200;
const ROUNDS = 3;

Deno.test("200 keep-alive connections, past the fair-turn threshold, all get every answer in order", async () => {
  const server = await startBastion({
    args: ["--rate-limit", "off", "--max-connections-per-ip", "1000"],
  });
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < CONNECTIONS; i++) clients.push(await RawClient.connect(server.port));
    const statuses = await Promise.all(clients.map(async (client, i) => {
      const seen: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Two pipelined requests per round: the second is already buffered after the first.
        await client.send(get(`/index.html?c=${i}&r=${round}`) + get(`/missing-${i}`));
        seen.push((await client.response()).status, (await client.response()).status);
      }
      return seen.join(",");
    }));
    const expected = Array.from({ length: ROUNDS }, () => "200,404").join(",");
    assertEquals(statuses, Array(CONNECTIONS).fill(expected));
  } finally {
    for (const client of clients) client.close();
    await server.stop();
  }
});
