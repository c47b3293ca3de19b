// Sealing resumed after a crash: what a killed job host left half-done (a file without its row, a row without its key) is redone.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { splitBucketId } from "@tormr/crypto/bucket-id";
import { loadOrCreateIdentity } from "@tormr/crypto/identity-file";
import { jobSettings } from "@tormr/mapreduce/job-spec";
import { planSplits } from "@tormr/mapreduce/splits";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import { sealSplits } from "../src/master/job-setup.ts";
import { jobSpec, type Workspace, workspace } from "./helpers.ts";

let w: Workspace;
let host: JobHost;
let state: string;

beforeAll(async () => {
  w = workspace(3, 10_000, 81);
  state = mkdtempSync(join(tmpdir(), "tormr-resume-"));
  host = await startJobHost({ stateDir: join(state, "host") });
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w.cleanup();
});

describe("resuming a seal", () => {
  it("replaces an orphaned split file and a keyless row, and leaves the splits already sealed", async () => {
    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "out"),
      task: { kind: "streaming", mapper: "cat" },
      numReduceTasks: 0,
      conf: { "mapreduce.input.fileinputformat.split.maxsize": "8000" },
    });
    const splits = await planSplits(spec.inputs, jobSettings(spec).splitSizeBytes);
    const ids = splits.flatMap((s) => s.segments.map((_, i) => splitBucketId(spec.id, s.index, i)));
    expect(ids.length).toBeGreaterThanOrEqual(3);
    // The job host's own wrapping key, from its state folder.
    const { identity } = await loadOrCreateIdentity(join(state, "host", "keys"));
    const seal = () =>
      sealSplits(
        host.store,
        host.db,
        identity.wrapping,
        "test",
        { id: spec.id, compression: jobSettings(spec).compression },
        splits,
        () => {},
      );
    await seal();
    const digests = async () =>
      new Map((await host.db.bucket.findMany({ where: { job: spec.id } })).map((b) => [b.id, b]));
    const before = await digests();
    const [orphan, keyless, ...kept] = ids as [string, string, ...string[]];
    // A crash after the file was linked but before its row; and one before the key was saved.
    await host.db.bucket.delete({ where: { id: orphan } });
    await host.db.bucket.update({ where: { id: keyless }, data: { key: null } });
    await seal();
    const after = await digests();
    expect([...after.keys()].sort()).toEqual([...ids].sort());
    for (const id of ids) expect(after.get(id)?.key, id).toBeTruthy();
    // Redone under fresh keys and nonces; the others untouched.
    expect(after.get(orphan)?.digest).not.toBe(before.get(orphan)?.digest);
    expect(after.get(keyless)?.digest).not.toBe(before.get(keyless)?.digest);
    for (const id of kept) expect(after.get(id)?.digest).toBe(before.get(id)?.digest);
  });
});
