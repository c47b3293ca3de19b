// network.json: a file from an older tormr-testnet or a broken one is refused with what to do; a network with a dead tor is named as such.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { networkProblem, readState, recordPid, STATE_VERSION, type TestnetState } from "./state.ts";

const fingerprint = "A".repeat(40);
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tormr-state-"));
  dirs.push(dir);
  return dir;
}

function stateIn(dir: string): TestnetState {
  return {
    version: STATE_VERSION,
    dir,
    startedAt: new Date(0).toISOString(),
    bootstrapMs: 1,
    nodes: ["auth0", "client0"],
    authorities: [{ nickname: "auth0", orPort: 1, dirPort: 2, v3ident: fingerprint, fingerprint }],
    emptyFile: join(dir, "empty"),
    clients: [],
  };
}

describe("network state", () => {
  it("reads back what it wrote, and refuses an older version or a broken file with the reason", async () => {
    const dir = tempDir();
    await expect(readState(dir)).rejects.toThrow(
      `${dir} holds no running test network (no valid network.json)`,
    );
    writeFileSync(join(dir, "network.json"), JSON.stringify(stateIn(dir)));
    expect(await readState(dir)).toEqual(stateIn(dir));
    writeFileSync(join(dir, "network.json"), JSON.stringify({ ...stateIn(dir), version: 1 }));
    await expect(readState(dir)).rejects.toThrow(
      `network.json has version 1, expected 2: stop it with 'tormr-testnet down --dir ${dir}' and start it again`,
    );
    writeFileSync(join(dir, "network.json"), JSON.stringify({ ...stateIn(dir), authorities: [] }));
    await expect(readState(dir)).rejects.toMatchObject({
      code: "ERR_TESTNET",
      message: /malformed/,
    });
    writeFileSync(join(dir, "network.json"), "{");
    await expect(readState(dir)).rejects.toThrow(/no valid network.json/);
  });

  it("names the tors of the network that are not running", async () => {
    const dir = tempDir();
    // This process's pid, but its command line does not name the folder: not one of the network's tors.
    await recordPid(dir, "auth0", process.pid);
    expect(await networkProblem(stateIn(dir))).toBe(
      "2 of its 2 tors are not running: auth0, client0",
    );
  });
});
