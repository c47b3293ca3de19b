import { createHash, sign } from "node:crypto";
import { generateKeyPair, privateKeyObject, pseudonymOf } from "@tormr/crypto/keys";
import { describe, expect, it } from "vitest";
import { type Provenance, provenanceSchema } from "./provenance.ts";
import { checkProvenance, type PartOnDisk, shortPseudonym } from "./provenance-check.ts";
import { type ResultClaims, resultStatement } from "./worker-api.ts";

const JOB = "job_202612020000_0042";
const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const workers = [generateKeyPair("Ed25519"), generateKeyPair("Ed25519")];
const nameOf = (i: number) => pseudonymOf((workers[i] as (typeof workers)[0]).publicKey);

/** A job of two maps and two reduces, every task signed, and the part files it wrote. */
function sample(): { doc: Provenance; disk: PartOnDisk[] } {
  const code = sha("code");
  const entry = (task: string, by: number, claims: Omit<ResultClaims, "job" | "task" | "code">) => {
    const statement = { job: JOB, task, code, ...claims };
    const key = workers[by] as (typeof workers)[0];
    return {
      task,
      worker: nameOf(by),
      signingKey: key.publicKey.toString("base64url"),
      statement,
      signature: sign(null, resultStatement(statement), privateKeyObject(key)).toString(
        "base64url",
      ),
    };
  };
  const mapOut = (m: number, p: number) => ({
    id: `j/${JOB}/m/${m}/0/p${p}`,
    digest: sha(`m${m}p${p}`),
    bytes: 10,
    records: 1,
  });
  const common = { attempt: 0, counters: {}, outputRecords: 2 };
  const maps = [0, 1].map((m) =>
    entry(`m${m}`, m, {
      ...common,
      attemptId: `a-m${m}`,
      inputs: [{ id: `j/${JOB}/split/${m}/0`, digest: sha(`split${m}`) }],
      outputs: [mapOut(m, 0), mapOut(m, 1)],
    }),
  );
  const texts = ["a\t1\n", "b\t2\n"];
  const reduces = [0, 1].map((r) =>
    entry(`r${r}`, 1 - r, {
      ...common,
      attemptId: `a-r${r}`,
      inputs: [0, 1].map((m) => ({ id: mapOut(m, r).id, digest: mapOut(m, r).digest })),
      outputs: [
        {
          id: `j/${JOB}/r/${r}/0/part`,
          digest: sha(`sealed r${r}`),
          bytes: (texts[r] as string).length,
          records: 1,
        },
      ],
    }),
  );
  const parts = [0, 1].map((r) => ({
    file: `part-0000${r}`,
    task: `r${r}`,
    bucket: `j/${JOB}/r/${r}/0/part`,
    ciphertextSha256: sha(`sealed r${r}`),
    sha256: sha(texts[r] as string),
    bytes: (texts[r] as string).length,
  }));
  const doc = provenanceSchema.parse({
    format: "tormr-provenance/1",
    statementFormat: "tormr-result/1",
    job: JOB,
    writtenAt: new Date().toISOString(),
    spec: {
      task: { kind: "streaming", mapper: "cat", reducer: "wc -l" },
      maps: 2,
      reduces: 2,
      codeDigest: code,
      image: "tormr/python:1",
    },
    tasks: [...maps, ...reduces],
    parts,
  });
  const disk = parts.map((p) => ({ file: p.file, sha256: p.sha256, bytes: p.bytes }));
  return { doc, disk };
}

