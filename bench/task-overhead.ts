// Per-task overhead: a map-only `cat` job of 4 tiny tasks and of 40, in each set-up; the difference over 36 tasks is what a task costs.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Dockerd } from "@tormr/sandbox/dockerd";
import { measure } from "./_measure.ts";

const CLI = fileURLToPath(new URL("../apps/job-host/bin/tormr.js", import.meta.url));
const SETUPS = [
  { name: "in-process engine (--local)", flags: ["--local"] },
  { name: "job host + 2 workers, bwrap", flags: ["--sandbox", "bwrap"] },
  { name: "job host + 2 workers, docker", flags: ["--sandbox", "docker"], docker: true },
];

async function tinyInput(dir: string, files: number): Promise<string> {
  const input = join(dir, `tiny-${files}`);
  await mkdir(input, { recursive: true });
  for (let i = 0; i < files; i++) {
    await writeFile(join(input, `f${String(i).padStart(3, "0")}.txt`), `line ${i}\n`.repeat(100));
  }
  return input;
}

/** Lines of a table: per set-up, the seconds for 4 and 40 tasks and the ms each extra task cost. */
export async function taskOverheadBench(
  work: string,
  docker: () => Promise<Dockerd>,
): Promise<string[]> {
  const inputs = { 4: await tinyInput(work, 4), 40: await tinyInput(work, 40) };
  const lines = [
    "Per-task overhead (map-only `cat`, one tiny file per task, 2 workers):",
    `${"set-up".padEnd(32)}  ${"4 tasks".padStart(8)}  ${"40 tasks".padStart(8)}  ${"ms/task".padStart(8)}`,
  ];
  for (const setup of SETUPS) {
    console.error(`bench: per-task overhead, ${setup.name} ...`);
    const env = setup.docker ? { ...process.env, DOCKER_HOST: (await docker()).host } : undefined;
    const seconds: number[] = [];
    for (const [count, input] of Object.entries(inputs)) {
      const result = await measure({
        command: process.execPath,
        args: [
          CLI,
          "streaming",
          "-D",
          "mapreduce.input.fileinputformat.split.maxsize=1000",
          "-input",
          input,
          "-output",
          join(work, `overhead-${setup.flags.join("")}-${count}`),
          "-mapper",
          "cat",
          "-reducer",
          "NONE",
          "--workers",
          "2",
          ...setup.flags,
        ],
        cwd: work,
        logFile: join(work, `overhead-${count}.log`),
        ...(env ? { env } : {}),
      });
      if (result.exit !== 0)
        throw new Error(`${setup.name}, ${count} tasks failed:\n${result.tail}`);
      seconds.push(result.seconds);
    }
    const [few = 0, many = 0] = seconds;
    const perTask = ((many - few) / 36) * 1000;
    lines.push(
      `${setup.name.padEnd(32)}  ${few.toFixed(1).padStart(8)}  ${many.toFixed(1).padStart(8)}  ${perTask.toFixed(0).padStart(8)}`,
    );
  }
  lines.push("ms/task is wall time per extra task with 2 workers in parallel: (T40 - T4) / 36.");
  return lines;
}
