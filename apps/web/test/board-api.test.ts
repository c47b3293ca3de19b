// The board's tRPC API through createCaller (no HTTP): workers register, poll and leave; requests post, show and cancel; errors map to their codes.
import type { BoardDb } from "@tormr/db/board";
import { describe, expect, it } from "vitest";
import { rateLimiter } from "../src/server/api/rate-limit.ts";
import { createCaller } from "../src/server/api/root.ts";
import { createContextInner } from "../src/server/api/trpc.ts";
import { formClusters } from "../src/server/board/form-clusters.ts";
import { hashSecret } from "../src/server/board/secrets.ts";
import { boardSettings } from "../src/server/board/settings.ts";
import {
  BOARD_ONION,
  HOST_ONION,
  registration,
  requestFields,
  withBoardDb,
} from "./board-helpers.ts";

const SETTINGS = boardSettings({
  onion: BOARD_ONION,
  registerBits: 8,
  postBits: 8,
  pollMs: 1_000,
  trustOnions: true,
});

let db: BoardDb;
withBoardDb((opened) => {
  db = opened;
});

const limiter = rateLimiter({ burst: 1_000, perSecond: 1_000 });
const caller = (token?: string) =>
  createCaller(createContextInner({ db, settings: SETTINGS, token, limiter }));

describe("the board API", () => {
  it("registers workers, holds their polls until the cluster forms, and hands each its seat", async () => {
    const posted = await caller().request.post(requestFields({ size: 2 }));
    expect(posted.statusPath).toBe(`/status/${posted.statusToken}`);
    const workers = [];
    for (let i = 0; i < 2; i++) {
      const one = registration();
      const registered = await caller().worker.register(one.body);
      expect(registered).toMatchObject({ pseudonym: one.pseudonym, pollMs: 1_000 });
      workers.push(registered);
    }
    // No cluster yet: a poll waits its full second, then says so.
    expect(await caller(workers[0]?.token).worker.poll()).toMatchObject({ state: "waiting" });
    const polled = caller(workers[0]?.token).worker.poll();
    await formClusters(db, SETTINGS);
    const members = await caller(posted.statusToken).request.cluster();
    expect(
      await caller(posted.statusToken).request.admitted({
        ticketHashes: members.map((m) => m.ticketHash),
      }),
    ).toEqual({ ok: true });
    expect(await polled).toMatchObject({
      state: "assigned",
      assignment: { requestId: posted.id, jobHost: `http://${HOST_ONION}.onion` },
    });
    expect(await caller(posted.statusToken).request.status()).toMatchObject({
      state: "formed",
      seated: 2,
    });
    await caller(workers[1]?.token).worker.leave();
    expect(await caller(posted.statusToken).request.status()).toMatchObject({ seated: 1 });
    await caller(posted.statusToken).request.cancel();
    expect(await caller(posted.statusToken).request.status()).toMatchObject({ state: "cancelled" });
    // Freed by the cancel, it would be the longest-waiting worker of the next test's cluster.
    await caller(workers[0]?.token).worker.leave();
  });

  it("tells the formed request's job host its workers' keys and their tickets' hashes, and nothing before", async () => {
    const posted = await caller().request.post(requestFields({ size: 2 }));
    await expect(caller(posted.statusToken).request.cluster()).rejects.toMatchObject({
      code: "CONFLICT",
      message: "the request is waiting, not formed",
    });
    // The job host's long poll: held its second while waiting, answered once the cluster forms.
    expect(await caller(posted.statusToken).request.awaitFormed()).toMatchObject({
      state: "waiting",
    });
    const held = caller(posted.statusToken).request.awaitFormed();
    const joined = [registration(), registration()];
    const tokens = [];
    for (const one of joined) tokens.push((await caller().worker.register(one.body)).token);
    await formClusters(db, SETTINGS);
    expect(await held).toMatchObject({ state: "formed", seated: 2 });
    const members = await caller(posted.statusToken).request.cluster();
    await caller(posted.statusToken).request.admitted({
      ticketHashes: members.map((m) => m.ticketHash),
    });
    const tickets = await Promise.all(
      tokens.map(async (t) => (await caller(t).worker.poll()).assignment?.ticket),
    );
    expect(members.map((m) => m.ticketHash).sort()).toEqual(
      tickets.map((t) => hashSecret(t as string)).sort(),
    );
    expect(members.map((m) => m.pseudonym).sort()).toEqual(joined.map((j) => j.pseudonym).sort());
    for (const member of members) {
      const mine = joined.find((j) => j.pseudonym === member.pseudonym);
      expect(member.keys).toEqual(mine?.body.keys);
    }
    // Never a ticket itself.
    expect(JSON.stringify(members)).not.toContain(tickets[0]);
  });

  it("maps the board's refusals to tRPC codes, with the field and the board's own code", async () => {
    const bad = await caller()
      .request.post(requestFields({ size: 0 }))
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: "BAD_REQUEST", message: "size: at least 1 worker" });
    await expect(caller("nope").worker.poll()).rejects.toMatchObject({
      code: "UNAUTHORIZED",
      message: "no worker has this token: register first",
    });
    await expect(caller().request.status()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("says what the board is, and refuses to verify a request with no tor to fetch its challenge", async () => {
    expect(await caller().board.info()).toEqual({
      v: 2,
      onion: BOARD_ONION,
      registerBits: 8,
      postBits: 8,
    });
    const verifying = { ...SETTINGS, trustOnions: false };
    const posted = await createCaller(
      createContextInner({ db, settings: verifying, token: undefined, limiter }),
    ).request.post(requestFields({ size: 1 }));
    const host = createCaller(
      createContextInner({ db, settings: verifying, token: posted.statusToken, limiter }),
    );
    await expect(host.request.verify()).rejects.toMatchObject({ code: "CONFLICT" });
    // Without a verifier (no tor), the board offers no key to let in, and cannot verify.
    expect(await host.request.attach()).toMatchObject({ requestId: posted.id, clientAuth: null });
    const refused = await host.request.verify().catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: "PRECONDITION_FAILED",
      message: expect.stringMatching(/no tor to fetch challenges/),
    });
  });

  it("refuses a caller over its rate with TOO_MANY_REQUESTS saying when to try again", async () => {
    const tight = rateLimiter({ burst: 2, perSecond: 0.5 });
    const limited = createCaller(
      createContextInner({ db, settings: SETTINGS, token: "t", limiter: tight }),
    );
    for (let i = 0; i < 2; i++) await limited.worker.heartbeat().catch(() => undefined);
    await expect(limited.worker.heartbeat()).rejects.toMatchObject({
      code: "TOO_MANY_REQUESTS",
      message: "too many calls: try again in 2 s",
    });
  });
});
