// Replication and quorum (#8): a cheating worker among honest ones is outvoted on every task it attacks, and reported to a real board (as one that spot checks catch is); replicas spread across registration epochs; refusals at submission.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deriveBoardIdentity } from "@tormr/crypto/board-identity";
import { loadOrCreateIdentity } from "@tormr/crypto/identity-file";
import { generateKeyPair } from "@tormr/crypto/keys";
import { mintStamp } from "@tormr/crypto/stamp";
import { type BoardDb, openBoardDb } from "@tormr/db/board";
import { DECOY_KEY, REPLICATION_KEY, SPOT_CHECK_KEY } from "@tormr/mapreduce/job-spec";
import { registrationBody } from "@tormr/protocol/board-api";
import { serviceIdFromPublicKey } from "@tormr/tor/onion-address";
import { directTransport } from "@tormr/tor/transport";
import { clusterOf } from "@tormr/web/server/board/cluster-of";
import { formClusters } from "@tormr/web/server/board/form-clusters";
import { postRequest } from "@tormr/web/server/board/post-request";
import { registerWorker } from "@tormr/web/server/board/register-worker";
import { boardSettings } from "@tormr/web/server/board/settings";
import { type BoardApi, boardApi } from "@tormr/web/server/fast/api";
import { runWorkerLoop } from "@tormr/worker/worker-loop";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { followBoardRequest } from "../src/board/board-link.ts";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import { jobStatus } from "../src/master/job-status.ts";
import { type Attack, runCheatingWorker } from "./cheating-worker.ts";
import {
  fixture,
  jobSpec,
  readParts,
  SMALL_SPLITS,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";
import { joinWorkers } from "./master-helpers.ts";

let w: Workspace;
let host: JobHost;
let state: string;
const events: Record<string, unknown>[] = [];

beforeAll(async () => {
  // 8 files of about 50 kB in 30 kB splits: 16 maps, and 4 reduces, 20 tasks.
  w = workspace(8, 50_000, 41);
  state = mkdtempSync(join(tmpdir(), "tormr-replication-"));
  host = await startJobHost({
    stateDir: join(state, "host"),
    settings: { heartbeatMs: 200, timeoutMs: 60_000, pollMs: 300 },
    log: (event) => events.push(event),
  });
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w?.cleanup();
});

const wordCount = (output: string, conf: Record<string, string> = {}, reduces = 4) =>
  jobSpec({
    inputs: [w.input],
    output: join(w.dir, output),
    task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
    files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    numReduceTasks: reduces,
    conf: { ...SMALL_SPLITS, [REPLICATION_KEY]: "2", ...conf },
  });

/** Each task's workers with a result (or a running attempt), from the job host's database. */
async function resultWorkers(jobId: string): Promise<Map<string, string[]>> {
  const attempts = await host.db.attempt.findMany({
    where: { job: jobId, state: { in: ["held", "agreed", "succeeded", "outvoted"] } },
    orderBy: { number: "asc" },
    select: { task: true, worker: true },
  });
  const by = new Map<string, string[]>();
  for (const a of attempts) by.set(a.task, [...(by.get(a.task) ?? []), a.worker]);
  return by;
}

/** An honest worker joining with a ticket it was given (and the Tor key that ticket is bound to). */
async function honestWorker(ticket: string, dir: string, clientAuth?: string) {
  const { identity } = await loadOrCreateIdentity(join(dir, "identity"));
  const limits = { memoryBytes: 512 * 1024 ** 2, cpus: 1, pids: 64, tmpfsBytes: 64 * 1024 ** 2 };
  await runWorkerLoop({
    jobHost: host.workerUrl,
    ticket,
    identity,
    workDir: join(dir, "work"),
    slots: 1,
    limits,
    memoryBytes: limits.memoryBytes,
    resolveImage: async (image) => image,
    ...(clientAuth ? { clientAuth } : {}),
  });
  return identity.pseudonym;
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const fakeClientAuth = () => Array.from(randomBytes(52), (b) => BASE32[b % 32]).join("") as string;

/** Tickets as a board would hand them out: the raw ticket for the worker, its hash and epoch for the host. */
async function boardTickets(jobId: string, epochs: number[]) {
  const tickets = epochs.map((epoch) => ({
    ticket: randomBytes(32).toString("base64url"),
    clientAuth: fakeClientAuth(),
    epoch,
  }));
  await host.master.admitTicketHashes(
    jobId,
    tickets.map((t) => ({
      hash: createHash("sha256").update(t.ticket).digest("hex"),
      clientAuthKey: t.clientAuth,
      epoch: t.epoch,
    })),
  );
  return tickets;
}

describe("a cheating worker among honest ones, replication 2", () => {
  const attacks: Attack[] = [];
  const outvoted: { task: string; worker: string }[] = [];
  const cheaters: string[] = [];

  for (const [round, modes] of [
    [1, ["corrupt", "drop"]],
    [2, ["stale", "corrupt"]],
  ] as const) {
    it(`is outvoted on every task it attacks, and the output is the oracle's (job ${round}: ${modes.join(", ")})`, async () => {
      const spec = wordCount(`cheat-${round}`);
      await host.master.createJob(spec, { workers: 3 });
      const [ticket] = await host.master.createTickets(spec.id, 1);
      const dir = mkdtempSync(join(state, `cheat-${round}-`));
      const [cheater] = await Promise.all([
        runCheatingWorker({
          jobHost: host.workerUrl,
          ticket: ticket as string,
          dir,
          cheat: { seed: 1000 + round, rate: 0.9, modes },
          slots: 2,
        }),
        joinWorkers(host, spec.id, 2, dir),
      ]);
      const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
      expect(job.state).toBe("succeeded");
      expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));

      const integrity = (await jobStatus(host.db, spec.id)).integrity;
      if (!integrity) throw new Error("no integrity report");
      expect(integrity.replication).toBe(2);
      // Every attacked task caught: each attack is an outvoted result of the cheater's, and nothing else is.
      expect(integrity.outvoted.map((o) => o.task).sort()).toEqual(
        cheater.attacks.map((a) => a.task).sort(),
      );
      expect(new Set(integrity.outvoted.map((o) => o.worker))).toEqual(
        new Set(cheater.attacks.length > 0 ? [cheater.pseudonym] : []),
      );
      expect(integrity.mismatches).toBe(cheater.attacks.length);
      expect(integrity.outvoted.every((o) => o.reason.startsWith("outvoted: "))).toBe(true);
      // Every task committed to a result that two different workers agreed on.
      const tasks = await host.db.task.findMany({ where: { job: spec.id } });
      expect(tasks).toHaveLength(20);
      for (const task of tasks) {
        const agreed = await host.db.attempt.findMany({
          where: { job: spec.id, task: task.name, state: { in: ["succeeded", "agreed"] } },
        });
        expect(new Set(agreed.map((a) => a.worker)).size).toBe(2);
        expect(agreed.find((a) => a.state === "succeeded")?.number).toBe(task.committedAttempt);
      }
      attacks.push(...cheater.attacks);
      outvoted.push(...integrity.outvoted);
      cheaters.push(cheater.pseudonym);
    }, 240_000);
  }

  it("caught every attack, over both jobs", () => {
    console.log(
      `replication: ${outvoted.length} detections of ${attacks.length} attacks (${attacks.map((a) => `${a.task}:${a.mode}`).join(" ")})`,
    );
    expect(attacks.length).toBeGreaterThanOrEqual(20);
    expect(outvoted.length).toBe(attacks.length);
    expect(events.filter((e) => e.event === "replica-outvoted").length).toBeGreaterThanOrEqual(
      attacks.length,
    );
  });
});

