// A job host proving its onion (attach, verify against a real HTTP listener), then replacements and finishing, on a real database.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BoardDb } from "@tormr/db/board";
import { challengePath } from "@tormr/protocol/board-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attachRequest,
  finishRequest,
  type OnionFetcher,
  replaceWorkers,
  verifyRequest,
} from "../src/server/board/attach-request.ts";
import { clusterOf } from "../src/server/board/cluster-of.ts";
import { formClusters } from "../src/server/board/form-clusters.ts";
import { postRequest } from "../src/server/board/post-request.ts";
import { registerWorker } from "../src/server/board/register-worker.ts";
import { requestStatus } from "../src/server/board/request-status.ts";
import { pollAssignment } from "../src/server/board/worker-calls.ts";
import {
  admitCluster,
  registration,
  requestFields,
  VERIFYING,
  withBoardDb,
} from "./board-helpers.ts";

const BOARD_KEY = "A".repeat(52);

let db: BoardDb;
withBoardDb((opened) => {
  db = opened;
});
/** What the stand-in job host serves at each path. */
const served = new Map<string, string>();
let host: Server;
let fetcher: OnionFetcher;

beforeAll(async () => {
  host = createServer((req, res) => {
    const body = served.get(req.url ?? "");
    res.writeHead(body === undefined ? 404 : 200).end(body);
  });
  await new Promise<void>((resolve) => host.listen(0, "127.0.0.1", resolve));
  const { port } = host.address() as AddressInfo;
  // The board's real fetcher goes through Tor (covered end to end); here the onion is this listener.
  fetcher = async (_onion, path) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    if (!res.ok) throw new Error(`it answered ${res.status}`);
    return res.text();
  };
});
afterAll(() => {
  host?.close();
});

async function workers(n: number) {
  const list = [];
  for (let i = 0; i < n; i++) list.push(await registerWorker(db, VERIFYING, registration().body));
  return list;
}

