// Reports against outvoted workers (#8): standing lowered once per request, only for the request's own members; the lowest are matched last, then not at all; the job host learns each member's epoch.
import type { BoardDb } from "@tormr/db/board";
import { describe, expect, it } from "vitest";
import { finishRequest } from "../src/server/board/attach-request.ts";
import { clusterOf } from "../src/server/board/cluster-of.ts";
import { formClusters } from "../src/server/board/form-clusters.ts";
import { postRequest } from "../src/server/board/post-request.ts";
import { registerWorker } from "../src/server/board/register-worker.ts";
import { reportWorkers } from "../src/server/board/report-workers.ts";
import { boardSettings } from "../src/server/board/settings.ts";
import { registration, requestFields, SETTINGS, withBoardDb } from "./board-helpers.ts";

let db: BoardDb;
withBoardDb((opened) => {
  db = opened;
});

/** A formed request of `size` over freshly registered workers; its members as the job host sees them. */
async function formed(size: number) {
  const posted = await postRequest(db, SETTINGS, requestFields({ size }));
  for (let i = 0; i < size; i++) await registerWorker(db, SETTINGS, registration().body);
  await formClusters(db, SETTINGS);
  return { token: posted.statusToken, members: await clusterOf(db, posted.statusToken) };
}

const standing = async (pseudonym: string) =>
  (await db.worker.findUniqueOrThrow({ where: { pseudonym } })).standing;

describe("reporting outvoted workers", () => {
  it("lowers a member's standing once per request, and tells the job host each member's epoch", async () => {
    const { token, members } = await formed(2);
    const epoch = Math.floor(Date.now() / (6 * 3600_000));
    expect(members.map((m) => m.epoch)).toEqual([epoch, epoch]);
    const [bad, good] = members;
    if (!bad || !good) throw new Error("no members");
    const report = { ticketHashes: [bad.ticketHash], reason: "replica-mismatch" };
    expect(await reportWorkers(db, token, report)).toBe(1);
    expect(await reportWorkers(db, token, { ...report, reason: "spot-check" })).toBe(0);
    expect(await standing(bad.pseudonym)).toBe(-1);
    expect(await standing(good.pseudonym)).toBe(0);
    expect(await db.report.findMany({ select: { worker: true, reason: true } })).toEqual([
      { worker: bad.pseudonym, reason: "replica-mismatch" },
    ]);
  });

  it("ignores hashes of other requests' seats, and refuses bad input and a request not formed", async () => {
    const first = await formed(1);
    const second = await formed(1);
    const stranger = second.members[0]?.ticketHash as string;
    expect(
      await reportWorkers(db, first.token, { ticketHashes: [stranger], reason: "decoy" }),
    ).toBe(0);
    expect(await standing(second.members[0]?.pseudonym as string)).toBe(0);
    await expect(
      reportWorkers(db, first.token, { ticketHashes: [stranger], reason: "grudge" }),
    ).rejects.toMatchObject({ code: "ERR_BAD_INPUT", message: expect.stringContaining("reason") });
    await expect(
      reportWorkers(db, first.token, { ticketHashes: ["x"], reason: "decoy" }),
    ).rejects.toMatchObject({ code: "ERR_BAD_INPUT" });
    await expect(
      reportWorkers(db, "wrong-token-wrong-token-wrong-token-wrong-t", {
        ticketHashes: [stranger],
        reason: "decoy",
      }),
    ).rejects.toMatchObject({ code: "ERR_TOKEN" });
    await finishRequest(db, first.token);
    await expect(
      reportWorkers(db, first.token, {
        ticketHashes: [first.members[0]?.ticketHash],
        reason: "decoy",
      }),
    ).rejects.toMatchObject({ code: "ERR_CONFLICT" });
  });

  it("matches a worker of lower standing last, and one at the floor not at all", async () => {
    const settings = boardSettings({ ...SETTINGS, minStanding: -2 });
    // Only this test's workers are in the pool.
    await db.worker.updateMany({ where: { state: "available" }, data: { state: "left" } });
    const workers = [];
    for (let i = 0; i < 3; i++)
      workers.push(await registerWorker(db, settings, registration().body));
    const [low, floor, clean] = workers.map((w) => w.pseudonym);
    // The longest-waiting two are the reported ones.
    await db.worker.update({ where: { pseudonym: low as string }, data: { standing: -1 } });
    await db.worker.update({ where: { pseudonym: floor as string }, data: { standing: -2 } });
    const one = await postRequest(db, settings, requestFields({ size: 1 }));
    await formClusters(db, settings);
    expect((await clusterOf(db, one.statusToken)).map((m) => m.pseudonym)).toEqual([clean]);
    const two = await postRequest(db, settings, requestFields({ size: 2 }));
    // Only `low` is left to match: the request of two cannot form while `floor` is at the floor.
    await formClusters(db, settings);
    expect((await db.request.findUniqueOrThrow({ where: { id: two.id } })).state).toBe("waiting");
    const three = await postRequest(db, settings, requestFields({ size: 1 }));
    await formClusters(db, settings);
    expect((await clusterOf(db, three.statusToken)).map((m) => m.pseudonym)).toEqual([low]);
  });
});