describe("replication beside shuffle padding", () => {
  it("compares the records, not the padding: honest replicas agree, a cheater is outvoted", async () => {
    const spec = wordCount(
      "padded",
      { "tormr.shuffle.padding": "true", "tormr.compression": "gzip" },
      2,
    );
    await host.master.createJob(spec);
    const [ticket] = await host.master.createTickets(spec.id, 1);
    const dir = mkdtempSync(join(state, "padded-"));
    const [cheater] = await Promise.all([
      runCheatingWorker({
        jobHost: host.workerUrl,
        ticket: ticket as string,
        dir,
        cheat: { seed: 99, rate: 0.5, modes: ["corrupt", "drop"] },
      }),
      joinWorkers(host, spec.id, 2, dir),
    ]);
    expect((await host.db.job.findUniqueOrThrow({ where: { id: spec.id } })).state).toBe(
      "succeeded",
    );
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    const integrity = (await jobStatus(host.db, spec.id)).integrity;
    expect(integrity?.outvoted.map((o) => o.task).sort()).toEqual(
      cheater.attacks.map((a) => a.task).sort(),
    );
    expect(cheater.attacks.length).toBeGreaterThan(0);
  }, 240_000);
});

describe("the Sybil window", () => {
  it("never gives a task's two replicas to the two workers of one epoch while a worker of another exists", async () => {
    const spec = wordCount("sybil-aab", {}, 2);
    await host.master.createJob(spec);
    const tickets = await boardTickets(spec.id, [100, 100, 101]);
    const dir = mkdtempSync(join(state, "sybil-"));
    const pseudonyms = await Promise.all(
      tickets.map((t, i) => honestWorker(t.ticket, join(dir, `w${i}`), t.clientAuth)),
    );
    expect((await host.db.job.findUniqueOrThrow({ where: { id: spec.id } })).state).toBe(
      "succeeded",
    );
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    const epochOf = new Map(
      (await host.db.worker.findMany({ where: { job: spec.id } })).map((x) => [
        x.pseudonym,
        x.epoch,
      ]),
    );
    expect(pseudonyms.map((p) => epochOf.get(p))).toEqual([100, 100, 101]);
    const by = await resultWorkers(spec.id);
    expect(by.size).toBe((await host.db.task.count({ where: { job: spec.id } })) as number);
    for (const [, workers] of by) {
      expect(workers).toHaveLength(2);
      expect(new Set(workers.map((x) => epochOf.get(x)))).toEqual(new Set([100, 101]));
    }
  }, 240_000);

  it("with workers of one epoch only, replication still proceeds, and says so in the log", async () => {
    const spec = wordCount("sybil-aa", {}, 1);
    await host.master.createJob(spec);
    const tickets = await boardTickets(spec.id, [200, 200]);
    const dir = mkdtempSync(join(state, "sybil-aa-"));
    await Promise.all(
      tickets.map((t, i) => honestWorker(t.ticket, join(dir, `w${i}`), t.clientAuth)),
    );
    expect((await host.db.job.findUniqueOrThrow({ where: { id: spec.id } })).state).toBe(
      "succeeded",
    );
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    const logged = events.filter((e) => e.event === "replica-same-epoch" && e.job === spec.id);
    const tasks = await host.db.task.count({ where: { job: spec.id } });
    expect(logged).toHaveLength(tasks);
    expect(logged[0]?.message).toMatch(
      /^[mr]\d+'s replicas run on workers of one registration epoch \(200\): no worker of another epoch is left to take it$/,
    );
  }, 240_000);
});