describe("proving the onion", () => {
  it("forms only after the job host served the challenge; the challenge stays the same on a second attach", async () => {
    const posted = await postRequest(db, VERIFYING, requestFields({ size: 2 }));
    const pool = await workers(2);
    expect(await formClusters(db, VERIFYING)).toEqual([]);
    await expect(verifyRequest(db, VERIFYING, posted.statusToken, fetcher)).rejects.toMatchObject({
      code: "ERR_CONFLICT",
      message: expect.stringMatching(/attach first/),
    });

    const attached = await attachRequest(db, VERIFYING, posted.statusToken, BOARD_KEY);
    expect(attached).toMatchObject({ requestId: posted.id, clientAuth: BOARD_KEY });
    expect(await attachRequest(db, VERIFYING, posted.statusToken, BOARD_KEY)).toEqual(attached);

    // Nothing served yet: refused, saying why, and still unverified.
    await expect(verifyRequest(db, VERIFYING, posted.statusToken, fetcher)).rejects.toMatchObject({
      code: "ERR_UNVERIFIED",
      message: expect.stringMatching(/could not fetch .*\.onion\/\.well-known\/tormr-board\/.*404/),
    });
    // Another answer (someone else's onion would not know the challenge).
    served.set(challengePath(posted.id), "not the challenge");
    await expect(verifyRequest(db, VERIFYING, posted.statusToken, fetcher)).rejects.toMatchObject({
      code: "ERR_UNVERIFIED",
      message: expect.stringMatching(/did not answer with this request's challenge/),
    });
    expect(await requestStatus(db, posted.id, posted.statusToken)).toMatchObject({
      verified: false,
      state: "waiting",
    });
    expect(await formClusters(db, VERIFYING)).toEqual([]);

    served.set(challengePath(posted.id), `${attached.challenge}\n`);
    await verifyRequest(db, VERIFYING, posted.statusToken, fetcher);
    expect(await requestStatus(db, posted.id, posted.statusToken)).toMatchObject({
      verified: true,
    });
    expect(await formClusters(db, VERIFYING)).toEqual([posted.id]);
    await admitCluster(db, posted.statusToken);
    for (const worker of pool) expect(await pollAssignment(db, worker.token)).toBeDefined();
  });

  it("refuses a board without tor, a wrong token, and a request that is over", async () => {
    const posted = await postRequest(db, VERIFYING, requestFields({ size: 1 }));
    await attachRequest(db, VERIFYING, posted.statusToken, BOARD_KEY);
    await expect(verifyRequest(db, VERIFYING, posted.statusToken, undefined)).rejects.toMatchObject(
      { code: "ERR_UNVERIFIED", message: expect.stringMatching(/no tor/) },
    );
    await expect(attachRequest(db, VERIFYING, "x".repeat(43), BOARD_KEY)).rejects.toMatchObject({
      code: "ERR_TOKEN",
    });
    await finishRequest(db, posted.statusToken);
    await expect(attachRequest(db, VERIFYING, posted.statusToken, BOARD_KEY)).rejects.toMatchObject(
      { code: "ERR_CONFLICT", message: expect.stringMatching(/finished/) },
    );
  });
});

describe("replacements and the end of a job", () => {
  it("seats a replacement for each lost member, oldest request first, and frees everyone at the end", async () => {
    await db.worker.updateMany({ data: { state: "left" } });
    const posted = await postRequest(db, VERIFYING, requestFields({ size: 2 }));
    const attached = await attachRequest(db, VERIFYING, posted.statusToken, BOARD_KEY);
    served.set(challengePath(posted.id), attached.challenge);
    await verifyRequest(db, VERIFYING, posted.statusToken, fetcher);
    const [a, b] = await workers(2);
    expect(await formClusters(db, VERIFYING)).toEqual([posted.id]);
    const before = await clusterOf(db, posted.statusToken);
    const lost = before.find((m) => m.pseudonym === a?.pseudonym);
    expect(lost).toBeDefined();

    await expect(
      replaceWorkers(db, posted.statusToken, { ticketHashes: ["nothex"] }),
    ).rejects.toMatchObject({ code: "ERR_BAD_INPUT", field: "ticketHashes" });
    // Another request's member cannot be given back by this one.
    expect(await replaceWorkers(db, posted.statusToken, { ticketHashes: ["0".repeat(64)] })).toBe(
      0,
    );

    expect(await replaceWorkers(db, posted.statusToken, { ticketHashes: [lost?.ticketHash] })).toBe(
      1,
    );
    expect(await requestStatus(db, posted.id, posted.statusToken)).toMatchObject({
      state: "formed",
      seated: 1,
    });
    // A newer request waits while the formed one takes the only worker there is.
    const newer = await postRequest(
      db,
      { ...VERIFYING, trustOnions: true },
      requestFields({ size: 1 }),
    );
    const [c] = await workers(1);
    expect(await formClusters(db, VERIFYING)).toEqual([posted.id]);
    const after = await clusterOf(db, posted.statusToken);
    expect(after.map((m) => m.pseudonym).sort()).toEqual([b?.pseudonym, c?.pseudonym].sort());
    // The replacement is handed its seat once the job host admits it, as the first ones were.
    expect(await pollAssignment(db, c?.token)).toBeUndefined();
    expect(await admitCluster(db, posted.statusToken)).toBe(2);
    expect(await pollAssignment(db, c?.token)).toMatchObject({ requestId: posted.id });
    expect(await pollAssignment(db, a?.token)).toBeUndefined();
    expect((await requestStatus(db, newer.id, newer.statusToken)).state).toBe("waiting");

    await finishRequest(db, posted.statusToken);
    await finishRequest(db, posted.statusToken);
    expect(await requestStatus(db, posted.id, posted.statusToken)).toMatchObject({
      state: "finished",
      seated: 0,
    });
    const freed = await db.worker.findMany({
      where: { pseudonym: { in: [b?.pseudonym ?? "", c?.pseudonym ?? ""] } },
      select: { state: true },
    });
    expect(freed.map((w) => w.state)).toEqual(["available", "available"]);
    await expect(
      replaceWorkers(db, posted.statusToken, { ticketHashes: [lost?.ticketHash] }),
    ).rejects.toMatchObject({ code: "ERR_CONFLICT" });
    // The freed workers now serve the newer request.
    expect(await formClusters(db, VERIFYING)).toEqual([newer.id]);
  });
});
