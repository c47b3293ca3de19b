// A job host attached to its request on a board: prove the onion, wait for the cluster, admit its workers, replace the lost ones, finish.
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type BoardRequestStatus,
  parseStatusLink,
  type ReportReason,
} from "@tormr/protocol/board-api";
import { BoardApiError, BoardClient } from "@tormr/protocol/board-client";
import { readPrivateFile, writePrivateFile } from "@tormr/tor/private-file";
import type { SocksAddress } from "@tormr/tor/tor-process";
import {
  chooseTransportKind,
  directTransport,
  type Transport,
  torTransport,
} from "@tormr/tor/transport";
import { z } from "zod";
import type { JobHost } from "../master/job-host.ts";

/** Kept in the state folder (0600): a status link is the request's capability. */
export const BOARD_REQUEST_FILE = "board-request.json";

const savedSchema = z.object({
  statusLink: z.string(),
  /** The job the cluster's workers are admitted to, once chosen. */
  job: z.string().optional(),
});
type Saved = z.infer<typeof savedSchema>;

export interface BoardLinkOptions {
  host: JobHost;
  stateDir: string;
  statusLink: string;
  /** The job to admit the workers to; default: the oldest unfinished job, waiting for one if none. */
  job?: string | undefined;
  /** How the board is reached (tor for an onion board). */
  transport: Transport;
  /** How often the request and the job are looked at. Default 5 s. */
  periodMs?: number;
  /** How often a failed verification is tried again, and how many times. */
  verifyRetryMs?: number;
  verifyAttempts?: number;
  say: (line: string) => void;
  signal: AbortSignal;
  /** Called once the board has answered for the request, which is waiting or formed. */
  onStatus?: (status: BoardRequestStatus) => void;
  /** Called once the job the workers are admitted to is known (at once when `job` is given). */
  onJob?: (job: string) => void;
}

const OVER = ["succeeded", "failed", "cancelled"];

/** The most a board holds a long poll (its pollMs; 25 s by default), added to the call's timeout. */
const LONG_POLL_MS = 60_000;

/**
 * How a job host reaches a board: directly on loopback, else through its tor's SOCKS port on
 * circuits of its own.
 * @throws Error saying what is missing (a tor, its SOCKS port), TorError for a URL neither onion nor loopback.
 */
export function boardTransport(
  boardUrl: string,
  tor: { socks: SocksAddress | undefined } | undefined,
): Transport {
  if (chooseTransportKind(boardUrl, undefined) === "direct") return directTransport();
  if (!tor) throw new Error("an onion board is reached through tor: add --tor");
  if (!tor.socks)
    throw new Error("tor reports no SOCKS port: enable one (SocksPort 9050 in torrc)");
  return torTransport({ socks: tor.socks, isolation: "tormr-host:board" });
}

/** A client of the board at `boardUrl` over `transport`, with its timeouts. */
export function boardClient(boardUrl: string, transport: Transport): BoardClient {
  return new BoardClient({
    baseUrl: transport.checkUrl(boardUrl).origin,
    ...(transport.agent ? { agent: transport.agent } : {}),
    timeoutMs: transport.timeouts.callMs,
  });
}

/** The status link saved by an earlier `tormr host --request`, if any. */
export async function savedBoardRequest(stateDir: string): Promise<Saved | undefined> {
  const path = join(stateDir, BOARD_REQUEST_FILE);
  const text = await readPrivateFile(path, "a board request's status link");
  if (text === undefined) return undefined;
  let parsed: z.ZodSafeParseResult<Saved>;
  try {
    parsed = savedSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = savedSchema.safeParse(undefined);
  }
  if (!parsed.success) {
    throw new Error(
      `${path} is not a saved board request (${parsed.error.issues[0]?.message}); pass --request <status link> again`,
    );
  }
  return parsed.data;
}

/**
 * Follows the request until its job is over. The link is saved first, so a restarted host
 * (`tormr host` without --request) picks it up where it was: the challenge is the same, formed
 * workers are admitted once (hashes already known are skipped), and lost ones replaced once.
 * @returns when the job is over and the request finished, or when `signal` aborts.
 * @throws an Error naming the problem: a bad link, a refused token, a request that is over, an onion the board could not verify.
 */
