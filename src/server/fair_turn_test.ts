import { assertEquals } from "../../tests/_assert.ts";
import { FAIR_TURN_ABOVE, fairTurn } from "./fair_turn.ts";

Deno.test("fairTurn does not wait at or below the threshold", () => {
  assertEquals(fairTurn(0), undefined);
  assertEquals(fairTurn(FAIR_TURN_ABOVE), undefined);
});

Deno.test("fairTurn waits for a timer turn above the threshold: a due timer runs first", async () => {
  const order: string[] = [];
  setTimeout(() => order.push("timer"), 0);
  const turn = fairTurn(FAIR_TURN_ABOVE + 1);
  assertEquals(turn instanceof Promise, true);
  await turn;
  order.push("after turn");
  assertEquals(order, ["timer", "after turn"]);
});
