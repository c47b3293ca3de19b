// TorMR over Tor against the same jobs over `direct`, and against one onion stream's raw throughput, on one private Tor network.
// Alone: node --import tsx bench/tor-transport.ts [--mb <n>]
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseJobSpec } from "@tormr/mapreduce/job-spec";
import { authenticate } from "@tormr/tor/control/authenticate";
import { watchDescriptorUpload } from "@tormr/tor/control/events";
import { getInfo, socksListeners } from "@tormr/tor/control/get-info";
import { addOnion, delOnion } from "@tormr/tor/control/onion-service";
import { TorControl } from "@tormr/tor/control/tor-control";
import { TorAgent } from "@tormr/tor/transport";
import { type PrivateTor, startPrivateTor } from "../apps/job-host/src/cluster/private-tor.ts";
import { runClusterJob } from "../apps/job-host/src/cluster/run-cluster-job.ts";
import { type Corpus, ensureCorpus, MiB } from "./corpus.ts";

const EXAMPLE = fileURLToPath(new URL("../examples/wordcount/", import.meta.url));
const RAW_MB = 20;
const RAW_REPETITIONS = 3;
const WORKERS = 2;

async function control(port: number): Promise<TorControl> {
  const connection = await TorControl.connect({ port });
  await authenticate(connection);
  return connection;
}

/** Bytes tor read and wrote on all its connections (cells, TLS and all): what the wire carried. */
async function traffic(tors: TorControl[]): Promise<number> {
  let total = 0;
  for (const tor of tors) {
    const info = await getInfo(tor, ["traffic/read", "traffic/written"]);
    total += Number(info.get("traffic/read")) + Number(info.get("traffic/written"));
  }
  return total;
}

