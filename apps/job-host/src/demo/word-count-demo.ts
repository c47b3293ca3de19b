// `npm run demo`: a Hadoop Streaming word count over this machine's man and doc pages: a bulletin board, a job host and volunteers' workers on a private Tor network.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { MapReduceError } from "@tormr/mapreduce/errors";
import { makeJobId } from "@tormr/mapreduce/job-id";
import { parseJobSpec } from "@tormr/mapreduce/job-spec";
import { z } from "zod";
import { ensureCorpus, MiB } from "../../../../bench/corpus.ts";
import { formatCountersTable } from "../cli/counters-table.ts";
import { plainProgress } from "../cli/progress-lines.ts";
import { type BoardProcess, startBoardProcess } from "../cluster/board-process.ts";
import { startPrivateTor } from "../cluster/private-tor.ts";
import { runClusterJob } from "../cluster/run-cluster-job.ts";
import { topWords } from "./top-words.ts";

const EXAMPLE = fileURLToPath(new URL("../../../../examples/wordcount/", import.meta.url));

const USAGE = `usage: npm run demo [-- --mb <n> | --all] [--workers <n>] [--sandbox <kind>] [--transport <kind>] [--no-board]
  --mb <n>            words of the first n MB of man and doc pages (default 64)
  --all               all of them (about 340 MB on a stock Debian)
  --workers <n>       tormr-worker processes joined to the job host (default 3)
  --sandbox <kind>    bwrap (default), docker, or none (none: without a board)
  --transport <kind>  tor (default: a private Tor network on 127.0.0.1, one tor per party) or direct
  --no-board          hand the workers join tickets instead of forming the cluster on a board
                      (implied by --transport direct: the board is an onion site)`;

const optionsSchema = z.object({
  mb: z.coerce.number().int().positive().default(64),
  all: z.boolean().default(false),
  workers: z.coerce.number().int().positive().max(64).default(3),
  sandbox: z.enum(["bwrap", "docker", "none"]).default("bwrap"),
  transport: z.enum(["tor", "direct"]).default("tor"),
  help: z.boolean().default(false),
  "no-board": z.boolean().default(false),
});

function readOptions(): z.infer<typeof optionsSchema> {
  let values: unknown;
  try {
    ({ values } = parseArgs({
      options: {
        mb: { type: "string" },
        all: { type: "boolean" },
        workers: { type: "string" },
        sandbox: { type: "string" },
        transport: { type: "string" },
        "no-board": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`--${issue?.path.join(".")}: ${issue?.message}\n${USAGE}`);
  }
  return parsed.data;
}

class UsageError extends Error {}

async function main(): Promise<void> {
  const options = readOptions();
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const corpus = await ensureCorpus({
    limitBytes: options.all ? undefined : options.mb * MiB,
    log: (line) => console.log(line),
  });
  const output = join(await mkdtemp(join(tmpdir(), "tormr-demo-")), "output");
  const spec = parseJobSpec({
    // Hadoop's job id shape; the demo is always this minute's first job.
    id: makeJobId(new Date(), () => 1 / 10_000),
    inputs: [corpus.dir],
    output,
    task: { kind: "streaming", mapper: "mapper.py", combiner: "reducer.py", reducer: "reducer.py" },
    numReduceTasks: 2,
    files: [join(EXAMPLE, "mapper.py"), join(EXAMPLE, "reducer.py")],
  });

  console.log(
    `${spec.id}: word count of ${(corpus.bytes / MiB).toFixed(1)} MB (${corpus.source === "docs" ? "man and doc pages" : "generated text"}) ` +
      `with mapper.py, combiner and reducer reducer.py, 2 reducers`,
  );
  console.log(
    `a job host and ${options.workers} tormr-worker processes (sandbox: ${options.sandbox}); ` +
      "every split, map partition and part file moves sealed through the bucket store, " +
      "each task attempt under its own grant",
  );
  const viaBoard =
    options.transport === "tor" && !options["no-board"] && options.sandbox !== "none";
  // One tor for the job host, one per worker, and one for the board.
  const tor =
    options.transport === "tor"
      ? await startPrivateTor(options.workers + (viaBoard ? 1 : 0), (line) =>
          console.log(`  tor: ${line}`),
        )
      : undefined;
  if (tor) {
    console.log(
      `private Tor network up (3 authorities, 4 relays, ${tor.workers.length + 1} clients in ${tor.dir}): ` +
        "the job host publishes an onion service, and each worker reaches it only through its own tor",
    );
  }
  let board: BoardProcess | undefined;
  if (tor && viaBoard) {
    const boardTor = tor.workers.pop() as (typeof tor.workers)[number];
    board = await startBoardProcess({
      stateDir: join(await mkdtemp(join(tmpdir(), "tormr-demo-board-")), "board"),
      controlPort: boardTor.controlPort,
      onLine: (line) => console.log(`  ${line}`),
    }).catch(async (error: unknown) => {
      await tor.stop();
      throw error;
    });
    console.log(
      `bulletin board: ${board.url} (its own tor); the job host posts a request for ${options.workers} ` +
        "workers there, proves its onion, and the volunteers' workers are matched to it",
    );
  }
  const progress = plainProgress((line) => console.log(`  ${line}`));
  let result: Awaited<ReturnType<typeof runClusterJob>>;
  try {
    result = await runClusterJob(spec, {
      workers: options.workers,
      sandbox: options.sandbox,
      onProgress: progress.update,
      ...(tor ? { tor } : {}),
      ...(board
        ? {
            board: {
              url: board.url,
              title: "Word count of the man pages (npm run demo)",
              description:
                "The TorMR demo: a Hadoop Streaming word count, mapper.py and reducer.py.",
            },
            log: (event: Record<string, unknown>) => {
              if (event.event === "board") console.log(`  board: ${String(event.message)}`);
            },
          }
        : {}),
    });
  } finally {
    progress.stop();
    await board?.stop();
    await tor?.stop();
  }

  const seconds = result.durationMs / 1000;
  console.log(
    `done in ${seconds.toFixed(1)} s (${(corpus.bytes / MiB / seconds).toFixed(1)} MB/s), ` +
      `${result.maps} maps, ${result.reduces} reduces, ${result.failedAttempts} failed attempts`,
  );
  if (board)
    console.log(`board onion: ${board.url} (request ${result.board?.requestId}, now finished)`);
  console.log(
    tor
      ? `job host onion: ${result.jobHostUrl} (workers let in by v3 client authorization only)\n`
      : `job host: ${result.jobHostUrl} (direct, on loopback)\n`,
  );
  console.log("top 20 words:");
  const top = await topWords(result.parts, 20);
  const width = Math.max(...top.map((w) => w.word.length));
  top.forEach(({ word, count }, i) => {
    console.log(`  ${String(i + 1).padStart(2)}. ${word.padEnd(width)}  ${count}`);
  });
  console.log(`\n${formatCountersTable(result.counters).join("\n")}`);
  console.log(`\noutput: ${result.output}`);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof MapReduceError) {
    console.error(`demo: ${error.message}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
    return;
  }
  throw error;
});
