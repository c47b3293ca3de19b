import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, pseudonymOf } from "@tormr/crypto/keys";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { defaultConfigDir, IDENTITY_FILE, loadOrCreateIdentity } from "./identity.ts";

let root: string;
let dir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "tormr-identity-"));
  dir = join(root, "config", "tormr-worker");
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe("the worker's identity", () => {
  it("is made on first start, 0700 folder and 0600 file, and is the same on the next", async () => {
    const first = await loadOrCreateIdentity(dir);
    expect(first.created).toBe(true);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, IDENTITY_FILE))).mode & 0o777).toBe(0o600);
    expect(first.identity.pseudonym).toBe(pseudonymOf(first.identity.signing.publicKey));
    const again = await loadOrCreateIdentity(dir);
    expect(again.created).toBe(false);
    expect(again.identity.pseudonym).toBe(first.identity.pseudonym);
    expect(again.identity.wrapping.privateKey.equals(first.identity.wrapping.privateKey)).toBe(
      true,
    );
  });

  it("is made once when several starts race", async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateIdentity(dir)));
    expect(new Set(results.map((r) => r.identity.pseudonym)).size).toBe(1);
    expect(results.filter((r) => r.created).length).toBe(1);
  });

  it("refuses a file that others can read, saying how to fix it", async () => {
    await loadOrCreateIdentity(dir);
    const path = join(dir, IDENTITY_FILE);
    await chmod(path, 0o644);
    await expect(loadOrCreateIdentity(dir)).rejects.toMatchObject({
      code: "ERR_IDENTITY_PERMISSIONS",
      message: expect.stringContaining(`chmod 600 ${path}`),
    });
  });

  it("refuses a file that is not JSON, or not an identity, naming the path", async () => {
    await loadOrCreateIdentity(dir);
    const path = join(dir, IDENTITY_FILE);
    for (const text of ["{not json", JSON.stringify({ version: 2 }), "[]"]) {
      await writeFile(path, text, { mode: 0o600 });
      await expect(loadOrCreateIdentity(dir)).rejects.toMatchObject({
        code: "ERR_IDENTITY_CORRUPT",
        message: expect.stringContaining(path),
      });
    }
  });

  it("refuses a public key that does not belong to its private key", async () => {
    await loadOrCreateIdentity(dir);
    const path = join(dir, IDENTITY_FILE);
    const stored = JSON.parse(await readFile(path, "utf8"));
    stored.signing.publicKey = generateKeyPair("Ed25519").publicKey.toString("base64url");
    await writeFile(path, JSON.stringify(stored), { mode: 0o600 });
    await expect(loadOrCreateIdentity(dir)).rejects.toThrow(/does not match its private key/);
  });

  it("lives under XDG_CONFIG_HOME when it is set, else ~/.config", () => {
    expect(defaultConfigDir({ XDG_CONFIG_HOME: "/x" })).toBe("/x/tormr-worker");
    expect(defaultConfigDir({})).toMatch(/\.config\/tormr-worker$/);
  });
});