export async function followBoardRequest(options: BoardLinkOptions): Promise<void> {
  const { host, say, signal } = options;
  const period = options.periodMs ?? 5_000;
  const { board, token } = parseStatusLink(options.statusLink);
  const client = boardClient(board, options.transport);
  const saved: Saved = {
    statusLink: options.statusLink,
    ...(options.job ? { job: options.job } : {}),
  };
  const save = () =>
    writePrivateFile(join(options.stateDir, BOARD_REQUEST_FILE), `${JSON.stringify(saved)}\n`);
  await save();

  let status = await retrying(() => client.status(token), "read the request", options);
  if (!["waiting", "formed"].includes(status.state)) {
    throw new Error(`the board says request ${status.id} is ${status.state}: post a new one`);
  }
  say(
    `board request ${status.id} ("${status.title}"): ${status.state}, ${status.seated} of ${status.size} workers`,
  );
  options.onStatus?.(status);
  if (saved.job) options.onJob?.(saved.job);
  if (!status.verified) await proveOnion(client, token, options);

  // A long poll: the board answers as soon as the cluster forms (or after its poll period).
  while (status.state === "waiting") {
    status = await retrying(
      () => client.awaitFormed(token, LONG_POLL_MS, signal),
      "wait for the cluster",
      options,
    );
  }
  if (status.state !== "formed") {
    throw new Error(`the board says request ${status.id} is ${status.state}`);
  }
  say(`the cluster formed: ${status.seated} workers`);

  if (!saved.job) {
    saved.job = await jobToAdmitTo(host, period, say, signal);
    options.onJob?.(saved.job);
  }
  await save();
  const job = saved.job;
  const reported = new Set<string>();
  const acknowledged = new Set<string>();
  /** Every ticket hash the board seated for this request: only those are the board's to hear of. */
  const seats = new Set<string>();
  for (;;) {
    const state = (await host.db.job.findUnique({ where: { id: job }, select: { state: true } }))
      ?.state;
    if (state === undefined) throw new Error(`job ${job} is not on this job host`);
    // Outvoted replicas are reported before anything else, the job's last ones included.
    await reportOutvoted(host, job, seats, client, token, options);
    if (OVER.includes(state)) break;
    const members = await retrying(() => client.cluster(token), "read the cluster", options);
    for (const m of members) seats.add(m.ticketHash);
    const added = await host.master.admitTicketHashes(
      job,
      members.map((m) => ({
        hash: m.ticketHash,
        clientAuthKey: m.keys.clientAuth,
        epoch: m.epoch,
      })),
    );
    // The board hands a seat to its worker only once its key is in the published onion: a worker
    // arriving earlier would be refused, and its tor would keep the descriptor it cannot read.
    const fresh = members.map((m) => m.ticketHash).filter((hash) => !acknowledged.has(hash));
    if (fresh.length > 0) {
      await host.applyOnionClients();
      await retrying(() => client.admitted(token, fresh), "admit the workers", options);
      for (const hash of fresh) acknowledged.add(hash);
    }
    if (added > 0)
      say(`admitted ${added} worker${added === 1 ? "" : "s"} from the board to ${job}`);
    const lost = (
      await lostTickets(
        host,
        job,
        members.map((m) => m.ticketHash),
      )
    ).filter((hash) => !reported.has(hash));
    if (lost.length > 0) {
      await retrying(() => client.replace(token, lost), "ask for replacements", options);
      for (const hash of lost) reported.add(hash);
      say(`asked the board to replace ${lost.length} lost worker${lost.length === 1 ? "" : "s"}`);
    }
    await sleep(period, undefined, { signal });
  }
  await retrying(() => client.finish(token), "finish the request", options);
  say(`job ${job} is over; the board's request is finished and its workers are free`);
}

/** Serves the board's challenge on the onion (letting the board's key in) until the board has fetched it. */
async function proveOnion(client: BoardClient, token: string, options: BoardLinkOptions) {
  const { host, say } = options;
  const attachment = await retrying(() => client.attach(token), "attach", options);
  await host.challenges.serve(attachment.requestId, attachment.challenge, attachment.clientAuth);
  try {
    const attempts = options.verifyAttempts ?? 6;
    for (let attempt = 1; ; attempt++) {
      say("the board is fetching its challenge from this job host's onion through Tor");
      try {
        await client.verify(token);
        say("the board verified that the onion is this job host's");
        return;
      } catch (error) {
        // A fresh descriptor takes a while to reach the board's tor: try again, then give up saying why.
        if (
          !(error instanceof BoardApiError) ||
          error.code !== "ERR_UNVERIFIED" ||
          attempt >= attempts
        ) {
          throw new Error(`the board could not verify this job host: ${(error as Error).message}`);
        }
        say(`not yet (${error.message}); trying again`);
        await sleep(options.verifyRetryMs ?? 15_000, undefined, { signal: options.signal });
      }
    }
  } finally {
    await host.challenges.withdraw(attachment.requestId);
  }
}

