// The form's stamp command, run for real with python3, makes stamps the board accepts.
import { execSync } from "node:child_process";
import { checkStamp } from "@tormr/crypto/stamp";
import { describe, expect, it } from "vitest";
import { stampCommand } from "./stamp-command.ts";

describe("stampCommand", () => {
  it("prints a stamp that checkStamp accepts for the same resource and bits", () => {
    const resource = `${"a".repeat(56)}/post`;
    const stamp = execSync(stampCommand(resource, 10), { encoding: "utf8" }).trim();
    expect(checkStamp(stamp, { resource, bits: 10 })).toBeUndefined();
    expect(checkStamp(stamp, { resource: `${"b".repeat(56)}/post`, bits: 10 })).toBe(
      "wrong resource",
    );
  });
});
