// Runs one job the distributed way on this machine: an in-process job host, and N real tormr-worker processes joined to it.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { mintStamp } from "@tormr/crypto/stamp";
import { MapReduceError } from "@tormr/mapreduce/errors";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import { attachTor } from "@tormr/tor/tor-process";
import { boardClient, boardTransport, followBoardRequest } from "../board/board-link.ts";
import type { JobProgress, JobResult } from "../local/types.ts";
import { startJobHost } from "../master/job-host.ts";
import { type JobStatus, jobStatus, progressOf } from "../master/job-status.ts";
import type { MasterSettings } from "../master/settings.ts";

/** The worker launcher in this source tree (a packed install is used through `workerBin`). */
const DEV_WORKER_BIN = fileURLToPath(
  new URL("../../../worker/bin/tormr-worker.js", import.meta.url),
);

export interface ClusterJobOptions {
  workers: number;
  /** The workers' sandbox; "none" runs the job's programs as this user (`--unsafe-no-sandbox`). */
  sandbox: "none" | "bwrap" | "docker";
  /** The tormr-worker executable; default: this tree's, or TORMR_WORKER_BIN. */
  workerBin?: string;
  /** Where the job host keeps its state; default: a temporary folder, removed at the end. */
  stateDir?: string;
  settings?: Partial<MasterSettings>;
  onProgress?: (progress: JobProgress) => void;
  /** Aborting cancels the job: its workers leave and its output folder is removed. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** The job host's events (workers joining, attempts ending, the onion's client set). */
  log?: (event: Record<string, unknown>) => void;
  /**
   * Run over Tor: the job host publishes its worker listener as an onion through the tor whose
   * control port is `host`, and worker i reaches it only through the tor at `workers[i]`
   * (cookie authentication). Without it everything moves directly on 127.0.0.1.
   */
  tor?: { host: TorEndpoint; workers: TorEndpoint[] };
  /**
   * Form the cluster on this bulletin board instead of handing out tickets: the job host posts a
   * request for `workers` there (by API, its stamp computed here), proves its onion, and admits
   * whom the board matches; the workers volunteer with `tormr-worker start --board`. Over Tor.
   */
  board?: { url: string; title: string; description: string };
}

/** What the board part of a job did. */
export interface BoardRun {
  /** The request's secret status link (the requester's capability). */
  statusLink: string;
  requestId: string;
}

export interface TorEndpoint {
  host?: string;
  controlPort: number;
}

/** Local runs notice a dead worker in seconds, not the 30 s a real cluster over Tor needs. */
const LOCAL_SETTINGS: Partial<MasterSettings> = {
  heartbeatMs: 1_000,
  timeoutMs: 10_000,
  pollMs: 5_000,
};

/**
 * Over Tor a silent worker is noticed later: a re-published onion or a rebuilt circuit costs
 * seconds, and must not pass for a dead worker.
 */
const TOR_SETTINGS: Partial<MasterSettings> = { timeoutMs: 30_000, pollMs: 10_000 };

interface WorkerChild {
  child: ChildProcess;
  tail: string[];
  exited: Promise<number | null>;
}