/** The oldest unfinished job, waiting until there is one. */
async function jobToAdmitTo(
  host: JobHost,
  period: number,
  say: (line: string) => void,
  signal: AbortSignal,
): Promise<string> {
  let told = false;
  for (;;) {
    const job = await host.db.job.findFirst({
      where: { state: { in: ["preparing", "running"] } },
      orderBy: { createdAt: "asc" },
      select: { id: true },
    });
    if (job) return job.id;
    if (!told)
      say("waiting for a job to admit the cluster's workers to (submit one with --job-host)");
    told = true;
    await sleep(period, undefined, { signal });
  }
}

/**
 * Members the job lost: their ticket was used by a worker that left, was removed or has gone
 * silent (as the onion's client list judges it: longer than an attempt's timeout and a poll), or
 * was never used in four times that (the worker never came: dead, or its tor never got in).
 */
async function lostTickets(host: JobHost, job: string, hashes: string[]): Promise<string[]> {
  const { timeoutMs, pollMs } = host.master.settings;
  const now = Date.now();
  const since = new Date(now - timeoutMs - pollMs);
  const tickets = await host.db.joinTicket.findMany({
    where: { hash: { in: hashes }, job },
    select: { hash: true, usedBy: true, createdAt: true },
  });
  const workers = await host.db.worker.findMany({
    where: { job, pseudonym: { in: tickets.flatMap((t) => (t.usedBy ? [t.usedBy] : [])) } },
    select: { pseudonym: true, state: true, lastSeen: true },
  });
  const gone = new Set(
    workers.filter((w) => w.state !== "active" || w.lastSeen < since).map((w) => w.pseudonym),
  );
  const neverCame = new Date(now - 4 * (timeoutMs + pollMs));
  return tickets
    .filter((t) => (t.usedBy ? gone.has(t.usedBy) : t.createdAt < neverCame))
    .map((t) => t.hash);
}

/**
 * Tells the board about the workers whose results were outvoted: by their replicas (reason
 * replica-mismatch), or by the job host's own run of a spot-checked task or a decoy (spot-check,
 * decoy). Each once: its ticket's hash names it, as the board knows it. The board lowers each
 * one's standing once for this request, and matches lower standing last.
 */
async function reportOutvoted(
  host: JobHost,
  job: string,
  seats: ReadonlySet<string>,
  client: BoardClient,
  token: string,
  options: Pick<BoardLinkOptions, "signal" | "say">,
): Promise<void> {
  const outvoted = await host.db.attempt.findMany({
    where: { job, state: "outvoted" },
    select: { worker: true },
  });
  if (outvoted.length === 0) return;
  const workers = await host.db.worker.findMany({
    where: { job, pseudonym: { in: outvoted.map((a) => a.worker) }, reportedAt: null },
    select: { pseudonym: true, caught: true },
  });
  const tickets = await host.db.joinTicket.findMany({
    where: { job, hash: { in: [...seats] }, usedBy: { in: workers.map((w) => w.pseudonym) } },
    select: { hash: true, usedBy: true },
  });
  const reasonOf = (pseudonym: string | null): ReportReason => {
    const caught = workers.find((w) => w.pseudonym === pseudonym)?.caught;
    if (caught?.startsWith("decoy")) return "decoy";
    return caught ? "spot-check" : "replica-mismatch";
  };
  for (const reason of ["replica-mismatch", "spot-check", "decoy"] as const) {
    const these = tickets.filter((t) => reasonOf(t.usedBy) === reason);
    if (these.length === 0) continue;
    await retrying(
      () =>
        client.report(
          token,
          these.map((t) => t.hash),
          reason,
        ),
      "report outvoted workers",
      options,
    );
    await host.db.worker.updateMany({
      where: { job, pseudonym: { in: these.flatMap((t) => (t.usedBy ? [t.usedBy] : [])) } },
      data: { reportedAt: new Date() },
    });
    const who = reason === "replica-mismatch" ? "outvoted" : "caught";
    options.say(
      `reported ${these.length} ${who} worker${these.length === 1 ? "" : "s"} to the board (${reason})`,
    );
  }
}

/** Calls the board, riding out its being unreachable for a while (Tor circuits fail); its refusals are final. */
async function retrying<T>(
  call: () => Promise<T>,
  what: string,
  options: Pick<BoardLinkOptions, "signal" | "say">,
): Promise<T> {
  const deadline = Date.now() + 10 * 60_000;
  for (let delay = 1_000; ; delay = Math.min(delay * 2, 30_000)) {
    try {
      return await call();
    } catch (error) {
      const transient =
        error instanceof BoardApiError &&
        ["ERR_UNREACHABLE", "ERR_TIMEOUT", "ERR_RATE_LIMITED", "TOO_MANY_REQUESTS"].includes(
          error.code,
        );
      if (!transient || Date.now() > deadline) {
        throw new Error(`could not ${what} on the board: ${(error as Error).message}`);
      }
      options.say(`could not ${what} on the board (${(error as Error).message}); trying again`);
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
}
