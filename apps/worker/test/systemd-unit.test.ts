// The shipped systemd unit: systemd accepts it, and it stops and restarts the way the CLI's exit codes mean.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { EXIT } from "../src/cli/exit-codes.ts";

const exec = promisify(execFile);
const UNIT = join(import.meta.dirname, "..", "systemd", "tormr-worker.service");

function setting(unit: string, key: string): string | undefined {
  return unit.match(new RegExp(`^${key}=(.*)$`, "m"))?.[1];
}

describe("systemd/tormr-worker.service", () => {
  it("passes systemd-analyze verify", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tormr-unit-"));
    try {
      // verify checks that ExecStart exists; point it at this Node instead of /usr/local/bin.
      const unit = (await readFile(UNIT, "utf8")).replace(
        "/usr/local/bin/tormr-worker",
        process.execPath,
      );
      const copy = join(dir, "tormr-worker.service");
      await writeFile(copy, unit);
      const result = await exec("systemd-analyze", ["verify", copy]).catch(
        (error: Error & { code?: unknown; stderr?: string }) => {
          if (error.code === "ENOENT")
            throw new Error("systemd-analyze is missing: apt-get install systemd");
          return { stdout: "", stderr: error.stderr ?? error.message };
        },
      );
      expect(result.stderr).toBe("");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("stops with SIGTERM and time to hand tasks back, and restarts only when a retry can help", async () => {
    const unit = await readFile(UNIT, "utf8");
    expect(setting(unit, "KillSignal")).toBe("SIGTERM");
    expect(setting(unit, "KillMode")).toBe("mixed");
    expect(Number(setting(unit, "TimeoutStopSec"))).toBeGreaterThanOrEqual(60);
    expect(setting(unit, "Restart")).toBe("on-failure");
    expect(setting(unit, "RestartPreventExitStatus")).toBe(
      [EXIT.usage, EXIT.cannotStart, EXIT.refused, EXIT.declined].join(" "),
    );
    expect(setting(unit, "User")).toBe("tormr-worker");
    expect(setting(unit, "NoNewPrivileges")).toBe("yes");
    expect(setting(unit, "ProtectSystem")).toBe("strict");
    expect(unit).toMatch(/^ExecStart=.* start --yes/m);
  });
});
