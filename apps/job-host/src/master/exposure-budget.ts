// The exposure budget's rules (issue #8): the most of a job's records one worker, or any k colluding workers together, may be given, checked at submission and at every grant.

/**
 * The requester's cap: a fraction of records in (0, 1] (`tormr.exposure.cap`), and k, how many
 * colluding workers it bounds together (`tormr.exposure.collusion`, 1: each worker alone).
 */
export interface ExposureCap {
  cap: number;
  collusion: number;
}

/**
 * One side of a job, the input or the map output: its pieces (splits as `m<i>`, reduce partitions
 * as `r<p>`, or buckets) with their records, and the pieces each worker holds. A worker holds a
 * piece once it was granted it (the scheduler) or read it (the ledger), whatever became of it.
 */
export interface Side {
  records: ReadonlyMap<string, number>;
  total: number;
  held: ReadonlyMap<string, ReadonlySet<string>>;
}

/** A piece with its records, and how a message names it ("split 3 (a.txt, bytes 0-30000)"). */
export interface Piece {
  label: string;
  records: number;
}

// 1. Exact arithmetic: records are whole numbers, and the cap is the decimal the requester wrote.

/** The cap as an exact ratio, from its shortest decimal form: 0.125 is 125/1000, 1e-7 is 1/10^7. */
export function capRatio(cap: number): { num: bigint; den: bigint } {
  const [mantissa = "0", exponent = "0"] = String(cap).toLowerCase().split("e");
  const [whole = "0", fraction = ""] = mantissa.split(".");
  let num = BigInt(`${whole}${fraction}`);
  let places = fraction.length - Number(exponent);
  if (places < 0) {
    num *= 10n ** BigInt(-places);
    places = 0;
  }
  return { num, den: 10n ** BigInt(places) };
}

/** Whether `records` of `total` stays within the cap: records × den ≤ num × total, exactly. */
export function withinCap(records: number, total: number, cap: number): boolean {
  const { num, den } = capRatio(cap);
  return BigInt(records) * den <= num * BigInt(total);
}

/**
 * The fewest equal parts (workers, or reduce partitions) among which no k hold more than the cap:
 * n with n × cap ≥ k. A cap of 1 holds anyway.
 */
export function fewestParts({ cap, collusion }: ExposureCap): number {
  if (cap >= 1) return 1;
  const { num, den } = capRatio(cap);
  return Number((BigInt(collusion) * den + num - 1n) / num);
}

// 2. What a worker may be given, and what was reached.

function recordsOf(side: Side, pieces: Iterable<string>, outside?: ReadonlySet<string>): number {
  let records = 0;
  for (const piece of pieces) if (!outside?.has(piece)) records += side.records.get(piece) ?? 0;
  return records;
}

/**
 * What `worker` and the k−1 others beside it could hold together, with `piece` added: its own
 * records plus the k−1 largest shares of the others outside its own. Never less than the union
 * of any k workers that include it (their pieces may also overlap each other), so a grant kept
 * within it keeps every k within the cap.
 */
export function colludingBound(side: Side, worker: string, k: number, piece?: string): number {
  const mine = new Set(side.held.get(worker) ?? []);
  if (piece !== undefined) mine.add(piece);
  const others: number[] = [];
  for (const [other, pieces] of side.held) {
    if (other !== worker) others.push(recordsOf(side, pieces, mine));
  }
  others.sort((a, b) => b - a);
  let bound = recordsOf(side, mine);
  for (const records of others.slice(0, k - 1)) bound += records;
  return bound;
}

/** Whether giving `piece` to `worker` keeps it, and any k with it, within the cap. */
export function mayHold(side: Side, worker: string, piece: string, cap: ExposureCap): boolean {
  return withinCap(colludingBound(side, worker, cap.collusion, piece), side.total, cap.cap);
}

/**
 * Whether `worker` stays within its even part of the cap, cap/k, once given `piece`. With k > 1
 * the scheduler prefers this, so that an early worker does not take the room that the k−1 others
 * beside it will need: n workers at cap/k each cover n × cap/k, all of the input when the cluster
 * is large enough for the cap.
 */
