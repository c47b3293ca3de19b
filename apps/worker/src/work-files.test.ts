import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { folderBytes, removeLeftovers } from "./work-files.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tormr-work-files-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the work folder", () => {
  it("loses what a crashed run left (attempt folders, code bundles), and keeps everything else", async () => {
    const digest = "a".repeat(64);
    mkdirSync(join(dir, "attempt-x1"));
    writeFileSync(join(dir, "attempt-x1", "spill"), "x");
    mkdirSync(join(dir, `code-${digest}`));
    writeFileSync(join(dir, `code-${digest}.tar`), "x");
    writeFileSync(join(dir, "status.json"), "{}");
    mkdirSync(join(dir, "code-not-a-digest"));
    await removeLeftovers(dir);
    expect(readdirSync(dir).sort()).toEqual(["code-not-a-digest", "status.json"]);
  });

  it("counts the bytes of every file below a folder, for the disk quota", async () => {
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    writeFileSync(join(dir, "one"), Buffer.alloc(1000));
    writeFileSync(join(dir, "a", "b", "two"), Buffer.alloc(234));
    expect(await folderBytes(dir)).toBe(1234);
    expect(await folderBytes(join(dir, "missing"))).toBe(0);
  });
});