/** Best MB/s of RAW_REPETITIONS downloads of RAW_MB through one onion stream, host tor to a worker tor. */
async function rawOnionThroughput(
  net: PrivateTor,
): Promise<{ mbPerSecond: number; perByte: number }> {
  const body = Buffer.alloc(RAW_MB * MiB, "tormr raw onion throughput\n");
  const server = createServer((_req, res) => {
    res.setHeader("content-length", body.length);
    res.end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const host = await control(net.host.controlPort);
  const visitor = await control((net.workers[0] ?? net.host).controlPort);
  const socks = (await socksListeners(visitor))[0];
  const upload = await watchDescriptorUpload(host, 60_000);
  const onion = await addOnion(host, { ports: [{ virtualPort: 80, target: port }] });
  await upload.uploaded(onion.serviceId);
  const download = async (isolation: string): Promise<number> => {
    // A fresh isolation key per download: a new circuit each time, as a worker's first stream gets.
    const agent = new TorAgent({ socks: socks ?? { port: 0 }, isolation });
    const started = performance.now();
    try {
      const bytes = await new Promise<number>((resolve, reject) => {
        get(`http://${onion.hostname}/`, { agent }, (res) => {
          let count = 0;
          res.on("data", (chunk: Buffer) => {
            count += chunk.length;
          });
          res.on("end", () => resolve(count));
          res.on("error", reject);
        }).on("error", reject);
      });
      if (bytes !== body.length) throw new Error(`got ${bytes} of ${body.length} bytes`);
      return bytes / MiB / ((performance.now() - started) / 1000);
    } finally {
      agent.destroy();
    }
  };
  const rates: number[] = [];
  let perByte = 0;
  try {
    // The first download warms the descriptor cache and may race the HSDirs; it is not counted.
    for (let attempt = 0; ; attempt++) {
      try {
        await download("raw-warm-up");
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    const before = await traffic([host, visitor]);
    for (let i = 0; i < RAW_REPETITIONS; i++) rates.push(await download(`raw-${i}`));
    // The same count as the jobs' column, for one payload byte carried once.
    perByte = ((await traffic([host, visitor])) - before) / 2 / (RAW_REPETITIONS * body.length);
  } finally {
    await delOnion(host, onion.serviceId).catch(() => {});
    await host.close();
    await visitor.close();
    server.close();
  }
  return { mbPerSecond: Math.max(...rates), perByte };
}

interface JobRun {
  label: string;
  seconds: number;
  mbPerSecond: number;
  /**
   * Payload bytes that crossed Tor per input byte (tor's own counters, divided by what one byte
   * carried once costs in them): 1 is the input crossing once. Undefined over direct.
   */
  torBytesPerInputByte: number | undefined;
  /** Attempts that failed or were lost and ran again. */
  retried: number;
}

async function runJob(
  corpus: Corpus,
  work: string,
  kind: "wordcount" | "cat",
  net: PrivateTor | undefined,
  compression: "default" | "none",
  /** What tor's counters show for one payload byte carried once (the raw stream's calibration). */
  perByte = 1,
): Promise<JobRun> {
  const output = await mkdtemp(join(work, "out-"));
  await rm(output, { recursive: true });
  const split = Math.ceil(corpus.bytes / (2 * WORKERS));
  const spec = parseJobSpec({
    id: `job_${Date.now()}_${String(Math.floor(Math.random() * 9000) + 1000)}`,
    inputs: [corpus.dir],
    output,
    task:
      kind === "wordcount"
        ? { kind: "streaming", mapper: "mapper.py", combiner: "reducer.py", reducer: "reducer.py" }
        : { kind: "streaming", mapper: "cat" },
    numReduceTasks: kind === "wordcount" ? 2 : 0,
    files: kind === "wordcount" ? [join(EXAMPLE, "mapper.py"), join(EXAMPLE, "reducer.py")] : [],
    conf: {
      "mapreduce.input.fileinputformat.split.maxsize": String(split),
      ...(compression === "none" ? { "tormr.compression": "none" } : {}),
    },
  });
  const tors = net
    ? await Promise.all([net.host, ...net.workers].map((t) => control(t.controlPort)))
    : [];
  const before = await traffic(tors);
  const events: Record<string, unknown>[] = [];
  const result = await runClusterJob(spec, {
    log: (event) => events.push({ t: Math.round(performance.now()), ...event }),
    workers: WORKERS,
    sandbox: "bwrap",
    ...(net ? { tor: net } : {}),
  });
  // Each byte crosses two tors (the worker's and the job host's): count it once.
  if (process.env.TORMR_BENCH_EVENTS) for (const e of events) console.error(JSON.stringify(e));
  const carried = net ? ((await traffic(tors)) - before) / 2 : undefined;
  await Promise.all(tors.map((t) => t.close()));
  await rm(output, { recursive: true, force: true });
  const seconds = result.durationMs / 1000;
  return {
    label: `${kind === "wordcount" ? "word count" : "map-only cat"}, ${net ? "tor" : "direct"}${compression === "none" ? ", uncompressed" : ""}`,
    seconds,
    mbPerSecond: corpus.bytes / MiB / seconds,
    torBytesPerInputByte: carried === undefined ? undefined : carried / corpus.bytes / perByte,
    retried: result.failedAttempts,
  };
}

/** The Tor table's lines: each job's MB/s, its ratio to the same job over direct, and to one raw onion stream. */
export async function torTransportBench(options: { mb: number }): Promise<string[]> {
  const corpus = await ensureCorpus({
    limitBytes: options.mb * MiB,
    log: (l) => console.error(`bench: ${l}`),
  });
  const work = await mkdtemp(join(tmpdir(), "tormr-bench-tor-"));
  console.error(`bench: starting a private Tor network (${WORKERS + 1} clients) ...`);
  const net = await startPrivateTor(WORKERS);
  try {
    console.error(`bench: raw onion stream, ${RAW_MB} MB x ${RAW_REPETITIONS} ...`);
    const { mbPerSecond: raw, perByte } = await rawOnionThroughput(net);
    const runs: Array<{ run: JobRun; direct?: JobRun }> = [];
    for (const kind of ["wordcount", "cat"] as const) {
      console.error(`bench: ${kind} over direct ...`);
      const direct = await runJob(corpus, work, kind, undefined, "default");
      runs.push({ run: direct });
      console.error(`bench: ${kind} over tor ...`);
      runs.push({ run: await runJob(corpus, work, kind, net, "default", perByte), direct });
      console.error(`bench: ${kind} over tor, uncompressed ...`);
      runs.push({ run: await runJob(corpus, work, kind, net, "none", perByte), direct });
    }
    const lines = [
      `Over Tor (private network on 127.0.0.1, ${WORKERS} workers in bwrap, ${(corpus.bytes / MiB).toFixed(1)} MB of ${corpus.source === "docs" ? "man and doc pages" : "generated text"}):`,
      `  raw onion stream (${RAW_MB} MB, one circuit, best of ${RAW_REPETITIONS}): ${raw.toFixed(1)} MB/s; ` +
        `tor's traffic counters (both ends, halved) show ${perByte.toFixed(2)} bytes per payload byte, ` +
        "so the last column divides by that: 1.00 = the input crossed Tor once",
      `  ${"job".padEnd(34)} ${"s".padStart(6)} ${"MB/s".padStart(6)} ${"× direct".padStart(9)} ${"× raw".padStart(6)} ${"Tor B/input B".padStart(14)} ${"retried".padStart(8)}`,
    ];
    for (const { run, direct } of runs) {
      lines.push(
        `  ${run.label.padEnd(34)} ${run.seconds.toFixed(1).padStart(6)} ${run.mbPerSecond.toFixed(1).padStart(6)} ` +
          `${(direct ? (run.mbPerSecond / direct.mbPerSecond).toFixed(2) : "1.00").padStart(9)} ` +
          `${(run.mbPerSecond / raw).toFixed(2).padStart(6)} ` +
          `${(run.torBytesPerInputByte === undefined ? "-" : run.torBytesPerInputByte.toFixed(2)).padStart(14)} ` +
          `${String(run.retried).padStart(8)}`,
      );
    }
    return lines;
  } finally {
    await net.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { mb: { type: "string" } } });
  const lines = await torTransportBench({ mb: Number(values.mb ?? 24) });
  console.log(lines.join("\n"));
}
