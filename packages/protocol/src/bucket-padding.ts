// Shuffle-size padding (`tormr.shuffle.padding`): the frame that pads a map-output partition under its seal, and the one size all of a map task's partitions are padded to.
/**
 * A partition bucket's ciphertext size is seen by the store, by reducers and (to within Tor's
 * cells) by anyone watching the traffic, and R partition sizes per map are the key distribution,
 * the leakage Ohrimenko et al. ("Observing and Preventing Leakage in MapReduce", CCS 2015, §3) and
 * M2R (Dinh et al., USENIX Security 2015, §2) describe. With padding, every partition of a map task
 * is stored at the same ciphertext size.
 *
 * Format, inside the seal and after compression (integers big-endian):
 *
 *     padded = "TMRPAD01" (8) ‖ body length n (u64) ‖ body (n bytes) ‖ fill (zero bytes)
 *
 * The body is the compressed partition, exactly what an unpadded bucket holds. The fill is zeros,
 * which XChaCha20 makes indistinguishable from data; {@link unpadStream} refuses any other byte,
 * so a bucket's padding can carry nothing. Whether a bucket is framed is the job's setting, never
 * guessed from its bytes: an unpadded bucket (any job without the setting) reads as it always did.
 *
 * The size ({@link planPadding}): the largest partition's sealed size, rounded up to a size class
 * ({@link sizeClass}), then nudged up by the few bytes that let every bucket reach it exactly (a
 * sealed length skips 16 values at each chunk boundary, and the ids `…/p9` and `…/p10` differ by a
 * byte). Equal sizes within a task are what hide the distribution; the class only coarsens the one
 * number left per task, its largest partition, which otherwise would tell, split by split, how
 * concentrated its keys are.
 *
 * What still leaks: each map task's padded size, so the size class of its largest partition and
 * an upper bound of R times that on its output (which its split's size roughly gives anyway); the
 * number of partitions; the reduce side's part files, which are not padded; and timing.
 */
import { Transform, type TransformCallback } from "node:stream";
import { DEFAULT_CHUNK_SIZE, sealedLength } from "@tormr/crypto/bucket-seal";
import { CodecError } from "./bucket-codec.ts";

/** "TMRPAD01": a TorMR padded body, format 1. */
export const PAD_MAGIC = Buffer.from("TMRPAD01", "latin1");
/** magic (8) ‖ body length (u64). */
export const PAD_HEADER_LENGTH = 16;
/**
 * The smallest padded bucket, one seal chunk: every partition that seals to 64 KiB or less looks
 * the same. Moving that much over an onion circuit costs its round trips (hundreds of ms on the
 * live network) far more than its bytes, so the floor costs little time; it does cost store space
 * and traffic, at least M × R × 64 KiB for a job of M maps and R reduces.
 */
export const PADDING_FLOOR = 64 * 1024;

const ZEROS = Buffer.alloc(64 * 1024);

/**
 * The size class of `bytes`: {@link PADDING_FLOOR} at least, and above it Padmé (Nikitin et al.,
 * "Reducing Metadata Leakage from Encrypted Files and Communication with PURBs", PoPETs 2019(4),
 * §4): keep the top ⌊log₂ E⌋ + 1 bits of a length in [2^E, 2^(E+1)) and round the rest up.
 *
 * Why Padmé, not the next power of two or the next multiple of 64 KiB: a power of two leaks the
 * least (one class per doubling) but costs up to 100% more bytes, over Tor and in the store, on
 * top of what equalising the R partitions already costs; a multiple of 64 KiB costs at most
 * 64 KiB but leaks the size to 64 KiB (some 16 000 classes under 1 GiB). Padmé leaks O(log log L)
 * bits (32 classes per doubling from 64 KiB to 4 GiB, about 450 in all under 1 GiB) for at most
 * 1/32 (3.1%) more bytes at these sizes.
 */
export function sizeClass(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new CodecError(
      "ERR_CODEC_ARGUMENT",
      `bytes: expected a non-negative whole number, got ${String(bytes)}`,
    );
  }
  if (bytes <= PADDING_FLOOR) return PADDING_FLOOR;
  let e = Math.floor(Math.log2(bytes));
  // Math.log2 may round near a power of two: pin E so that 2^E ≤ bytes < 2^(E+1).
  if (2 ** e > bytes) e--;
  else if (2 ** (e + 1) <= bytes) e++;
  const step = 2 ** (e - Math.floor(Math.log2(e)) - 1);
  return Math.ceil(bytes / step) * step;
}

