// Hashcash stamps: minted ones pass, and each way a stamp can be wrong is named.
import { describe, expect, it } from "vitest";
import { checkStamp, mintStamp, stampDigest } from "./stamp.ts";

const RESOURCE = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd/register";
const NOW = new Date("2026-12-01T12:00:00Z");

describe("stamps", () => {
  it("mints a stamp whose digest starts with the asked zero bits, and accepts it", () => {
    const stamp = mintStamp(RESOURCE, 12, NOW);
    expect(stamp).toMatch(/^1:12:2612011200:pg6m.+\/register::[A-Za-z0-9+/=]+:[0-9a-z]+$/);
    const digest = stampDigest(stamp);
    expect(digest[0]).toBe(0);
    expect((digest[1] ?? 0xff) & 0xf0).toBe(0);
    expect(checkStamp(stamp, { resource: RESOURCE, bits: 12, now: NOW })).toBeUndefined();
    // Minutes later it is still good; an hour and more later it has expired.
    expect(
      checkStamp(stamp, { resource: RESOURCE, bits: 12, now: new Date(NOW.getTime() + 600_000) }),
    ).toBeUndefined();
    expect(
      checkStamp(stamp, {
        resource: RESOURCE,
        bits: 12,
        now: new Date(NOW.getTime() + 2 * 3600_000),
      }),
    ).toBe("expired");
  });

  it("names what is wrong: resource, work, date, syntax", () => {
    const stamp = mintStamp(RESOURCE, 8, NOW);
    expect(checkStamp(stamp, { resource: `${RESOURCE}x`, bits: 8, now: NOW })).toBe(
      "wrong resource",
    );
    expect(checkStamp(stamp, { resource: RESOURCE, bits: 16, now: NOW })).toBe("too little work");
    expect(
      checkStamp(stamp, { resource: RESOURCE, bits: 8, now: new Date(NOW.getTime() - 3600_000) }),
    ).toBe("dated in the future");
    // Claiming more bits than the digest has is caught by the digest, not believed.
    const inflated = stamp.replace(/^1:8:/, "1:20:");
    expect(checkStamp(inflated, { resource: RESOURCE, bits: 20, now: NOW })).toBe(
      "too little work",
    );
    for (const bad of [
      "",
      "x",
      "1:8:26120112:r::a:b",
      `2:8:2612011200:${RESOURCE}::a:b`,
      `${stamp}\n`,
    ]) {
      expect(checkStamp(bad, { resource: RESOURCE, bits: 0, now: NOW })).toBe("malformed");
    }
  });

  it("refuses impossible arguments with exact messages", () => {
    expect(() => mintStamp(RESOURCE, 29)).toThrow("bits: expected an integer from 0 to 28, got 29");
    expect(() => mintStamp("has space", 1)).toThrow(/resource: expected 1 to 200 printable ASCII/);
  });
});
