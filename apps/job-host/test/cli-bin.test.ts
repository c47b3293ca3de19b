// Tests of the bin/tormr.js launcher as a real process: tsx loads the TypeScript, exit codes reach the shell.
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "..", "bin", "tormr.js");

/** Runs from the temp folder, so the launcher cannot lean on the repo being the working folder. */
function tormr(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: tmpdir(), encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("bin/tormr.js", () => {
  it("prints the version", () => {
    expect(tormr("--version")).toEqual({ code: 0, stdout: "0.0.0\n", stderr: "" });
  });

  it("prints a command's help", () => {
    const { code, stdout } = tormr("streaming", "--help");
    expect(code).toBe(0);
    expect(stdout).toContain("-numReduceTasks <n>");
  });

  it("tormr host: documents its flags, and refuses a bad one with exit 2 and one line", () => {
    const help = tormr("host", "--help");
    expect(help.code).toBe(0);
    for (const flag of [
      "--state-dir",
      "--port",
      "--admin-port",
      "--tickets",
      "--timeout-ms",
      "--disk-quota-mb",
    ]) {
      expect(help.stdout).toContain(flag);
    }
    expect(tormr("host", "--port", "80000")).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "tormr: --port: expected a whole number from 0 to 65535, got '80000'; see tormr host --help\n",
    });
  });

  it("exits 2 with one line for an unknown flag", () => {
    expect(tormr("streaming", "-inptu", "x")).toEqual({
      code: 2,
      stdout: "",
      stderr: "tormr: unknown flag -inptu (did you mean -input?); see tormr streaming --help\n",
    });
  });
});
