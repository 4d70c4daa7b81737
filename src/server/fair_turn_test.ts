import { assertEquals } from "../../tests/_assert.ts";
import {
  FAIR_TURN_ABOVE,
  fairTurn,
  leaveTurns,
  MAX_HOLD_MS,
  MAX_RESUMED_PER_TURN,
  MAX_STILL_OUT,
  newTicket,
  READ_GRACE_MS,
  TURN_MS,
  turnMayGoOn,
  turnWorking,
} from "./fair_turn.ts";

Deno.test("fairTurn does not wait at or below the threshold", () => {
  assertEquals(fairTurn(0, newTicket()), undefined);
  assertEquals(fairTurn(FAIR_TURN_ABOVE, newTicket()), undefined);
});

Deno.test("fairTurn waits for a timer turn above the threshold: a due timer runs first", async () => {
  const order: string[] = [];
  setTimeout(() => order.push("timer"), 0);
  const turn = fairTurn(FAIR_TURN_ABOVE + 1, newTicket());
  assertEquals(turn instanceof Promise, true);
  await turn;
  order.push("after turn");
  assertEquals(order, ["timer", "after turn"]);
});

Deno.test("fairTurn resumes everyone waiting for the same turn in the order they asked", async () => {
  const order: number[] = [];
  const turns = [1, 2, 3].map((n) =>
    fairTurn(FAIR_TURN_ABOVE + 1, newTicket())!.then(() => order.push(n))
  );
  let timerRan = false;
  setTimeout(() => timerRan = true, 0);
  await Promise.all(turns);
  assertEquals(order, [1, 2, 3]);
  // The shared timer was set before this one, so it ran first.
  assertEquals(timerRan, false);
  await fairTurn(FAIR_TURN_ABOVE + 1, newTicket());
  assertEquals(timerRan, true);
});

Deno.test("fairTurn resumes at most MAX_RESUMED_PER_TURN per turn, the rest at the next, in order", async () => {
  const resumed: number[] = [];
  const count = MAX_RESUMED_PER_TURN + 36;
  const turns = Array.from(
    { length: count },
    (_, i) => fairTurn(FAIR_TURN_ABOVE + 1, newTicket())!.then(() => resumed.push(i)),
  );
  // A turn takes only those already due; on a loaded machine asking took longer
  // than a turn's wait, so the later ones would rightly wait: let every one fall due.
  const asked = performance.now();
  while (performance.now() < asked + 2 * TURN_MS) { /* no timer runs meanwhile */ }
  // Set after the turns' timer: it runs once the first turn's connections went on.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(resumed.length, MAX_RESUMED_PER_TURN);
  await Promise.all(turns);
  assertEquals(resumed, Array.from({ length: count }, (_, i) => i));
});

Deno.test("a turn goes on once at most MAX_STILL_OUT of the last turn's connections are out", () => {
  // Just after a turn, connections still reading count: their bytes may be there, not yet read.
  assertEquals(turnMayGoOn(0, MAX_STILL_OUT, 0), true);
  assertEquals(turnMayGoOn(0, MAX_STILL_OUT, 1), false);
  assertEquals(turnMayGoOn(READ_GRACE_MS - 0.1, 64, 0), false);
  // After the grace, a connection still waiting for bytes is an idle client.
  assertEquals(turnMayGoOn(READ_GRACE_MS, 64, 0), true);
  assertEquals(turnMayGoOn(READ_GRACE_MS, 64, MAX_STILL_OUT), true);
  assertEquals(turnMayGoOn(READ_GRACE_MS, 0, MAX_STILL_OUT + 1), false);
  // Never longer than MAX_HOLD_MS, whatever is out.
  assertEquals(turnMayGoOn(MAX_HOLD_MS - 0.1, 64, 64), false);
  assertEquals(turnMayGoOn(MAX_HOLD_MS, 64, 64), true);
});

Deno.test("a turn waits for the last turn's connections that work, MAX_HOLD_MS at most", async () => {
  const tickets = Array.from({ length: 20 }, newTicket);
  let resumedAt = 0;
  await Promise.all(tickets.map((ticket) => fairTurn(FAIR_TURN_ABOVE + 1, ticket)));
  resumedAt = performance.now();
  // More than MAX_STILL_OUT of them have their next request and work on it.
  const working = tickets.slice(0, MAX_STILL_OUT + 2);
  for (const ticket of working) turnWorking(ticket);
  // A hold without its cap would never end: give up after far longer than the cap.
  let giveUp: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    fairTurn(FAIR_TURN_ABOVE + 1, newTicket())!.then(() => "resumed"),
    new Promise((resolve) => giveUp = setTimeout(() => resolve("still held"), 50 * MAX_HOLD_MS)),
  ]);
  clearTimeout(giveUp);
  assertEquals(outcome, "resumed");
  const waited = performance.now() - resumedAt;
  assertEquals(waited >= MAX_HOLD_MS - 1, true, `resumed after ${waited.toFixed(2)} ms`);
  for (const ticket of tickets) leaveTurns(ticket);
});

Deno.test("a connection is out from the turn that resumed it until it comes back or leaves", async () => {
  const ticket = newTicket();
  await fairTurn(FAIR_TURN_ABOVE + 1, ticket);
  assertEquals(ticket.turn > 0, true, "resumed by a turn");
  turnWorking(ticket);
  assertEquals(ticket.working, true);
  leaveTurns(ticket);
  assertEquals(ticket, newTicket(), "back: no turn counts it");
  // Below the threshold there is no turn, and nothing counts the connection.
  assertEquals(fairTurn(FAIR_TURN_ABOVE, ticket), undefined);
  turnWorking(ticket);
  assertEquals(ticket, newTicket());
});
