// The client-authorization key file: made once, read back the same, refused when loose, corrupt or mismatched.
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadOrCreateClientAuthKey } from "./client-auth-file.ts";
import { generateClientAuthKeyPair } from "./control/client-auth.ts";

describe("loadOrCreateClientAuthKey", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tormr-client-auth-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("makes a key pair once, 0600, and reads the same one back", async () => {
    const path = join(dir, "sub", "tor-client-auth.json");
    const made = await loadOrCreateClientAuthKey(path);
    expect(made.created).toBe(true);
    expect(made.publicKey).toMatch(/^[A-Z2-7]{52}$/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "sub"))).mode & 0o777).toBe(0o700);
    const again = await loadOrCreateClientAuthKey(path);
    expect(again).toEqual({ ...made, created: false });
  });

  it("refuses a file others can read, with the chmod to run", async () => {
    const path = join(dir, "key.json");
    await loadOrCreateClientAuthKey(path);
    await chmod(path, 0o644);
    await expect(loadOrCreateClientAuthKey(path)).rejects.toMatchObject({
      code: "ERR_ONION_KEY_PERMISSIONS",
      message: expect.stringContaining(`chmod 600 ${path}`),
    });
  });

  it("refuses a corrupt file and a public key that is not the private key's", async () => {
    const path = join(dir, "key.json");
    await writeFile(path, "{not json", { mode: 0o600 });
    await expect(loadOrCreateClientAuthKey(path)).rejects.toMatchObject({
      code: "ERR_ONION_KEY_CORRUPT",
    });
    await rm(path);
    await loadOrCreateClientAuthKey(path);
    const body = JSON.parse(await readFile(path, "utf8"));
    body.publicKey = generateClientAuthKeyPair().publicKey;
    await writeFile(path, JSON.stringify(body), { mode: 0o600 });
    await expect(loadOrCreateClientAuthKey(path)).rejects.toThrow(/not its private key's/);
    // Nothing was overwritten: the volunteer decides what to do with the file.
    expect(JSON.parse(await readFile(path, "utf8")).publicKey).toBe(body.publicKey);
  });
});
