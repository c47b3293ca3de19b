import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  capRatio,
  clusterRefusal,
  colludingBound,
  fewestParts,
  mayHold,
  partitionsRefusal,
  reachedShares,
  reducersRefusal,
  type Side,
  splitsRefusal,
  strandedMessage,
  withinCap,
} from "./exposure-budget.ts";

function side(records: Record<string, number>, held: Record<string, string[]>): Side {
  const map = new Map(Object.entries(records));
  return {
    records: map,
    total: [...map.values()].reduce((a, b) => a + b, 0),
    held: new Map(Object.entries(held).map(([w, pieces]) => [w, new Set(pieces)])),
  };
}

describe("the cap's arithmetic", () => {
  it("reads the cap as the exact decimal it was written as", () => {
    expect(capRatio(0.25)).toEqual({ num: 25n, den: 100n });
    expect(capRatio(0.1)).toEqual({ num: 1n, den: 10n });
    expect(capRatio(1)).toEqual({ num: 1n, den: 1n });
    expect(capRatio(1e-7)).toEqual({ num: 1n, den: 10_000_000n });
    expect(capRatio(0.29)).toEqual({ num: 29n, den: 100n });
  });

  it("compares records with the cap exactly, where floating point would not", () => {
    // 0.29 × 100 is 28.999999999999996 in floating point.
    expect(withinCap(29, 100, 0.29)).toBe(true);
    expect(withinCap(30, 100, 0.29)).toBe(false);
    expect(withinCap(3, 30, 0.1)).toBe(true);
    expect(withinCap(0, 0, 0.1)).toBe(true);
  });

  it("knows the fewest equal parts that keep any k within the cap", () => {
    expect(fewestParts({ cap: 0.25, collusion: 1 })).toBe(4);
    expect(fewestParts({ cap: 0.1, collusion: 1 })).toBe(10);
    expect(fewestParts({ cap: 0.1, collusion: 3 })).toBe(30);
    expect(fewestParts({ cap: 0.3, collusion: 1 })).toBe(4);
    expect(fewestParts({ cap: 0.25, collusion: 2 })).toBe(8);
    expect(fewestParts({ cap: 1, collusion: 5 })).toBe(1);
  });
});

describe("what a worker may be given", () => {
  const s = side({ m0: 20, m1: 20, m2: 20, m3: 20, m4: 20 }, { a: ["m0"], b: ["m1"], c: [] });

  it("keeps each worker within the cap with k = 1", () => {
    const cap = { cap: 0.4, collusion: 1 };
    expect(mayHold(s, "a", "m2", cap)).toBe(true);
    expect(mayHold(s, "c", "m2", cap)).toBe(true);
    const more = side({ m0: 20, m1: 20, m2: 20, m3: 40 }, { a: ["m0", "m1"] });
    expect(mayHold(more, "a", "m2", cap)).toBe(false);
    // A piece it already holds costs nothing more (a retry on the same worker).
    expect(mayHold(more, "a", "m1", cap)).toBe(true);
  });

  it("keeps the top-k sum that includes the worker within the cap", () => {
    const cap = { cap: 0.4, collusion: 2 };
    expect(colludingBound(s, "a", 2, "m2")).toBe(60);
    expect(mayHold(s, "a", "m2", cap)).toBe(false);
    expect(mayHold(s, "c", "m2", cap)).toBe(true);
    // What another worker holds that this one holds too does not count twice.
    const retried = side({ m0: 20, m1: 20, m2: 20 }, { a: ["m0"], b: ["m0"] });
    expect(colludingBound(retried, "b", 2, "m1")).toBe(40);
  });

  it("never lets any k workers' union pass the cap, granting one piece at a time", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(11), fc.nat(4)), { maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 100 }),
        (sizes, asks, k, percent) => {
          const records = new Map(sizes.map((n, i) => [`p${i}`, n]));
          const held = new Map<string, Set<string>>(
            ["w0", "w1", "w2", "w3", "w4"].map((w) => [w, new Set()]),
          );
          const live: Side = { records, total: sizes.reduce((a, b) => a + b, 0), held };
          const cap = { cap: percent / 100, collusion: k };
          for (const [p, w] of asks) {
            const piece = `p${p % sizes.length}`;
            const worker = `w${w}`;
            if (mayHold(live, worker, piece, cap)) held.get(worker)?.add(piece);
          }
          const { maxUnionShare } = reachedShares(live, k);
          expect(withinCap(Math.round(maxUnionShare * live.total), live.total, cap.cap)).toBe(true);
        },
      ),
    );
  });
});

