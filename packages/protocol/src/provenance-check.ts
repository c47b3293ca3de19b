// Checks a job's `_PROVENANCE.json` against itself and the part files beside it: signatures, the map → reduce chain, part digests.
import { pseudonymOf, verifyEd25519 } from "@tormr/crypto/keys";
import type { Provenance, ProvenanceTask } from "./provenance.ts";
import { resultStatement } from "./worker-api.ts";

/** A part file as found in the output folder. */
export interface PartOnDisk {
  file: string;
  sha256: string;
  bytes: number;
}

/** One row of the answer: a task, the worker that computed it, and the part it produced (if any). */
export interface ProvenanceRow {
  task: string;
  worker: string;
  part: string | null;
}

export interface ProvenanceReport {
  /** One line per problem, each naming the task or part and the worker; empty when all holds. */
  problems: string[];
  rows: ProvenanceRow[];
}

/** A pseudonym cut short for one-line messages and tables. */
export const shortPseudonym = (pseudonym: string): string =>
  pseudonym.length > 10 ? `${pseudonym.slice(0, 8)}…` : pseudonym;

const partFile = (index: number) => `part-${String(index).padStart(5, "0")}`;
const indexOf = (task: string) => Number(task.slice(1));
const kind = (task: string) => (task.startsWith("m") ? "map" : "reduce");

/**
 * Every check `tormr verify` makes. Signatures: each statement verifies under its signing key,
 * whose thumbprint is the worker named, and is for this job, its task and the job's code. The
 * chain: each reduce read, from every map in order, exactly the partition bucket and ciphertext
 * digest that map signed. Parts: each is its task's signed output, and the file's bytes hash to
 * what the job host recorded; every part file is listed and none is missing.
 */