describe("refusals at submission", () => {
  it("refuses a replication that is not a whole number from 1 to 5", async () => {
    const good = wordCount("bad-replication");
    for (const value of ["0", "6", "two"]) {
      const spec = { ...good, conf: { ...good.conf, [REPLICATION_KEY]: value } };
      await expect(host.master.createJob(spec)).rejects.toMatchObject({
        code: "ERR_BAD_CONF",
        message: `-D tormr.replication=${value}: expected a whole number of replicas from 1 to 5, got '${value}'`,
      });
    }
    expect(await host.db.job.count({ where: { id: good.id } })).toBe(0);
  });

  it("refuses more replicas than the cluster has workers, saying what would do", async () => {
    await expect(
      host.master.createJob(wordCount("too-few", { [REPLICATION_KEY]: "3" }), { workers: 2 }),
    ).rejects.toMatchObject({
      code: "ERR_BAD_CONF",
      message:
        "-D tormr.replication=3 runs every task on 3 different workers, but the cluster has 2; use a cluster of at least 3 workers, or fewer replicas",
    });
  });
});

// A real board: its database and its tRPC API on loopback, the job host's own board link.
/** How a cheater is found out: by its replicas, or by the job host's own spot checks and decoys. */
const FOUND_OUT = [
  { name: "replication 2", conf: {}, reasons: ["replica-mismatch"] },
  {
    name: "spot checks and decoys",
    conf: { [REPLICATION_KEY]: "1", [SPOT_CHECK_KEY]: "0.3", [DECOY_KEY]: "0.2" },
    reasons: ["spot-check", "decoy"],
  },
] as const;

