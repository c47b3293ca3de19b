// Who may reach the worker onion, against a real job host database: open for unknown tickets, then exactly the live, known workers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JobHostDb, openJobHostDb } from "@tormr/db/job-host";
import { generateClientAuthKeyPair } from "@tormr/tor/control/client-auth";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { onionClients } from "./onion-clients.ts";

const SETTINGS = { timeoutMs: 10_000, pollMs: 5_000 };
const key = () => generateClientAuthKeyPair().publicKey;

describe("onionClients", () => {
  let dir: string;
  let db: JobHostDb;
  let n = 0;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "tormr-onion-clients-"));
    db = await openJobHostDb(join(dir, "job-host.db"));
  });
  afterEach(async () => {
    await db.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  const job = (id: string, state = "running") =>
    db.job.create({
      data: { id, spec: "{}", workerJob: "{}", splits: "[]", state, maps: 1, reduces: 1 },
    });
  const ticket = (jobId: string, clientAuthKey?: string, used = false) =>
    db.joinTicket.create({
      data: {
        hash: `h${n++}`,
        job: jobId,
        clientAuthKey: clientAuthKey ?? null,
        ...(used ? { usedAt: new Date() } : {}),
      },
    });
  const worker = (jobId: string, clientAuthKey: string | null, state = "active", ago = 0) =>
    db.worker.create({
      data: {
        job: jobId,
        pseudonym: `p${n++}`,
        sessionHash: `s${n++}`,
        signingKey: "x",
        wrappingKey: "y",
        clientAuthKey,
        sandbox: "bwrap",
        slots: 1,
        memoryBytes: 1n,
        state,
        lastSeen: new Date(Date.now() - ago),
      },
    });

  it("is open while a ticket made without a key is unused", async () => {
    await job("job_a");
    await ticket("job_a");
    await ticket("job_a", undefined, true);
    expect(await onionClients(db, SETTINGS)).toMatchObject({ open: true });
  });

  it("lets in the keys of unused tickets made for them, and of live joined workers", async () => {
    const [a, b] = [key(), key()];
    await job("job_a");
    await ticket("job_a", a);
    await ticket("job_a", undefined, true);
    await worker("job_a", b);
    expect(await onionClients(db, SETTINGS)).toEqual({ open: false, keys: [a, b].sort() });
  });

  it("leaves out workers that left, were removed, went silent, joined without a key, or whose job is over", async () => {
    const live = key();
    const silent = key();
    await job("job_a");
    await job("job_done", "succeeded");
    await worker("job_a", live);
    await worker("job_a", key(), "left");
    await worker("job_a", key(), "removed");
    await worker("job_a", silent, "active", 16_000);
    await worker("job_a", null);
    await worker("job_done", key());
    await ticket("job_done");
    expect(await onionClients(db, SETTINGS)).toEqual({ open: false, keys: [live] });
    // At start nobody could be heard yet: the silent one keeps its access for now.
    expect(await onionClients(db, SETTINGS, { resuming: true })).toEqual({
      open: false,
      keys: [live, silent].sort(),
    });
  });

  it("lets nobody in when no job is left", async () => {
    await job("job_done", "failed");
    await worker("job_done", key());
    expect(await onionClients(db, SETTINGS)).toEqual({ open: false, keys: [] });
  });
});
