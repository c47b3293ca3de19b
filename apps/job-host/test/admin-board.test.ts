// The admin API's host and board calls on a real job host without Tor: what it says of itself, the refusals of POST …/board, and the follower behind it against a board on loopback.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminClient } from "@tormr/protocol/admin-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostBoardFollower } from "../src/board/board-follower.ts";
import { BOARD_REQUEST_FILE } from "../src/board/board-link.ts";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import { fixture, jobSpec, type Workspace, workspace } from "./helpers.ts";

const TOKEN = "t".repeat(43);
const LINK = `http://${"a".repeat(56)}.onion/status/${TOKEN}`;

let w: Workspace;
let state: string;
let host: JobHost;
let admin: AdminClient;
let jobId: string;

beforeAll(async () => {
  w = workspace(1, 2_000, 91);
  state = mkdtempSync(join(tmpdir(), "tormr-admin-board-"));
  host = await startJobHost({
    stateDir: join(state, "host"),
    settings: { heartbeatMs: 200, timeoutMs: 5_000, pollMs: 300 },
  });
  admin = new AdminClient({
    adminUrl: host.adminUrl,
    workerUrl: host.workerUrl,
    secret: host.adminSecret,
  });
  const spec = jobSpec({
    inputs: [w.input],
    output: join(w.dir, "out"),
    task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
    files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    numReduceTasks: 1,
  });
  jobId = (await admin.createJob({ spec, tickets: 0 })).jobId;
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w?.cleanup();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${host.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${host.adminSecret}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("GET /admin/host", () => {
  it("says the worker URL, and no onion nor SOCKS port without tor", async () => {
    expect(await admin.host()).toEqual({ workerUrl: host.workerUrl, onion: null, socks: null });
  });
});

describe("POST /admin/jobs/<id>/board", () => {
  it("refuses a host without tor with 409 ERR_NO_TOR, saying how to start one", async () => {
    await expect(admin.followBoard(jobId, LINK)).rejects.toMatchObject({
      status: 409,
      code: "ERR_NO_TOR",
      message:
        "this job host runs without tor (start it with tormr host --tor): a board's volunteers reach it only through its onion",
    });
    expect(existsSync(join(state, "host", BOARD_REQUEST_FILE))).toBe(false);
  });

  it("refuses a link that is not a status link with 400, never echoing it", async () => {
    for (const statusLink of [
      "http://board.onion/post",
      `https://${"a".repeat(56)}.onion/status/${TOKEN}`,
      `http://${"a".repeat(56)}.onion/status/${TOKEN.slice(1)}`,
    ]) {
      const answer = await call("POST", `/admin/jobs/${jobId}/board`, { statusLink });
      expect(answer).toEqual({
        status: 400,
        body: {
          code: "ERR_BAD_MESSAGE",
          message:
            "statusLink: expected the status link the board gave, http://<board>.onion/status/<token>",
        },
      });
    }
    const extra = await call("POST", `/admin/jobs/${jobId}/board`, { statusLink: LINK, x: 1 });
    expect(extra.status).toBe(400);
  });

  it("refuses an unknown job with 404 ERR_NO_JOB", async () => {
    await expect(admin.followBoard("job_1_9999", LINK)).rejects.toMatchObject({
      status: 404,
      code: "ERR_NO_JOB",
      message: "no job job_1_9999 on this job host",
    });
  });
});

describe("GET /admin/jobs/<id>/board", () => {
  it("says no request is followed for the job, and 404 for an unknown job", async () => {
    expect(await admin.boardOf(jobId)).toEqual({
      statusLink: null,
      following: false,
      error: null,
    });
    await expect(admin.boardOf("job_1_9999")).rejects.toMatchObject({ code: "ERR_NO_JOB" });
  });
});

/** A board on loopback answering tRPC calls with `answer(path)`; unanswered calls are held. */
async function fakeBoard(
  answer: (path: string) => { status: number; body: unknown } | undefined,
): Promise<{ url: string; server: Server; calls: string[] }> {
  const calls: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const path = new URL(req.url ?? "/", "http://x").pathname.replace("/api/trpc/", "");
    calls.push(path);
    const reply = answer(path);
    if (reply) {
      res.writeHead(reply.status, { "content-type": "application/json" });
      res.end(JSON.stringify(reply.body));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, calls };
}

const waiting = {
  id: "req_1",
  title: "Word count",
  size: 2,
  state: "waiting",
  verified: true,
  seated: 0,
  expiresAt: "2027-01-01T00:00:00.000Z",
};

describe("the follower behind it (a board on loopback)", () => {
  it("follows one request at a time, answering once the board has, and shows it for its job", async () => {
    const board = await fakeBoard((path) =>
      path === "request.status" ? { status: 200, body: { result: { data: waiting } } } : undefined,
    );
    const lines: string[] = [];
    const follower = new HostBoardFollower({
      host,
      stateDir: join(state, "host"),
      tor: undefined,
      say: (line) => lines.push(line),
    });
    try {
      const link = `${board.url}/status/${TOKEN}`;
      await expect(follower.follow(jobId, link)).resolves.toEqual({
        statusLink: link,
        following: true,
        error: null,
      });
      expect(lines).toEqual(['board request req_1 ("Word count"): waiting, 0 of 2 workers']);
      expect(existsSync(join(state, "host", BOARD_REQUEST_FILE))).toBe(true);
      expect(follower.of("job_1_9999")).toMatchObject({ statusLink: null });
      // The cluster has not formed: the follow is held in the board's long poll.
      await expect(follower.follow(jobId, link)).rejects.toMatchObject({
        status: 409,
        code: "ERR_BOARD_BUSY",
        message: `this job host already follows a board request for job ${jobId}; it follows one at a time, until that job is over`,
      });
    } finally {
      follower.stop();
      board.server.closeAllConnections();
      board.server.close();
    }
    await expect.poll(() => follower.of(jobId).following).toBe(false);
    // Stopped (the host stopping): the link stays saved for the next start.
    expect(existsSync(join(state, "host", BOARD_REQUEST_FILE))).toBe(true);
    rmSync(join(state, "host", BOARD_REQUEST_FILE));
  });

  it("answers the board's refusal as ERR_BOARD_REFUSED, and keeps nothing of the link", async () => {
    const board = await fakeBoard(() => ({
      status: 401,
      body: { error: { message: "unknown status token", data: { boardCode: "ERR_TOKEN" } } },
    }));
    const lines: string[] = [];
    const follower = new HostBoardFollower({
      host,
      stateDir: join(state, "host"),
      tor: undefined,
      say: (line) => lines.push(line),
    });
    try {
      const link = `${board.url}/status/${TOKEN}`;
      await expect(follower.follow(jobId, link)).rejects.toMatchObject({
        status: 409,
        code: "ERR_BOARD_REFUSED",
        message: "could not read the request on the board: unknown status token",
      });
      expect(follower.of(jobId)).toEqual({
        statusLink: link,
        following: false,
        error: "could not read the request on the board: unknown status token",
      });
      expect(lines).toEqual([
        "stopped following the request: could not read the request on the board: unknown status token",
      ]);
      expect(existsSync(join(state, "host", BOARD_REQUEST_FILE))).toBe(false);
    } finally {
      follower.stop();
      board.server.close();
    }
  });
});
