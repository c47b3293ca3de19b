// The master's side of a sealed job refuses a worker's report that does not match what the store holds.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newBucketKey, sealBuffer, sealedLength } from "@tormr/crypto/bucket-seal";
import {
  unwrapKey,
  wrapKey,
  wrappedKeyFromString,
  wrappedKeyToString,
} from "@tormr/crypto/key-wrap";
import { generateKeyPair } from "@tormr/crypto/keys";
import { planSplits } from "@tormr/mapreduce/splits";
import { NO_COMPRESSION } from "@tormr/protocol/bucket-codec";
import { StoreClient } from "@tormr/protocol/store-client";
import type { SealedOutput, WorkerKeys } from "@tormr/protocol/task-exchange";
import { runSealedReduce } from "@tormr/task-runner/sealed-task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SealedExchange } from "../src/local/sealed-exchange.ts";
import { BadResult, type IssuedTask } from "../src/master/task-grants.ts";
import { jobSpec, type Workspace, workspace } from "./helpers.ts";
import { collect } from "./store-helpers.ts";

const JOB = "job_exchange_0001";
const worker = { signing: generateKeyPair("Ed25519"), wrapping: generateKeyPair("X25519") };
const keys: WorkerKeys = {
  signing: worker.signing.publicKey.toString("base64url"),
  wrapping: worker.wrapping.publicKey.toString("base64url"),
};
let w: Workspace;
let dir: string;
let exchange: SealedExchange;
let client: StoreClient;

beforeAll(async () => {
  w = workspace(1, 20_000, 5);
  dir = await mkdtemp(join(tmpdir(), "tormr-exchange-"));
  exchange = await SealedExchange.start(JOB, dir, NO_COMPRESSION);
  client = new StoreClient({ baseUrl: exchange.storeUrl, identity: worker.signing });
  for (const split of await planSplits([w.input], 8_000)) await exchange.sealSplit(split);
});
afterAll(async () => {
  await exchange.close();
  await rm(dir, { recursive: true, force: true });
  w.cleanup();
});

/**
 * What an honest worker does with one output: seal it, store it, wrap its key to the host. A
 * dishonest one declares `declared` plaintext bytes instead of the real count.
 */
async function store(
  issued: IssuedTask,
  id: string,
  text: string,
  declared = text.length,
): Promise<SealedOutput> {
  const key = newBucketKey();
  const info = await client.put(
    issued.exchange.grant,
    id,
    [sealBuffer(key, id, Buffer.from(text))],
    {
      records: 1,
    },
  );
  const host = Buffer.from(issued.exchange.hostWrappingKey, "base64url");
  return {
    id,
    key: wrappedKeyToString(wrapKey(key, id, host)),
    records: 1,
    bytes: declared,
    digest: info.digest,
  };
}

describe("a map attempt's grant and keys", () => {
  it("open its own split and nothing else", async () => {
    const issued = await exchange.mapTask(0, 0, 1, keys);
    const [input] = issued.exchange.inputs;
    if (!input) throw new Error("no input");
    const key = unwrapKey(wrappedKeyFromString(input.key), input.id, worker.wrapping);
    expect(key.length).toBe(32);
    const sealed = await collect(client.download(issued.exchange.grant, input.id));
    expect(sealed.length).toBeGreaterThan(0);
    // The exchange names the job's codec and the split's plaintext bytes, the bound on opening it.
    expect(issued.exchange.compression).toEqual(NO_COMPRESSION);
    expect(input.bytes).toBe(sealed.length - sealedLength(0, undefined, input.id));
    await expect(
      collect(client.download(issued.exchange.grant, input.id.replace("/split/0/", "/split/1/"))),
    ).rejects.toMatchObject({ code: "ERR_GRANT_SCOPE" });
  });
});

describe("commit", () => {
  it("takes an honest report, and a later attempt of the same task loses", async () => {
    const first = await exchange.mapTask(1, 0, 1, keys);
    const second = await exchange.mapTask(1, 1, 1, keys);
    const a = await store(first, first.exchange.outputIds[0] as string, "a\t1\n");
    const b = await store(second, second.exchange.outputIds[0] as string, "a\t1\n");
    expect(await exchange.commit(first, [a])).toBe(true);
    expect(await exchange.commit(second, [b])).toBe(false);
  });

  it("refuses a report naming another bucket than the grant's", async () => {
    const issued = await exchange.mapTask(2, 0, 1, keys);
    const out = await store(issued, `${issued.exchange.outputIds[0]}x`, "a\t1\n");
    await expect(exchange.commit(issued, [out])).rejects.toBeInstanceOf(BadResult);
  });

  it("refuses a bucket that was never stored, and a digest the store does not have", async () => {
    const issued = await exchange.mapTask(3, 0, 1, keys);
    const id = issued.exchange.outputIds[0] as string;
    const fake = { id, key: "", records: 1, bytes: 1, digest: "0".repeat(64) };
    await expect(exchange.commit(issued, [fake])).rejects.toThrow(/not stored/);
    const real = await store(issued, id, "b\t2\n");
    await expect(exchange.commit(issued, [{ ...real, digest: "f".repeat(64) }])).rejects.toThrow(
      /digest/,
    );
  });

  it("refuses a key that does not unwrap for the job host, and commits nothing", async () => {
    const issued = await exchange.mapTask(4, 0, 1, keys);
    const id = issued.exchange.outputIds[0] as string;
    const out = await store(issued, id, "c\t3\n");
    const elsewhere = wrapKey(newBucketKey(), id, generateKeyPair("X25519").publicKey);
    await expect(
      exchange.commit(issued, [{ ...out, key: wrappedKeyToString(elsewhere) }]),
    ).rejects.toThrow(/does not unwrap/);
    // The task stayed open: an honest retry still wins it.
    expect(await exchange.commit(issued, [out])).toBe(true);
  });
});

describe("the plaintext bytes a writer declared", () => {
  it("bound the reduce that opens its bucket: more plaintext than declared fails the attempt", async () => {
    // Map 0 says its partition holds 4 bytes; it holds 4,000 (as a decompression bomb would).
    const map = await exchange.mapTask(0, 1, 1, keys);
    const id = map.exchange.outputIds[0] as string;
    expect(await exchange.commit(map, [await store(map, id, "a\t1\n".repeat(1000), 4)])).toBe(true);
    const reduce = await exchange.reduceTask(0, 0, 1, keys);
    expect(reduce.exchange.inputs).toMatchObject([{ id, bytes: 4 }]);
    const job = jobSpec({
      inputs: [w.input],
      output: join(dir, "never"),
      task: { kind: "streaming", mapper: "cat", reducer: "cat" },
      numReduceTasks: 1,
    });
    const taskDir = join(dir, "r0");
    const options = {
      job,
      partition: 0,
      attempt: 0,
      inputs: [],
      taskDir,
      outputPath: join(taskDir, "part"),
    };
    await expect(runSealedReduce(options, reduce.exchange, worker)).rejects.toMatchObject({
      code: "ERR_CODEC_TOO_LONG",
      message: `bucket ${id} opens to more than its declared 4 bytes of plaintext (codec none); refused as corrupt or a decompression bomb`,
    });
  });
});
