// Above 128 open connections a worker takes a timer turn after each response
// (src/server/fair_turn.ts): every connection must still be answered, in order,
// on the same keep-alive connection. Speed is measured by `deno task bench`.
import { assertEquals } from "./_assert.ts";
import { get, RawClient, withBastion } from "./_harness.ts";

const CONNECTIONS = 200;
const ROUNDS = 3;

Deno.test("200 keep-alive connections, past the fair-turn threshold, all get every answer in order", async () => {
  await withBastion({
    args: ["--rate-limit", "off", "--max-connections-per-ip", "1000"],
  }, async (server) => {
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
    }
  });
});

Deno.test("connections stuck in a request hold the turns back briefly, not for good", async () => {
  // A turn waits while the last turn's connections still work on requests
  // (src/server/fair_turn.ts); uploads whose bodies stall must not stop it.
  await withBastion({
    args: ["--rate-limit", "off", "--max-connections-per-ip", "1000", "--body-timeout", "60s"],
  }, async (server) => {
    const others: RawClient[] = [];
    const stuck: RawClient[] = [];
    const body = JSON.stringify({ note: "x".repeat(200) });
    const half = body.length >> 1;
    try {
      for (let i = 0; i < 170; i++) others.push(await RawClient.connect(server.port));
      // Each sends a GET with, pipelined after it, an upload head and half its body: once
      // the GET is answered, the connection takes a turn and then works on an upload it
      // cannot finish yet. Answered together, they share a turn, and hold the next one
      // (more than 8 of them work on a request) until its cap.
      stuck.push(
        ...await Promise.all(Array.from({ length: 30 }, async (_, i) => {
          const client = await RawClient.connect(server.port);
          await client.send(
            get(`/index.html?stuck=${i}`) +
              "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
              `Content-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`,
          );
          assertEquals((await client.response()).status, 200);
          return client;
        })),
      );
      const statuses = await Promise.all(others.map(async (client, i) => {
        const seen: number[] = [];
        for (let round = 0; round < 3; round++) {
          await client.send(get(`/index.html?c=${i}&r=${round}`));
          seen.push((await client.response()).status);
        }
        return seen.join(",");
      }));
      assertEquals(statuses, Array(others.length).fill("200,200,200"));
      for (const client of stuck) {
        assertEquals(client.pending.length, 0, "no answer before the body");
      }
      await Promise.all(stuck.map((client) => client.send(body.slice(half))));
      const stored = await Promise.all(
        stuck.map(async (client) => (await client.response()).status),
      );
      assertEquals(stored, Array(stuck.length).fill(201));
    } finally {
      for (const client of [...others, ...stuck]) client.close();
    }
  });
});