export function withinPace(side: Side, worker: string, piece: string, cap: ExposureCap): boolean {
  const mine = new Set(side.held.get(worker) ?? []).add(piece);
  const { num, den } = capRatio(cap.cap);
  return BigInt(recordsOf(side, mine)) * den * BigInt(cap.collusion) <= num * BigInt(side.total);
}

/** Past this many sets of k workers, the largest k-union is bounded rather than searched. */
const EXACT_UNIONS = 20_000;

/**
 * How near a side came: the largest share one worker holds, and the largest share any k hold
 * together (their union). The union is exact up to 20 000 sets of k; beyond, `colludingBound`'s
 * largest, which is never less. Shares are of the side's records, 0 when it has none.
 */
export function reachedShares(side: Side, k: number): { maxShare: number; maxUnionShare: number } {
  if (side.total <= 0) return { maxShare: 0, maxUnionShare: 0 };
  const holders = [...side.held].filter(([, pieces]) => pieces.size > 0);
  let single = 0;
  for (const [, pieces] of holders) single = Math.max(single, recordsOf(side, pieces));
  let union = single;
  if (k > 1 && holders.length > 0) {
    if (holders.length <= k) union = recordsOf(side, new Set(holders.flatMap(([, p]) => [...p])));
    else if (combinations(holders.length, k) <= EXACT_UNIONS) {
      union = largestUnion(
        side,
        holders.map(([, pieces]) => pieces),
        k,
      );
    } else {
      for (const [worker] of holders) union = Math.max(union, colludingBound(side, worker, k));
    }
  }
  return { maxShare: single / side.total, maxUnionShare: Math.min(union / side.total, 1) };
}

function combinations(n: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) {
    c = (c * (n - i)) / (i + 1);
    if (c > EXACT_UNIONS) return c;
  }
  return c;
}

function largestUnion(side: Side, sets: readonly ReadonlySet<string>[], k: number): number {
  let best = 0;
  const visit = (from: number, left: number, union: ReadonlySet<string>) => {
    if (left === 0 || from === sets.length) {
      best = Math.max(best, recordsOf(side, union));
      return;
    }
    for (let i = from; i <= sets.length - left; i++) {
      visit(i + 1, left - 1, new Set([...union, ...(sets[i] ?? [])]));
    }
  };
  visit(0, k, new Set());
  return best;
}

// 3. Refusals, at submission and when the map output is known. Each message names the value.

/** "25%", "12.5%", "33.33%": a cap as it was written. */
export function capPercent(cap: number): string {
  return `${Number((cap * 100).toPrecision(12))}%`;
}

