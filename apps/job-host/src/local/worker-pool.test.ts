import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WorkerPool } from "./worker-pool.ts";

const dir = mkdtempSync(join(tmpdir(), "tormr-pool-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("worker pool", () => {
  it("gives up, with a clear error, when its workers cannot even start", async () => {
    const broken = join(dir, "broken-worker.mjs");
    writeFileSync(broken, "process.exit(5);\n");
    const pool = new WorkerPool(2, broken);
    const attempt = pool.run({ type: "reduce" } as never, () => {});
    await expect(attempt).rejects.toThrow(
      /worker processes exit before they start \(3 in a row, the last with exit code 5\)/,
    );
    await pool.close();
  });

  it("closes while a task still waits for a worker, rejecting it instead of hanging", async () => {
    const slow = join(dir, "slow-worker.mjs");
    writeFileSync(slow, "setTimeout(() => process.send({ type: 'ready' }), 60000);\n");
    const pool = new WorkerPool(1, slow);
    const rejected = expect(pool.run({ type: "reduce" } as never, () => {})).rejects.toThrow(
      /the worker pool was shut down/,
    );
    await pool.close();
    await rejected;
  });
});