/** One partition's compressed body, before padding: its bucket id and length. */
export interface PaddingBody {
  id: string;
  bytes: number;
}

export interface PaddingPlan {
  /** The ciphertext size every bucket of the task is stored at. */
  sealedSize: number;
  /** Each bucket's padded plaintext length (frame included), in the order given. */
  plainLengths: number[];
  /** The ciphertext bytes padding adds over the buckets sealed unpadded, summed. */
  paddingBytes: number;
}

/** A sealed bucket's fixed overhead under `id`: its header, and the tag every chunk carries. */
function sealGeometry(id: string, chunkSize: number): { header: number; tag: number } {
  const empty = sealedLength(0, chunkSize, id);
  const tag = sealedLength(chunkSize, chunkSize, id) - empty - chunkSize;
  return { header: empty - tag, tag };
}

/** The plaintext length that seals to exactly `sealed` bytes under `id`, if one does. */
function plainLengthFor(sealed: number, id: string, chunkSize: number): number | undefined {
  const { header, tag } = sealGeometry(id, chunkSize);
  // sealed = header + L + tag × n with n = ⌊L/C⌋ + 1 chunks: n is the one that leaves L in its range.
  const rest = sealed - header;
  const chunks = Math.floor(rest / (chunkSize + tag)) + 1;
  const length = rest - tag * chunks;
  return length >= 0 && sealedLength(length, chunkSize, id) === sealed ? length : undefined;
}

/**
 * How a map task pads its partitions: the one sealed size for all of them (see the module's
 * docblock) and each one's padded plaintext length. `chunkSize` is the seal's.
 */
export function planPadding(
  bodies: readonly PaddingBody[],
  chunkSize = DEFAULT_CHUNK_SIZE,
): PaddingPlan {
  if (bodies.length === 0) return { sealedSize: 0, plainLengths: [], paddingBytes: 0 };
  const least = (b: PaddingBody) => sealedLength(PAD_HEADER_LENGTH + b.bytes, chunkSize, b.id);
  let sealedSize = sizeClass(Math.max(...bodies.map(least)));
  // Each id misses 16 sizes per chunk boundary; a chunk's worth of tries always finds a common one.
  for (let tries = 0; ; tries++, sealedSize++) {
    const lengths = bodies.map((b) => plainLengthFor(sealedSize, b.id, chunkSize));
    if (lengths.every((l) => l !== undefined)) {
      const unpadded = bodies.reduce((n, b) => n + sealedLength(b.bytes, chunkSize, b.id), 0);
      return {
        sealedSize,
        plainLengths: lengths,
        paddingBytes: sealedSize * bodies.length - unpadded,
      };
    }
    if (tries > chunkSize) {
      throw new CodecError(
        "ERR_CODEC_ARGUMENT",
        `no sealed size from ${sealedSize - tries} to ${sealedSize} fits every bucket id given`,
      );
    }
  }
}

/** The frame's header for a body of `bodyLength` bytes. */
export function paddingHeader(bodyLength: number): Buffer {
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) {
    throw new CodecError(
      "ERR_CODEC_ARGUMENT",
      `bodyLength: expected a non-negative whole number, got ${String(bodyLength)}`,
    );
  }
  const header = Buffer.alloc(PAD_HEADER_LENGTH);
  PAD_MAGIC.copy(header, 0);
  header.writeBigUInt64BE(BigInt(bodyLength), 8);
  return header;
}

/**
 * The padded plaintext of `body` (exactly `bodyLength` bytes): header, body, then zeros up to
 * `paddedLength` bytes in all. Streams: it holds no more than one chunk of the body at a time.
 */