describe("checkProvenance", () => {
  it("finds nothing wrong with an intact record, and says who computed what", () => {
    const { doc, disk } = sample();
    const report = checkProvenance(doc, disk);
    expect(report.problems).toEqual([]);
    expect(report.rows).toEqual([
      { task: "m0", worker: nameOf(0), part: null },
      { task: "m1", worker: nameOf(1), part: null },
      { task: "r0", worker: nameOf(1), part: "part-00000" },
      { task: "r1", worker: nameOf(0), part: "part-00001" },
    ]);
  });

  it("a part whose bytes changed names the part, its reduce and the worker", () => {
    const { doc, disk } = sample();
    (disk[1] as PartOnDisk).sha256 = sha("tampered");
    expect(checkProvenance(doc, disk).problems).toEqual([
      `part-00001: its bytes do not match the digest the job host recorded (reduce r1 by ${shortPseudonym(nameOf(0))})`,
    ]);
  });

  it("a changed signature, or a statement changed under it, does not verify", () => {
    const { doc, disk } = sample();
    const m1 = doc.tasks[1] as Provenance["tasks"][number];
    m1.signature = `${m1.signature.slice(0, -2)}AA`;
    const r0 = doc.tasks[2] as Provenance["tasks"][number];
    r0.statement.outputRecords++;
    expect(checkProvenance(doc, disk).problems).toEqual([
      `m1: signature by ${shortPseudonym(nameOf(1))} does not verify`,
      `r0: signature by ${shortPseudonym(nameOf(1))} does not verify`,
    ]);
  });

  it("a reduce input that no map signed breaks the chain, naming the part and both workers", () => {
    const { doc, disk } = sample();
    const r1 = doc.tasks[3] as Provenance["tasks"][number];
    (r1.statement.inputs[1] as { digest: string }).digest = sha("other");
    const problems = checkProvenance(doc, disk).problems;
    expect(problems).toContain(`r1: signature by ${shortPseudonym(nameOf(0))} does not verify`);
    expect(problems.join("\n")).toMatch(
      new RegExp(
        `^part-00001: reduce r1 by ${shortPseudonym(nameOf(0))} read j/${JOB}/m/1/0/p1 .*not what map m1 by ${shortPseudonym(nameOf(1))} signed for partition 1`,
        "m",
      ),
    );
  });

  it("a task taken out of the record, a part missing, a part nobody listed", () => {
    const { doc, disk } = sample();
    doc.tasks.splice(1, 1);
    disk.splice(0, 1);
    disk.push({ file: "part-00002", sha256: sha("x"), bytes: 1 });
    const problems = checkProvenance(doc, disk).problems;
    expect(problems).toEqual([
      "m1: no signed statement in the provenance",
      `part-00000: reduce r0 by ${shortPseudonym(nameOf(1))} read j/${JOB}/m/1/0/p0, which no signed statement of map m1 wrote`,
      `part-00001: reduce r1 by ${shortPseudonym(nameOf(0))} read j/${JOB}/m/1/0/p1, which no signed statement of map m1 wrote`,
      `part-00000: missing from the output folder (reduce r0 by ${shortPseudonym(nameOf(1))})`,
      "part-00002: in the output folder but not in the provenance: nobody vouches for it",
    ]);
  });

  it("the job host's digest chain must name the bucket the reduce signed", () => {
    const { doc, disk } = sample();
    (doc.parts[0] as { ciphertextSha256: string }).ciphertextSha256 = sha("forged");
    expect(checkProvenance(doc, disk).problems).toEqual([
      `part-00000: the job host's record of bucket j/${JOB}/r/0/0/part (SHA-256 ${sha("forged").slice(0, 12)}…) is not what reduce r0 by ${shortPseudonym(nameOf(1))} signed`,
    ]);
  });

  it("a signing key swapped for another worker's", () => {
    const { doc, disk } = sample();
    const m0 = doc.tasks[0] as Provenance["tasks"][number];
    m0.signingKey = (workers[1] as (typeof workers)[0]).publicKey.toString("base64url");
    expect(checkProvenance(doc, disk).problems).toEqual([
      `m0: the signing key listed is not the key of ${nameOf(0)}`,
      `m0: signature by ${shortPseudonym(nameOf(0))} does not verify`,
    ]);
  });
});
