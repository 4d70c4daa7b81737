import { assertEquals } from "../../tests/_assert.ts";
import {
  FAIR_TURN_ABOVE,
  FairTurns,
  MAX_HOLD_MS,
  MAX_RESUMED_PER_TURN,
  MAX_STILL_OUT,
  READ_GRACE_MS,
  TURN_MS,
  turnMayGoOn,
} from "./fair_turn.ts";

Deno.test("FairTurns.wait does not wait at or below the threshold", () => {
  const turns = new FairTurns();
  assertEquals(turns.wait(0, FairTurns.ticket()), undefined);
  assertEquals(turns.wait(FAIR_TURN_ABOVE, FairTurns.ticket()), undefined);
});

Deno.test("FairTurns.wait waits for a timer turn above the threshold: a due timer runs first", async () => {
  const turns = new FairTurns();
  const order: string[] = [];
  setTimeout(() => order.push("timer"), 0);
  const turn = turns.wait(FAIR_TURN_ABOVE + 1, FairTurns.ticket());
  assertEquals(turn instanceof Promise, true);
  await turn;
  order.push("after turn");
  assertEquals(order, ["timer", "after turn"]);
});

Deno.test("FairTurns.wait resumes everyone waiting for the same turn in the order they asked", async () => {
  const turns = new FairTurns();
  const order: number[] = [];
  const waits = [1, 2, 3].map((n) =>
    turns.wait(FAIR_TURN_ABOVE + 1, FairTurns.ticket())!.then(() => order.push(n))
  );
  let timerRan = false;
  setTimeout(() => timerRan = true, 0);
  await Promise.all(waits);
  assertEquals(order, [1, 2, 3]);
  // The shared timer was set before this one, so it ran first.
  assertEquals(timerRan, false);
  await turns.wait(FAIR_TURN_ABOVE + 1, FairTurns.ticket());
  assertEquals(timerRan, true);
});

Deno.test("FairTurns.wait resumes at most MAX_RESUMED_PER_TURN per turn, the rest at the next, in order", async () => {
  const turns = new FairTurns();
  const resumed: number[] = [];
  const count = MAX_RESUMED_PER_TURN + 36;
  const waits = Array.from(
    { length: count },
    (_, i) => turns.wait(FAIR_TURN_ABOVE + 1, FairTurns.ticket())!.then(() => resumed.push(i)),
  );
  // A turn takes only those already due; on a loaded machine asking took longer
  // than a turn's wait, so the later ones would rightly wait: let every one fall due.
  const asked = performance.now();
  while (performance.now() < asked + 2 * TURN_MS) { /* no timer runs meanwhile */ }
  // Set after the turns' timer: it runs once the first turn's connections went on.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assertEquals(resumed.length, MAX_RESUMED_PER_TURN);
  await Promise.all(waits);
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
  const turns = new FairTurns();
  const tickets = Array.from({ length: 20 }, FairTurns.ticket);
  let resumedAt = 0;
  await Promise.all(tickets.map((ticket) => turns.wait(FAIR_TURN_ABOVE + 1, ticket)));
  resumedAt = performance.now();
  // More than MAX_STILL_OUT of them have their next request and work on it.
  const working = tickets.slice(0, MAX_STILL_OUT + 2);
  for (const ticket of working) turns.working(ticket);
  // A hold without its cap would never end: give up after far longer than the cap.
  let giveUp: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    turns.wait(FAIR_TURN_ABOVE + 1, FairTurns.ticket())!.then(() => "resumed"),
    new Promise((resolve) => giveUp = setTimeout(() => resolve("still held"), 50 * MAX_HOLD_MS)),
  ]);
  clearTimeout(giveUp);
  assertEquals(outcome, "resumed");
  const waited = performance.now() - resumedAt;
  assertEquals(waited >= MAX_HOLD_MS - 1, true, `resumed after ${waited.toFixed(2)} ms`);
  for (const ticket of tickets) turns.leave(ticket);
});

Deno.test("a connection is out from the turn that resumed it until it comes back or leaves", async () => {
  const turns = new FairTurns();
  const ticket = FairTurns.ticket();
  await turns.wait(FAIR_TURN_ABOVE + 1, ticket);
  assertEquals(ticket.turn > 0, true, "resumed by a turn");
  turns.working(ticket);
  assertEquals(ticket.working, true);
  turns.leave(ticket);
  assertEquals(ticket, FairTurns.ticket(), "back: no turn counts it");
  // Below the threshold there is no turn, and nothing counts the connection.
  assertEquals(turns.wait(FAIR_TURN_ABOVE, ticket), undefined);
  turns.working(ticket);
  assertEquals(ticket, FairTurns.ticket());
});