export async function* padded(
  body: AsyncIterable<Buffer>,
  bodyLength: number,
  paddedLength: number,
): AsyncGenerator<Buffer> {
  const header = paddingHeader(bodyLength);
  if (!Number.isSafeInteger(paddedLength) || paddedLength < PAD_HEADER_LENGTH + bodyLength) {
    throw new CodecError(
      "ERR_CODEC_ARGUMENT",
      `paddedLength: expected a whole number of at least ${PAD_HEADER_LENGTH + bodyLength} (the frame's header and a body of ${bodyLength} bytes), got ${String(paddedLength)}`,
    );
  }
  yield header;
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (seen > bodyLength) break;
    yield chunk;
  }
  if (seen !== bodyLength) {
    throw new CodecError(
      "ERR_CODEC_ARGUMENT",
      `body: expected ${bodyLength} bytes, got ${seen > bodyLength ? "more" : seen}`,
    );
  }
  for (let left = paddedLength - PAD_HEADER_LENGTH - bodyLength; left > 0; left -= ZEROS.length) {
    yield left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left);
  }
}

export interface UnpadOptions {
  /** What is being opened, for messages: e.g. the bucket id. */
  label?: string;
}

/**
 * A Transform from a padded plaintext to its body (what goes on to `decompressStream`). It errors
 * with CodecError `ERR_CODEC_PADDING` on a bucket without the frame's header, one that ends before
 * the body length its header declares, and fill that is not all zeros (a wrong body length, or
 * something hidden in the padding). Output before the error may already have been emitted.
 */
export function unpadStream(options: UnpadOptions = {}): Transform {
  return new Unpadder(options.label ?? "the bucket");
}

class Unpadder extends Transform {
  private header: Buffer[] = [];
  private headerBytes = 0;
  private bodyLength = -1;
  /** Body bytes still to pass; once 0, everything else is fill. */
  private bodyLeft = 0;
  private fillSeen = 0;

  constructor(private readonly label: string) {
    super();
  }

  private fail(message: string): CodecError {
    return new CodecError("ERR_CODEC_PADDING", `${this.label} ${message}`);
  }

  /** Takes the header out of `chunk` once it is whole; what follows it, or undefined to wait. */
  private takeHeader(chunk: Buffer): Buffer | undefined {
    const need = PAD_HEADER_LENGTH - this.headerBytes;
    this.header.push(chunk.subarray(0, need));
    this.headerBytes += Math.min(need, chunk.length);
    if (this.headerBytes < PAD_HEADER_LENGTH) return undefined;
    const header = Buffer.concat(this.header);
    this.header = [];
    if (!header.subarray(0, PAD_MAGIC.length).equals(PAD_MAGIC)) {
      throw this.fail(
        "has no padding header: a job with tormr.shuffle.padding pads every map-output partition (was it written by a worker that ignores the setting?)",
      );
    }
    const length = header.readBigUInt64BE(PAD_MAGIC.length);
    if (length > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw this.fail(`declares a padded body of ${length} bytes, more than any bucket holds`);
    }
    this.bodyLength = Number(length);
    this.bodyLeft = this.bodyLength;
    return chunk.subarray(need);
  }

  private checkFill(fill: Buffer): void {
    for (let at = 0; at < fill.length; at += ZEROS.length) {
      const piece = fill.subarray(at, at + ZEROS.length);
      if (piece.equals(ZEROS.subarray(0, piece.length))) continue;
      const offset = PAD_HEADER_LENGTH + this.bodyLength + this.fillSeen + at;
      const index = piece.findIndex((byte) => byte !== 0);
      throw this.fail(
        `has a non-zero padding byte at offset ${offset + index}: its declared body length (${this.bodyLength}) is wrong, or the padding carries data`,
      );
    }
    this.fillSeen += fill.length;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      let rest: Buffer | undefined = chunk;
      if (this.bodyLength < 0) rest = this.takeHeader(chunk);
      if (!rest || rest.length === 0) {
        callback();
        return;
      }
      const body = rest.subarray(0, this.bodyLeft);
      this.bodyLeft -= body.length;
      this.checkFill(rest.subarray(body.length));
      callback(null, body.length > 0 ? body : undefined);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.bodyLength < 0) {
      callback(
        this.fail(
          `ends inside its padding header (${this.headerBytes} of ${PAD_HEADER_LENGTH} bytes)`,
        ),
      );
    } else if (this.bodyLeft > 0) {
      callback(
        this.fail(
          `declares a padded body of ${this.bodyLength} bytes but holds only ${this.bodyLength - this.bodyLeft}`,
        ),
      );
    } else callback();
  }
}