export async function runClusterJob(
  spec: JobSpec,
  options: ClusterJobOptions,
): Promise<JobResult & { board?: BoardRun }> {
  const started = performance.now();
  const tor = options.tor;
  if (options.board && !tor) throw new Error("a cluster formed on a board runs over Tor: give tor");
  if (options.board && options.sandbox === "none") {
    throw new Error("volunteers from a board always run jobs in a sandbox: choose bwrap or docker");
  }
  if (tor && tor.workers.length < options.workers) {
    throw new Error(
      `over Tor every worker needs its own tor: got ${tor.workers.length} for ${options.workers} workers`,
    );
  }
  const scratch = await mkdtemp(join(tmpdir(), `tormr-${spec.id}-`));
  const hostTor = tor
    ? await attachTor({ host: tor.host.host ?? "127.0.0.1", controlPort: tor.host.controlPort })
    : undefined;
  const hostStateDir = options.stateDir ?? join(scratch, "host");
  const host = await startJobHost({
    stateDir: hostStateDir,
    settings: { ...LOCAL_SETTINGS, ...(tor ? TOR_SETTINGS : {}), ...options.settings },
    ...(hostTor ? { tor: { control: hostTor.control } } : {}),
    ...(options.log ? { log: options.log } : {}),
  }).catch(async (error: unknown) => {
    await hostTor?.control.close();
    throw error;
  });
  const workers: WorkerChild[] = [];
  const stopBoard = new AbortController();
  let boardRun: Awaited<ReturnType<typeof postToBoard>> | undefined;
  try {
    // Under an exposure cap, a cluster too small to keep to it is refused before any worker starts.
    await host.master.createJob(spec, { workers: options.workers });
    if (options.board) {
      boardRun = await postToBoard(
        spec,
        options,
        host,
        hostStateDir,
        hostTor?.socks,
        stopBoard.signal,
      );
    }
    const tickets = options.board
      ? Array.from({ length: options.workers }, () => undefined)
      : await host.master.createTickets(spec.id, options.workers);
    const env = options.env ?? process.env;
    // The workers share this machine's disk: each may use its share of what is free now.
    const { bavail, bsize } = await statfs(scratch);
    const quotaMb = Math.max(1, Math.floor((bavail * bsize * 0.9) / options.workers / 1024 ** 2));
    const bin = options.workerBin ?? env.TORMR_WORKER_BIN ?? DEV_WORKER_BIN;
    for (const [i, ticket] of tickets.entries()) {
      const workerTor = tor?.workers[i];
      workers.push(
        startWorker(
          bin,
          ticket ? { url: host.workerUrl, ticket } : { board: options.board?.url ?? "" },
          {
            dir: join(scratch, `worker-${i}`),
            sandbox: options.sandbox,
            env,
            quotaMb,
            ...(workerTor
              ? { torControl: `${workerTor.host ?? "127.0.0.1"}:${workerTor.controlPort}` }
              : {}),
          },
        ),
      );
    }
    let timer: NodeJS.Timeout | undefined;
    let onJob: (() => void) | undefined;
    const status = await new Promise<JobStatus>((resolve, reject) => {
      let checking = false;
      const check = async () => {
        if (checking) return;
        checking = true;
        try {
          const now = await jobStatus(host.db, spec.id);
          options.onProgress?.(progressOf(now));
          if (["succeeded", "failed", "cancelled"].includes(now.state)) resolve(now);
          else if (boardRun?.ended()) {
            reject(new Error(`the board request ended before job ${spec.id} did`));
          } else if (workers.every((w) => w.child.exitCode !== null)) {
            const tails = workers.map((w, i) => `worker ${i}: ${w.tail.slice(-3).join(" | ")}`);
            reject(
              new MapReduceError(
                "ERR_JOB_FAILED",
                `every worker exited before job ${spec.id} finished:\n${tails.join("\n")}`,
              ),
            );
          }
        } catch (error) {
          reject(error);
        } finally {
          checking = false;
        }
      };
      onJob = () => void check();
      host.master.on("job", onJob);
      // Events cover progress; the timer covers workers that die without a word.
      timer = setInterval(() => void check(), 500);
      options.signal?.addEventListener("abort", () => void host.master.cancel(spec.id), {
        once: true,
      });
      void check();
    }).finally(() => {
      clearInterval(timer);
      if (onJob) host.master.off("job", onJob);
    });
    if (status.state === "cancelled")
      throw new MapReduceError("ERR_CANCELLED", `job ${spec.id} was cancelled`);
    if (status.state === "failed")
      throw new MapReduceError("ERR_JOB_FAILED", status.error ?? `job ${spec.id} failed`);
    const parts = (await readdir(spec.output)).filter((n) => /^part-\d{5}$/.test(n)).sort();
    return {
      jobId: spec.id,
      jobHostUrl: host.workerUrl,
      output: spec.output,
      parts: parts.map((n) => join(spec.output, n)),
      counters: status.counters,
      maps: status.maps.total,
      reduces: status.reduces.total,
      failedAttempts: status.failedAttempts,
      durationMs: performance.now() - started,
      ...(boardRun
        ? { board: { statusLink: boardRun.statusLink, requestId: boardRun.requestId } }
        : {}),
    };
  } finally {
    // The job host finishes the board's request; board workers then go back to waiting there,
    // and are stopped (they leave the board).
    if (boardRun) {
      await Promise.race([boardRun.followed.catch(() => {}), sleep(15_000)]);
      stopBoard.abort();
      for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGTERM");
    }
    // Workers leave by themselves once the job is over; one that does not is stopped.
    await Promise.race([
      Promise.all(workers.map((w) => w.exited)),
      new Promise((resolve) => setTimeout(resolve, 15_000)),
    ]);
    for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    await host.close();
    await hostTor?.control.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

interface WorkerSetup {
  dir: string;
  sandbox: ClusterJobOptions["sandbox"];
  env: NodeJS.ProcessEnv;
  quotaMb: number;
  /** Over Tor: `host:port` of the worker's own tor's control port. */
  torControl?: string;
}

function startWorker(
  bin: string,
  where: { url: string; ticket: string } | { board: string },
  setup: WorkerSetup,
): WorkerChild {
  const { dir, sandbox, env, quotaMb } = setup;
  const args = [
    "start",
    ...("board" in where ? ["--board", where.board] : ["--job-host", where.url]),
    "--config-dir",
    join(dir, "config"),
    "--work-dir",
    join(dir, "work"),
    "--disk-quota-mb",
    String(quotaMb),
    "--yes",
    ...(sandbox === "none" ? ["--unsafe-no-sandbox"] : ["--sandbox", sandbox]),
    ...(setup.torControl
      ? ["board" in where ? "" : "--tor", "--tor-control", setup.torControl].filter(Boolean)
      : []),
  ];
  const viaNode = bin.endsWith(".js") || bin.endsWith(".mjs");
  const child = spawn(viaNode ? process.execPath : bin, viaNode ? [bin, ...args] : args, {
    stdio: ["ignore", "pipe", "pipe"],
    // The ticket goes in the environment, never in the process list.
    env: { ...env, ...("ticket" in where ? { TORMR_WORKER_TICKET: where.ticket } : {}) },
  });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    });
  }
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(127));
  });
  return { child, tail, exited };
}

