import { randomBytes } from "node:crypto";
import { Readable, type Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  type BucketCodec,
  bucketCodecSchema,
  CodecError,
  compressStream,
  decompressStream,
} from "./bucket-codec.ts";

const CODECS: BucketCodec[] = [
  { codec: "none", level: 0 },
  { codec: "gzip", level: 1 },
  { codec: "gzip", level: 6 },
  { codec: "brotli", level: 1 },
  { codec: "brotli", level: 5 },
];
const GZIP: BucketCodec = { codec: "gzip", level: 6 };
const BROTLI: BucketCodec = { codec: "brotli", level: 4 };

/** Text that compresses like map output: sorted `word\t1` lines. */
function wordLines(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `w${(i * 7919) % 5000}\t1\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.sort().join("").slice(0, bytes));
}

/** Pieces of `data` cut every `size` bytes, as a file read or a sealed chunk hands them out. */
function pieces(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** Runs `data` through `transform`; what came out before it ended or failed, and the error. */
async function run(
  transform: Transform,
  data: Buffer,
  pieceSize = 64 * 1024,
): Promise<{ out: Buffer; error: unknown }> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  const error = await pipeline(Readable.from(pieces(data, pieceSize)), transform, sink).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { out: Buffer.concat(parts), error };
}

async function compress(codec: BucketCodec, data: Buffer): Promise<Buffer> {
  const { out, error } = await run(compressStream(codec, { sizeHint: data.length }), data);
  expect(error).toBeUndefined();
  return out;
}

describe("round trip", () => {
  for (const codec of CODECS) {
    it(`${codec.codec} level ${codec.level}: empty, one byte, text and random bytes come back the same`, async () => {
      for (const data of [
        Buffer.alloc(0),
        Buffer.from("x"),
        wordLines(300_000),
        randomBytes(200_000),
      ]) {
        const packed = await compress(codec, data);
        for (const pieceSize of [1 << 20, 4096, 7]) {
          if (pieceSize === 7 && packed.length > 50_000) continue;
          const opened = await run(
            decompressStream(codec, { plainBytes: data.length }),
            packed,
            pieceSize,
          );
          expect(opened.error).toBeUndefined();
          expect(opened.out.equals(data)).toBe(true);
        }
      }
    });
  }

  it("'none' passes the bytes through as they are; gzip and brotli shrink text", async () => {
    const text = wordLines(500_000);
    expect((await compress({ codec: "none", level: 0 }, text)).equals(text)).toBe(true);
    expect((await compress(GZIP, text)).length).toBeLessThan(text.length / 4);
    expect((await compress(BROTLI, text)).length).toBeLessThan(text.length / 4);
  });

  it("opens without a declared length too", async () => {
    const text = wordLines(100_000);
    const opened = await run(decompressStream(BROTLI), await compress(BROTLI, text));
    expect(opened.out.equals(text)).toBe(true);
  });
});

describe("a bad stream", () => {
  for (const codec of [GZIP, BROTLI]) {
    it(`${codec.codec}: a truncated stream fails with ERR_CODEC_CORRUPT, naming the bucket`, async () => {
      const packed = await compress(codec, wordLines(200_000));
      for (const keep of [0.5, 0.99]) {
        const cut = packed.subarray(0, Math.floor(packed.length * keep));
        const { error } = await run(decompressStream(codec, { label: "bucket j/x/m/0/0/p1" }), cut);
        expect(error).toBeInstanceOf(CodecError);
        expect(error).toMatchObject({
          code: "ERR_CODEC_CORRUPT",
          message: expect.stringMatching(
            new RegExp(`^bucket j/x/m/0/0/p1 is not a valid ${codec.codec} stream`),
          ),
        });
      }
    });
  }

  it("gzip: a flipped byte fails (its CRC-32 catches what inflate does not)", async () => {
    const packed = await compress(GZIP, wordLines(200_000));
    for (const at of [10, Math.floor(packed.length / 2), packed.length - 6]) {
      const bad = Buffer.from(packed);
      bad[at] = (bad[at] as number) ^ 0x10;
      const { error } = await run(decompressStream(GZIP), bad);
      expect(error).toMatchObject({ code: "ERR_CODEC_CORRUPT" });
    }
  });

  it("another codec's stream, or plain bytes, fail with ERR_CODEC_CORRUPT", async () => {
    const text = wordLines(50_000);
    expect((await run(decompressStream(BROTLI), await compress(GZIP, text))).error).toMatchObject({
      code: "ERR_CODEC_CORRUPT",
    });
    expect((await run(decompressStream(GZIP), text)).error).toMatchObject({
      code: "ERR_CODEC_CORRUPT",
    });
  });
});

describe("the declared length", () => {
  const zeros = Buffer.alloc(64 * 1024 * 1024);

  for (const codec of [GZIP, BROTLI]) {
    it(`${codec.codec}: a bomb (64 MiB of zeros) declared as 1 MiB stops at 1 MiB with ERR_CODEC_TOO_LONG`, async () => {
      const bomb = await compress(codec, zeros);
      expect(bomb.length).toBeLessThan(zeros.length / 100);
      const { out, error } = await run(
        decompressStream(codec, { plainBytes: 1024 * 1024, label: "bucket b" }),
        bomb,
      );
      expect(error).toMatchObject({
        code: "ERR_CODEC_TOO_LONG",
        message: expect.stringContaining("bucket b opens to more than its declared 1048576 bytes"),
      });
      expect(out.length).toBeLessThanOrEqual(1024 * 1024);
    });
  }

  it("'none' holds to it too: one byte more is refused, one byte less as well", async () => {
    const none: BucketCodec = { codec: "none", level: 0 };
    const data = randomBytes(10_000);
    expect((await run(decompressStream(none, { plainBytes: 9_999 }), data)).error).toMatchObject({
      code: "ERR_CODEC_TOO_LONG",
    });
    expect((await run(decompressStream(none, { plainBytes: 10_001 }), data)).error).toMatchObject({
      code: "ERR_CODEC_TOO_SHORT",
      message: "the bucket opens to 10000 bytes of plaintext, not its declared 10001",
    });
  });

  it("a stream shorter than declared fails at its end with ERR_CODEC_TOO_SHORT", async () => {
    const text = wordLines(100_000);
    const { error } = await run(
      decompressStream(GZIP, { plainBytes: text.length + 1 }),
      gzipSync(text),
    );
    expect(error).toMatchObject({ code: "ERR_CODEC_TOO_SHORT" });
  });
});

describe("arguments", () => {
  it("refuses a level out of its codec's range, and an unknown codec, by name", () => {
    expect(() => compressStream({ codec: "gzip", level: 10 })).toThrow(
      "gzip level: expected a whole number from 1 to 9, got 10",
    );
    expect(() => decompressStream({ codec: "brotli", level: 12 })).toThrow(
      "brotli level: expected a whole number from 0 to 11, got 12",
    );
    expect(() => compressStream({ codec: "zstd", level: 3 } as unknown as BucketCodec)).toThrow(
      "codec: expected one of none, gzip, brotli, got zstd",
    );
    expect(() => decompressStream(GZIP, { plainBytes: -1 })).toThrow(CodecError);
    expect(bucketCodecSchema.safeParse({ codec: "none", level: 3 }).success).toBe(false);
  });
});
