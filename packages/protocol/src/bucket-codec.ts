// A bucket's plaintext encoding under its seal (none, gzip, brotli): shared by master and workers, so it sits in protocol beside the task exchange that names it.
/**
 * Sealed bytes are incompressible, so a bucket is compressed before `seal` and decompressed after
 * `open`. The job host names a job's codec in every task exchange; workers use it for what they
 * read and what they write. gzip is RFC 1952 and brotli RFC 7932, both from node:zlib.
 *
 * Opening is bounded: the job host knows each bucket's plaintext length (it counted its splits
 * itself, and writers declare theirs), so {@link decompressStream} fails as soon as the output
 * passes that length, before a decompression bomb can fill a disk, and fails at the end if it
 * falls short. zlib stops inflating while the output is not read, so the bound also bounds memory.
 */
import { PassThrough, Transform, type TransformCallback } from "node:stream";
import {
  type BrotliDecompress,
  constants,
  createBrotliCompress,
  createBrotliDecompress,
  createGunzip,
  createGzip,
  type Gunzip,
} from "node:zlib";
import { z } from "zod";

export const CODEC_NAMES = ["none", "gzip", "brotli"] as const;
export type CodecName = (typeof CODEC_NAMES)[number];

/** The levels each codec takes: zlib's 1 to 9, brotli's quality 0 to 11; "none" has only 0. */
export const CODEC_LEVELS: Record<CodecName, { min: number; max: number }> = {
  none: { min: 0, max: 0 },
  gzip: { min: 1, max: 9 },
  brotli: { min: 0, max: 11 },
};

export const bucketCodecSchema = z
  .object({ codec: z.enum(CODEC_NAMES), level: z.number().int() })
  .refine(
    ({ codec, level }) => level >= CODEC_LEVELS[codec].min && level <= CODEC_LEVELS[codec].max,
    { message: "level out of range for its codec", path: ["level"] },
  );
export type BucketCodec = z.infer<typeof bucketCodecSchema>;

/** What a task exchange without a `compression` field means (a job host from before it). */
export const NO_COMPRESSION: BucketCodec = { codec: "none", level: 0 };

export type CodecErrorCode =
  /** A codec or level that does not exist (a programming error). */
  | "ERR_CODEC_ARGUMENT"
  /** The compressed stream is not valid: corrupt, truncated, or another codec's. */
  | "ERR_CODEC_CORRUPT"
  /** The plaintext is longer than the bucket's declared length (maybe a decompression bomb). */
  | "ERR_CODEC_TOO_LONG"
  /** The plaintext ended before the bucket's declared length. */
  | "ERR_CODEC_TOO_SHORT"
  /** A padded bucket's frame does not hold up: no header, a wrong body length, or non-zero fill. */
  | "ERR_CODEC_PADDING";

