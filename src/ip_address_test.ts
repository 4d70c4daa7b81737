import { assertEquals } from "../tests/_assert.ts";
import { ipBytes } from "./ip_address.ts";

Deno.test("ipBytes() parses IPv4, IPv6 and IPv4-mapped IPv6", () => {
  assertEquals(ipBytes("10.1.2.3"), new Uint8Array([10, 1, 2, 3]));
  assertEquals(ipBytes("::ffff:10.1.2.3"), new Uint8Array([10, 1, 2, 3]));
  assertEquals(ipBytes("::1")?.[15], 1);
  assertEquals(ipBytes("2001:db8::")?.[3], 0xb8);
  assertEquals(ipBytes("nope"), null);
});

Deno.test("ipBytes() reads an IPv6 address ending in a dotted IPv4 part", () => {
  assertEquals(
    ipBytes("64:ff9b::192.0.2.1"),
    new Uint8Array([0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1]),
  );
  assertEquals(ipBytes("::ffff:0:10.1.2.3")?.subarray(12), new Uint8Array([10, 1, 2, 3]));
});
