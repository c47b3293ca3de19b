import { Readable, type Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { newBucketKey, open, seal, sealedLength } from "@tormr/crypto/bucket-seal";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type BucketCodec, CodecError, compressStream, decompressStream } from "./bucket-codec.ts";
import {
  PAD_HEADER_LENGTH,
  PADDING_FLOOR,
  padded,
  paddingHeader,
  planPadding,
  sizeClass,
  unpadStream,
} from "./bucket-padding.ts";

const CODECS: BucketCodec[] = [
  { codec: "none", level: 0 },
  { codec: "gzip", level: 6 },
  { codec: "brotli", level: 4 },
];
const CHUNK = 64 * 1024;
const idOf = (r: number) => `j/job_202611250000_0001/m/3/0/p${r}`;

/** `data` through `stages`, fed in pieces of `pieceSize`: what came out, and the error if any. */
async function run(
  data: Buffer | AsyncIterable<Buffer>,
  stages: Transform[],
  pieceSize = 64 * 1024,
): Promise<{ out: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  const source = Buffer.isBuffer(data)
    ? Readable.from(
        Array.from({ length: Math.ceil(data.length / pieceSize) }, (_, i) =>
          data.subarray(i * pieceSize, (i + 1) * pieceSize),
        ),
      )
    : Readable.from(data);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  const error = await pipeline([source, ...stages, sink]).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { out: Buffer.concat(parts), error };
}

async function collect(data: Buffer | AsyncIterable<Buffer>, stages: Transform[] = []) {
  const { out, error } = await run(data, stages);
  expect(error).toBeUndefined();
  return out;
}

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

/** A padded frame in memory: header, body, zeros up to `length`. */
async function frame(body: Buffer, length: number): Promise<Buffer> {
  return collect(padded(once(body), body.length, length));
}

describe("sizeClass", () => {
  it("is the floor up to 64 KiB, and Padmé's classes above it", () => {
    expect(sizeClass(0)).toBe(PADDING_FLOOR);
    expect(sizeClass(PADDING_FLOOR)).toBe(PADDING_FLOOR);
    // 2^16 < L < 2^17: E = 16, ⌊log₂ 16⌋ + 1 = 5 bits kept, so steps of 2^11.
    expect(sizeClass(PADDING_FLOOR + 1)).toBe(PADDING_FLOOR + 2048);
    // 2^20 < L: E = 20, 5 bits kept, steps of 2^15.
    expect(sizeClass(2 ** 20 + 1)).toBe(2 ** 20 + 2 ** 15);
    // 2^32 ≤ L: E = 32, 6 bits kept, steps of 2^26.
    expect(sizeClass(2 ** 32 + 1)).toBe(2 ** 32 + 2 ** 26);
    expect(() => sizeClass(-1)).toThrow("bytes: expected a non-negative whole number, got -1");
  });

  it("never shrinks, is a class itself, grows with its input, and costs at most 1/32 above the floor", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 42 }), fc.nat({ max: 2 ** 20 }), (n, more) => {
        const c = sizeClass(n);
        expect(c).toBeGreaterThanOrEqual(n);
        expect(sizeClass(c)).toBe(c);
        expect(sizeClass(n + more)).toBeGreaterThanOrEqual(c);
        if (n > PADDING_FLOOR) expect((c - n) / n).toBeLessThanOrEqual(1 / 32);
      }),
    );
  });

  it("powers of two from the floor up are classes", () => {
    for (let e = 16; e <= 45; e++) expect(sizeClass(2 ** e)).toBe(2 ** e);
  });
});

