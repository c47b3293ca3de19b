// The stale-cgroup sweep against the real cgroupfs: dead, reused and live owners, tasks inside.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeCgroupDir } from "./cgroup.ts";
import { sweepStaleCgroups, sweepStaleCgroupsOnce } from "./cgroup-sweep.ts";

const CI = process.env.CI === "true";
const PIDS = "/sys/fs/cgroup/pids";
const MEMORY = "/sys/fs/cgroup/memory";
const usable = process.getuid?.() === 0 && existsSync(join(PIDS, "cgroup.procs"));
/** This process's memory cgroup, where bwrap makes its runs' cgroups. */
const ownMemory = join(
  MEMORY,
  readFileSync("/proc/self/cgroup", "utf8").match(/^\d+:memory:(.*)$/m)?.[1] ?? "/",
);

describe("sweepStaleCgroups", () => {
  // Outside CI a machine without root or cgroup v1 skips it; under CI=true it must fail.
  const test = !usable && !CI ? it.skip : it;
  /** Every cgroup made here, parents before children, for afterAll. */
  const made: string[] = [];
  const sleepers: ChildProcess[] = [];

  function cgroup(...path: string[]): string {
    const dir = join(...path);
    mkdirSync(dir);
    made.push(dir);
    return dir;
  }

  async function deadPid(): Promise<number> {
    const child = spawn("true");
    await once(child, "exit");
    return child.pid as number;
  }

  async function sleeper(): Promise<ChildProcess> {
    const child = spawn("sleep", ["60"]);
    sleepers.push(child);
    await once(child, "spawn");
    return child;
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGKILL");
    await once(child, "exit");
  }

  beforeAll(() => {
    if (!usable) throw new Error("needs root and cgroup v1 (CI=true); run the suite as root");
  });

  afterAll(async () => {
    for (const child of sleepers) await stop(child);
    for (const dir of made.reverse()) await removeCgroupDir(dir);
  });

  test("removes cgroups named after a dead pid, children first, wherever runs make them", async () => {
    const dead = await deadPid();
    const stale = [
      // bwrap: beside this process's own cgroup, and from a process that lived at the root.
      cgroup(ownMemory, `tormr-${dead}-${randomUUID()}`),
      cgroup(PIDS, `tormr-${dead}-${randomUUID()}`),
      // Docker: a parent with its run child at the root of every hierarchy.
      cgroup(PIDS, `tormr-docker-${dead}-${randomUUID()}`),
      cgroup(MEMORY, `tormr-docker-${dead}-${randomUUID()}`),
      // bwrap under a cgroup that is not this process's.
      cgroup(cgroup(PIDS, `sweep-test-${randomUUID()}`), `tormr-${dead}-${randomUUID()}`),
    ];
    cgroup(stale[2] as string, "run");
    cgroup(stale[3] as string, "run");

    const started = performance.now();
    const removed = await sweepStaleCgroups();
    console.log(`sweep took ${Math.round(performance.now() - started)} ms`);
    expect(stale.filter(existsSync)).toEqual([]);
    // Others may have left stale cgroups too; every one of ours counts.
    expect(removed).toBeGreaterThanOrEqual(stale.length);
  });

  test("keeps cgroups named after a live owner: this process, or one older than them", async () => {
    const child = await sleeper();
    const kept = [
      cgroup(PIDS, `tormr-${process.pid}-${randomUUID()}`),
      cgroup(ownMemory, `tormr-${process.pid}-${randomUUID()}`),
      cgroup(PIDS, `tormr-${child.pid}-${randomUUID()}`),
      cgroup(PIDS, `tormr-docker-${child.pid}-${randomUUID()}`),
    ];
    await sweepStaleCgroups();
    expect(kept.filter(existsSync)).toEqual(kept);
  });

  test("removes a cgroup whose pid now belongs to a process younger than it", async () => {
    const child = await sleeper();
    const reused = cgroup(PIDS, `tormr-${child.pid}-${randomUUID()}`);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(reused, anHourAgo, anHourAgo);
    await sweepStaleCgroups();
    expect(existsSync(reused)).toBe(false);
  });

  test("keeps a cgroup of a dead owner while a task is in it or below it", async () => {
    const dead = await deadPid();
    const bwrap = cgroup(PIDS, `tormr-${dead}-${randomUUID()}`);
    const docker = cgroup(PIDS, `tormr-docker-${dead}-${randomUUID()}`);
    const run = cgroup(docker, "run");
    const inside = [await sleeper(), await sleeper()];
    writeFileSync(join(bwrap, "cgroup.procs"), String(inside[0]?.pid));
    writeFileSync(join(run, "cgroup.procs"), String(inside[1]?.pid));

    await sweepStaleCgroups();
    expect([bwrap, docker, run].filter(existsSync)).toEqual([bwrap, docker, run]);

    // Only the tasks kept them: once those are gone, so are they.
    for (const child of inside) await stop(child as ChildProcess);
    await sweepStaleCgroups();
    expect([bwrap, docker, run].filter(existsSync)).toEqual([]);
  });

  test("removes an unowned tormr-<uuid> (named before owners were) once it is 10 minutes old", async () => {
    const unowned = cgroup(PIDS, `tormr-${randomUUID()}`);
    await sweepStaleCgroups();
    expect(existsSync(unowned)).toBe(true);
    const elevenMinutesAgo = new Date(Date.now() - 11 * 60_000);
    utimesSync(unowned, elevenMinutesAgo, elevenMinutesAgo);
    await sweepStaleCgroups();
    expect(existsSync(unowned)).toBe(false);
  });

  test("sweeps once per process", () => {
    expect(sweepStaleCgroupsOnce()).toBe(sweepStaleCgroupsOnce());
  });
});