/** Posts the job's cluster request on the board and follows it in the background. */
async function postToBoard(
  spec: JobSpec,
  options: ClusterJobOptions,
  host: Awaited<ReturnType<typeof startJobHost>>,
  stateDir: string,
  socks: { host: string; port: number } | undefined,
  signal: AbortSignal,
): Promise<BoardRun & { followed: Promise<void>; ended: () => boolean }> {
  const board = options.board as NonNullable<ClusterJobOptions["board"]>;
  if (!host.onion) throw new Error("a cluster formed on a board needs the job host's onion");
  const transport = boardTransport(board.url, { socks });
  const client = boardClient(board.url, transport);
  const info = await client.info();
  const posted = await client.post({
    title: board.title,
    description: board.description,
    size: options.workers,
    onion: host.onion.serviceId,
    sandbox: options.sandbox === "none" ? "any" : options.sandbox,
    stamp: mintStamp(`${info.onion}/post`, info.postBits),
  });
  const statusLink = `${board.url}${posted.statusPath}`;
  let ended = false;
  const followed = followBoardRequest({
    host,
    stateDir,
    statusLink,
    job: spec.id,
    transport,
    periodMs: 1_000,
    verifyRetryMs: 5_000,
    say: (line) => options.log?.({ event: "board", message: line }),
    signal,
  }).finally(() => {
    ended = true;
    transport.close();
  });
  return { statusLink, requestId: posted.id, followed, ended: () => ended };
}