export class CodecError extends Error {
  override readonly name = "CodecError";
  constructor(
    readonly code: CodecErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function checkCodec(codec: BucketCodec): BucketCodec {
  const parsed = bucketCodecSchema.safeParse(codec);
  if (!parsed.success) {
    const range = CODEC_LEVELS[codec.codec as CodecName];
    throw new CodecError(
      "ERR_CODEC_ARGUMENT",
      range
        ? `${codec.codec} level: expected a whole number from ${range.min} to ${range.max}, got ${String(codec.level)}`
        : `codec: expected one of ${CODEC_NAMES.join(", ")}, got ${String(codec.codec)}`,
    );
  }
  return parsed.data;
}

export interface CompressOptions {
  /** The plaintext's length if known: brotli tunes its window to it. */
  sizeHint?: number;
}

/** A Transform from plaintext to the codec's compressed stream ("none" passes bytes through). */
export function compressStream(codec: BucketCodec, options: CompressOptions = {}): Transform {
  const { codec: name, level } = checkCodec(codec);
  if (name === "none") return new PassThrough();
  if (name === "gzip") return createGzip({ level });
  return createBrotliCompress({
    params: {
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_QUALITY]: level,
      ...(options.sizeHint !== undefined && options.sizeHint > 0
        ? { [constants.BROTLI_PARAM_SIZE_HINT]: Math.min(options.sizeHint, 2 ** 32 - 1) }
        : {}),
    },
  });
}

export interface DecompressOptions {
  /**
   * The plaintext's declared length: more fails at once with `ERR_CODEC_TOO_LONG`, less at the end
   * with `ERR_CODEC_TOO_SHORT`. Without it only the codec's own checks apply.
   */
  plainBytes?: number;
  /** What is being opened, for messages: e.g. the bucket id. */
  label?: string;
}

/**
 * A Transform from the codec's compressed stream to plaintext, bounded by `plainBytes`. It errors
 * with CodecError: `ERR_CODEC_CORRUPT` for a stream the codec refuses (corrupt or truncated),
 * `ERR_CODEC_TOO_LONG` or `ERR_CODEC_TOO_SHORT` for a length other than the declared one. Output
 * before the error may already have been emitted: discard it all on error.
 */
export function decompressStream(codec: BucketCodec, options: DecompressOptions = {}): Transform {
  const { codec: name } = checkCodec(codec);
  const { plainBytes, label = "the bucket" } = options;
  if (plainBytes !== undefined && (!Number.isSafeInteger(plainBytes) || plainBytes < 0)) {
    throw new CodecError(
      "ERR_CODEC_ARGUMENT",
      `plainBytes: expected a non-negative whole number, got ${String(plainBytes)}`,
    );
  }
  const inner =
    name === "none" ? undefined : name === "gzip" ? createGunzip() : createBrotliDecompress();
  return new BoundedDecoder(name, inner, plainBytes, label);
}

/**
 * Feeds a zlib decoder (or nothing, for "none") and counts what comes out. A separate stream
 * rather than a listener on the decoder's output, so that backpressure reaches the decoder: it
 * stops inflating while this stream's reader is behind.
 */
class BoundedDecoder extends Transform {
  private bytes = 0;
  private ended = false;
  private pendingFlush: TransformCallback | undefined;

  constructor(
    private readonly codecName: CodecName,
    private readonly inner: Gunzip | BrotliDecompress | undefined,
    private readonly plainBytes: number | undefined,
    private readonly label: string,
  ) {
    super();
    if (!inner) return;
    inner.on("data", (chunk: Buffer) => {
      if (this.count(chunk) && !this.push(chunk)) inner.pause();
    });
    inner.on("error", (error) => {
      this.destroy(
        new CodecError(
          "ERR_CODEC_CORRUPT",
          `${label} is not a valid ${codecName} stream (corrupt or truncated): ${error.message}`,
          { cause: error },
        ),
      );
    });
    inner.on("end", () => {
      this.ended = true;
      if (this.pendingFlush) this.finish(this.pendingFlush);
    });
  }

  /** Adds `chunk` to the count; false (and the stream destroyed) once it passes the bound. */
  private count(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.plainBytes === undefined || this.bytes <= this.plainBytes) return true;
    this.inner?.destroy();
    this.destroy(
      new CodecError(
        "ERR_CODEC_TOO_LONG",
        `${this.label} opens to more than its declared ${this.plainBytes} bytes of plaintext (codec ${this.codecName}); refused as corrupt or a decompression bomb`,
      ),
    );
    return false;
  }

  private finish(callback: TransformCallback): void {
    if (this.plainBytes !== undefined && this.bytes < this.plainBytes) {
      callback(
        new CodecError(
          "ERR_CODEC_TOO_SHORT",
          `${this.label} opens to ${this.bytes} bytes of plaintext, not its declared ${this.plainBytes}`,
        ),
      );
      return;
    }
    callback();
  }

  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { inner } = this;
    if (!inner) {
      if (this.count(chunk)) callback(null, chunk);
      return;
    }
    if (inner.write(chunk)) callback();
    else inner.once("drain", () => callback());
  }

  override _flush(callback: TransformCallback): void {
    if (!this.inner || this.ended) {
      this.finish(callback);
      return;
    }
    this.pendingFlush = callback;
    this.inner.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner?.destroy();
    callback(error);
  }
}