for (const foundOut of FOUND_OUT)
  describe(`a cheater in a cluster formed on a board (${foundOut.name})`, () => {
    const SETTINGS = boardSettings({
      onion: "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd",
      registerBits: 8,
      postBits: 8,
      trustOnions: true,
    });
    let db: BoardDb;
    let api: BoardApi;
    let server: Server;
    let base: string;
    let boardDir: string;

    beforeAll(async () => {
      boardDir = mkdtempSync(join(tmpdir(), "tormr-replication-board-"));
      db = await openBoardDb(join(boardDir, "board.db"));
      api = boardApi({ db, settings: SETTINGS }, join(boardDir, "board.db"));
      server = createServer((req, res) => void api.serve(req, res));
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(async () => {
      server?.close();
      api?.close();
      await db?.$disconnect();
      rmSync(boardDir, { recursive: true, force: true });
    });

    const register = () => {
      const board = deriveBoardIdentity({ signing: generateKeyPair("Ed25519") }, SETTINGS.onion);
      return registerWorker(
        db,
        SETTINGS,
        registrationBody(
          SETTINGS.onion,
          board,
          { memoryMb: 1024, sandbox: "bwrap", slots: 1 },
          mintStamp(`${SETTINGS.onion}/register`, 8),
        ),
      );
    };
    const post = (size: number) =>
      postRequest(db, SETTINGS, {
        title: "Word count, replicated",
        description: "A Hadoop Streaming word count.",
        size,
        onion: `${serviceIdFromPublicKey(generateKeyPair("Ed25519").publicKey)}.onion`,
        minMemoryMb: 256,
        sandbox: "any",
        stamp: mintStamp(`${SETTINGS.onion}/post`, 8),
      });

    it("is reported to the board, whose standing for it drops, and it is matched last", async () => {
      const registered = [await register(), await register(), await register()];
      const posted = await post(3);
      await formClusters(db, SETTINGS);
      const spec = wordCount(`board-${foundOut.reasons[0]}`, foundOut.conf, 2);
      await host.master.createJob(spec, { workers: 3 });
      const lines: string[] = [];
      const abort = new AbortController();
      const link = followBoardRequest({
        host,
        stateDir: mkdtempSync(join(state, "link-")),
        statusLink: `${base}/status/${posted.statusToken}`,
        job: spec.id,
        transport: directTransport(),
        periodMs: 200,
        say: (line) => lines.push(line),
        signal: abort.signal,
      });
      // The board's seats: each member's raw ticket, as its worker would get it, and its Tor key.
      const members = await clusterOf(db, posted.statusToken);
      for (;;) {
        const admitted = await host.db.joinTicket.count({ where: { job: spec.id } });
        if (admitted === members.length) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const seats = await db.seat.findMany({ where: { request: posted.id } });
      const seatOf = (hash: string) => seats.find((s) => s.ticketHash === hash);
      const [bad, ...good] = members;
      if (!bad) throw new Error("no members");
      const dir = mkdtempSync(join(state, "board-workers-"));
      const [cheater] = await Promise.all([
        runCheatingWorker({
          jobHost: host.workerUrl,
          ticket: seatOf(bad.ticketHash)?.ticket as string,
          dir: join(dir, "cheater"),
          cheat: { seed: 7, rate: 1, modes: ["corrupt"] },
          clientAuth: bad.keys.clientAuth,
        }),
        ...good.map((m, i) =>
          honestWorker(
            seatOf(m.ticketHash)?.ticket as string,
            join(dir, `w${i}`),
            m.keys.clientAuth,
          ),
        ),
      ]);
      await link;
      expect((await host.db.job.findUniqueOrThrow({ where: { id: spec.id } })).state).toBe(
        "succeeded",
      );
      expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
      expect(cheater.attacks.length).toBeGreaterThan(0);
      const status = await jobStatus(host.db, spec.id);
      const outvoted = status.integrity?.outvoted ?? status.checks?.caught ?? [];
      if (status.integrity) expect(outvoted.length).toBe(cheater.attacks.length);
      else expect(outvoted.length).toBeGreaterThanOrEqual(1);
      expect(outvoted.every((o) => o.worker === cheater.pseudonym && o.reported)).toBe(true);
      const reports = await db.report.findMany({ select: { worker: true, reason: true } });
      expect(reports).toHaveLength(1);
      const reason = reports[0]?.reason as string;
      expect(foundOut.reasons).toContain(reason);
      const who = reason === "replica-mismatch" ? "outvoted" : "caught";
      expect(lines).toContain(`reported 1 ${who} worker to the board (${reason})`);

      // The board's own database: the cheater's standing dropped once, for this request.
      const standing = async (pseudonym: string) =>
        (await db.worker.findUniqueOrThrow({ where: { pseudonym } })).standing;
      expect(await standing(bad.pseudonym)).toBe(-1);
      for (const m of good) expect(await standing(m.pseudonym)).toBe(0);
      expect(reports).toEqual([{ worker: bad.pseudonym, reason }]);
      expect(registered.map((r) => r.pseudonym).sort()).toEqual(
        members.map((m) => m.pseudonym).sort(),
      );

      // The next request of two takes the two honest workers: the cheater is matched last.
      await db.worker.updateMany({ data: { lastSeen: new Date() } });
      const next = await post(2);
      await formClusters(db, SETTINGS);
      const seated = (await clusterOf(db, next.statusToken)).map((m) => m.pseudonym).sort();
      expect(seated).toEqual(good.map((m) => m.pseudonym).sort());
      abort.abort();
    }, 240_000);
  });
