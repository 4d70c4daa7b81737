import { assertEquals } from "../tests/_assert.ts";
import { formatDuration, formatSize, parseDuration, parseSize } from "./units.ts";

const SIZES: [string, number][] = [
  ["0", 0],
  ["1", 1],
  ["512", 512],
  ["512B", 512],
  ["512b", 512],
  ["8KiB", 8192],
  ["8kib", 8192],
  ["8 KiB", 8192],
  [" 8KiB ", 8192],
  ["1MiB", 1048576],
  ["1GiB", 1073741824],
  ["64GiB", 64 * 1073741824],
];

for (const [text, bytes] of SIZES) {
  Deno.test(`parseSize() reads "${text}" as ${bytes} bytes`, () => {
    assertEquals(parseSize(text), bytes);
  });
}

Deno.test("parseSize() returns null for text that is not a size", () => {
  const bad = [
    "",
    "KiB",
    "1.5MiB",
    "-1",
    "+1",
    "8KB",
    "8K",
    "8k",
    "8MB",
    "8TiB",
    "1e3",
    "0x10",
    "8 KiB B",
    "8KiB8",
  ];
  for (const text of bad) assertEquals(parseSize(text), null, text);
});

Deno.test("parseSize() returns null past the largest safe integer", () => {
  assertEquals(parseSize("9007199254740991"), 9007199254740991);
  assertEquals(parseSize("9007199254740992"), null);
  assertEquals(parseSize("8388608GiB"), null);
  assertEquals(parseSize("99999999999999999999999"), null);
});

const DURATIONS: [string, number][] = [
  ["0ms", 0],
  ["1ms", 1],
  ["250ms", 250],
  ["10s", 10_000],
  ["10 s", 10_000],
  [" 5m ", 300_000],
  ["60m", 3_600_000],
];

for (const [text, ms] of DURATIONS) {
  Deno.test(`parseDuration() reads "${text}" as ${ms} ms`, () => {
    assertEquals(parseDuration(text), ms);
  });
}

Deno.test("parseDuration() returns null for text that is not a duration", () => {
  const bad = [
    "",
    "10",
    "s",
    "1h",
    "1d",
    "1.5s",
    "-1s",
    "+1s",
    "10S",
    "10MS",
    "1m30s",
    "10sec",
    "1e3ms",
  ];
  for (const text of bad) assertEquals(parseDuration(text), null, text);
});

Deno.test("formatSize() writes the largest whole unit", () => {
  assertEquals(formatSize(0), "0B");
  assertEquals(formatSize(100), "100B");
  assertEquals(formatSize(1536), "1536B");
  assertEquals(formatSize(8192), "8KiB");
  assertEquals(formatSize(1048576), "1MiB");
  assertEquals(formatSize(1073741824), "1GiB");
  assertEquals(formatSize(3 * 1048576 + 1024), "3073KiB");
});

Deno.test("formatDuration() writes the largest whole unit", () => {
  assertEquals(formatDuration(250), "250ms");
  assertEquals(formatDuration(1500), "1500ms");
  assertEquals(formatDuration(10_000), "10s");
  assertEquals(formatDuration(90_000), "90s");
  assertEquals(formatDuration(300_000), "5m");
  assertEquals(formatDuration(3_600_000), "60m");
});

Deno.test("formatSize() and formatDuration() round-trip through the parsers", () => {
  for (const bytes of [1, 100, 1023, 1024, 8192, 1048576, 1048577, 1073741824, 5 * 1073741824]) {
    assertEquals(parseSize(formatSize(bytes)), bytes);
  }
  for (const ms of [1, 999, 1000, 10_000, 59_999, 60_000, 3_600_000]) {
    assertEquals(parseDuration(formatDuration(ms)), ms);
  }
});
