// `_PROVENANCE.json` for a job that succeeded: each committed task's signed statement, and the digest chain of each part.
import { open, rename } from "node:fs/promises";
import { join } from "node:path";
import type { JobHostDb } from "@tormr/db/job-host";
import {
  PROVENANCE_FILE,
  PROVENANCE_FORMAT,
  type Provenance,
  type ProvenancePart,
  type ProvenanceTask,
  provenanceSchema,
} from "@tormr/protocol/provenance";
import {
  parseResultStatement,
  RESULT_STATEMENT_FORMAT,
  type WorkerJob,
} from "@tormr/protocol/worker-api";

/**
 * The record of a job's output. Each committed task brings its worker, the worker's signing key
 * and the statement and signature its attempt was committed with; `parts` are the part files as
 * the job host wrote them. A task committed without a statement (by a job host from before signed
 * results) is left out, so that a verifier names it as unsigned rather than trusting it.
 */
export async function jobProvenance(
  db: JobHostDb,
  job: { id: string; maps: number; reduces: number },
  parts: ProvenancePart[],
): Promise<Provenance> {
  const { workerJob } = await db.job.findUniqueOrThrow({
    where: { id: job.id },
    select: { workerJob: true },
  });
  const seen = JSON.parse(workerJob) as WorkerJob;
  const committed = await db.task.findMany({
    where: { job: job.id, state: "committed" },
    orderBy: [{ kind: "asc" }, { index: "asc" }],
    select: { name: true, index: true, kind: true, committedAttempt: true, checkKind: true },
  });
  const decoys = committed.filter((t) => t.checkKind === "decoy").map((t) => t.index);
  const workers = await db.worker.findMany({
    where: { job: job.id },
    select: { pseudonym: true, signingKey: true },
  });
  const keyOf = new Map(workers.map((w) => [w.pseudonym, w.signingKey]));
  const tasks: ProvenanceTask[] = [];
  for (const task of committed) {
    if (task.committedAttempt === null) continue;
    const attempt = await db.attempt.findUnique({
      where: { job_task_number: { job: job.id, task: task.name, number: task.committedAttempt } },
      select: { worker: true, resultStatement: true, resultSignature: true },
    });
    const signingKey = attempt ? keyOf.get(attempt.worker) : undefined;
    if (!attempt?.resultStatement || !attempt.resultSignature || !signingKey) continue;
    tasks.push({
      task: task.name,
      worker: attempt.worker,
      signingKey,
      statement: parseResultStatement(attempt.resultStatement),
      signature: attempt.resultSignature,
    });
  }
  // "map" sorts before "reduce": maps first, each kind by index.
  return provenanceSchema.parse({
    format: PROVENANCE_FORMAT,
    statementFormat: RESULT_STATEMENT_FORMAT,
    job: job.id,
    writtenAt: new Date().toISOString(),
    spec: {
      task: seen.task,
      maps: job.maps,
      decoys,
      reduces: job.reduces,
      codeDigest: seen.codeDigest,
      image: seen.image,
    },
    tasks,
    parts,
  } satisfies Provenance);
}

/** Writes `_PROVENANCE.json` into `output` whole or not at all: a temporary file, fsync, rename. */
export async function writeProvenance(output: string, provenance: Provenance): Promise<void> {
  const final = join(output, PROVENANCE_FILE);
  const temporary = join(output, `.${PROVENANCE_FILE}.tmp`);
  const file = await open(temporary, "w", 0o644);
  try {
    await file.writeFile(`${JSON.stringify(provenance, null, 2)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, final);
}
