// Job ids in Hadoop's shape, job_<yyyyMMddHHmm>_<4 digits>, so logs and output names look familiar.
// The time is UTC: workers see job ids, and a local time would tell them the requester's time zone.

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

/** `random` returns a number in [0, 1), like Math.random; the 4 digits keep jobs of one minute apart. */
export function makeJobId(now: Date, random: () => number = Math.random): string {
  const stamp =
    pad(now.getUTCFullYear(), 4) +
    pad(now.getUTCMonth() + 1, 2) +
    pad(now.getUTCDate(), 2) +
    pad(now.getUTCHours(), 2) +
    pad(now.getUTCMinutes(), 2);
  const seq = Math.min(9999, Math.max(0, Math.floor(random() * 10_000)));
  return `job_${stamp}_${pad(seq, 4)}`;
}
