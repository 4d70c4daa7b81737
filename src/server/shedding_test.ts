import { assertEquals } from "../../tests/_assert.ts";
import { isOutOfFiles } from "../os_errors.ts";
import { PeerCounts, shedIdle } from "./shedding.ts";

function connection(name: string, peer: string, sheddable: boolean, closed: string[]) {
  return { sheddable, peer, close: () => closed.push(name) };
}

Deno.test("shedIdle() closes idle connections oldest first, never a busy one", () => {
  const closed: string[] = [];
  const open = [
    connection("busy", "a", false, closed),
    connection("old", "a", true, closed),
    connection("mid", "a", true, closed),
    connection("new", "a", true, closed),
  ];
  assertEquals(shedIdle(open, 2, () => 4), 2);
  assertEquals(closed, ["old", "mid"]);
});

Deno.test("shedIdle() sheds a crowded address's connections before an address's only one", () => {
  const closed: string[] = [];
  const counts = new PeerCounts();
  for (const peer of ["honest", "attacker", "attacker", "attacker"]) counts.add(peer);
  const open = [
    connection("honest", "honest", true, closed),
    connection("a1", "attacker", true, closed),
    connection("a2", "attacker", false, closed),
    connection("a3", "attacker", true, closed),
  ];
  assertEquals(shedIdle(open, 2, (peer) => counts.held(peer)), 2);
  assertEquals(closed, ["a1", "a3"]);
  assertEquals(shedIdle(open.slice(0, 1), 1, (peer) => counts.held(peer)), 1, "then any idle one");
  assertEquals(closed, ["a1", "a3", "honest"]);
});

Deno.test("shedIdle() sheds an address holding more than a browser would before one holding two", () => {
  const closed: string[] = [];
  const held = (peer: string) => peer === "flood" ? 250 : 2;
  const open = [
    connection("browser-1", "browser", true, closed),
    connection("browser-2", "browser", true, closed),
    connection("flood-1", "flood", true, closed),
  ];
  assertEquals(shedIdle(open, 1, held), 1);
  assertEquals(closed, ["flood-1"]);
});

Deno.test("PeerCounts forgets an address with no connection left", () => {
  const counts = new PeerCounts();
  counts.add("a");
  counts.add("a");
  counts.delete("a");
  assertEquals(counts.held("a"), 1);
  counts.delete("a");
  assertEquals(counts.held("a"), 0);
});

Deno.test("PeerCounts counts an IPv6 client per /64 and an IPv4-mapped one as IPv4", () => {
  const counts = new PeerCounts();
  for (let i = 1; i <= 9; i++) counts.add(`2001:db8:1:2::${i}`);
  assertEquals(counts.held("2001:db8:1:2::ffff"), 9, "one crowding client, not nine lone ones");
  assertEquals(counts.held("2001:db8:1:3::1"), 0, "another /64 is another client");
  counts.add("::ffff:192.0.2.7");
  assertEquals(counts.held("192.0.2.7"), 1);
  counts.delete("2001:db8:1:2::1");
  assertEquals(counts.held("2001:db8:1:2::5"), 8);
});

Deno.test("isOutOfFiles() knows EMFILE and ENFILE, nothing else", () => {
  assertEquals(isOutOfFiles(new Error("Too many open files (os error 24)")), true);
  assertEquals(isOutOfFiles(new Error("Too many open files in system (os error 23)")), true);
  assertEquals(isOutOfFiles(new Error("Connection reset by peer (os error 104)")), false);
  assertEquals(isOutOfFiles(null), false);
});
