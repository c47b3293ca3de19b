// The board's logic on a real database: post, register, form, poll, status, cancel, and every bad input refused with its message.

import type { BoardDb } from "@tormr/db/board";
import { describe, expect, it } from "vitest";
import { formClusters } from "../src/server/board/form-clusters.ts";
import { banWorker, operatorStats, removeRequest } from "../src/server/board/operator.ts";
import { postRequest } from "../src/server/board/post-request.ts";
import { registerWorker } from "../src/server/board/register-worker.ts";
import { cancelRequest, requestStatus } from "../src/server/board/request-status.ts";
import { hashSecret } from "../src/server/board/secrets.ts";
import { leave, pollAssignment } from "../src/server/board/worker-calls.ts";
import {
  admitCluster,
  HOST_ONION,
  registration,
  requestFields,
  SETTINGS,
  stamp,
  withBoardDb,
} from "./board-helpers.ts";

let db: BoardDb;
withBoardDb((opened) => {
  db = opened;
});

describe("forming a cluster", () => {
  it("forms when n workers are there, gives each the onion and its own ticket, and shows it on the status link", async () => {
    const posted = await postRequest(db, SETTINGS, requestFields({ size: 3 }));
    expect(await requestStatus(db, posted.id, posted.statusToken)).toMatchObject({
      state: "waiting",
      seated: 0,
    });
    const workers = [];
    for (let i = 0; i < 3; i++)
      workers.push(await registerWorker(db, SETTINGS, registration().body));
    expect(await formClusters(db, SETTINGS)).toEqual([posted.id]);
    expect(await requestStatus(db, posted.id, posted.statusToken)).toMatchObject({
      state: "formed",
      seated: 3,
    });
    // Nothing for the workers until the job host lets them into its onion.
    expect(await pollAssignment(db, workers[0]?.token)).toBeUndefined();
    expect(await admitCluster(db, posted.statusToken)).toBe(3);
    expect(await admitCluster(db, posted.statusToken)).toBe(0);
    const assignments = await Promise.all(workers.map((w) => pollAssignment(db, w.token)));
    const tickets = new Set(assignments.map((a) => a?.ticket));
    expect(tickets.size).toBe(3);
    for (const assignment of assignments) {
      expect(assignment).toMatchObject({
        requestId: posted.id,
        jobHost: `http://${HOST_ONION}.onion`,
      });
    }
    // The board keeps the tickets' hashes for the job host, and no status token in the clear.
    const seats = await db.seat.findMany({ select: { ticketHash: true } });
    expect(seats.map((s) => s.ticketHash).sort()).toEqual(
      [...tickets].map((t) => hashSecret(t as string)).sort(),
    );
    expect(JSON.stringify(await db.request.findMany())).not.toContain(posted.statusToken);
  });

  it("matches FIFO, only suitable workers, and never a worker already seated", async () => {
    const big = await postRequest(db, SETTINGS, requestFields({ size: 2, minMemoryMb: 4096 }));
    const small = await postRequest(db, SETTINGS, requestFields({ size: 1, sandbox: "docker" }));
    const bwrap = await registerWorker(db, SETTINGS, registration().body);
    const docker = await registerWorker(db, SETTINGS, registration({ sandbox: "docker" }).body);
    // Neither has 4 GiB: the big request waits, and the small one (docker only) takes the docker worker.
    expect(await formClusters(db, SETTINGS)).toEqual([small.id]);
    await admitCluster(db, small.statusToken);
    expect(await pollAssignment(db, bwrap.token)).toBeUndefined();
    expect(await pollAssignment(db, docker.token)).toMatchObject({ requestId: small.id });
    await registerWorker(db, SETTINGS, registration({ memoryMb: 8192 }).body);
    await registerWorker(db, SETTINGS, registration({ memoryMb: 8192 }).body);
    expect(await formClusters(db, SETTINGS)).toEqual([big.id]);
    // Seated workers are never matched again.
    expect(await formClusters(db, SETTINGS)).toEqual([]);
    const seats = await db.seat.groupBy({ by: ["worker"], _count: true });
    expect(seats.every((s) => s._count === 1)).toBe(true);
  });

  it("leaves stale workers out, and expires old requests", async () => {
    const later = new Date(Date.now() + SETTINGS.workerStaleMs + 1000);
    const request = await postRequest(db, SETTINGS, requestFields({ size: 1 }));
    await registerWorker(db, SETTINGS, registration().body);
    // The worker registered now is stale by `later`.
    expect(await formClusters(db, SETTINGS, later)).toEqual([]);
    const muchLater = new Date(Date.now() + SETTINGS.requestTtlMs + 1000);
    await formClusters(db, SETTINGS, muchLater);
    expect((await db.request.findUnique({ where: { id: request.id } }))?.state).toBe("expired");
  });

  it("cancels a request: its seats are freed and their workers available again", async () => {
    const posted = await postRequest(db, SETTINGS, requestFields({ size: 1 }));
    const worker = await registerWorker(db, SETTINGS, registration().body);
    expect(await formClusters(db, SETTINGS)).toEqual([posted.id]);
    // The longest-waiting worker got the seat: maybe an earlier test's, maybe this one.
    const seat = await db.seat.findFirstOrThrow({ where: { request: posted.id } });
    await cancelRequest(db, posted.id, posted.statusToken);
    expect(await requestStatus(db, posted.id, posted.statusToken)).toMatchObject({
      state: "cancelled",
      seated: 0,
    });
    expect(await pollAssignment(db, worker.token)).toBeUndefined();
    expect((await db.worker.findUnique({ where: { pseudonym: seat.worker } }))?.state).toBe(
      "available",
    );
    await expect(cancelRequest(db, posted.id, posted.statusToken)).rejects.toMatchObject({
      code: "ERR_CONFLICT",
      message: "this request is cancelled already",
    });
    await leave(db, worker.token);
  });
});

