// Word count through TorMR (JS job and Hadoop Streaming, sealed and not) against single-machine baselines, then sealing throughput and bucket compression.
// Usage: npm run bench [-- --quick | --mb <n>] [--keep] [--skip-crypto] [--skip-compression] [--skip-tor] [--skip-board]
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_SPLIT_SIZE } from "@tormr/mapreduce/job-spec";
import { type Dockerd, startDockerd } from "@tormr/sandbox/dockerd";
import { z } from "zod";
import { type Measurement, measure } from "./_measure.ts";
import { compareWordCounts, readWordCounts, type WordCounts } from "./_word-counts.ts";
import { boardBench } from "./board.bench.ts";
import { compressionBench } from "./compression.ts";
import { ensureCorpus, MiB } from "./corpus.ts";
import { sealThroughputBench } from "./seal-throughput.ts";
import { taskOverheadBench } from "./task-overhead.ts";
import { torTransportBench } from "./tor-transport.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const EXAMPLE = join(REPO, "examples/wordcount");
const CLI = join(REPO, "apps/job-host/bin/tormr.js");
const QUICK_MB = 24;

/** One dockerd for the Docker runs, started on first use. */
let dockerd: Dockerd | undefined;
async function docker(): Promise<Dockerd> {
  dockerd ??= await startDockerd(await mkdtemp(join(tmpdir(), "tormr-bench-dockerd-")));
  return dockerd;
}
const RSS_LIMIT = 512 * MiB;

const optionsSchema = z.object({
  quick: z.boolean().default(false),
  mb: z.coerce.number().int().positive().optional(),
  keep: z.boolean().default(false),
  "skip-crypto": z.boolean().default(false),
  "skip-compression": z.boolean().default(false),
  "skip-tor": z.boolean().default(false),
  "skip-board": z.boolean().default(false),
  help: z.boolean().default(false),
});

interface Run {
  name: string;
  command: string;
  args: (input: { dir: string; paths: string[]; bytes: number }, output: string) => string[];
  cwd: string;
  /** The run this one is compared with, and the speed-up it should reach. */
  baseline?: { name: string; target: number };
  needsCli?: boolean;
  /** Runs with DOCKER_HOST set to a dockerd the bench starts. */
  needsDocker?: boolean;
}

/**
 * The -D flag for a corpus smaller than a few default splits (the quick one): without it
 * the job would be a single map task and the second worker would idle through the map phase.
 */
function splitFlags(bytes: number): string[] {
  if (bytes >= 4 * DEFAULT_SPLIT_SIZE) return [];
  return ["-D", `mapreduce.input.fileinputformat.split.maxsize=${Math.ceil(bytes / 4)}`];
}

/** `tormr <before> -input <corpus> -output <out> <after>`, through the real CLI. */
function tormr(before: string, after: string): Run["args"] {
  return (input, out) => [
    CLI,
    ...before.split(" "),
    ...splitFlags(input.bytes),
    ...["-input", input.dir, "-output", out],
    ...after.split(" "),
  ];
}

const BASELINE_A = "baseline a: node, one process";
const BASELINE_B = "baseline b: shell pipeline";
const JS_PLAIN = "TorMR JS job, 2 workers, --no-seal";
const STREAMING_PLAIN = "TorMR streaming, 2 workers, --no-seal";
const STREAMING_LOCAL = "TorMR streaming, 2 workers, sealed";
const STREAMING_ARGS =
  "-mapper mapper.py -reducer reducer.py -file examples/wordcount/mapper.py " +
  "-file examples/wordcount/reducer.py -numReduceTasks 2 --workers 2";
const DISTRIBUTED_BWRAP = "TorMR streaming, job host + 2 workers, bwrap";
/**
 * What #8's modes cost, each as a ratio to the plain distributed run (VC3 reports 4.5-8% for its
 * integrity modes, M2R 17-130% for oblivious shuffling): every task twice on distinct workers; map
 * outputs padded to equal partition sizes; 30% of the tasks run again by the job host in its own
 * sandbox, and 20% more maps as decoys; an exposure cap of 75% per worker (with 2 workers a cap
 * of exactly 50% passes the submission check but leaves no slack for splits of unequal record
 * counts, and the job fails by name when a split fits neither worker).
 */
