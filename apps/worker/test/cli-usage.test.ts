// The tormr-worker command in-process: help, usage errors (exit 2, one line), identity and status.
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeStatus } from "../src/status-file.ts";
import { initialStatus } from "../src/worker-status.ts";
import { JOB_HOST, TICKET, type World, world } from "./cli-helpers.ts";

let w: World;
afterEach(() => w?.cleanup());

describe("help", () => {
  it("lists the commands and the exit codes", async () => {
    w = await world();
    expect(await w.run("--help")).toBe(0);
    for (const text of [
      "start [options]",
      "identity [options]",
      "status [options]",
      "Exit codes:",
    ]) {
      expect(w.stdout.text).toContain(text);
    }
    expect(w.stdout.text).toContain("  6    this worker refused the job");
  });

  it("shows every setting, its flag and default in start --help", async () => {
    w = await world();
    expect(await w.run("start", "--help")).toBe(0);
    for (const text of ["--job-host <url>", "--unsafe-no-sandbox", "-y, --yes", "allowImages"]) {
      expect(w.stdout.text).toContain(text);
    }
    expect(w.stdout.text).toMatch(/diskQuotaMb +--disk-quota-mb N +10240/);
  });

  it("prints the help on stderr and exits 2 with no command", async () => {
    w = await world();
    expect(await w.run()).toBe(2);
    expect(w.stderr.text).toContain("Usage: tormr-worker");
  });
});

describe("usage errors are one line on stderr and exit 2", () => {
  it.each([
    [["frobnicate"], "tormr-worker: unknown command 'frobnicate'; see tormr-worker --help\n"],
    [
      ["statsu"],
      "tormr-worker: unknown command 'statsu' (did you mean status?); see tormr-worker --help\n",
    ],
    [
      ["start", "--slot", "2"],
      "tormr-worker: unknown option '--slot' (did you mean --slots?); see tormr-worker start --help\n",
    ],
    [
      ["start", "--ticket"],
      "tormr-worker: option '--ticket <ticket>' argument missing; see tormr-worker start --help\n",
    ],
    [
      ["start", "--ticket", TICKET],
      "tormr-worker: missing --job-host <url> (or TORMR_WORKER_JOB_HOST); the requester gives it with the ticket\n",
    ],
    [
      ["start", "--job-host", JOB_HOST],
      "tormr-worker: missing --ticket <ticket> (or TORMR_WORKER_TICKET, which keeps it out of ps)\n",
    ],
    [
      ["start", "--job-host", "ftp://127.0.0.1:7311", "--ticket", TICKET],
      "tormr-worker: --job-host: expected an http:// or https:// URL, got ftp://\n",
    ],
    [
      ["start", "--job-host", "not a url", "--ticket", TICKET],
      "tormr-worker: --job-host: expected a URL such as http://127.0.0.1:7311, got something that is not a URL\n",
    ],
    [
      ["start", "--job-host", JOB_HOST, "--ticket", "abc!"],
      "tormr-worker: --ticket: expected 43 base64url characters, got 4 characters with some outside A-Z a-z 0-9 - _; copy the whole ticket the requester gave you\n",
    ],
    [
      [
        "start",
        "--job-host",
        JOB_HOST,
        "--ticket",
        TICKET,
        "--sandbox",
        "bwrap",
        "--unsafe-no-sandbox",
        "--yes",
      ],
      "tormr-worker: --unsafe-no-sandbox and --sandbox contradict each other; give one of them\n",
    ],
    [
      ["start", "--job-host", JOB_HOST, "--ticket", TICKET],
      "tormr-worker: stdin is not a terminal, so nobody can confirm the job; pass --yes to join without asking\n",
    ],
    [
      ["start", "--job-host", JOB_HOST, "--ticket", TICKET, "--yes", "--slots", "many"],
      "tormr-worker: --slots: expected an integer from 1 to 64, got 'many'\n",
    ],
    [
      ["start", "--job-host", "http://10.0.0.5:7311", "--ticket", TICKET, "--yes"],
      "tormr-worker: --job-host: http://10.0.0.5:7311 is neither an onion address nor on this machine, so reaching it directly would reveal your IP address; ask the requester for the job host's .onion URL, or pass --transport direct to connect without Tor on purpose\n",
    ],
    [
      ["start", "--job-host", JOB_HOST, "--ticket", TICKET, "--tor", "--yes"],
      `tormr-worker: --job-host: refusing ${JOB_HOST}: in tor mode only .onion addresses are reached, and nothing falls back to a direct connection\n`,
    ],
    [
      ["start", "--job-host", `http://${"a".repeat(56)}.onion`, "--ticket", TICKET, "--yes"],
      `tormr-worker: --job-host: refusing http://${"a".repeat(56)}.onion: "${"a".repeat(56)}.onion" is not a v3 onion address: expected version byte 3, got 0\n`,
    ],
    [
      ["start", "--job-host", JOB_HOST, "--ticket", TICKET, "--transport", "i2p", "--yes"],
      "tormr-worker: --transport: expected tor or direct, got 'i2p'\n",
    ],
    [
      ["start", "--job-host", JOB_HOST, "--ticket", TICKET, "--tor", "--transport", "direct"],
      "tormr-worker: --tor and --transport direct contradict each other; give one of them\n",
    ],
    [
      ["start", "--job-host", JOB_HOST, "--ticket", TICKET, "--tor-control", "nine", "--yes"],
      "tormr-worker: --tor-control: expected [host:]port such as 9051 or 127.0.0.1:9051, got 'nine'\n",
    ],
    [
      ["identity", "extra"],
      "tormr-worker: too many arguments for 'identity'. Expected 0 arguments but got 1.; see tormr-worker identity --help\n",
    ],
  ])("%j", async (args, expected) => {
    w = await world();
    expect(await w.run(...args)).toBe(2);
    expect(w.stderr.text).toBe(expected);
    expect(w.stdout.text).toBe("");
    expect(w.loops).toEqual([]);
  });

  it("never repeats a ticket it refuses", async () => {
    w = await world();
    const almost = `${TICKET}x`;
    expect(await w.run("start", "--job-host", JOB_HOST, "--ticket", almost, "--yes")).toBe(2);
    expect(w.stderr.text).not.toContain(almost.slice(0, 20));
  });
});

