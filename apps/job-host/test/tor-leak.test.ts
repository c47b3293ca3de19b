// The leak test: a Tor-mode worker and every process it starts, under strace, talk to nothing but their tor's SOCKS and control ports.
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { AddedTestnetClient } from "@tormr/tor/testnet/add-client";
import { beforeAll, describe, expect, it } from "vitest";
import { adminClient, TORMR_WORKER, waitForJob } from "./cluster-helpers.ts";
import { readParts, wordCountOracle } from "./helpers.ts";
import { torSuite, wordCountJob } from "./tor-helpers.ts";

/** One network system call with a socket address, as strace -f printed it. */
interface Destination {
  call: string;
  family: string;
  address: string;
  port: number | undefined;
}

/**
 * Every connect, sendto, sendmsg and sendmmsg in an strace log that names an address. AF_UNIX
 * (dockerd, node's own pipes) and AF_NETLINK (the kernel) never leave the machine; the test
 * looks at the rest.
 */
function destinations(log: string): Destination[] {
  const found: Destination[] = [];
  for (const line of log.split("\n")) {
    const call = /^(?:\[pid +\d+\] |\d+ +)?(connect|sendto|sendmsg|sendmmsg)\(/.exec(line)?.[1];
    if (!call) continue;
    const family = /sa_family=(AF_[A-Z0-9]+)/.exec(line)?.[1];
    if (!family) continue;
    const port = /sin6?_port=htons\((\d+)\)/.exec(line)?.[1];
    const address =
      /sin_addr=inet_addr\("([^"]+)"\)/.exec(line)?.[1] ??
      /inet_pton\(AF_INET6, "([^"]+)"/.exec(line)?.[1] ??
      /sun_path="([^"]*)"/.exec(line)?.[1] ??
      "";
    found.push({ call, family, address, port: port === undefined ? undefined : Number(port) });
  }
  return found;
}

function traced(log: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(
    "strace",
    [
      "-f",
      "-qq",
      "-e",
      "trace=connect,sendto,sendmsg,sendmmsg",
      "-e",
      "signal=none",
      "-o",
      log,
      process.execPath,
      TORMR_WORKER,
      ...args,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
  );
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => output.push(line));
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, output, exited };
}

// Never skipped: without strace there is no leak test, and that fails the run.
beforeAll(() => {
  if (spawnSync("strace", ["-V"], { stdio: "ignore" }).status !== 0) {
    throw new Error("strace is not installed, and the leak test needs it: run 'npm run setup'");
  }
});
const suite = torSuite({ name: "tor-leak", tors: 2, input: [2, 20_000, 47] });

describe("a Tor-mode worker under strace -f", () => {
  it("runs its tasks in bwrap and reaches only its tor's SOCKS and control ports", async () => {
    const { w, dir, tors, host: started } = suite;
    const tor = (tors[1] as AddedTestnetClient).client;
    const admin = adminClient(started);
    const spec = wordCountJob(w);
    const { jobId, tickets } = await admin.createJob(spec, 1);
    const log = join(dir, "strace.log");
    const worker = traced(
      log,
      [
        "start",
        "--job-host",
        started.workerUrl,
        "--config-dir",
        join(dir, "worker", "config"),
        "--work-dir",
        join(dir, "worker", "work"),
        "--disk-quota-mb",
        "256",
        "--sandbox",
        "bwrap",
        "--yes",
        "--tor",
        "--tor-control",
        `127.0.0.1:${tor.controlPort}`,
      ],
      { TORMR_WORKER_TICKET: tickets[0] as string },
    );
    const final = await waitForJob(admin, jobId, undefined, 240_000);
    expect(final.state).toBe("succeeded");
    expect(await worker.exited).toBe(0);
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));

    const trace = readFileSync(log, "utf8");
    // bwrap ran the tasks: its children are in the trace too (execve is not traced, clone is implied by -f).
    expect(trace).toMatch(/^\d+ /m);
    const network = destinations(trace).filter(
      (d) => d.family === "AF_INET" || d.family === "AF_INET6",
    );
    const allowed = new Set([tor.socksPort, tor.controlPort]);
    const elsewhere = network.filter(
      (d) => d.address !== "127.0.0.1" || !allowed.has(d.port ?? -1),
    );
    expect(elsewhere).toEqual([]);
    // The trace saw the worker's real traffic, so an empty "elsewhere" means something.
    expect(network.some((d) => d.call === "connect" && d.port === tor.socksPort)).toBe(true);
    expect(network.some((d) => d.call === "connect" && d.port === tor.controlPort)).toBe(true);
    // A name lookup through glibc would try nscd's socket first: none may happen either.
    expect(destinations(trace).filter((d) => d.address.includes("nscd"))).toEqual([]);
    const families = new Set(destinations(trace).map((d) => d.family));
    for (const family of families)
      expect(["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"]).toContain(family);
  }, 300_000);

  it("refuses a job host that is not an onion before it opens any connection", async () => {
    const listener = createServer();
    let connections = 0;
    listener.on("connection", (socket) => {
      connections++;
      socket.destroy();
    });
    listener.listen(0, "127.0.0.1");
    await once(listener, "listening");
    const port = (listener.address() as { port: number }).port;
    const { dir, tors } = suite;
    const tor = (tors[1] as AddedTestnetClient).client;
    const log = join(dir, "strace-refused.log");
    const worker = traced(
      log,
      [
        "start",
        "--job-host",
        `http://127.0.0.1:${port}`,
        "--config-dir",
        join(dir, "refused", "config"),
        "--work-dir",
        join(dir, "refused", "work"),
        "--unsafe-no-sandbox",
        "--yes",
        "--tor",
        "--tor-control",
        `127.0.0.1:${tor.controlPort}`,
      ],
      { TORMR_WORKER_TICKET: "T".repeat(43) },
    );
    expect(await worker.exited).toBe(2);
    expect(worker.output.join("\n")).toContain(
      `refusing http://127.0.0.1:${port}: in tor mode only .onion addresses are reached`,
    );
    listener.close();
    expect(connections).toBe(0);
    const network = destinations(readFileSync(log, "utf8")).filter((d) =>
      d.family.startsWith("AF_INET"),
    );
    expect(network).toEqual([]);
  }, 60_000);
});
