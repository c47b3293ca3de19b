// Hadoop's HashPartitioner over a key's bytes, so every process (and Hadoop itself) agrees on partitions.

/**
 * `WritableComparator.hashBytes` (hash = 31 * hash + signed byte, from 1) over a byte string:
 * a string whose char codes are the key's bytes (0–255), as the engine keeps records.
 */
export function hashByteString(s: string, end = s.length): number {
  let hash = 1;
  for (let i = 0; i < end; i++) {
    const b = s.charCodeAt(i);
    hash = (Math.imul(31, hash) + (b > 127 ? b - 256 : b)) | 0;
  }
  return hash;
}

/** `(hash & Integer.MAX_VALUE) % numPartitions`, as Hadoop's HashPartitioner. */
export function partitionOf(hash: number, numPartitions: number): number {
  return (hash & 0x7fffffff) % numPartitions;
}

export function partitionByteKey(key: string, numPartitions: number, keyLength = key.length) {
  return numPartitions <= 1 ? 0 : partitionOf(hashByteString(key, keyLength), numPartitions);
}