describe("planPadding", () => {
  it("gives every bucket of a task one sealed size: at least each one's own, within a few bytes of the largest one's class", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.nat({ max: 300_000 }),
            fc.integer({ min: 1, max: 6 }).map((n) => n * CHUNK - PAD_HEADER_LENGTH),
          ),
          { minLength: 1, maxLength: 14 },
        ),
        (sizes) => {
          const bodies = sizes.map((bytes, r) => ({ id: idOf(r), bytes }));
          const plan = planPadding(bodies);
          const least = bodies.map((b) => sealedLength(PAD_HEADER_LENGTH + b.bytes, CHUNK, b.id));
          const target = sizeClass(Math.max(...least));
          expect(plan.sealedSize).toBeGreaterThanOrEqual(target);
          expect(plan.sealedSize - target).toBeLessThan(40);
          for (const [r, b] of bodies.entries()) {
            const length = plan.plainLengths[r] as number;
            expect(length).toBeGreaterThanOrEqual(PAD_HEADER_LENGTH + b.bytes);
            expect(sealedLength(length, CHUNK, b.id)).toBe(plan.sealedSize);
          }
          const unpadded = bodies.reduce((n, b) => n + sealedLength(b.bytes, CHUNK, b.id), 0);
          expect(plan.paddingBytes).toBe(plan.sealedSize * bodies.length - unpadded);
        },
      ),
    );
  });

  it("a class no bucket can seal to exactly (1 GiB, for these ids) is nudged up to the next size they all reach", () => {
    // 2^30 less a header of about 80 bytes falls in the 16 sizes a sealed length skips at a chunk end.
    const bodies = [0, 9, 10, 100].map((r) => ({ id: idOf(r), bytes: 2 ** 30 - 300_000 }));
    const plan = planPadding(bodies);
    const least = sealedLength(PAD_HEADER_LENGTH + 2 ** 30 - 300_000, CHUNK, idOf(100));
    expect(least).toBeLessThan(2 ** 30);
    expect(sizeClass(least)).toBe(2 ** 30);
    expect(plan.sealedSize).toBeGreaterThan(2 ** 30);
    expect(plan.sealedSize).toBeLessThan(2 ** 30 + 32);
    for (const [r, b] of bodies.entries()) {
      expect(sealedLength(plan.plainLengths[r] as number, CHUNK, b.id)).toBe(plan.sealedSize);
    }
  });

  it("nothing to pad: an empty plan", () => {
    expect(planPadding([])).toEqual({ sealedSize: 0, plainLengths: [], paddingBytes: 0 });
  });
});

describe("padded buckets round trip", () => {
  it("random partitions: compressed, padded and sealed to one size per task; opened, unpadded and decompressed to their bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CODECS),
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 2_000 }),
            fc
              .tuple(fc.string({ maxLength: 8 }), fc.nat({ max: 20_000 }))
              .map(([word, n]) => new TextEncoder().encode(`${word}\t1\n`.repeat(n))),
          ),
          { minLength: 1, maxLength: 6 },
        ),
        fc.constantFrom(1, 7, 4096, 64 * 1024),
        async (codec, partitions, pieceSize) => {
          const bodies = await Promise.all(
            partitions.map((p) => collect(Buffer.from(p), [compressStream(codec)])),
          );
          const plan = planPadding(bodies.map((b, r) => ({ id: idOf(r), bytes: b.length })));
          const keys = bodies.map(() => newBucketKey());
          const sealed = await Promise.all(
            bodies.map((body, r) =>
              collect(padded(once(body), body.length, plan.plainLengths[r] as number), [
                seal(keys[r] as Buffer, idOf(r)),
              ]),
            ),
          );
          for (const bucket of sealed) expect(bucket.length).toBe(plan.sealedSize);
          for (const [r, bucket] of sealed.entries()) {
            const data = Buffer.from(partitions[r] as Uint8Array);
            const { out, error } = await run(
              bucket,
              [
                open(keys[r] as Buffer, idOf(r)),
                unpadStream({ label: `bucket ${idOf(r)}` }),
                decompressStream(codec, { plainBytes: data.length }),
              ],
              pieceSize,
            );
            expect(error).toBeUndefined();
            expect(out.equals(data)).toBe(true);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("an empty body pads and unpads to nothing", async () => {
    const bucket = await frame(Buffer.alloc(0), 1000);
    expect(bucket.length).toBe(1000);
    expect((await collect(bucket, [unpadStream()])).length).toBe(0);
  });
});

