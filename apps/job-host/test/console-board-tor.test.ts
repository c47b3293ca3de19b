import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBoardDb } from "@tormr/db/board";
import type { JobStatus } from "@tormr/protocol/admin-api";
import { AdminClient } from "@tormr/protocol/admin-client";
import type { AddedTestnetClient } from "@tormr/tor/testnet/add-client";
import { postClusterRequest } from "@tormr/web/server/console/board-post";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type BoardProcess, startBoardProcess } from "../src/cluster/board-process.ts";
import {
  type HostProcess,
  killAll,
  startHostProcess,
  type WorkerProcess,
} from "./cluster-helpers.ts";
import { fixture, jobSpec, readParts, wordCountOracle, workspace } from "./helpers.ts";
import { addTors, startBoardWorker, TOR_HOST, until } from "./tor-helpers.ts";

/** Polls the job until it is over. */
async function jobOver(admin: AdminClient, jobId: string, timeoutMs: number): Promise<JobStatus> {
  let status: JobStatus | undefined;
  await until(
    `job ${jobId} to end`,
    async () => {
      status = await admin.status(jobId).catch(() => status);
      return ["succeeded", "failed", "cancelled"].includes(status?.state ?? "");
    },
    timeoutMs,
  );
  return status as JobStatus;
}

let dir: string;
let tors: AddedTestnetClient[] = [];
let board: BoardProcess | undefined;
let host: HostProcess | undefined;
const workers: WorkerProcess[] = [];
const w = workspace(1, 6_000, 47);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tormr-console-board-"));
  // 0 the board's, 1 the requester's (her job host, and her console through it), 2–3 two volunteers'.
  tors = await addTors(4);
  const requester = tors[1] as AddedTestnetClient;
  [board, host] = await Promise.all([
    startBoardProcess({
      stateDir: join(dir, "board"),
      controlPort: (tors[0] as AddedTestnetClient).client.controlPort,
      stampBits: 8,
      matchMs: 300,
    }),
    startHostProcess(join(dir, "host"), [
      "--tor",
      "--tor-control",
      `127.0.0.1:${requester.client.controlPort}`,
      "--board-period-ms",
      "1000",
      ...TOR_HOST,
    ]),
  ]);
}, 240_000);

afterAll(async () => {
  await killAll(host, workers);
  await board?.stop();
  await Promise.all(tors.map((tor) => tor.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
  w.cleanup();
});

describe("a cluster request posted from the console, over Tor", () => {
  it("posts through the job host's tor, the running host follows it, and the board's workers run the job", async () => {
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
    const started = host as HostProcess;
    const onion = board?.onion as string;
    const admin = new AdminClient({
      adminUrl: started.adminUrl,
      workerUrl: started.workerUrl,
      secret: started.secret,
    });
    const info = await admin.host();
    expect(info.onion).toBe(new URL(started.workerUrl).hostname.replace(/\.onion$/, ""));
    expect(info.socks).toEqual({
      host: "127.0.0.1",
      port: (tors[1] as AddedTestnetClient).client.socksPort,
    });

    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "out"),
      task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
      files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
      numReduceTasks: 2,
    });
    const { jobId } = await admin.createJob({ spec, tickets: 0 });

    const { statusLink } = await postClusterRequest(admin, {
      jobId,
      board: `${onion}.onion`,
      title: "Word count from the console",
      description: "Posted through the job host's tor.",
      size: 2,
      sandbox: "bwrap",
    });
    expect(statusLink).toMatch(new RegExp(`^http://${onion}\\.onion/status/[A-Za-z0-9_-]{43}$`));
    expect(await admin.boardOf(jobId)).toEqual({ statusLink, following: true, error: null });
    await expect(admin.followBoard(jobId, statusLink)).rejects.toMatchObject({
      code: "ERR_BOARD_BUSY",
    });

    for (let i = 0; i < 2; i++) {
      workers.push(startBoardWorker(onion, join(dir, `w${i}`), tors[i + 2] as AddedTestnetClient));
    }
    const final = await jobOver(admin, jobId, 240_000);
    expect(final.error).toBeNull();
    expect(final.state).toBe("succeeded");
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    expect(started.log.some((line) => line.includes("tormr: board: the board verified"))).toBe(
      true,
    );
    expect(started.log.some((line) => /admitted 2 workers from the board/.test(line))).toBe(true);

    await until(
      "the request finished on the board",
      () => started.log.some((line) => line.includes("the board's request is finished")),
      60_000,
    );
    expect(await admin.boardOf(jobId)).toEqual({ statusLink, following: false, error: null });
    const db = await openBoardDb(join(dir, "board", "board.db"));
    try {
      const request = await db.request.findFirstOrThrow({ select: { state: true, size: true } });
      expect(request).toEqual({ state: "finished", size: 2 });
      expect(await db.seat.count()).toBe(0);
    } finally {
      await db.$disconnect();
    }
  }, 300_000);
});
