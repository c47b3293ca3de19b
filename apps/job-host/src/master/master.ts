import { EventEmitter } from "node:events";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { JobHostDb } from "@tormr/db/job-host";
import { MapReduceError } from "@tormr/mapreduce/errors";
import { type JobSpec, jobSettings } from "@tormr/mapreduce/job-spec";
import type { Split } from "@tormr/mapreduce/splits";
import type {
  JoinRequest,
  JoinResponse,
  NextResponse,
  ResultRequest,
  WorkerJob,
} from "@tormr/protocol/worker-api";
import type { BucketStore } from "../store/bucket-store.ts";
import { assignAttempt } from "./assign.ts";
import { type AttemptContext, commitAttempt, endAttempt, replicaAssigned } from "./attempt-end.ts";
import { checkRan, firstTaskChecked, judgeChecked } from "./check-end.ts";
import { finishJob, type JobOutcome } from "./finish-job.ts";
import { storedCompression } from "./job-compression.ts";
import { type NewJobOptions, sealSplits, setUpJob } from "./job-setup.ts";
import { type AdmittedTicket, JoinDesk, type WorkerRow } from "./join.ts";
import { MasterError } from "./master-error.ts";
import { ReplicaDigests, replicationRefusal } from "./replication.ts";
import { expireJobs } from "./retention.ts";
import { pickTask } from "./scheduler.ts";
import { type MasterSettings, masterSettings } from "./settings.ts";
import { autoCheckSandbox, type CheckSandbox, TaskChecker } from "./task-check.ts";
import type { GrantAuthority } from "./task-grants.ts";

export interface MasterOptions {
  db: JobHostDb;
  store: BucketStore;
  authority: GrantAuthority;
  /** Where code bundles are kept. */
  stateDir: string;
  settings?: Partial<MasterSettings>;
  log?: (event: Record<string, unknown>) => void;
  /**
   * Where the job host runs spot checks and decoys itself: by default bubblewrap if it runs here,
   * else Docker (its image built once per content hash).
   */
  checkSandbox?: CheckSandbox;
}

/**
 * The master. Every state change is a database write first, so a job host killed at any moment
 * resumes from its database (`open` re-queues attempts that were running). Events: `job` with the
 * job id whenever a job's state or a task changes.
 */