describe("an unpadded bucket", () => {
  const text = Buffer.from("alpha\t1\nbeta\t1\n".repeat(500));

  it("reads as before on the unpadded path: the codec alone, no frame", async () => {
    for (const codec of CODECS) {
      const body = await collect(text, [compressStream(codec)]);
      const out = await collect(body, [decompressStream(codec, { plainBytes: text.length })]);
      expect(out.equals(text)).toBe(true);
    }
  });

  it("is refused by name where padding is expected (a worker that ignored the setting)", async () => {
    const { error } = await run(text, [unpadStream({ label: "bucket j/x/m/0/0/p1" })]);
    expect(error).toBeInstanceOf(CodecError);
    expect(error).toMatchObject({
      code: "ERR_CODEC_PADDING",
      message:
        "bucket j/x/m/0/0/p1 has no padding header: a job with tormr.shuffle.padding pads every map-output partition (was it written by a worker that ignores the setting?)",
    });
  });

  it("a padded bucket read without unpadding fails rather than giving the frame as data", async () => {
    const none = await frame(text, 20_000);
    expect(
      (await run(none, [decompressStream(CODECS[0] as BucketCodec, { plainBytes: text.length })]))
        .error,
    ).toMatchObject({ code: "ERR_CODEC_TOO_LONG" });
    const gzip = await frame(await collect(text, [compressStream(CODECS[1] as BucketCodec)]), 9000);
    expect((await run(gzip, [decompressStream(CODECS[1] as BucketCodec)])).error).toMatchObject({
      code: "ERR_CODEC_CORRUPT",
    });
  });
});

describe("a tampered frame", () => {
  const body = Buffer.from("gamma\t1\ndelta\t1\n".repeat(100));
  const label = "bucket j/x/m/0/0/p2";

  /** The frame with its body length field set to `length`. */
  async function withLength(length: bigint): Promise<Buffer> {
    const bucket = await frame(body, 4096);
    bucket.writeBigUInt64BE(length, 8);
    return bucket;
  }

  it("a body length past the end is refused, saying what it declares and what it holds", async () => {
    const { error } = await run(await withLength(5000n), [unpadStream({ label })]);
    expect(error).toMatchObject({
      code: "ERR_CODEC_PADDING",
      message: `${label} declares a padded body of 5000 bytes but holds only ${4096 - PAD_HEADER_LENGTH}`,
    });
  });

  it("a body length short of the body is refused: the rest of the body is not zero fill", async () => {
    const { error } = await run(await withLength(BigInt(body.length - 10)), [
      unpadStream({ label }),
    ]);
    expect(error).toMatchObject({
      code: "ERR_CODEC_PADDING",
      message: `${label} has a non-zero padding byte at offset ${PAD_HEADER_LENGTH + body.length - 10}: its declared body length (${body.length - 10}) is wrong, or the padding carries data`,
    });
  });

  it("a length no bucket could hold, a cut header, and data hidden in the fill are refused", async () => {
    expect((await run(await withLength(2n ** 60n), [unpadStream({ label })])).error).toMatchObject({
      code: "ERR_CODEC_PADDING",
      message: `${label} declares a padded body of ${2n ** 60n} bytes, more than any bucket holds`,
    });
    const cut = paddingHeader(body.length).subarray(0, 9);
    expect((await run(cut, [unpadStream({ label })])).error).toMatchObject({
      code: "ERR_CODEC_PADDING",
      message: `${label} ends inside its padding header (9 of 16 bytes)`,
    });
    for (const pieceSize of [1, 100, 64 * 1024]) {
      const hidden = await frame(body, 200_000);
      hidden[150_000] = 1;
      const { error } = await run(hidden, [unpadStream({ label })], pieceSize);
      expect(error).toMatchObject({
        code: "ERR_CODEC_PADDING",
        message: expect.stringContaining("has a non-zero padding byte at offset 150000"),
      });
    }
  });

  it("the writer refuses a body other than declared, and a padded length too short for it", async () => {
    const refused = async (bodyLength: number, length: number) =>
      (await run(padded(once(body), bodyLength, length), [])).error;
    expect(await refused(body.length + 1, 4096)).toMatchObject({
      message: `body: expected ${body.length + 1} bytes, got ${body.length}`,
    });
    expect(await refused(body.length - 1, 4096)).toMatchObject({
      message: `body: expected ${body.length - 1} bytes, got more`,
    });
    expect(await refused(body.length, body.length)).toMatchObject({
      code: "ERR_CODEC_ARGUMENT",
      message: expect.stringContaining(
        `paddedLength: expected a whole number of at least ${body.length + 16}`,
      ),
    });
  });
});