const INTEGRITY_MODES: readonly (readonly [string, string])[] = [
  ["replication 2", "-D tormr.replication=2"],
  ["shuffle padding", "-D tormr.shuffle.padding=true"],
  // The rates docs/job-host.md recommends for checks without replicas.
  ["spot checks 30% with decoys 20%", "-D tormr.spotcheck.rate=0.3 -D tormr.decoy.rate=0.2"],
  ["exposure cap 75%", "-D tormr.exposure.cap=75%"],
];
/** Sealing may add at most 10% to a job's time: the sealed run keeps 1/1.1 of the plain one's speed. */
const SEALING_TARGET = 1 / 1.1;
const RUNS: Run[] = [
  {
    name: BASELINE_A,
    command: process.execPath,
    args: (input, out) => ["--import", "tsx", "bench/baseline-count.ts", out, ...input.paths],
    cwd: REPO,
  },
  {
    name: JS_PLAIN,
    command: process.execPath,
    args: tormr("run examples/wordcount/wordcount.mjs", "-numReduceTasks 2 --workers 2 --no-seal"),
    cwd: REPO,
    baseline: { name: BASELINE_A, target: 1.3 },
    needsCli: true,
  },
  {
    name: "TorMR JS job, 2 workers, sealed",
    command: process.execPath,
    args: tormr("run examples/wordcount/wordcount.mjs", "-numReduceTasks 2 --workers 2 --local"),
    cwd: REPO,
    baseline: { name: JS_PLAIN, target: SEALING_TARGET },
    needsCli: true,
  },
  {
    name: BASELINE_B,
    command: "bash",
    args: (input, out) => [
      "-c",
      'set -o pipefail; out=$1; shift; cat -- "$@" | ./mapper.py | LC_ALL=C sort | ./reducer.py > "$out"',
      "bash",
      out,
      ...input.paths,
    ],
    cwd: EXAMPLE,
  },
  {
    name: STREAMING_PLAIN,
    command: process.execPath,
    args: tormr("streaming", `${STREAMING_ARGS} --no-seal`),
    cwd: REPO,
    baseline: { name: BASELINE_B, target: 1.2 },
    needsCli: true,
  },
  {
    name: STREAMING_LOCAL,
    command: process.execPath,
    args: tormr("streaming", `${STREAMING_ARGS} --local`),
    cwd: REPO,
    baseline: { name: STREAMING_PLAIN, target: SEALING_TARGET },
    needsCli: true,
  },
  // The distributed set-ups: a job host and 2 tormr-worker processes, each task in a sandbox.
  ...(["bwrap", "docker"] as const).map(
    (sandbox): Run => ({
      name: `TorMR streaming, job host + 2 workers, ${sandbox}`,
      command: process.execPath,
      args: tormr("streaming", `${STREAMING_ARGS} --sandbox ${sandbox}`),
      cwd: REPO,
      baseline: { name: STREAMING_LOCAL, target: 0 },
      needsCli: true,
      ...(sandbox === "docker" ? { needsDocker: true } : {}),
    }),
  ),
  // The integrity and privacy modes (#8), each against the same distributed bwrap run.
  ...INTEGRITY_MODES.map(
    ([label, flags]): Run => ({
      name: `${DISTRIBUTED_BWRAP}, ${label}`,
      command: process.execPath,
      args: tormr(`streaming ${flags}`, `${STREAMING_ARGS} --sandbox bwrap`),
      cwd: REPO,
      baseline: { name: DISTRIBUTED_BWRAP, target: 0 },
      needsCli: true,
    }),
  ),
];

type Result = { run: Run; measured?: Measurement; skipped?: string; check?: string; mbps?: number };

