import { assertEquals, assertThrows } from "../tests/_assert.ts";
import { sharedState, shownSharedState } from "./config_shared_state.ts";

Deno.test("sharedState() reads redis:// and rediss:// URLs with user, port and database", () => {
  assertEquals(sharedState(null, null, "bastion:"), null);
  assertEquals(sharedState("redis://10.0.0.5", null, "bastion:"), {
    tls: false,
    host: "10.0.0.5",
    port: 6379,
    user: null,
    db: 0,
    passwordFile: null,
    prefix: "bastion:",
  });
  const full = sharedState("rediss://app@[::1]:6380/3", "/etc/pw", "fleet-a:")!;
  assertEquals([full.tls, full.host, full.port, full.user, full.db], [true, "::1", 6380, "app", 3]);
  assertEquals(shownSharedState(full), "rediss://app@[::1]:6380/3");
});

Deno.test("sharedState() refuses a password in the URL, other schemes, bad databases and prefixes", () => {
  for (
    const [url, file, prefix] of [
      ["redis://u:secret@h:6379", null, "b:"],
      ["http://h:6379", null, "b:"],
      ["redis://h:6379/x", null, "b:"],
      ["redis://h:6379/0?x=1", null, "b:"],
      ["redis://h", null, "bad prefix"],
      [null, "/etc/pw", "b:"],
    ] as const
  ) {
    assertThrows(() => sharedState(url, file, prefix), `${url} ${file} ${prefix}`);
  }
});
