// The admin API's calls about reaching the host and its board requests: its onion and tor, and following a request for a job (through the hook its runner sets).
import type { JobHostDb } from "@tormr/db/job-host";
import type { BoardFollowing, HostInfo } from "@tormr/protocol/admin-api";
import { socksListeners } from "@tormr/tor/control/get-info";
import type { TorControl } from "@tormr/tor/control/tor-control";
import { MasterError } from "./master-error.ts";

const STATUS = {
  /** The host has no onion: a board's volunteers could never reach it. */
  ERR_NO_TOR: 409,
  /** It already follows a request that has not ended. */
  ERR_BOARD_BUSY: 409,
  /** The link names a board no transport reaches (neither an onion nor on this machine). */
  ERR_BAD_LINK: 400,
  /** The board refused the link (a wrong token, a request that is over). */
  ERR_BOARD_REFUSED: 409,
  /** The job is over: its cluster would have nothing to do. */
  ERR_JOB_OVER: 409,
  /** Whoever started this job host did not let it follow board requests (`tormr host` does). */
  ERR_NO_BOARD_LINK: 409,
} as const;

export type AdminBoardErrorCode = keyof typeof STATUS;

export class AdminBoardError extends Error {
  override readonly name = "AdminBoardError";
  readonly status: number;
  constructor(
    readonly code: AdminBoardErrorCode,
    message: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

/**
 * What follows board requests for a job host: set by its runner (`tormr host`), so that
 * `--request` and the admin call share one code path and the master knows nothing of boards.
 */
export interface BoardFollower {
  /**
   * Starts following `statusLink` for `jobId` in the background, and resolves once the board has
   * answered for the request (or the follow is under way and the board slow to answer).
   * @throws AdminBoardError ERR_BOARD_BUSY, ERR_BOARD_REFUSED.
   */
  follow(jobId: string, statusLink: string): Promise<BoardFollowing>;
  /** The request followed for `jobId` since the host started, if any. */
  of(jobId: string): BoardFollowing;
}

/** What the board calls need of the job host. */
export interface AdminBoardContext {
  db: JobHostDb;
  workerUrl: string;
  /** The worker onion's service id (56 characters), with Tor. */
  onion: string | undefined;
  /** tor's control connection, with Tor. */
  control: TorControl | undefined;
  follower: () => BoardFollower | undefined;
}

const NONE: BoardFollowing = { statusLink: null, following: false, error: null };
const OVER = ["succeeded", "failed", "cancelled"];

/** `GET /admin/host`. The SOCKS listener is asked of tor each time (`SocksPort auto` may move it). */
export async function hostInfo(context: AdminBoardContext): Promise<HostInfo> {
  const socks = context.control
    ? ((await socksListeners(context.control).catch(() => []))[0] ?? null)
    : null;
  return { workerUrl: context.workerUrl, onion: context.onion ?? null, socks };
}

/**
 * `POST /admin/jobs/<id>/board`.
 * @throws MasterError ERR_NO_JOB; AdminBoardError ERR_NO_TOR, ERR_JOB_OVER, ERR_NO_BOARD_LINK, and the follower's.
 */
export async function followBoard(
  context: AdminBoardContext,
  jobId: string,
  statusLink: string,
): Promise<BoardFollowing> {
  const state = await jobState(context.db, jobId);
  if (!context.onion) {
    throw new AdminBoardError(
      "ERR_NO_TOR",
      "this job host runs without tor (start it with tormr host --tor): a board's volunteers reach it only through its onion",
    );
  }
  if (OVER.includes(state)) {
    throw new AdminBoardError(
      "ERR_JOB_OVER",
      `job ${jobId} is ${state}: a cluster request is for a job that has not ended`,
    );
  }
  const follower = context.follower();
  if (!follower) {
    throw new AdminBoardError(
      "ERR_NO_BOARD_LINK",
      "this job host does not follow board requests; run it with tormr host --tor",
    );
  }
  return follower.follow(jobId, statusLink);
}

/** `GET /admin/jobs/<id>/board`. @throws MasterError ERR_NO_JOB. */
export async function boardOf(context: AdminBoardContext, jobId: string): Promise<BoardFollowing> {
  await jobState(context.db, jobId);
  return context.follower()?.of(jobId) ?? NONE;
}

async function jobState(db: JobHostDb, jobId: string): Promise<string> {
  const job = await db.job.findUnique({ where: { id: jobId }, select: { state: true } });
  if (!job) throw new MasterError("ERR_NO_JOB", `no job ${jobId} on this job host`);
  return job.state;
}