function row(cells: string[]): string {
  const widths = [60, 8, 7, 8, 8, 34, 0];
  return cells
    .map((c, i) => (i === 0 || i === 5 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
    .join("  ");
}

function printTable(results: Result[]): void {
  console.log(
    row(["run", "seconds", "MB/s", "speedup", "target", "peak RSS (largest process)", "output"]),
  );
  for (const { run, measured, skipped, check, mbps } of results) {
    if (!measured || mbps === undefined) {
      console.log(row([run.name, "-", "-", "-", "-", skipped ?? "failed", ""]));
      continue;
    }
    const base = results.find((r) => r.run.name === run.baseline?.name);
    const ratio = base?.mbps !== undefined && run.baseline ? mbps / base.mbps : undefined;
    const mb = measured.peak.bytes / MiB;
    const over = mb > RSS_LIMIT / MiB ? ` OVER ${RSS_LIMIT / MiB}` : "";
    const rss = `${mb.toFixed(0)} MiB${over} ${measured.peak.command}`;
    console.log(
      row([
        run.name,
        measured.seconds.toFixed(1),
        mbps.toFixed(1),
        ratio === undefined ? "-" : `${ratio.toFixed(2)}x`,
        run.baseline?.target ? `>=${run.baseline.target.toFixed(2)}x` : "-",
        rss,
        check ?? "",
      ]),
    );
  }
}

const USAGE = `usage: npm run bench [-- --quick | --mb <n>] [--keep] [--skip-crypto] [--skip-compression] [--skip-tor] [--skip-board]
  --quick             24 MB of input
  --mb <n>            n MB of input (default: every man and doc page)
  --keep              keep the outputs and logs
  --skip-crypto       skip the sealing throughput table
  --skip-compression  skip the bucket compression table (24 MB of the corpus and its map output)
  --skip-tor          skip the Tor table (jobs over a private Tor network, direct, one raw onion stream)
  --skip-board        skip the board table (autocannon: home page, heartbeats, registrations; 60 s each, 10 with --quick)`;

function readOptions(): z.infer<typeof optionsSchema> | undefined {
  try {
    const { values } = parseArgs({
      options: {
        quick: { type: "boolean" },
        mb: { type: "string" },
        keep: { type: "boolean" },
        "skip-crypto": { type: "boolean" },
        "skip-compression": { type: "boolean" },
        "skip-tor": { type: "boolean" },
        "skip-board": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    return optionsSchema.parse(values);
  } catch (error) {
    const message =
      error instanceof z.ZodError
        ? `--${error.issues[0]?.path.join(".")}: ${error.issues[0]?.message}`
        : error instanceof Error
          ? error.message
          : String(error);
    console.error(`bench: ${message}\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
}

async function main(): Promise<void> {
  const options = readOptions();
  if (!options) return;
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const limitMb = options.mb ?? (options.quick ? QUICK_MB : undefined);
  const corpus = await ensureCorpus({
    limitBytes: limitMb === undefined ? undefined : limitMb * MiB,
  });
  // Warm the page cache, so that no run reads from disk while the others read from memory.
  for (const path of corpus.paths) await readFile(path);
  const mb = corpus.bytes / 1e6;
  console.log(
    `corpus: ${corpus.dir} (${corpus.source}), ${mb.toFixed(1)} MB in ${corpus.paths.length} files`,
  );
  const flags = splitFlags(corpus.bytes).join(" ");
  if (flags) console.log(`the TorMR runs get ${flags}, so that this small input makes 4 map tasks`);

  const work = await mkdtemp(join(tmpdir(), "tormr-bench-"));
  const results: Result[] = [];
  let reference: { name: string; counts: WordCounts } | undefined;
  const mismatches: string[] = [];
  for (const run of RUNS) {
    if (run.needsCli && !existsSync(CLI)) {
      results.push({ run, skipped: `skipped: ${CLI} not there yet` });
      continue;
    }
    const slug = run.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    const output = join(work, `${slug}.out`);
    console.error(`bench: ${run.name} ...`);
    const measured = await measure({
      command: run.command,
      args: run.args(corpus, output),
      cwd: run.cwd,
      logFile: join(work, `${slug}.log`),
      ...(run.needsDocker ? { env: { ...process.env, DOCKER_HOST: (await docker()).host } } : {}),
    });
    if (measured.exit !== 0) {
      console.error(
        `bench: ${run.name} FAILED (exit ${measured.exit}); its last lines:\n${measured.tail}`,
      );
      results.push({ run, skipped: `FAILED, exit ${measured.exit}` });
      continue;
    }
    const counts = await readWordCounts(output);
    let check = "reference";
    if (reference) {
      const difference = compareWordCounts(reference.counts, counts);
      check = difference === undefined ? `= ${reference.name.split(":")[0]}` : "MISMATCH";
      if (difference) {
        mismatches.push(`!!! MISMATCH: ${run.name} vs ${reference.name}: ${difference}`);
        console.error(mismatches[mismatches.length - 1]);
      }
    } else {
      reference = { name: run.name, counts };
      check = `reference, ${counts.counts.size} words`;
    }
    results.push({ run, measured, check, mbps: mb / measured.seconds });
  }

  const overhead = await taskOverheadBench(work, docker);
  // Over Tor at a few MB/s, the whole corpus would take many minutes: at most the quick size.
  const tor = options["skip-tor"]
    ? undefined
    : await torTransportBench({ mb: Math.min(limitMb ?? QUICK_MB, QUICK_MB) });
  await dockerd?.stop();
  console.log("");
  printTable(results);
  console.log(
    `\nMB/s counts 10^6 bytes. Speedup: each unsealed job over its baseline, each sealed job over ` +
      `the same job unsealed (target ${SEALING_TARGET.toFixed(2)}x: sealing adds at most 10%), ` +
      `each job-host run over the in-process sealed run; ` +
      `no process should pass ${RSS_LIMIT / MiB} MiB.`,
  );
  console.log(`\n${overhead.join("\n")}`);
  if (tor) console.log(`\n${tor.join("\n")}`);
  if (!options["skip-board"]) {
    console.log(`\n${(await boardBench({ seconds: options.quick ? 10 : 60 })).join("\n")}`);
  }
  if (mismatches.length > 0) console.log(`\n${mismatches.join("\n")}`);
  if (options.keep) console.log(`outputs and logs kept in ${work}`);
  else await rm(work, { recursive: true, force: true });
  if (!options["skip-crypto"]) {
    console.log("\nSealing throughput, 64 KiB chunks:");
    await sealThroughputBench();
  }
  if (!options["skip-compression"]) {
    console.log("\nBucket compression (tormr.compression), before sealing:");
    await compressionBench();
  }
}

await main();
