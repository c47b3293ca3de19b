import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { BoardDb } from "@tormr/db/board";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOARD_ONION, boardDb, registration } from "../../../test/board-helpers.ts";
import { rateLimiter } from "../api/rate-limit.ts";
import { appRouter } from "../api/root.ts";
import { createContextInner, tokenOf } from "../api/trpc.ts";
import { registerWorker } from "../board/register-worker.ts";
import { boardSettings } from "../board/settings.ts";
import { leave } from "../board/worker-calls.ts";
import { type BoardApi, boardApi } from "./api.ts";
import { flushSeen } from "./last-seen.ts";

const SETTINGS = boardSettings({ onion: BOARD_ONION, registerBits: 8, postBits: 8 });

let db: BoardDb;
let cleanup: () => Promise<void>;
let api: BoardApi;
let server: Server;
let base: string;
beforeAll(async () => {
  const opened = await boardDb();
  ({ db, cleanup } = opened);
  api = boardApi({ db, settings: SETTINGS }, join(opened.dir, "board.db"));
  server = createServer((req, res) => void api.serve(req, res));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}, 60_000);
afterAll(async () => {
  server?.close();
  api?.close();
  await cleanup?.();
});

/** The same call through the Next route's fetch adapter, as it answered before the fast paths. */
async function viaFetchAdapter(path: string, init: RequestInit): Promise<[number, string]> {
  const request = new Request(`http://board${path}`, init);
  const limiter = rateLimiter({ burst: 20, perSecond: 5 });
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: () =>
      createContextInner({ db, settings: SETTINGS, token: tokenOf(request.headers), limiter }),
  });
  return [response.status, await response.text()];
}

async function viaBoardApi(path: string, init: RequestInit): Promise<[number, string]> {
  const response = await fetch(`${base}${path}`, init);
  return [response.status, await response.text()];
}

const heartbeatOf = (token: string, extra: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...extra },
  body: "{}",
});

describe("the board's API on node:http", () => {
  it("answers every heartbeat, good or bad, byte for byte as the fetch adapter does", async () => {
    const present = (await registerWorker(db, SETTINGS, registration().body)).token;
    const departed = (await registerWorker(db, SETTINGS, registration().body)).token;
    await leave(db, departed);
    const cases: [string, RequestInit][] = [
      ["/api/trpc/worker.heartbeat", heartbeatOf(present)],
      ["/api/trpc/worker.heartbeat", heartbeatOf("A".repeat(43))],
      ["/api/trpc/worker.heartbeat", { method: "POST", body: "{}" }],
      ["/api/trpc/worker.heartbeat", { method: "GET" }],
      ["/api/trpc/worker.heartbeat?batch=1", heartbeatOf(present)],
      ["/api/trpc/worker.heartbeat", heartbeatOf(present, { "trpc-accept": "application/jsonl" })],
      ["/api/trpc/worker.nothing", heartbeatOf(present)],
      // A departed worker's heartbeat brings it back (last: it changes the worker).
      ["/api/trpc/worker.heartbeat", heartbeatOf(departed)],
    ];
    for (const [path, init] of cases) {
      const fast = await viaBoardApi(path, init);
      expect(fast, path).toEqual(await viaFetchAdapter(path, init));
    }
    await flushSeen(db);
    expect(await db.worker.count({ where: { state: "available" } })).toBe(2);
  });

  it("counts fast heartbeats in the tRPC procedures' rate limit, and refuses the 21st at once with 429", async () => {
    const token = (await registerWorker(db, SETTINGS, registration().body)).token;
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++)
      statuses.push((await viaBoardApi("/api/trpc/worker.heartbeat", heartbeatOf(token)))[0]);
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(200));
    const [status, body] = await viaBoardApi("/api/trpc/worker.heartbeat", heartbeatOf(token));
    expect(status).toBe(429);
    expect(JSON.parse(body)).toMatchObject({ error: { data: { boardCode: "ERR_RATE_LIMITED" } } });
  });

  it("sends the board's security headers on API answers too", async () => {
    const response = await fetch(`${base}/api/trpc/worker.heartbeat`, heartbeatOf("A".repeat(43)));
    expect(response.headers.get("content-security-policy")).toMatch(/^default-src 'self'; /);
    expect(response.headers.get("referrer-policy")).toBe("same-origin");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });
});
