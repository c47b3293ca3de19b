import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "@playwright/test";
import { deriveBoardIdentity } from "@tormr/crypto/board-identity";
import { loadOrCreateIdentity } from "@tormr/crypto/identity-file";
import { mintStamp } from "@tormr/crypto/stamp";
import { openBoardDb } from "@tormr/db/board";
import type { AddedTestnetClient } from "@tormr/tor/testnet/add-client";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type BoardProcess, startBoardProcess } from "../src/cluster/board-process.ts";
import {
  adminClient,
  type HostProcess,
  killAll,
  startHostProcess,
  type WorkerProcess,
  waitForJob,
} from "./cluster-helpers.ts";
import { fixture, jobSpec, readParts, wordCountOracle, workspace } from "./helpers.ts";
import { addTors, ONE_SLOT, startBoardWorker, TOR_HOST, until } from "./tor-helpers.ts";

let dir: string;
let tors: AddedTestnetClient[] = [];
let board: BoardProcess | undefined;
let host: HostProcess | undefined;
const workers: WorkerProcess[] = [];
const w = workspace(3, 60_000, 43);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tormr-board-tor-"));
  // 0 the board's, 1 the requester's (her browser and her job host), 2–5 four volunteers'.
  tors = await addTors(6);
  board = await startBoardProcess({
    stateDir: join(dir, "board"),
    controlPort: (tors[0] as AddedTestnetClient).client.controlPort,
    stampBits: 8,
    matchMs: 300,
  });
}, 240_000);

afterAll(async () => {
  await killAll(host, workers);
  await board?.stop();
  await Promise.all(tors.map((tor) => tor.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
  w.cleanup();
});

describe("a cluster formed on the board, over Tor", () => {
  it("posts through the form in Chromium over Tor, proves the onion, forms, runs identical to the oracle, and replaces a killed worker", async () => {
    onTestFailed(() => {
      const tail = (name: string, lines: string[] | undefined) =>
        `--- ${name}\n${(lines ?? []).slice(-40).join("\n")}`;
      console.error(
        [
          tail("board", board?.log),
          tail("job host", host?.log),
          ...workers.map((x, i) => tail(`worker ${i}`, x.output)),
        ].join("\n"),
      );
    });
    const onion = board?.onion as string;
    /** The job host knows a worker by its pseudonym on this board, derived from its identity. */
    const pseudonymOf = async (name: string) => {
      const { identity } = await loadOrCreateIdentity(join(dir, name, "config"));
      return deriveBoardIdentity(identity, onion).pseudonym;
    };
    const requester = tors[1] as AddedTestnetClient;

    // 1. The job host is up first: its onion is what the request names.
    host = await startHostProcess(join(dir, "host"), [
      "--tor",
      "--tor-control",
      `127.0.0.1:${requester.client.controlPort}`,
      ...TOR_HOST,
    ]);
    const hostOnion = new URL(host.workerUrl).hostname;
    host.process.kill("SIGTERM");
    await host.exited;

    // 2. The request, posted through the board's form in Chromium, reaching the board through Tor.
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"],
      proxy: { server: `socks5://127.0.0.1:${requester.client.socksPort}` },
    });
    let statusLink: string;
    try {
      const page = await browser.newPage({ javaScriptEnabled: false });
      await page.goto(`http://${onion}.onion/post`, { timeout: 120_000 });
      await page.fill("#title", "Word count over Tor");
      await page.fill("#description", "End to end through the board.");
      await page.fill("#onion", hostOnion);
      await page.fill("#size", "3");
      await page.fill("#stamp", mintStamp(`${onion}/post`, 8));
      await page.click("button[type=submit]");
      await page.waitForURL(/\/status\/[A-Za-z0-9_-]{43}/, { timeout: 120_000 });
      statusLink = page.url().replace(/\?.*$/, "");
      expect(await page.locator("#state").textContent()).toBe("Waiting for volunteers");
      expect(await page.locator("#unverified").count()).toBe(1);
    } finally {
      await browser.close();
    }
    expect(statusLink).toMatch(new RegExp(`^http://${onion}\\.onion/status/`));

    // 3. The job host again, attached to the request: it proves its onion to the board.
    host = await startHostProcess(join(dir, "host"), [
      "--tor",
      "--tor-control",
      `127.0.0.1:${requester.client.controlPort}`,
      "--request",
      statusLink,
      "--board-period-ms",
      "1000",
      ...TOR_HOST,
    ]);
    const started = host;
    const admin = adminClient(started);
    await until(
      "the board verifying the job host's onion",
      () => started.log.some((line) => line.includes("the board verified")),
      240_000,
    );
    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "out"),
      task: {
        kind: "streaming",
        mapper: "sleep 4 && python3 wc_mapper.py",
        reducer: "sleep 0.5 && python3 wc_reducer.py",
      },
      files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
      numReduceTasks: 3,
      conf: { "mapreduce.input.fileinputformat.split.maxsize": "10000" },
    });
    const { jobId } = await admin.createJob(spec, 0);

    // 4. Three volunteers join through the board; the cluster forms and they join the job host.
    // One task at a time each: the job outlasts the time a lost worker takes to be replaced.
    for (let i = 0; i < 3; i++) {
      workers.push(
        startBoardWorker(onion, join(dir, `w${i}`), tors[i + 2] as AddedTestnetClient, ONE_SLOT),
      );
    }
    await until(
      "the job host admitting the board's 3 workers",
      () => started.log.some((line) => /admitted 3 workers from the board/.test(line)),
      240_000,
    );
    await waitForJob(admin, jobId, (s) => s.maps.committed > 0, 240_000);

    // 5. A worker is killed inside a map; a fourth volunteer is waiting on the board.
    const spare = startBoardWorker(onion, join(dir, "w3"), tors[5] as AddedTestnetClient, ONE_SLOT);
    workers.push(spare);
    let victim: string | undefined;
    await until("a map attempt that has just started", async () => {
      const now = Date.now();
      victim = (await admin.attempts(jobId)).find(
        (a) =>
          a.state === "running" && a.task.startsWith("m") && now - Date.parse(a.startedAt) < 1000,
      )?.worker;
      return victim !== undefined;
    });
    const pseudonyms = await Promise.all([0, 1, 2].map((i) => pseudonymOf(`w${i}`)));
    const killed = workers[pseudonyms.indexOf(victim as string)];
    expect(killed).toBeDefined();
    killed?.process.kill("SIGKILL");

    await until(
      "the job host asking the board for a replacement",
      () => started.log.some((line) => /asked the board to replace 1 lost worker/.test(line)),
      120_000,
    );
    const final = await waitForJob(admin, jobId, undefined, 300_000);
    expect(final.error).toBeNull();
    expect(final.state).toBe("succeeded");
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));

    // 6. The board's record: the replacement was seated in the same request, and it is finished.
    await until(
      "the request finished on the board",
      () => started.log.some((line) => line.includes("the board's request is finished")),
      120_000,
    );
    const db = await openBoardDb(join(dir, "board", "board.db"));
    try {
      const request = await db.request.findFirstOrThrow({ select: { state: true, id: true } });
      expect(request.state).toBe("finished");
      expect(await db.seat.count()).toBe(0);
    } finally {
      await db.$disconnect();
    }
    expect(
      started.log.filter((line) => /admitted 1 worker from the board/.test(line)),
    ).toHaveLength(1);
    // The replacement did part of the job.
    const attempts = await admin.attempts(jobId);
    const replacement = await pseudonymOf("w3");
    expect(attempts.some((a) => a.worker === replacement && a.state === "succeeded")).toBe(true);
  }, 900_000);
});