describe("bad input is refused with a clear message, and nothing is stored", () => {
  it.each([
    [{ onion: "abc.onion" }, "onion", /expected 56 base32 characters, got 3/],
    [
      { onion: `${HOST_ONION.slice(0, 55)}a.onion` },
      "onion",
      /checksum does not match|version byte/,
    ],
    [{ onion: "expyuzz4wqqyqhjn.onion" }, "onion", /expected 56 base32 characters, got 16/],
    [{ size: 0 }, "size", /at least 1 worker/],
    [{ size: 65 }, "size", /at most 64 workers/],
    [{ size: "many" }, "size", /expected a whole number of workers/],
    [{ title: "" }, "title", /give the request a title/],
    [{ title: "x".repeat(121) }, "title", /at most 120 characters/],
    [{ description: "x".repeat(2001) }, "description", /at most 2000 characters/],
    [{ sandbox: "vm" }, "sandbox", /expected any, docker or bwrap/],
    [{ stamp: undefined }, "stamp", /missing stamp: this needs a stamp of 8 bits/],
    [{ stamp: "1:8:2612011200:x::a:b" }, "stamp", /was made for something else/],
    [{ stamp: "nonsense" }, "stamp", /is not a stamp/],
  ])("post %j", async (overrides, field, message) => {
    const before = await db.request.count();
    const error = await postRequest(db, SETTINGS, requestFields(overrides)).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ field, status: 400 });
    expect((error as Error).message).toMatch(message);
    expect(await db.request.count()).toBe(before);
  });

  it("refuses a stamp used twice", async () => {
    const used = stamp("post");
    await postRequest(db, SETTINGS, requestFields({ stamp: used }));
    await expect(postRequest(db, SETTINGS, requestFields({ stamp: used }))).rejects.toMatchObject({
      code: "ERR_STAMP",
      message: expect.stringMatching(/this stamp was used already/),
    });
    const registering = registration();
    await registerWorker(db, SETTINGS, registering.body);
    await expect(registerWorker(db, SETTINGS, registering.body)).rejects.toMatchObject({
      code: "ERR_STAMP",
    });
  });

  it("refuses a registration whose signature does not verify, or whose keys are malformed", async () => {
    const good = registration().body;
    const other = registration().body;
    await expect(
      registerWorker(db, SETTINGS, { ...good, signature: other.signature }),
    ).rejects.toMatchObject({
      code: "ERR_TOKEN",
      message: "the registration signature does not verify with keys.signing",
    });
    await expect(
      registerWorker(db, SETTINGS, { ...good, keys: { ...good.keys, clientAuth: "short" } }),
    ).rejects.toMatchObject({ code: "ERR_BAD_INPUT", message: expect.stringMatching(/^keys: /) });
    await expect(registerWorker(db, SETTINGS, { ...good, v: 1 })).rejects.toMatchObject({
      code: "ERR_BAD_INPUT",
    });
  });

  it("refuses a wrong status token, and an unknown worker token, alike", async () => {
    const posted = await postRequest(db, SETTINGS, requestFields());
    const last = posted.statusToken.at(-1) === "A" ? "B" : "A";
    const wrong = `${posted.statusToken.slice(0, -1)}${last}`;
    for (const token of [wrong, undefined, ""]) {
      await expect(requestStatus(db, posted.id, token)).rejects.toMatchObject({
        code: "ERR_TOKEN",
        status: 401,
      });
    }
    // Another request's valid token does not open this one.
    const other = await postRequest(db, SETTINGS, requestFields());
    await expect(requestStatus(db, posted.id, other.statusToken)).rejects.toMatchObject({
      code: "ERR_TOKEN",
    });
    await expect(pollAssignment(db, "A".repeat(43))).rejects.toMatchObject({
      code: "ERR_TOKEN",
      message: "no worker has this token: register first",
    });
  });
});

describe("the operator", () => {
  it("bans a pseudonym (its seat goes, and it may not register or call again) and removes a request", async () => {
    const posted = await postRequest(db, SETTINGS, requestFields({ size: 1 }));
    const one = registration();
    const worker = await registerWorker(db, SETTINGS, one.body);
    await formClusters(db, SETTINGS);
    await banWorker(db, one.pseudonym);
    expect(await db.seat.count({ where: { worker: one.pseudonym } })).toBe(0);
    await expect(pollAssignment(db, worker.token)).rejects.toMatchObject({
      code: "ERR_BANNED",
      status: 403,
    });
    await expect(registerWorker(db, SETTINGS, one.body)).rejects.toMatchObject({
      code: "ERR_BANNED",
    });
    await removeRequest(db, posted.id);
    expect(await db.request.count({ where: { id: posted.id } })).toBe(0);
    await expect(removeRequest(db, posted.id)).rejects.toMatchObject({ code: "ERR_NOT_FOUND" });
    const stats = await operatorStats(db);
    expect(stats.workers.banned).toBe(1);
  });
});
