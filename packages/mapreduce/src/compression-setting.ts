// The `tormr.compression` job setting: how a job's buckets are compressed before they are sealed, and its measured default.
import { MapReduceError } from "./errors.ts";

export const COMPRESSION_KEY = "tormr.compression";

/** The codecs, with their level ranges; packages/protocol's bucket-codec.ts implements them. */
export const COMPRESSION_LEVELS = {
  none: { min: 0, max: 0 },
  gzip: { min: 1, max: 9 },
  brotli: { min: 0, max: 11 },
} as const;
export type CompressionCodec = keyof typeof COMPRESSION_LEVELS;

export interface Compression {
  codec: CompressionCodec;
  level: number;
}

/** The level `gzip` or `brotli` means without one: each codec's pick under the rule below. */
export const DEFAULT_LEVELS: Record<CompressionCodec, number> = { none: 0, gzip: 6, brotli: 6 };

/**
 * brotli at quality 6, by measurement (`node --import tsx bench/compression.ts`, this machine, 2
 * cores, node 20.20.2 with zlib 1.3.1 and brotli 1.1.0; 24 MiB of man and doc pages, and 24 MiB of
 * a word count's map output, `word\t1` lines sorted as a partition is; best of 3, through the
 * job's own 64 KiB streams; MB = 10^6 bytes; speeds vary by about a third from run to run):
 *
 *     codec     data        ratio   % sent  compress MB/s  decompress MB/s
 *     gzip:1    text         4.96x   20.2%        192             176
 *     gzip:1    map output  62.61x    1.6%        873             465
 *     gzip:3    text         5.33x   18.8%        127             236
 *     gzip:3    map output  64.13x    1.6%        603             292
 *     gzip:6    text         6.43x   15.6%         69             415
 *     gzip:6    map output 116.24x    0.9%        316             390
 *     brotli:1  text         4.83x   20.7%        368             365
 *     brotli:1  map output 114.02x    0.9%       1787             477
 *     brotli:4  text         9.02x   11.1%         89             398
 *     brotli:4  map output 149.05x    0.7%        876             595
 *     brotli:6  text        10.00x   10.0%         59             233
 *     brotli:6  map output 151.94x    0.7%        609             306
 *
 * The rule: the fewest bytes sent, among codecs that compress (and decompress) at 30 MB/s or more,
 * three times what one onion stream moves on the private Tor network (5 to 10 MB/s), so that
 * compression never becomes the slower end of a transfer. brotli:6 sends 10% of the text and 0.7%
 * of the map output at about 60 MB/s; gzip:6, the best gzip, sends half as much again of the text.
 */
export const DEFAULT_COMPRESSION: Compression = { codec: "brotli", level: DEFAULT_LEVELS.brotli };

const ALLOWED = "none, gzip, brotli, or gzip:<1-9>, brotli:<0-11>";

/**
 * Reads `-D tormr.compression=<codec>[:<level>]`.
 * @throws MapReduceError `ERR_BAD_CONF` naming the key, the value and what is allowed.
 */
export function compressionSetting(conf: Record<string, string>): Compression {
  const raw = conf[COMPRESSION_KEY];
  if (raw === undefined) return DEFAULT_COMPRESSION;
  const bad = (why: string) =>
    new MapReduceError(
      "ERR_BAD_CONF",
      `-D ${COMPRESSION_KEY}=${raw}: ${why}; expected ${ALLOWED}, got '${raw}'`,
    );
  const match = /^([a-z]+)(?::([0-9]+))?$/.exec(raw.trim().toLowerCase());
  const codec = match?.[1];
  if (!match || !codec || !Object.hasOwn(COMPRESSION_LEVELS, codec)) throw bad("unknown codec");
  const name = codec as CompressionCodec;
  if (match[2] === undefined) return { codec: name, level: DEFAULT_LEVELS[name] };
  if (name === "none") throw bad("none takes no level");
  const level = Number(match[2]);
  const { min, max } = COMPRESSION_LEVELS[name];
  if (level < min || level > max) throw bad(`${name} levels run from ${min} to ${max}`);
  return { codec: name, level };
}
