import { assertEquals } from "../../tests/_assert.ts";
import { FAIR_TURN_ABOVE, fairTurn, MAX_RESUMED_PER_TURN } from "./fair_turn.ts";

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

Deno.test("fairTurn resumes everyone waiting for the same turn in the order they asked", async () => {
  const order: number[] = [];
  const turns = [1, 2, 3].map((n) => fairTurn(FAIR_TURN_ABOVE + 1)!.then(() => order.push(n)));
  let timerRan = false;
  setTimeout(() => timerRan = true, 0);
  await Promise.all(turns);
  assertEquals(order, [1, 2, 3]);
  // The shared timer was set before this one, so it ran first.
  assertEquals(timerRan, false);
  await fairTurn(FAIR_TURN_ABOVE + 1);
  assertEquals(timerRan, true);
});

Deno.test("fairTurn resumes at most MAX_RESUMED_PER_TURN per turn, the rest at the next, in order", async () => {
  const resumed: number[] = [];
  const count = MAX_RESUMED_PER_TURN + 36;
  const turns = Array.from(
    { length: count },
    (_, i) => fairTurn(FAIR_TURN_ABOVE + 1)!.then(() => resumed.push(i)),
  );
  // Set after the turns' timer: it runs once the first turn's connections went on.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(resumed.length, MAX_RESUMED_PER_TURN);
  await Promise.all(turns);
  assertEquals(resumed, Array.from({ length: count }, (_, i) => i));
});
