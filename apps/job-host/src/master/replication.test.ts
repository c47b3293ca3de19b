import { describe, expect, it } from "vitest";
import { epochWindow, outvotedReason, replicationRefusal, tally } from "./replication.ts";

const d = (...digests: string[]) => digests.map((x) => x.repeat(64).slice(0, 64));

describe("tally", () => {
  it("commits the first r results from distinct workers that agree, earliest first", () => {
    const results = [
      { number: 0, worker: "a", digests: d("1", "2") },
      { number: 1, worker: "b", digests: d("1", "3") },
      { number: 2, worker: "c", digests: d("1", "2") },
    ];
    expect(tally(results.slice(0, 2), 2)).toMatchObject({
      quorum: undefined,
      largest: 1,
      groups: 2,
    });
    const votes = tally(results, 2);
    expect(votes.quorum?.map((q) => q.number)).toEqual([0, 2]);
    expect(votes.largest).toBe(2);
  });

  it("never lets one worker agree with itself", () => {
    const twice = [
      { number: 0, worker: "a", digests: d("1") },
      { number: 3, worker: "a", digests: d("1") },
    ];
    expect(tally(twice, 2)).toMatchObject({ quorum: undefined, largest: 1, groups: 1 });
  });
});

describe("outvotedReason", () => {
  it("names the first output that differs, with both digests", () => {
    const quorum = [
      { number: 0, worker: "a", digests: d("1", "2") },
      { number: 2, worker: "c", digests: d("1", "2") },
    ];
    expect(outvotedReason("m3", { number: 1, worker: "b", digests: d("1", "9") }, quorum)).toBe(
      "outvoted: m3's partition 1 has plaintext SHA-256 999999999999…, where the 2 replicas that agreed (attempts 0, 2) have 222222222222…",
    );
    expect(outvotedReason("r0", { number: 1, worker: "b", digests: d("9") }, quorum)).toMatch(
      /^outvoted: r0's part has plaintext SHA-256 999999999999…, where/,
    );
  });
});

describe("epochWindow", () => {
  const A1 = { pseudonym: "a1", epoch: 1 };
  const A2 = { pseudonym: "a2", epoch: 1 };
  const B = { pseudonym: "b", epoch: 2 };
  const plain = { pseudonym: "p", epoch: null };

  it("refuses a second worker of an epoch while one of another could take the task", () => {
    expect(epochWindow(A2, [A1], [A1, B])).toBe("refused");
    expect(epochWindow(B, [A1], [A1, A2])).toBe("distinct");
    // A ticket not yet used, of another epoch, counts as a worker to come.
    expect(epochWindow(A2, [A1], [{ pseudonym: null, epoch: 3 }])).toBe("refused");
  });

  it("allows it when nobody else could, and says so", () => {
    expect(epochWindow(A2, [A1], [A1])).toBe("unavoidable");
    // B already ran it: it is no alternative.
    expect(epochWindow(A2, [A1, B], [A1, B])).toBe("unavoidable");
  });

  it("treats a worker without an epoch as distinct from everyone", () => {
    expect(epochWindow(plain, [A1], [A2])).toBe("distinct");
    expect(epochWindow(A2, [A1], [plain])).toBe("refused");
  });
});

describe("replicationRefusal", () => {
  it("refuses a cluster smaller than r, and nothing else", () => {
    expect(replicationRefusal(2, 2)).toBeUndefined();
    expect(replicationRefusal(3, undefined)).toBeUndefined();
    expect(replicationRefusal(3, 1)).toBe(
      "-D tormr.replication=3 runs every task on 3 different workers, but the cluster has 1; use a cluster of at least 3 workers, or fewer replicas",
    );
  });
});