export function checkProvenance(doc: Provenance, onDisk: readonly PartOnDisk[]): ProvenanceReport {
  const problems: string[] = [];
  const tasks = new Map<string, ProvenanceTask>();
  const { maps, reduces } = doc.spec;
  const decoys = new Set(doc.spec.decoys);
  /** The real maps, in order: what each reduce read, and (map-only) what each part is. */
  const realMaps = Array.from({ length: maps }, (_, i) => i).filter((i) => !decoys.has(i));
  const partIndex = (task: string) =>
    task.startsWith("m") ? realMaps.indexOf(indexOf(task)) : indexOf(task);
  const producers = reduces === 0 ? "m" : "r";
  const expected = [
    ...Array.from({ length: maps }, (_, i) => `m${i}`),
    ...Array.from({ length: reduces }, (_, i) => `r${i}`),
  ];

  for (const entry of doc.tasks) {
    const by = `by ${shortPseudonym(entry.worker)}`;
    if (tasks.has(entry.task)) {
      problems.push(`${entry.task}: listed twice (again ${by})`);
      continue;
    }
    tasks.set(entry.task, entry);
    if (!expected.includes(entry.task)) {
      problems.push(`${entry.task}: not a task of this job (${maps} maps, ${reduces} reduces)`);
    }
    if (ownerOf(entry.signingKey) !== entry.worker) {
      problems.push(`${entry.task}: the signing key listed is not the key of ${entry.worker}`);
    }
    if (!verifyEd25519(entry.signingKey, resultStatement(entry.statement), entry.signature)) {
      problems.push(`${entry.task}: signature ${by} does not verify`);
    }
    const s = entry.statement;
    if (s.job !== doc.job || s.task !== entry.task) {
      problems.push(`${entry.task}: the statement ${by} is for ${s.job} ${s.task}, not this task`);
    }
    if (s.code !== doc.spec.codeDigest) {
      problems.push(
        `${entry.task}: ${by} ran code ${s.code.slice(0, 12)}…, not the job's ${doc.spec.codeDigest.slice(0, 12)}…`,
      );
    }
    const outputs = entry.task.startsWith("m") ? Math.max(reduces, 1) : 1;
    if (s.outputs.length !== outputs) {
      problems.push(`${entry.task}: ${by} signed ${s.outputs.length} outputs, not ${outputs}`);
    }
  }
  for (const name of expected) {
    if (!tasks.has(name)) problems.push(`${name}: no signed statement in the provenance`);
  }

  const partOf = (task: string) =>
    doc.parts.find((p) => p.task === task)?.file ?? partFile(partIndex(task));
  const who = (task: string) => {
    const entry = tasks.get(task);
    return `${kind(task)} ${task}${entry ? ` by ${shortPseudonym(entry.worker)}` : ""}`;
  };

  // The chain: reduce r read partition r of every map's committed output, as that map signed it.
  for (let r = 0; r < reduces; r++) {
    const reduce = tasks.get(`r${r}`);
    if (!reduce) continue;
    const read = reduce.statement.inputs;
    if (read.length !== realMaps.length) {
      problems.push(
        `${partOf(`r${r}`)}: ${who(`r${r}`)} read ${read.length} buckets, not ${realMaps.length}`,
      );
    }
    for (const [j, input] of read.entries()) {
      const m = realMaps[j] ?? maps + j;
      const map = tasks.get(`m${m}`);
      const signed = map?.statement.outputs[r];
      if (!signed) {
        problems.push(
          `${partOf(`r${r}`)}: ${who(`r${r}`)} read ${input.id}, which no signed statement of map m${m} wrote`,
        );
      } else if (signed.id !== input.id || signed.digest !== input.digest) {
        problems.push(
          `${partOf(`r${r}`)}: ${who(`r${r}`)} read ${input.id} (SHA-256 ${input.digest.slice(0, 12)}…), not what ${who(`m${m}`)} signed for partition ${r} (${signed.id}, ${signed.digest.slice(0, 12)}…)`,
        );
      }
    }
  }

  // The parts: each the signed output of its task, and on disk with the bytes the job host recorded.
  const disk = new Map(onDisk.map((p) => [p.file, p]));
  const listed = new Set<string>();
  for (const part of doc.parts) {
    if (listed.has(part.file)) {
      problems.push(`${part.file}: listed twice`);
      continue;
    }
    listed.add(part.file);
    const producer = tasks.get(part.task);
    const decoy = part.task.startsWith("m") && decoys.has(indexOf(part.task));
    if (!part.task.startsWith(producers) || decoy || part.file !== partFile(partIndex(part.task))) {
      problems.push(
        `${part.file}: listed as the output of ${who(part.task)}, which writes no such part`,
      );
    }
    const signed = producer?.statement.outputs.find((o) => o.id === part.bucket);
    if (!producer) {
      problems.push(
        `${part.file}: listed as the output of ${who(part.task)}, which signed nothing here`,
      );
    } else if (!signed || signed.digest !== part.ciphertextSha256) {
      problems.push(
        `${part.file}: the job host's record of bucket ${part.bucket} (SHA-256 ${part.ciphertextSha256.slice(0, 12)}…) is not what ${who(part.task)} signed`,
      );
    } else if (signed && signed.bytes !== part.bytes) {
      problems.push(
        `${part.file}: the job host recorded ${part.bytes} bytes, ${who(part.task)} signed ${signed.bytes}`,
      );
    }
    const file = disk.get(part.file);
    if (!file) {
      problems.push(`${part.file}: missing from the output folder (${who(part.task)})`);
    } else if (file.sha256 !== part.sha256 || file.bytes !== part.bytes) {
      problems.push(
        `${part.file}: its bytes do not match the digest the job host recorded (${who(part.task)})`,
      );
    }
  }
  for (const file of onDisk) {
    if (!listed.has(file.file)) {
      problems.push(
        `${file.file}: in the output folder but not in the provenance: nobody vouches for it`,
      );
    }
  }
  const producing = expected.filter(
    (t) => t.startsWith(producers) && !(t.startsWith("m") && decoys.has(indexOf(t))),
  );
  for (const task of producing) {
    if (!doc.parts.some((p) => p.task === task)) {
      problems.push(
        `${partFile(partIndex(task))}: not in the provenance (the output of ${who(task)})`,
      );
    }
  }

  const rows = doc.tasks.map((entry) => ({
    task: entry.task,
    worker: entry.worker,
    part: doc.parts.find((p) => p.task === entry.task)?.file ?? null,
  }));
  return { problems, rows };
}

/** The pseudonym of a base64url Ed25519 public key, or undefined for one that is not 32 bytes. */
function ownerOf(signingKey: string): string | undefined {
  const key = Buffer.from(signingKey, "base64url");
  return key.length === 32 ? pseudonymOf(key) : undefined;
}
