import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deriveBoardIdentity } from "@tormr/crypto/board-identity";
import { generateKeyPair } from "@tormr/crypto/keys";
import { mintStamp } from "@tormr/crypto/stamp";
import { registrationBody } from "@tormr/protocol/board-api";
import autocannon from "autocannon";
import { serveBoard } from "../apps/web/src/cli/serve.ts";

const CONNECTIONS = 10;
/**
 * Enough workers that heartbeats at the target rate and beyond stay within each one's rate limit
 * (5 a second after a burst of 20): 4000 of them allow 20000 a second, so a 429 here means the
 * board is faster than that, not that the bench hammers a few tokens.
 */
const WORKERS = 4_000;

interface Row {
  name: string;
  requests: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function signedRegistration(board: string): string {
  const identity = deriveBoardIdentity({ signing: generateKeyPair("Ed25519") }, board);
  const capabilities = { memoryMb: 1024, sandbox: "bwrap" as const, slots: 1 };
  return JSON.stringify(
    registrationBody(board, identity, capabilities, mintStamp(`${board}/register`, 0)),
  );
}

async function load(
  name: string,
  seconds: number,
  options: Omit<autocannon.Options, "duration" | "connections">,
): Promise<Row> {
  console.error(`bench: board, ${name} for ${seconds} s ...`);
  const result = await autocannon({ ...options, duration: seconds, connections: CONNECTIONS });
  return {
    name,
    requests: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** The table's lines: req/s, p99 and errors of each route, and its ratio to the bare route. */
export async function boardBench(options: { seconds: number }): Promise<string[]> {
  const stateDir = await mkdtemp(join(tmpdir(), "tormr-bench-board-"));
  let announce: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => {
    announce = resolve;
  });
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  let board = "";
  const serving = serveBoard({
    stateDir,
    port: 0,
    torControl: undefined,
    registerBits: 0,
    postBits: 0,
    stopped,
    say: (line) => {
      const served = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (served) announce(served[1] as string);
      const address = /address would be http:\/\/([a-z2-7]{56})\.onion/.exec(line);
      if (address) board = address[1] as string;
    },
  });
  const bare = createServer((_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
  const bareUrl = `http://127.0.0.1:${(bare.address() as { port: number }).port}/`;
  try {
    const base = await url;
    while (!board) await new Promise((resolve) => setTimeout(resolve, 50));
    // Workers to heartbeat as: real ones, registered ten at a time.
    const tokens: string[] = [];
    const register = async () => {
      const res = await fetch(`${base}/api/trpc/worker.register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: signedRegistration(board),
      });
      const body = (await res.json()) as { result?: { data: { token: string } } };
      if (!body.result)
        throw new Error(`the board refused a registration: ${JSON.stringify(body)}`);
      tokens.push(body.result.data.token);
    };
    console.error(`bench: board, registering ${WORKERS} workers ...`);
    for (let i = 0; i < WORKERS; i += CONNECTIONS) {
      await Promise.all(Array.from({ length: CONNECTIONS }, register));
    }
    // As many as a run could use and no more: Node 20 can deadlock in GC while exporting a
    // generated key (a KeyGenJob freed during ExportJWK waits for the mutex that export holds),
    // and the odds grow with every key the bench makes.
    const bodies = Array.from({ length: Math.min(40_000, options.seconds * 500) }, () =>
      signedRegistration(board),
    );
    let nextToken = 0;
    let nextBody = 0;
    const rows = [
      await load("bare node:http route", options.seconds, { url: bareUrl }),
      await load("home page", options.seconds, { url: `${base}/` }),
      // What every page costs rendered live, nonce and all: a query string makes Next render it.
      await load("home page rendered by Next (/?live)", options.seconds, { url: `${base}/?live` }),
      await load(`worker heartbeat (${WORKERS} workers)`, options.seconds, {
        url: `${base}/api/trpc/worker.heartbeat`,
        requests: [
          {
            method: "POST",
            setupRequest: (request) => ({
              ...request,
              headers: {
                "content-type": "application/json",
                authorization: `Bearer ${tokens[nextToken++ % tokens.length]}`,
              },
              body: "{}",
            }),
          },
        ],
      }),
      await load("registration (0-bit stamps)", options.seconds, {
        url: `${base}/api/trpc/worker.register`,
        requests: [
          {
            method: "POST",
            setupRequest: (request) => ({
              ...request,
              headers: { "content-type": "application/json" },
              body: bodies[nextBody++ % bodies.length],
            }),
          },
        ],
      }),
    ];
    const bareRate = rows[0]?.requests ?? 1;
    return [
      `Board (tormr-board start --local: Next, with the home page from memory and the API on node:http; ${CONNECTIONS} connections, ${options.seconds} s each; targets: home >= 0.20x, heartbeats >= 0.25x, p99 < 100 ms, 0 errors):`,
      `  ${"route".padEnd(38)} ${"req/s".padStart(8)} ${"x bare".padStart(7)} ${"p99 ms".padStart(7)} ${"errors".padStart(7)} ${"non-2xx".padStart(8)}`,
      ...rows.map(
        (row) =>
          `  ${row.name.padEnd(38)} ${row.requests.toFixed(0).padStart(8)} ${(row.requests / bareRate).toFixed(2).padStart(7)} ` +
          `${String(row.p99).padStart(7)} ${String(row.errors).padStart(7)} ${String(row.non2xx).padStart(8)}`,
      ),
      `  (registrations past the first ${bodies.length} reuse stamps, and are refused: non-2xx counts them)`,
    ];
  } finally {
    stop();
    await serving;
    bare.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { seconds: { type: "string" } } });
  console.log((await boardBench({ seconds: Number(values.seconds ?? 60) })).join("\n"));
}
