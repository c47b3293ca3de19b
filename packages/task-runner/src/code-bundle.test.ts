import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BundleError, packBundle, unpackBundle } from "./code-bundle.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tormr-bundle-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function files() {
  const src = join(dir, "src");
  mkdirSync(join(src, "lib"), { recursive: true });
  writeFileSync(join(src, "mapper.py"), "print('m')\n");
  chmodSync(join(src, "mapper.py"), 0o755);
  writeFileSync(join(src, "lib", "words.txt"), "a\nb\n");
  return [join(src, "mapper.py"), join(src, "lib")];
}

describe("code bundles", () => {
  it("pack to the same digest every time, and unpack to the same files and modes", async () => {
    const a = await packBundle(files(), join(dir, "a.tar"));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // Touched again: new mtimes must not change the digest.
    writeFileSync(join(dir, "src", "mapper.py"), "print('m')\n");
    const b = await packBundle(files(), join(dir, "b.tar"));
    expect(b.digest).toBe(a.digest);
    expect(a.names).toEqual(["lib", "mapper.py"]);
    const out = join(dir, "out");
    expect(await unpackBundle(a.path, a.digest, out)).toEqual(["lib", "mapper.py"]);
    expect(readFileSync(join(out, "lib", "words.txt"), "utf8")).toBe("a\nb\n");
    expect(statSync(join(out, "mapper.py")).mode & 0o111).not.toBe(0);
  });

  it("an empty bundle (a job with no shipped files) round-trips", async () => {
    const empty = await packBundle([], join(dir, "empty.tar"));
    expect(empty.bytes).toBe(1024);
    expect(await unpackBundle(empty.path, empty.digest, join(dir, "out"))).toEqual([]);
  });

  it("refuses two files with one name, and names that are not plain", async () => {
    mkdirSync(join(dir, "x"));
    mkdirSync(join(dir, "y"));
    writeFileSync(join(dir, "x", "m.py"), "");
    writeFileSync(join(dir, "y", "m.py"), "");
    await expect(
      packBundle([join(dir, "x", "m.py"), join(dir, "y", "m.py")], join(dir, "d.tar")),
    ).rejects.toThrow("two files are both named 'm.py'");
    writeFileSync(join(dir, "bad name"), "");
    await expect(packBundle([join(dir, "bad name")], join(dir, "e.tar"))).rejects.toBeInstanceOf(
      BundleError,
    );
  });

  it("refuses a bundle whose digest is not the announced one, and leaves nothing", async () => {
    const bundle = await packBundle(files(), join(dir, "a.tar"));
    const out = join(dir, "out");
    await expect(unpackBundle(bundle.path, "0".repeat(64), out)).rejects.toThrow(
      /not the announced/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("refuses symlinks and paths that climb out, and leaves nothing", async () => {
    const src = join(dir, "evil");
    mkdirSync(src);
    symlinkSync("/etc/passwd", join(src, "passwd"));
    const tar = join(dir, "evil.tar");
    await create({ file: tar, cwd: src, portable: true }, ["passwd"]);
    const { digestOf } = await import("./code-bundle.ts");
    const out = join(dir, "out");
    await expect(unpackBundle(tar, (await digestOf(tar)).digest, out)).rejects.toThrow(
      /not a plain file/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it("refuses bytes that are not a tar", async () => {
    const junk = join(dir, "junk.tar");
    writeFileSync(junk, "this is not a tar file at all".repeat(40));
    const { digestOf } = await import("./code-bundle.ts");
    await expect(
      unpackBundle(junk, (await digestOf(junk)).digest, join(dir, "out")),
    ).rejects.toBeInstanceOf(BundleError);
  });
});
