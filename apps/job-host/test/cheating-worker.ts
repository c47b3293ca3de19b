// Test only, never shipped: a cheating volunteer. The real worker loop and task runner, whose sandbox tampers with what the job's programs print: one record changed, records dropped, or an earlier task's output passed off as this one's. It signs its wrong results with its own key, as a real cheater would.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { Transform } from "node:stream";
import { loadOrCreateIdentity } from "@tormr/crypto/identity-file";
import {
  childClosed,
  DEFAULT_PATH,
  type Sandbox,
  type SandboxProcess,
  type SandboxRun,
  sandboxEnv,
} from "@tormr/sandbox/sandbox";
import { runWorkerLoop, type WorkerLoopSummary } from "@tormr/worker/worker-loop";
import { prng } from "./helpers.ts";

export type CheatMode = "corrupt" | "drop" | "stale";

/** One task the cheater attacked: its Hadoop task id (`task_<job>_m_000003`), how, and where. */
export interface Attack {
  taskId: string;
  /** The job host's name for it: m3, r0. */
  task: string;
  mode: CheatMode;
  /** The record (line) changed, the first one dropped, or -1 for a stale output. */
  record: number;
}

export interface CheatOptions {
  /** Draws which tasks are attacked, how, and which record: the job host never sees it. */
  seed: number;
  /** The chance that a task it gets is attacked. */
  rate: number;
  modes: readonly CheatMode[];
  /** Attack only maps ("m") or only reduces ("r"): the other kind it runs honestly. */
  only?: "m" | "r";
  /** Run this many tasks honestly before any attack (a cheater that knows new workers are checked). */
  honestFirst?: number;
}

/** "task_job_2026_0001_m_000003" → "m3". */
function taskName(taskId: string): string {
  const match = /_([mr])_0*(\d+)$/.exec(taskId);
  return match ? `${match[1]}${match[2]}` : taskId;
}

/**
 * A sandbox that runs each program on this machine (no isolation: a test's own programs) and
 * rewrites the output of the first program of each attacked task. `attacks` lists what it did.
 */
export function cheatingSandbox(options: CheatOptions): { sandbox: Sandbox; attacks: Attack[] } {
  const random = prng(options.seed);
  const attacks: Attack[] = [];
  const decided = new Map<string, CheatMode | null>();
  /** The last honest output of each kind of task, for a stale answer. */
  const earlier = new Map<string, Buffer>();

  const rewrite = (taskId: string, mode: CheatMode | null, output: Buffer): Buffer => {
    const kind = taskName(taskId)[0] ?? "m";
    const lines = output.toString("latin1").split("\n");
    if (lines.at(-1) === "") lines.pop();
    const stale = earlier.get(kind);
    earlier.set(kind, output);
    if (mode === null) return output;
    const attack = (record: number, out: string[]) => {
      attacks.push({ taskId, task: taskName(taskId), mode, record });
      return Buffer.from(out.length > 0 ? `${out.join("\n")}\n` : "", "latin1");
    };
    if (mode === "stale") {
      if (!stale || stale.equals(output)) return output;
      attacks.push({ taskId, task: taskName(taskId), mode, record: -1 });
      return stale;
    }
    if (lines.length === 0) return output;
    const record = Math.floor(random() * lines.length);
    if (mode === "drop") {
      const count = 1 + Math.floor(random() * 3);
      return attack(record, [...lines.slice(0, record), ...lines.slice(record + count)]);
    }
    const line = lines[record] as string;
    const tab = line.indexOf("\t");
    // A count that is off: the record still looks right, only its value is not.
    lines[record] = tab >= 0 ? `${line.slice(0, tab)}\t${line.slice(tab + 1)}7` : `${line}7`;
    return attack(record, lines);
  };

  const sandbox: Sandbox = {
    kind: "bwrap",
    spawn(run: SandboxRun): SandboxProcess {
      const [shell = "/bin/sh", ...args] = run.command;
      const child = spawn(shell, args, {
        cwd: run.jobDir,
        env: { ...sandboxEnv(run), PATH: `${run.jobDir}:${DEFAULT_PATH}` },
        stdio: ["pipe", "pipe", "pipe"],
      });
      const taskId = run.env?.mapreduce_task_id ?? "unknown";
      // Only the first program of a task is rewritten; a later one (a combiner) runs honestly.
      const first = !decided.has(taskId);
      if (first) {
        const kind = taskName(taskId)[0];
        const patient = decided.size < (options.honestFirst ?? 0);
        const attacked =
          random() < options.rate && (!options.only || kind === options.only) && !patient;
        const pick = options.modes[Math.floor(random() * options.modes.length)] ?? "corrupt";
        decided.set(taskId, attacked ? pick : null);
      }
      const mode = first ? (decided.get(taskId) ?? null) : null;
      const chunks: Buffer[] = [];
      const stdout = new Transform({
        transform(chunk: Buffer, _encoding, next) {
          chunks.push(chunk);
          next();
        },
        flush(next) {
          const output = Buffer.concat(chunks);
          next(null, first ? rewrite(taskId, mode, output) : output);
        },
      });
      child.stdout.pipe(stdout);
      const exited = Promise.all([childClosed(child), once(stdout, "finish")]).then(
        ([{ code, signal }]) => ({ code, signal }),
      );
      return {
        stdin: child.stdin,
        stdout,
        stderr: child.stderr,
        pid: child.pid,
        exited,
        kill: () => {
          if (child.exitCode === null) child.kill("SIGKILL");
        },
      };
    },
  };
  return { sandbox, attacks };
}

/** Joins a job with `ticket` as a cheater and runs the real worker loop to the job's end. */
export async function runCheatingWorker(options: {
  jobHost: string;
  ticket: string;
  dir: string;
  cheat: CheatOptions;
  slots?: number;
  clientAuth?: string;
}): Promise<{ pseudonym: string; attacks: Attack[]; summary: WorkerLoopSummary }> {
  const { identity } = await loadOrCreateIdentity(join(options.dir, "cheater-identity"));
  const { sandbox, attacks } = cheatingSandbox(options.cheat);
  const limits = { memoryBytes: 512 * 1024 ** 2, cpus: 1, pids: 64, tmpfsBytes: 64 * 1024 ** 2 };
  const summary = await runWorkerLoop({
    jobHost: options.jobHost,
    ticket: options.ticket,
    identity,
    workDir: join(options.dir, "cheater-work"),
    slots: options.slots ?? 1,
    sandbox,
    limits,
    memoryBytes: limits.memoryBytes,
    resolveImage: async (image) => image,
    ...(options.clientAuth ? { clientAuth: options.clientAuth } : {}),
  });
  return { pseudonym: identity.pseudonym, attacks, summary };
}
