// Bucket sealing throughput: the fast path (OpenSSL ChaCha20-Poly1305) against noble's pure JS and AES-GCM.
// Usage: node --import tsx bench/seal-throughput.ts
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { Readable, type Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DEFAULT_CHUNK_SIZE,
  newBucketKey,
  open,
  seal,
  sealBuffer,
} from "@tormr/crypto/bucket-seal";
import { xchachaEncrypt, xchachaEncryptReference } from "@tormr/crypto/xchacha";

const MiB = 1024 * 1024;
const CHUNK = DEFAULT_CHUNK_SIZE;
/** Data per repetition: noble gets less, at a tenth of the speed. */
const FAST_MIB = 64;
const NOBLE_MIB = 8;
const REPETITIONS = 5;
const TARGET_VS_NOBLE = 8;
const BUCKET_ID = "j/bench/m/0/0/p0";

interface Result {
  name: string;
  mib: number;
  /** MiB/s of each repetition, after one warm-up. */
  rates: number[];
}

/** Runs `work` (which handles `mib` MiB) once to warm up, then REPETITIONS times. */
async function time(name: string, mib: number, work: () => unknown): Promise<Result> {
  console.error(`bench: ${name} ...`);
  await work();
  const rates: number[] = [];
  for (let i = 0; i < REPETITIONS; i++) {
    const started = performance.now();
    await work();
    rates.push(mib / ((performance.now() - started) / 1000));
  }
  return { name, mib, rates };
}

/** A stream handing out `data` in pieces of `size`, as a file read would. */
function source(data: Buffer, size: number): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: size,
    read() {
      this.push(offset < data.length ? data.subarray(offset, offset + size) : null);
      offset += size;
    },
  });
}

/**
 * Pipes `data` through `transform`, into a sink that hashes the output if `check` is set (for one
 * untimed run: SHA-256 runs at about twice the cipher's speed and would skew the timing).
 */
async function through(data: Buffer, transform: Transform, check = false): Promise<string> {
  const hash = createHash("sha256");
  const sink = new Writable({
    highWaterMark: CHUNK,
    write(chunk: Buffer, _encoding, callback) {
      if (check) hash.update(chunk);
      callback();
    },
  });
  await pipeline(source(data, CHUNK), transform, sink);
  return hash.digest("hex");
}

/** Encrypts `data` as separate CHUNK-sized messages, each with a fresh nonce. */
function messages(data: Buffer, encrypt: (nonce: Buffer, message: Buffer) => unknown): void {
  const nonce = randomBytes(24);
  for (let offset = 0, i = 0; offset < data.length; offset += CHUNK, i++) {
    nonce.writeUInt32BE(i, 20);
    encrypt(nonce, data.subarray(offset, offset + CHUNK));
  }
}

const best = (r: Result) => Math.max(...r.rates);
const median = (r: Result) => [...r.rates].sort((a, b) => a - b)[r.rates.length >> 1] ?? 0;

function row(cells: string[]): string {
  const widths = [44, 6, 10, 10, 9, 9];
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
}

export async function sealThroughputBench(): Promise<void> {
  const key = newBucketKey();
  const plaintext = randomBytes(FAST_MIB * MiB);
  const sealed = sealBuffer(key, BUCKET_ID, plaintext);
  const expected = createHash("sha256").update(plaintext).digest("hex");
  const small = plaintext.subarray(0, NOBLE_MIB * MiB);
  const aesKey = randomBytes(32);
  console.log(
    `${FAST_MIB} MiB in ${CHUNK / 1024} KiB chunks (noble: ${NOBLE_MIB} MiB), ` +
      `best of ${REPETITIONS} after a warm-up; node ${process.version}, OpenSSL ${process.versions.openssl}`,
  );

  const opened = await through(sealed, open(key, BUCKET_ID), true);
  if (opened !== expected) throw new Error("bench: the open stream's output is not the plaintext");
  const reference = xchachaEncryptReference(key, Buffer.alloc(24), small);
  if (!xchachaEncrypt(key, Buffer.alloc(24), small).equals(reference)) {
    throw new Error("bench: the fast path and noble disagree");
  }

  const results = [
    await time("seal stream (fast path)", FAST_MIB, () => through(plaintext, seal(key, BUCKET_ID))),
    await time("open stream (fast path)", FAST_MIB, () => through(sealed, open(key, BUCKET_ID))),
    await time("xchachaEncrypt (fast path)", FAST_MIB, () =>
      messages(plaintext, (nonce, m) => xchachaEncrypt(key, nonce, m)),
    ),
    await time("xchachaEncryptReference (noble, pure JS)", NOBLE_MIB, () =>
      messages(small, (nonce, m) => xchachaEncryptReference(key, nonce, m)),
    ),
    await time("aes-256-gcm (node:crypto)", FAST_MIB, () =>
      messages(plaintext, (nonce, m) => {
        // Joined the way xchachaEncrypt joins ciphertext ‖ tag, so the two rows compare like for like.
        const cipher = createCipheriv("aes-256-gcm", aesKey, nonce.subarray(12));
        const out = Buffer.alloc(m.length + 16);
        for (let i = 0; i < m.length; i += 16 * 1024) {
          cipher.update(m.subarray(i, i + 16 * 1024)).copy(out, i);
        }
        cipher.final();
        cipher.getAuthTag().copy(out, m.length);
        return out;
      }),
    ),
  ];

  const noble = results.find((r) => r.name.includes("noble"))!;
  const aes = results.find((r) => r.name.includes("aes"))!;
  console.log("");
  console.log(row(["run", "MiB", "best MiB/s", "median", "÷ noble", "÷ aes-gcm"]));
  for (const r of results) {
    console.log(
      row([
        r.name,
        String(r.mib),
        best(r).toFixed(0),
        median(r).toFixed(0),
        `${(best(r) / best(noble)).toFixed(2)}x`,
        `${(best(r) / best(aes)).toFixed(2)}x`,
      ]),
    );
  }
  const fast = results.filter((r) => r.name.includes("fast path"));
  const slowest = fast.reduce((a, b) => (best(a) < best(b) ? a : b));
  const ratio = best(slowest) / best(noble);
  console.log(
    `\ntarget: every fast path >= ${TARGET_VS_NOBLE}x noble; the slowest (${slowest.name}) is ` +
      `${ratio.toFixed(2)}x: ${ratio >= TARGET_VS_NOBLE ? "met" : "NOT MET"}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await sealThroughputBench();
