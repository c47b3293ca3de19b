// Workers' heartbeats answered without Prisma or tRPC's fetch layer: one prepared read, the same rate limit, a noted lastSeen, and the router's own answer.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { BoardDb } from "@tormr/db/board";
import { PROTOCOL_VERSION } from "@tormr/protocol/version";
import type { RateLimiter } from "../api/rate-limit.ts";
import { tokenOf } from "../api/trpc.ts";
import { hashSecret } from "../board/secrets.ts";
import { noteSeen } from "./last-seen.ts";

/** The part of better-sqlite3 used here (the copy Prisma's adapter brings; it has no types here). */
interface Sqlite {
  prepare(sql: string): { get(...values: string[]): unknown };
  close(): void;
}
type SqliteOpen = new (
  path: string,
  options: { readonly: boolean; fileMustExist: boolean; timeout: number },
) => Sqlite;

const PATH = "/api/trpc/worker.heartbeat";

/** What the router's worker.heartbeat answers, as tRPC's adapters write it (no transformer). */
const OK = Buffer.from(JSON.stringify({ result: { data: { v: PROTOCOL_VERSION, ok: true } } }));

/** The media type of `content-type`, as tRPC reads it (RFC 9110 §8.3.1: case-insensitive). */
function mediaType(value: string | undefined): string | undefined {
  return value?.toLowerCase().split(";", 1)[0]?.trim();
}

export interface FastHeartbeat {
  /**
   * Answers a plain heartbeat of a known, present worker within its rate limit, and returns
   * true. Returns false, with `req` untouched, for anything else (no token or an unknown one, a
   * banned or departed worker, over the limit, a batch, a stream, another media type): the
   * tRPC adapter then answers it at once, with its usual refusal.
   */
  answer(req: IncomingMessage, res: ServerResponse): boolean;
  close(): void;
}

/**
 * Prisma costs about 60 µs a query on an idle board and 300 µs under load, most of a
 * heartbeat's price; this read costs 4 µs. It goes through its own read-only connection (WAL:
 * it never waits for the writer, and sees every committed token); every write stays Prisma's.
 * The limiter is the one tRPC's procedures use, under the same key (`<path>:<token>`).
 */
export function fastHeartbeat(options: {
  db: BoardDb;
  path: string;
  limiter: RateLimiter;
}): FastHeartbeat {
  const Database = createRequire(import.meta.url)("better-sqlite3") as SqliteOpen;
  const sqlite = new Database(options.path, {
    readonly: true,
    fileMustExist: true,
    timeout: 5_000,
  });
  const byTokenHash = sqlite.prepare(
    `SELECT "pseudonym", "state" FROM "Worker" WHERE "tokenHash" = ?`,
  );
  return {
    answer(req, res) {
      if (req.method !== "POST" || req.url !== PATH) return false;
      if (mediaType(req.headers["content-type"]) !== "application/json") return false;
      // Streamed answers (JSON lines) are another format: the adapter's.
      if (req.headers["trpc-accept"] !== undefined || req.headers.accept?.includes("jsonl")) {
        return false;
      }
      const headers = new Headers();
      if (req.headers.authorization) headers.set("authorization", req.headers.authorization);
      const token = tokenOf(headers);
      if (token === undefined) return false;
      let worker: { pseudonym: string; state: string } | undefined;
      try {
        worker = byTokenHash.get(hashSecret(token)) as typeof worker;
      } catch {
        return false;
      }
      if (worker?.state !== "available" && worker?.state !== "seated") return false;
      try {
        options.limiter.take(`worker.heartbeat:${token}`);
      } catch {
        return false;
      }
      noteSeen(options.db, worker.pseudonym, new Date());
      // The procedure takes no input: the body is read and dropped, as tRPC never parses it.
      req.resume();
      res.statusCode = 200;
      res.setHeader("content-type", "application/json");
      res.setHeader("vary", "trpc-accept, accept");
      res.setHeader("content-length", OK.length);
      res.end(OK);
      return true;
    },
    close() {
      sqlite.close();
    },
  };
}