export class Master extends EventEmitter<{ job: [jobId: string] }> {
  readonly settings: MasterSettings;
  private readonly desk: JoinDesk;
  private readonly digests: ReplicaDigests;
  private readonly checker: TaskChecker;
  /** Long-polls waiting for a task: woken whenever something may have become schedulable. */
  private readonly waiters = new Set<() => void>();
  /** One state change at a time: assignments and results must not interleave. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Seals under way (see `prepare`). */
  private readonly preparing = new Set<Promise<void>>();
  private sweeper: NodeJS.Timeout | undefined;
  private expirer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly options: MasterOptions) {
    super();
    this.settings = masterSettings(options.settings);
    this.desk = new JoinDesk(options.db);
    this.digests = new ReplicaDigests(options.store, options.authority.wrapping);
    this.checker = new TaskChecker({
      db: options.db,
      store: options.store,
      wrapping: options.authority.wrapping,
      stateDir: options.stateDir,
      sandbox: options.checkSandbox ?? autoCheckSandbox(),
    });
  }

  /** Opens the master on a database, and resumes every unfinished job in it. */
  static async open(options: MasterOptions): Promise<Master> {
    const master = new Master(options);
    await master.resume();
    master.sweeper = setInterval(() => void master.sweep(), master.settings.heartbeatMs);
    master.sweeper.unref();
    await master.expire();
    master.expirer = setInterval(() => void master.expire(), 60_000);
    master.expirer.unref();
    return master;
  }

  private get db() {
    return this.options.db;
  }

  private log(event: Record<string, unknown>) {
    this.options.log?.(event);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private get attemptContext(): AttemptContext {
    return {
      db: this.db,
      store: this.options.store,
      authority: this.options.authority,
      settings: this.settings,
      log: (event) => this.log(event),
      fail: (jobId, error) => this.fail(jobId, error),
      maybeFinish: (jobId) => this.maybeFinish(jobId),
      digests: this.digests,
      startCheck: (jobId, task) => this.startCheck(jobId, task),
    };
  }

  /**
   * Starts the job host's own run of a checked task (once: a run under way is joined), and judges
   * the task's held results when it is done. A run that fails ends the job: it cannot be vouched for.
   */
  private startCheck(jobId: string, task: string): void {
    if (this.closed) return;
    void this.jobRow(jobId)
      .then((job) => this.checker.expected(job, task))
      .then(
        (run) => this.locked(() => checkRan(this.attemptContext, jobId, task, run)),
        (error: unknown) =>
          this.locked(() =>
            this.fail(
              jobId,
              `the job host's own run of ${task} (a check of its workers' results) failed: ${(error as Error).message}`,
            ),
          ),
      )
      .then(() => this.wake(jobId))
      .catch((error: unknown) =>
        this.log({ event: "check-failed", job: jobId, task, message: String(error) }),
      );
  }

  private wake(jobId: string) {
    for (const waiter of this.waiters) waiter();
    this.emit("job", jobId);
  }

  // 1. Jobs.

  /** Records a job and starts sealing its splits; maps become schedulable as their splits land. */
  async createJob(spec: JobSpec, options: NewJobOptions = {}): Promise<void> {
    const refusal = replicationRefusal(jobSettings(spec).replication, options.workers);
    if (refusal) throw new MapReduceError("ERR_BAD_CONF", refusal);
    // Before anything is written under the id: another job's decoys live under it.
    if (await this.db.job.findUnique({ where: { id: spec.id }, select: { id: true } })) {
      throw new MasterError("ERR_JOB_EXISTS", `job ${spec.id} already exists on this job host`);
    }
    await setUpJob(this.db, join(this.options.stateDir, "code"), spec, options, {
      decoyDir: this.decoyDir(spec.id),
    }).catch(async (error: unknown) => {
      // A job refused after its decoys were planted (its output folder exists) leaves none.
      await rm(this.decoyDir(spec.id), { recursive: true, force: true });
      throw error;
    });
    this.log({ event: "job-created", job: spec.id });
    this.startPreparing(spec.id);
  }

  /**
   * One-time join tickets for `jobId`: only their hashes are kept. With `clientAuthKeys`, one
   * ticket per Tor client-authorization key, usable only with that key (and let into the onion).
   */
  async createTickets(
    jobId: string,
    count: number,
    clientAuthKeys: readonly string[] = [],
  ): Promise<string[]> {
    await this.jobRow(jobId);
    const tickets = await this.desk.createTickets(jobId, count, clientAuthKeys);
    this.emit("job", jobId);
    return tickets;
  }

  /**
   * Admits the workers a board chose: their tickets' hashes, each bound to the worker's Tor
   * client-authorization key (the onion lets those keys in) and, when the board gave it, the
   * worker's registration epoch (replicas are spread across epochs). Hashes already known are
   * skipped, so a job host that asks the board twice admits nobody twice.
   * @returns how many were new.
   */
  async admitTicketHashes(jobId: string, tickets: readonly AdmittedTicket[]): Promise<number> {
    await this.jobRow(jobId);
    const added = await this.desk.registerTicketHashes(jobId, tickets);
    this.emit("job", jobId);
    return added;
  }

  /** The job's host-side spec (with its paths). */
  async jobSpec(jobId: string): Promise<JobSpec> {
    return JSON.parse((await this.jobRow(jobId)).spec) as JobSpec;
  }

  private decoyDir(jobId: string) {
    return join(this.options.stateDir, "decoys", jobId);
  }

  private async jobRow(jobId: string) {
    const job = await this.db.job.findUnique({ where: { id: jobId } });
    if (!job) throw new MasterError("ERR_NO_JOB", `no job ${jobId} on this job host`);
    return job;
  }

  /** Seals a job's splits in the background; `close` waits for it to stop. */
  private startPreparing(jobId: string): void {
    const preparing = this.prepare(jobId).finally(() => this.preparing.delete(preparing));
    this.preparing.add(preparing);
  }

  /**
   * Seals the splits, then lets the maps run. A job that ended meanwhile (cancelled) has what was
   * sealed removed; a host closing stops between splits (the next start resumes the seal). It
   * never rejects: a failure fails the job, and a failure to fail it is logged.
   */
  private async prepare(jobId: string): Promise<void> {
    try {
      const job = await this.jobRow(jobId);
      const splits = JSON.parse(job.splits) as Split[];
      const compression = storedCompression(JSON.parse(job.spec) as JobSpec);
      await sealSplits(
        this.options.store,
        this.db,
        this.options.authority.wrapping,
        this.options.authority.issuer,
        { id: jobId, compression },
        splits,
        () => {
          if (this.closed) throw new Error("the job host is closing");
          this.wake(jobId);
        },
      );
      const started = await this.db.job.updateMany({
        where: { id: jobId, state: "preparing" },
        data: { state: "running" },
      });
      if (started.count === 0) await this.options.store.removeJobBuckets(jobId);
      this.wake(jobId);
    } catch (error) {
      if (this.closed) return;
      const message = `sealing the input failed: ${(error as Error).message}`;
      await this.locked(async () => {
        const job = await this.db.job.findUnique({ where: { id: jobId } });
        if (job && ["succeeded", "failed", "cancelled"].includes(job.state)) {
          await this.options.store.removeJobBuckets(jobId);
        } else await this.fail(jobId, message);
      }).catch((failure: unknown) =>
        this.log({ event: "prepare-failed", job: jobId, message, also: String(failure) }),
      );
    }
  }

  private async resume(): Promise<void> {
    const jobs = await this.db.job.findMany({
      where: { state: { in: ["preparing", "running"] } },
      select: { id: true, state: true },
    });
    // Silence is counted from when this host could hear: its workers get a full period to come back.
    await this.db.worker.updateMany({
      where: { job: { in: jobs.map((j) => j.id) }, state: "active" },
      data: { lastSeen: new Date() },
    });
    for (const job of jobs) {
      const running = await this.db.attempt.findMany({ where: { job: job.id, state: "running" } });
      for (const attempt of running) {
        await endAttempt(
          this.attemptContext,
          attempt,
          "lost",
          "the job host restarted while it ran",
        );
      }
      this.log({ event: "job-resumed", job: job.id, requeued: running.length });
      // Results that were waiting for the job host's own run of their task wait for it again.
      const waiting = await this.db.attempt.findMany({
        where: { job: job.id, state: "held" },
        distinct: ["task"],
        select: { task: true },
      });
      for (const { task } of waiting) await judgeChecked(this.attemptContext, job.id, task);
      if (job.state === "preparing") this.startPreparing(job.id);
      else await this.maybeFinish(job.id);
    }
  }

  // 2. Joining.

  async challenge(ticket: string): Promise<{ challenge: string; job: WorkerJob }> {
    const { challenge, jobId } = await this.desk.challenge(ticket);
    return { challenge, job: JSON.parse((await this.jobRow(jobId)).workerJob) as WorkerJob };
  }

  async join(request: JoinRequest): Promise<Omit<JoinResponse, "v">> {
    const { jobId, pseudonym, session } = await this.desk.admit(request);
    const job = await this.jobRow(jobId);
    this.log({ event: "worker-joined", job: jobId, worker: pseudonym });
    this.emit("job", jobId);
    const { heartbeatMs, timeoutMs, pollMs } = this.settings;
    return {
      session,
      pseudonym,
      job: JSON.parse(job.workerJob) as WorkerJob,
      grantKey: this.options.authority.signer.publicKey.toString("base64url"),
      heartbeatMs,
      timeoutMs,
      pollMs,
    };
  }

  /** The worker a session token belongs to. */
  authenticate(session: string | undefined): Promise<WorkerRow> {
    return this.desk.authenticate(session);
  }

  /** The code bundle's path, for a worker of the job that has that digest. */
  async codePath(worker: WorkerRow, digest: string): Promise<string> {
    const job = JSON.parse((await this.jobRow(worker.job)).workerJob) as WorkerJob;
    if (job.codeDigest !== digest) {
      throw new MasterError("ERR_NOT_FOUND", `this job has no code bundle ${digest.slice(0, 12)}…`);
    }
    return join(this.options.stateDir, "code", `${digest}.tar`);
  }

  async leave(worker: WorkerRow): Promise<void> {
    await this.locked(async () => {
      const running = await this.db.attempt.findMany({
        where: { job: worker.job, worker: worker.pseudonym, state: "running" },
      });
      for (const attempt of running)
        await endAttempt(this.attemptContext, attempt, "returned", "the worker left");
      await this.db.worker.update({
        where: { job_pseudonym: { job: worker.job, pseudonym: worker.pseudonym } },
        data: { state: worker.state === "removed" ? "removed" : "left" },
      });
    });
    this.wake(worker.job);
  }

  // 3. The task loop.

  /** Waits up to `pollMs` for a task this worker may run. */
  async next(worker: WorkerRow, signal?: AbortSignal): Promise<Omit<NextResponse, "v">> {
    const deadline = Date.now() + this.settings.pollMs;
    for (;;) {
      const answer = await this.locked(() => this.tryAssign(worker));
      if (answer) return answer;
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted || this.closed) return { state: "wait" };
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }

  private async tryAssign(workerRow: WorkerRow): Promise<Omit<NextResponse, "v"> | undefined> {
    const key = { job_pseudonym: { job: workerRow.job, pseudonym: workerRow.pseudonym } };
    const worker = await this.db.worker.update({ where: key, data: { lastSeen: new Date() } });
    if (worker.state === "removed") {
      return {
        state: "done",
        reason: worker.caught
          ? `this worker was removed from the job: a result of it did not match the job host's own run (${worker.caught})`
          : "this worker was removed from the job after repeated failures",
      };
    }
    const job = await this.jobRow(worker.job);
    if (["succeeded", "failed", "cancelled"].includes(job.state)) {
      return { state: "done", reason: `the job ${job.state}` };
    }
    if (worker.state !== "active") return { state: "done", reason: "this worker left the job" };
    const running = await this.db.attempt.count({
      where: { job: job.id, worker: worker.pseudonym, state: "running" },
    });
    if (running >= worker.slots) return undefined;
    const task = await pickTask(this.db, this.settings, job, worker.pseudonym);
    if (!task) return undefined;
    if ("fail" in task) {
      // The exposure cap cannot be kept: the job ends rather than run on a broken promise.
      await this.fail(job.id, task.fail);
      return { state: "done", reason: "the job failed" };
    }
    const assignment = await assignAttempt(
      this.db,
      this.options.authority,
      job,
      worker,
      task.name,
      task.speculative,
    );
    await replicaAssigned(this.attemptContext, job.id, task.name);
    // A checked task's own run starts with its first attempt, so the result seldom waits for it.
    // A worker's first task is checked (probation), so its run starts now too.
    const checked = await firstTaskChecked(this.db, job, worker.pseudonym, task.name);
    if (checked.checkKind && checked.expected === null) this.startCheck(job.id, task.name);
    if (task.sameEpoch !== undefined) {
      // The Sybil window could not be kept: nobody of another registration epoch can take it.
      this.log({
        event: "replica-same-epoch",
        job: job.id,
        task: task.name,
        worker: worker.pseudonym,
        epoch: task.sameEpoch,
        message: `${task.name}'s replicas run on workers of one registration epoch (${task.sameEpoch}): no worker of another epoch is left to take it`,
      });
    }
    this.log({
      event: "attempt-started",
      job: job.id,
      task: task.name,
      attempt: assignment.attempt,
      worker: worker.pseudonym,
      speculative: task.speculative,
    });
    this.emit("job", job.id);
    return { state: "task", task: assignment };
  }

  /** The attempt, if it belongs to this worker. */
  private async ownAttempt(worker: WorkerRow, attemptId: string) {
    const attempt = await this.db.attempt.findUnique({ where: { id: attemptId } });
    if (!attempt || attempt.job !== worker.job) {
      throw new MasterError("ERR_UNKNOWN_ATTEMPT", `no attempt ${attemptId} in this job`);
    }
    if (attempt.worker !== worker.pseudonym) {
      throw new MasterError(
        "ERR_NOT_YOUR_ATTEMPT",
        `attempt ${attemptId} was given to another worker`,
      );
    }
    return attempt;
  }

  async heartbeat(worker: WorkerRow, attemptId: string, status?: string) {
    const attempt = await this.ownAttempt(worker, attemptId);
    const now = new Date();
    await this.db.worker.update({
      where: { job_pseudonym: { job: worker.job, pseudonym: worker.pseudonym } },
      data: { lastSeen: now },
    });
    if (attempt.state !== "running") {
      return { cancel: true, reason: `the attempt is over (${attempt.state})` };
    }
    await this.db.attempt.updateMany({
      where: { id: attemptId, state: "running" },
      data: { heartbeatAt: now, ...(status !== undefined ? { status } : {}) },
    });
    return { cancel: false };
  }

  async result(
    worker: WorkerRow,
    attemptId: string,
    result: ResultRequest,
  ): Promise<{ committed: boolean }> {
    const committed = await this.locked(async () => {
      const attempt = await this.ownAttempt(worker, attemptId);
      if (attempt.state !== "running") {
        throw new MasterError(
          "ERR_ATTEMPT_OVER",
          `attempt ${attemptId} is already over (${attempt.state})`,
        );
      }
      const sandbox =
        result.outcome === "returned"
          ? {}
          : { sandbox: result.sandbox.kind, containerId: result.sandbox.containerId ?? null };
      if (result.outcome === "returned") {
        await endAttempt(this.attemptContext, attempt, "returned", "handed back by its worker");
        return false;
      }
      if (result.outcome === "failed") {
        const e = result.error;
        await this.db.attempt.update({
          where: { id: attemptId },
          data: {
            ...sandbox,
            exitCode: e.exitCode,
            reason: e.reason ?? null,
            stderrTail: e.stderrTail,
          },
        });
        await endAttempt(this.attemptContext, attempt, "failed", e.message);
        return false;
      }
      await this.db.attempt.update({ where: { id: attemptId }, data: sandbox });
      return commitAttempt(this.attemptContext, attempt, result);
    });
    this.wake(worker.job);
    return { committed };
  }

  /** Deletes the jobs whose retention has run out (see retention.ts). */
  async expire(now = new Date()): Promise<string[]> {
    if (this.closed) return [];
    return this.locked(async () => {
      const gone = await expireJobs(this.db, this.options.store, this.options.stateDir, now);
      for (const job of gone) this.log({ event: "job-expired", job });
      return gone;
    }).catch((error: unknown) => {
      this.log({ event: "expire-failed", message: String(error) });
      return [];
    });
  }

  /** Declares lost the attempts whose worker went silent, and re-queues their tasks. */
  private async sweep(): Promise<void> {
    if (this.closed) return;
    await this.locked(async () => {
      const silentSince = new Date(Date.now() - this.settings.timeoutMs);
      const lost = await this.db.attempt.findMany({
        where: { state: "running", heartbeatAt: { lt: silentSince } },
      });
      for (const attempt of lost) {
        await endAttempt(
          this.attemptContext,
          attempt,
          "lost",
          `no heartbeat for ${this.settings.timeoutMs} ms`,
        );
        this.wake(attempt.job);
      }
    }).catch((error: unknown) => this.log({ event: "sweep-failed", message: String(error) }));
  }

  // 4. The end of a job.

  private async maybeFinish(jobId: string): Promise<void> {
    const open = await this.db.task.count({ where: { job: jobId, state: { not: "committed" } } });
    const job = await this.jobRow(jobId);
    if (open > 0 || job.state !== "running") return;
    await this.finish(jobId, { state: "succeeded" });
  }

  private async fail(jobId: string, error: string): Promise<void> {
    await this.finish(jobId, { state: "failed", error });
  }

  /** Cancels a job: its attempts stop, its output folder and buckets go. */
  async cancel(jobId: string): Promise<void> {
    await this.locked(() =>
      this.finish(jobId, { state: "cancelled", error: `job ${jobId} was cancelled` }),
    );
  }

  private async finish(jobId: string, outcome: JobOutcome): Promise<void> {
    const job = await this.jobRow(jobId);
    if (["succeeded", "failed", "cancelled"].includes(job.state)) return;
    const running = await this.db.attempt.findMany({ where: { job: jobId, state: "running" } });
    for (const attempt of running) {
      await this.db.attempt.update({
        where: { id: attempt.id },
        data: { state: "killed", finishedAt: new Date(), error: `the job ${outcome.state}` },
      });
      await this.options.store.revoke(
        { jti: attempt.grantJti, job: jobId, exp: Math.floor(attempt.grantExp.getTime() / 1000) },
        `job ${outcome.state}`,
      );
    }
    await this.checker.forget(jobId);
    await rm(this.decoyDir(jobId), { recursive: true, force: true });
    const final = await finishJob(
      this.db,
      this.options.store,
      this.options.authority.wrapping,
      job,
      outcome,
      this.settings.retentionMs,
    );
    this.log({
      event: `job-${final.state}`,
      job: jobId,
      ...(final.state !== "succeeded" ? { error: final.error } : {}),
    });
    this.wake(jobId);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.expirer) clearInterval(this.expirer);
    for (const waiter of this.waiters) waiter();
    await Promise.all([...this.preparing]);
    await this.chain;
  }
}
