// The board requests a running job host follows, one at a time: started by `tormr host --request`, a request saved by an earlier start, or the admin API, all through one code path.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { BoardFollowing } from "@tormr/protocol/admin-api";
import { TorError } from "@tormr/tor/errors";
import type { SocksAddress } from "@tormr/tor/tor-process";
import type { Transport } from "@tormr/tor/transport";
import { AdminBoardError, type BoardFollower } from "../master/admin-board.ts";
import type { JobHost } from "../master/job-host.ts";
import { BOARD_REQUEST_FILE, boardTransport, followBoardRequest } from "./board-link.ts";

export interface HostBoardFollowerOptions {
  host: JobHost;
  stateDir: string;
  /** The host's tor, whose SOCKS port reaches onion boards. */
  tor: { socks: SocksAddress | undefined } | undefined;
  /** How often a request and its job are looked at. Default 5 s. */
  periodMs?: number;
  /** Each line of progress, as `tormr host --request` prints them. */
  say: (line: string) => void;
  /** How long the admin call waits for the board's first answer before it says "following". Default 30 s. */
  firstAnswerMs?: number;
}

/** One request being (or having been) followed. */
interface Followed {
  statusLink: string;
  job: string | undefined;
  following: boolean;
  error: string | null;
  controller: AbortController;
  transport: Transport;
}

/** A started follow: how it ended, and when the board first answered for the request. */
export interface FollowRun {
  /** The failure's message; undefined once the job is over and the request finished, or on `stop`. */
  ended: Promise<string | undefined>;
  /** Resolves once the board has answered that the request is waiting or formed. */
  answered: Promise<void>;
}

export class HostBoardFollower implements BoardFollower {
  private current: Followed | undefined;
  /** Every request followed since the host started, by the job it is for. */
  private readonly byJob = new Map<string, Followed>();

  constructor(private readonly options: HostBoardFollowerOptions) {}

  /**
   * Starts following `statusLink` in the background, admitting its cluster to `job` (default:
   * the oldest unfinished job, waiting for one). The link is saved first, so a restart carries on;
   * it is removed once the request is finished. When following fails, a `fatal` follow (the
   * command line's: the host then stops) keeps it, so the next start tries again; another says
   * why in the log and removes it.
   * @throws AdminBoardError ERR_BOARD_BUSY; Error (TorError for a board neither onion nor loopback) when no transport reaches the board.
   */
  start(statusLink: string, job: string | undefined, { fatal }: { fatal: boolean }): FollowRun {
    if (this.current?.following) {
      const what = this.current.job ? `for job ${this.current.job}` : "(waiting for a job)";
      throw new AdminBoardError(
        "ERR_BOARD_BUSY",
        `this job host already follows a board request ${what}; it follows one at a time, until that job is over`,
      );
    }
    const { host, stateDir, say } = this.options;
    const transport = boardTransport(new URL(statusLink).origin, this.options.tor);
    const controller = new AbortController();
    const followed: Followed = {
      statusLink,
      job,
      following: true,
      error: null,
      controller,
      transport,
    };
    this.current = followed;
    if (job) this.byJob.set(job, followed);
    let answer: () => void = () => {};
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const ended = followBoardRequest({
      host,
      stateDir,
      statusLink,
      job,
      transport,
      ...(this.options.periodMs ? { periodMs: this.options.periodMs } : {}),
      say,
      signal: controller.signal,
      onStatus: () => answer(),
      onJob: (chosen) => {
        followed.job = chosen;
        this.byJob.set(chosen, followed);
      },
    })
      .then(
        async () => {
          await rm(join(stateDir, BOARD_REQUEST_FILE), { force: true }).catch(() => {});
          return undefined;
        },
        async (error: unknown) => {
          if (controller.signal.aborted) return undefined;
          followed.error = (error as Error).message;
          if (!fatal) {
            say(`stopped following the request: ${followed.error}`);
            await rm(join(stateDir, BOARD_REQUEST_FILE), { force: true }).catch(() => {});
          }
          return followed.error;
        },
      )
      .finally(() => {
        followed.following = false;
        transport.close();
      });
    return { ended, answered };
  }

  /**
   * The admin call: follows the request for `jobId`, answering once the board has said the
   * request is waiting or formed (or after `firstAnswerMs`, the follow going on). A failure later
   * is said in the log and on `of`, and the saved link is removed: the host keeps running.
   * @throws AdminBoardError ERR_BOARD_BUSY, ERR_BOARD_REFUSED, ERR_NO_TOR, ERR_BAD_LINK.
   */
  async follow(jobId: string, statusLink: string): Promise<BoardFollowing> {
    let run: FollowRun;
    try {
      run = this.start(statusLink, jobId, { fatal: false });
    } catch (error) {
      if (error instanceof AdminBoardError) throw error;
      const code = error instanceof TorError ? "ERR_BAD_LINK" : "ERR_NO_TOR";
      throw new AdminBoardError(code, (error as Error).message);
    }
    const wait = new AbortController();
    const first = await Promise.race([
      run.answered.then(() => ({ failure: undefined })),
      run.ended.then((failure) => ({ failure })),
      sleep(this.options.firstAnswerMs ?? 30_000, { failure: undefined }, { signal: wait.signal }),
    ]).finally(() => wait.abort());
    if (first.failure !== undefined) throw new AdminBoardError("ERR_BOARD_REFUSED", first.failure);
    return this.of(jobId);
  }

  of(jobId: string): BoardFollowing {
    const followed = this.byJob.get(jobId);
    if (!followed) {
      return { statusLink: null, following: false, error: null };
    }
    return {
      statusLink: followed.statusLink,
      following: followed.following,
      error: followed.error,
    };
  }

  /** Stops following (the host is stopping): the saved link stays, so the next start carries on. */
  stop(): void {
    this.current?.controller.abort();
    this.current?.transport.close();
  }
}
