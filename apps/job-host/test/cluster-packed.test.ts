// The end-to-end job with the worker as volunteers install it: `npm pack`, `npm i -g` into a clean prefix, that binary.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packWorker } from "../../worker/test/packed-worker.ts";
import { runClusterJob } from "../src/cluster/run-cluster-job.ts";
import {
  fixture,
  jobSpec,
  readParts,
  SMALL_SPLITS,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";

let w: Workspace;
let packed: Awaited<ReturnType<typeof packWorker>>;

beforeAll(async () => {
  w = workspace(3, 30_000, 53);
  packed = await packWorker();
}, 180_000);
afterAll(async () => {
  await packed?.cleanup();
  w.cleanup();
});

describe("the packed tormr-worker", () => {
  it("installed from its tarball, 3 of them run the word count to the oracle's output in bwrap", async () => {
    expect(packed.bin).not.toContain(join("apps", "worker"));
    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "out"),
      task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
      files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
      numReduceTasks: 2,
      conf: SMALL_SPLITS,
    });
    const result = await runClusterJob(spec, {
      workers: 3,
      sandbox: "bwrap",
      workerBin: packed.bin,
      env: packed.env,
    });
    expect(result.failedAttempts).toBe(0);
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
  }, 180_000);
});