describe("what was reached", () => {
  it("reports the largest share and the largest exact k-union", () => {
    const s = side({ a: 10, b: 20, c: 30, d: 40 }, { w1: ["a", "b"], w2: ["b", "c"], w3: ["d"] });
    expect(reachedShares(s, 1)).toEqual({ maxShare: 0.5, maxUnionShare: 0.5 });
    // w2 and w3 (20 + 30 + 40); w1 and w2 share b, so their union is 60, not 80.
    expect(reachedShares(s, 2)).toEqual({ maxShare: 0.5, maxUnionShare: 0.9 });
    expect(reachedShares(s, 5)).toEqual({ maxShare: 0.5, maxUnionShare: 1 });
    expect(reachedShares(side({}, {}), 2)).toEqual({ maxShare: 0, maxUnionShare: 0 });
  });
});

describe("refusals", () => {
  it("refuses a cluster too small for the cap, naming the smallest that works", () => {
    expect(clusterRefusal(10, { cap: 0.1, collusion: 1 })).toBeUndefined();
    expect(clusterRefusal(3, { cap: 0.1, collusion: 1 })).toBe(
      "a cluster of 3 workers cannot keep to the exposure cap of 10%: 3 workers, held to 10% each, may be given at most 30% of the input records; the smallest cluster that can is 10 workers",
    );
    expect(clusterRefusal(5, { cap: 0.25, collusion: 2 })).toBe(
      "a cluster of 5 workers cannot keep to the exposure cap of 25% for any 2 colluding workers: 5 workers, any 2 held to 25% together, may be given at most 62.5% of the input records; the smallest cluster that can is 8 workers",
    );
    expect(clusterRefusal(1, { cap: 1, collusion: 3 })).toBeUndefined();
  });

  it("refuses too few reducers even for perfectly balanced partitions", () => {
    expect(reducersRefusal(0, { cap: 0.25, collusion: 1 })).toBeUndefined();
    expect(reducersRefusal(4, { cap: 0.25, collusion: 1 })).toBeUndefined();
    expect(reducersRefusal(2, { cap: 0.25, collusion: 1 })).toBe(
      "-numReduceTasks 2 cannot keep to the exposure cap of 25%: even perfectly balanced, each reduce partition holds 50% of the map output records, and one worker reduces it whole; use at least 4 reducers",
    );
    expect(reducersRefusal(6, { cap: 0.25, collusion: 2 })).toBe(
      "-numReduceTasks 6 cannot keep to the exposure cap of 25% for any 2 colluding workers: even perfectly balanced, 2 reduce partitions hold 33.3% of the map output records; use at least 8 reducers",
    );
  });

  it("refuses a split over the cap, saying which and what split size would do", () => {
    const splits = [
      { label: "0 (a.txt, bytes 0-1000)", records: 10, bytes: 1000 },
      { label: "1 (a.txt, bytes 1000-2000)", records: 30, bytes: 1000 },
      { label: "2 (b.txt, bytes 0-1000)", records: 60, bytes: 1000 },
    ];
    expect(splitsRefusal(splits, { cap: 0.6, collusion: 1 }, 1000)).toBeUndefined();
    expect(splitsRefusal(splits, { cap: 0.5, collusion: 1 }, 1000)).toBe(
      "split 2 (b.txt, bytes 0-1000) holds 60 of 100 input records (60%), over the exposure cap of 50%: no worker may be given it; use a smaller -D mapreduce.input.fileinputformat.split.maxsize (it is 1000 bytes; at most about 833 would do)",
    );
    expect(splitsRefusal(splits, { cap: 0.8, collusion: 2 }, 1000)).toBe(
      "splits 2 (b.txt, bytes 0-1000) and 1 (a.txt, bytes 1000-2000) together hold 90 of 100 input records (90%), over the exposure cap of 80% for any 2 colluding workers: no worker may be given them; use a smaller -D mapreduce.input.fileinputformat.split.maxsize (it is 1000 bytes; at most about 666 would do)",
    );
  });

  it("fails a skewed partition, naming it and its share", () => {
    const partitions = [
      { label: "0", records: 100 },
      { label: "1", records: 315 },
      { label: "2", records: 585 },
    ];
    expect(partitionsRefusal(partitions, { cap: 0.6, collusion: 1 })).toBeUndefined();
    expect(partitionsRefusal(partitions, { cap: 0.5, collusion: 1 })).toBe(
      "reduce partition 2 holds 585 of 1,000 map output records (58.5%), over the exposure cap of 50%: no worker may reduce it (the keys are skewed); use more reducers, a partitioner that spreads those keys, or a higher cap",
    );
  });

  it("names a stranded task and the cap", () => {
    expect(strandedMessage("m7", "input", 400, 10_000, { cap: 0.1, collusion: 1 }, 3)).toBe(
      "m7 (400 of 10,000 input records, 4%) cannot be given to any worker within the exposure cap of 10%: each of the 3 active workers would pass it, and no more can join (every join ticket is used); run the job again with more workers, smaller splits or a higher cap",
    );
  });
});
