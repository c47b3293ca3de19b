// Jobs through the sealed bucket store: nothing readable is stored, output is the same, and tampering is caught.
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { splitBucketId } from "@tormr/crypto/bucket-id";
import { newBucketKey, open, seal } from "@tormr/crypto/bucket-seal";
import { generateKeyPair } from "@tormr/crypto/keys";
import { openJobHostDb } from "@tormr/db/job-host";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fixture,
  readParts,
  run,
  SMALL_SPLITS,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";
import { collect, JOB, startStore } from "./store-helpers.ts";

const wordCount = (w: Workspace, extra: object = {}) => ({
  inputs: [w.input],
  output: w.output,
  task: {
    kind: "streaming" as const,
    mapper: `python3 ${fixture("wc_mapper.py")}`,
    reducer: `python3 ${fixture("wc_reducer.py")}`,
  },
  numReduceTasks: 2,
  conf: SMALL_SPLITS,
  ...extra,
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe("a sealed job", () => {
  let w: Workspace;
  beforeAll(() => {
    w = workspace(3, 30_000, 11);
  });
  afterAll(() => w.cleanup());

  it("stores nothing readable: a unique marker in the input is in no file of the store", async () => {
    const marker = `zq${randomBytes(12).toString("hex")}qz`;
    appendFileSync(join(w.input, "file-0.txt"), `\nthe marker ${marker} is here\n`);
    const storeDir = join(w.dir, "store");
    const result = await run(wordCount(w), { storeDir });
    // The marker went all the way through: split, map output, reduce output.
    expect(readParts(result.output)).toContain(`${marker}\t1`);
    const stored = filesUnder(storeDir);
    // Splits, two partitions per map, two reduce outputs, and the database.
    expect(stored.filter((f) => f.startsWith(join(storeDir, "buckets"))).length).toBeGreaterThan(
      3 * result.maps,
    );
    for (const file of stored) {
      const bytes = readFileSync(file);
      expect(bytes.includes(marker), `${file} holds the marker`).toBe(false);
      expect(bytes.includes(Buffer.from(marker, "utf16le")), file).toBe(false);
    }
  });

  it("leaves an exposure ledger: who read which bucket, adding up to the job's own counts", async () => {
    const storeDir = join(w.dir, "ledger-store");
    const result = await run(wordCount({ ...w, output: join(w.dir, "ledger") }), { storeDir });
    const db = await openJobHostDb(join(storeDir, "job-host.db"));
    try {
      const rows = await db.exposure.findMany({ where: { job: result.jobId } });
      const splits = rows.filter((r) => r.bucket.includes("/split/"));
      const partitions = rows.filter((r) => /\/m\/\d+\/\d+\/p\d+$/.test(r.bucket));
      const records = (list: typeof rows) => list.reduce((n, r) => n + r.records, 0);
      const mapInput =
        result.counters["org.apache.hadoop.mapreduce.TaskCounter"]?.MAP_INPUT_RECORDS;
      const reduceInput =
        result.counters["org.apache.hadoop.mapreduce.TaskCounter"]?.REDUCE_INPUT_RECORDS;
      expect(records(splits)).toBe(mapInput);
      expect(records(partitions)).toBe(reduceInput);
      // Each split was read once, by one of the two workers' pseudonyms.
      expect(new Set(splits.map((r) => r.bucket)).size).toBe(splits.length);
      expect(new Set(rows.map((r) => r.pseudonym)).size).toBeLessThanOrEqual(2);
    } finally {
      await db.$disconnect();
    }
  });

  it("gives the same output as the shell oracle and as an unsealed run", async () => {
    const sealed = await run(wordCount({ ...w, output: join(w.dir, "sealed") }));
    const plain = await run(wordCount({ ...w, output: join(w.dir, "plain") }), { seal: false });
    expect(readParts(sealed.output)).toEqual(wordCountOracle(w.input));
    expect(readParts(plain.output)).toEqual(readParts(sealed.output));
    expect(sealed.counters).toEqual(plain.counters);
  });

  it("keeps map-only output exact, byte for byte, through the store", async () => {
    const cat = await run({
      inputs: [w.input],
      output: join(w.dir, "maponly"),
      task: { kind: "streaming", mapper: "cat" },
      numReduceTasks: 0,
      conf: SMALL_SPLITS,
    });
    const parts = readdirSync(cat.output).filter((f) => f.startsWith("part-"));
    const out = Buffer.concat(parts.sort().map((p) => readFileSync(join(cat.output, p))));
    const input = readdirSync(w.input)
      .sort()
      .map((f) => readFileSync(join(w.input, f)).toString("latin1"))
      .map((t) => (t.endsWith("\n") ? t : `${t}\n`))
      .join("");
    expect(out.toString("latin1")).toBe(input);
  });
});

describe("a store that cannot open", () => {
  it("fails the job with a message naming the path, and leaves no output folder", async () => {
    const w = workspace(1, 5_000, 3);
    try {
      const blocker = join(w.dir, "not-a-folder");
      writeFileSync(blocker, "");
      await expect(run(wordCount(w), { storeDir: join(blocker, "store") })).rejects.toThrow(
        blocker,
      );
      expect(existsSync(w.output)).toBe(false);
    } finally {
      w.cleanup();
    }
  });
});

describe("a tampered bucket", () => {
  it("fails to open on the worker's side with ERR_BUCKET_TAMPERED and the generic message", async () => {
    const t = await startStore();
    try {
      const id = splitBucketId(JOB, 0, 0);
      const key = newBucketKey();
      const plain = randomBytes(200_000);
      await t.store.put(id, sealed(key, id, plain), 1 << 30, {
        pseudonym: "host",
        task: "m0",
        attempt: 0,
        records: 1,
      });
      // The store's disk is what a thief or a broken disk changes: flip one byte in the middle.
      const file = t.store.files.pathOf(id);
      const bytes = readFileSync(file);
      bytes[100_000] = (bytes[100_000] as number) ^ 0x01;
      writeFileSync(file, bytes);
      const worker = generateKeyPair("Ed25519");
      const grant = await t.grant(worker, { read: [{ kind: "bucket", id }] });
      const opened = t.client(worker).download(grant, id).pipe(open(key, id));
      await expect(collect(opened)).rejects.toMatchObject({
        code: "ERR_BUCKET_TAMPERED",
        message: "decryption failed: the data is corrupt or the key is wrong",
      });
    } finally {
      await t.close();
    }
  });
});

function sealed(key: Buffer, id: string, plain: Buffer) {
  const stream = seal(key, id);
  stream.end(plain);
  return stream;
}
