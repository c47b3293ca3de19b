import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freeBytes, prepareWorkDir, WorkDirError } from "./work-dir.ts";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "tormr-workdir-"));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe("the work folder", () => {
  it("is made 0700 when the filesystem has room", async () => {
    const dir = join(root, "a", "work");
    const { freeBytes: free } = await prepareWorkDir(dir, 1);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(free).toBe(await freeBytes(dir));
    expect(free).toBeGreaterThan(1024 * 1024);
  });

  it("is refused when less than diskQuotaMb is free, saying how much there is", async () => {
    const dir = join(root, "work");
    const error = await prepareWorkDir(dir, 10240, async () => 300 * 1024 * 1024).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkDirError);
    expect((error as WorkDirError).code).toBe("ERR_DISK_SPACE");
    expect((error as Error).message).toBe(
      `the work folder ${dir} has 300 MiB free, less than diskQuotaMb (10240 MiB); free some ` +
        "space, choose another --work-dir, or lower --disk-quota-mb",
    );
  });

  it("measures the real filesystem: a quota above its free space is refused", async () => {
    const freeMb = Math.floor((await freeBytes(root)) / 1024 / 1024);
    await expect(prepareWorkDir(join(root, "w"), freeMb + 1024 * 1024)).rejects.toThrow(
      /less than diskQuotaMb/,
    );
  });

  it("says when the folder cannot be made", async () => {
    await writeFile(join(root, "file"), "");
    const error = await prepareWorkDir(join(root, "file", "work"), 0).catch((e: unknown) => e);
    expect((error as WorkDirError).code).toBe("ERR_WORK_DIR");
    expect((error as Error).message).toMatch(/^cannot make the work folder .*: ENOTDIR; choose/);
  });
});