/** A share to one decimal place: "23.4%". */
export function sharePercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(1))}%`;
}

const NUMBER = new Intl.NumberFormat("en-US");

/** "the exposure cap of 25%", with "for any 2 colluding workers" when k > 1. */
export function capPhrase({ cap, collusion }: ExposureCap): string {
  return `the exposure cap of ${capPercent(cap)}${collusion > 1 ? ` for any ${collusion} colluding workers` : ""}`;
}

function listed(labels: readonly string[]): string {
  if (labels.length <= 1) return labels.join("");
  return `${labels.slice(0, -1).join(", ")} and ${labels.at(-1)}`;
}

/** Why a cluster of `workers` cannot keep to the cap (n × cap < k), or undefined. */
export function clusterRefusal(workers: number, cap: ExposureCap): string | undefined {
  const fewest = fewestParts(cap);
  if (workers >= fewest) return undefined;
  const most = sharePercent(Math.min((workers * cap.cap) / cap.collusion, 1));
  const plural = workers === 1 ? "" : "s";
  const held =
    cap.collusion > 1
      ? `any ${cap.collusion} held to ${capPercent(cap.cap)} together`
      : `held to ${capPercent(cap.cap)} each`;
  return `a cluster of ${workers} worker${plural} cannot keep to ${capPhrase(cap)}: ${workers} worker${plural}, ${held}, may be given at most ${most} of the input records; the smallest cluster that can is ${fewest} workers`;
}

/** Why `reduces` partitions, even perfectly balanced, cannot keep to the cap, or undefined. */
export function reducersRefusal(reduces: number, cap: ExposureCap): string | undefined {
  const fewest = fewestParts(cap);
  if (reduces === 0 || reduces >= fewest) return undefined;
  const k = Math.min(cap.collusion, reduces);
  const held =
    cap.collusion > 1
      ? `${k} reduce partition${k === 1 ? "" : "s"} hold ${sharePercent(k / reduces)} of the map output records`
      : `each reduce partition holds ${sharePercent(1 / reduces)} of the map output records, and one worker reduces it whole`;
  return `-numReduceTasks ${reduces} cannot keep to ${capPhrase(cap)}: even perfectly balanced, ${held}; use at least ${fewest} reducers`;
}

/**
 * The k largest pieces, when together they hold more than the cap: whoever gets them, some k
 * workers (or one) would hold them all. Undefined when they fit.
 */
export function overCap(
  pieces: readonly Piece[],
  total: number,
  cap: ExposureCap,
): { labels: string[]; records: number; share: number } | undefined {
  const top = [...pieces].sort((a, b) => b.records - a.records).slice(0, cap.collusion);
  const records = top.reduce((sum, piece) => sum + piece.records, 0);
  if (withinCap(records, total, cap.cap)) return undefined;
  return { labels: top.map((p) => p.label), records, share: total > 0 ? records / total : 0 };
}

/** "split 3 (…) holds 3,000 of 10,000 input records (30%)", or "splits 3 and 5 together hold …". */
export function holdsPhrase(
  over: { labels: string[]; records: number; share: number },
  noun: string,
  total: number,
  what: string,
): string {
  const many = over.labels.length > 1;
  return `${what}${many ? "s" : ""} ${listed(over.labels)} ${many ? "together hold" : "holds"} ${NUMBER.format(over.records)} of ${NUMBER.format(total)} ${noun} records (${sharePercent(over.share)})`;
}

/** Why the splits cannot keep to the cap, with the split size that would, or undefined. */
export function splitsRefusal(
  splits: readonly (Piece & { bytes: number })[],
  cap: ExposureCap,
  splitSizeBytes: number,
): string | undefined {
  const total = splits.reduce((sum, split) => sum + split.records, 0);
  const over = overCap(splits, total, cap);
  if (!over) return undefined;
  // About as many bytes as hold cap/k of the records, at the largest split's density.
  const largest = [...splits].sort((a, b) => b.records - a.records)[0] as Piece & { bytes: number };
  const fit = Math.floor((largest.bytes * ((cap.cap * total) / cap.collusion)) / largest.records);
  const smaller = Math.max(1, Math.min(fit, splitSizeBytes - 1));
  return `${holdsPhrase(over, "input", total, "split")}, over ${capPhrase(cap)}: no worker may be given ${over.labels.length > 1 ? "them" : "it"}; use a smaller -D mapreduce.input.fileinputformat.split.maxsize (it is ${splitSizeBytes} bytes; at most about ${smaller} would do)`;
}

/** Why the committed map output's partitions cannot keep to the cap (key skew), or undefined. */
export function partitionsRefusal(partitions: readonly Piece[], cap: ExposureCap) {
  const total = partitions.reduce((sum, partition) => sum + partition.records, 0);
  const over = overCap(partitions, total, cap);
  if (!over) return undefined;
  return `${holdsPhrase(over, "map output", total, "reduce partition")}, over ${capPhrase(cap)}: no worker may reduce ${over.labels.length > 1 ? "them" : "it"} (the keys are skewed); use more reducers, a partitioner that spreads those keys, or a higher cap`;
}

/** Why a task no joined worker may take, with no more to come, fails the job. */
export function strandedMessage(
  task: string,
  side: "input" | "mapOutput",
  records: number,
  total: number,
  cap: ExposureCap,
  workers: number,
): string {
  const noun = side === "input" ? "input" : "map output";
  const share = sharePercent(total > 0 ? records / total : 0);
  const fix = side === "input" ? "more workers, smaller splits" : "more workers, more reducers";
  return `${task} (${NUMBER.format(records)} of ${NUMBER.format(total)} ${noun} records, ${share}) cannot be given to any worker within ${capPhrase(cap)}: each of the ${workers} active worker${workers === 1 ? "" : "s"} would pass it, and no more can join (every join ticket is used); run the job again with ${fix} or a higher cap`;
}
