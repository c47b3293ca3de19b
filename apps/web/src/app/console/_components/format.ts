// How the console writes numbers, sizes and durations.

export function duration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "—";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const s = ms / 1_000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, "0")} min`;
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export const count = (n: number): string => n.toLocaleString("en-US");

export function time(iso: string | null): string {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, " UTC") : "—";
}

/** `m3` → `map 3`, `r0` → `reduce 0`. */
export function taskName(task: string): string {
  return task.startsWith("m") ? `map ${task.slice(1)}` : `reduce ${task.slice(1)}`;
}

/** A pseudonym cut to its first characters (the full one goes in a title). */
export const shortName = (pseudonym: string): string =>
  pseudonym.length > 14 ? `${pseudonym.slice(0, 12)}…` : pseudonym;

/** The time of day of an ISO timestamp, UTC. */
export function clock(iso: string | null): string {
  return iso ? `${iso.slice(11, 19)} UTC` : "—";
}