describe("tormr-worker identity", () => {
  it("makes the identity, then prints the same pseudonym and public keys, never a private key", async () => {
    w = await world();
    expect(await w.run("identity")).toBe(0);
    const file = join(w.configDir, "identity.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(w.stdout.text).toContain("(made now)");
    const stored = JSON.parse(await readFile(file, "utf8"));
    const tor = JSON.parse(await readFile(join(w.configDir, "tor-client-auth.json"), "utf8"));
    expect(w.stdout.text).toContain(stored.signing.publicKey);
    expect(w.stdout.text).toContain(stored.wrapping.publicKey);
    expect(w.stdout.text).not.toContain(stored.signing.privateKey);
    expect(w.stdout.text).not.toContain(stored.wrapping.privateKey);
    const first = w.stdout.text.match(/^pseudonym +([A-Za-z0-9_-]{43})$/m)?.[1];
    w.stdout.text = "";
    expect(await w.run("identity", "--json")).toBe(0);
    expect(JSON.parse(w.stdout.text)).toEqual({
      pseudonym: first,
      signingKey: stored.signing.publicKey,
      wrappingKey: stored.wrapping.publicKey,
      torClientAuthKey: tor.publicKey,
      file,
      created: false,
    });
    expect(w.stdout.text).not.toContain(tor.privateKey);
  });

  it("takes --config-dir, and refuses a loose identity file with exit 3", async () => {
    w = await world();
    const dir = join(w.root, "elsewhere");
    expect(await w.run("identity", "--config-dir", dir)).toBe(0);
    await import("node:fs/promises").then((fs) => fs.chmod(join(dir, "identity.json"), 0o644));
    expect(await w.run("identity", "--config-dir", dir)).toBe(3);
    expect(w.stderr.text).toMatch(/^tormr-worker: .*has mode 644; run 'chmod 600 .*'/);
  });
});

describe("tormr-worker status", () => {
  const status = (pid: number) =>
    initialStatus({
      pid,
      jobHost: JOB_HOST,
      pseudonym: "P".repeat(43),
      sandbox: "bwrap",
      slots: 2,
      now: new Date(),
    });

  it("says when no worker has run in the work folder (exit 7)", async () => {
    w = await world();
    expect(await w.run("status")).toBe(7);
    expect(w.stdout.text).toBe(`no worker has run in ${w.workDir} (no status.json)\n`);
  });

  it("prints a live worker's status (exit 0), also as JSON", async () => {
    w = await world();
    await import("node:fs/promises").then((fs) => fs.mkdir(w.workDir, { recursive: true }));
    await writeStatus(w.workDir, {
      ...status(process.pid),
      state: "running",
      jobId: "job_abc_0001",
    });
    expect(await w.run("status")).toBe(0);
    expect(w.stdout.text).toContain(`worker     running (pid ${process.pid})`);
    expect(w.stdout.text).toContain(`job        job_abc_0001 at ${JOB_HOST}`);
    w.stdout.text = "";
    expect(await w.run("status", "--json")).toBe(0);
    const json = JSON.parse(w.stdout.text);
    expect(json).toMatchObject({ alive: true, status: { pid: process.pid, state: "running" } });
    expect(json.statusFile).toBe(join(w.workDir, "status.json"));
  });

  it("finds the work folder from --work-dir or the config file", async () => {
    w = await world();
    const dir = join(w.root, "custom-work");
    await import("node:fs/promises").then((fs) => fs.mkdir(dir, { recursive: true }));
    await writeStatus(dir, { ...status(process.pid), state: "left", reason: "the job is over" });
    expect(await w.run("status", "--work-dir", dir)).toBe(7);
    expect(w.stdout.text).toContain("worker     not running: left: the job is over");
    const config = join(w.root, "c.json");
    await writeFile(config, JSON.stringify({ workDir: dir }));
    w.stdout.text = "";
    expect(await w.run("status", "--config", config, "--json")).toBe(7);
    expect(JSON.parse(w.stdout.text).status.reason).toBe("the job is over");
  });
});
