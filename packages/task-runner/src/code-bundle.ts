// The job's code as one content-addressed tar: the job host packs the scripts and `-file`s, the worker checks and unpacks.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { create, extract } from "tar";

export interface CodeBundle {
  path: string;
  /** sha256 hex of the tar file's bytes. */
  digest: string;
  bytes: number;
  /** The bundle's top-level entry names, sorted. */
  names: string[];
}

/** An empty tar archive: two 512-byte blocks of zeros. */
const EMPTY_TAR_BYTES = 1024;

export class BundleError extends Error {
  override readonly name = "BundleError";
  constructor(
    readonly code: "ERR_BUNDLE_NAME" | "ERR_BUNDLE_DIGEST" | "ERR_BUNDLE_FORMAT",
    message: string,
  ) {
    super(message);
  }
}

/** A name the worker can trust as a single path segment. */
function checkName(name: string): void {
  if (!/^[A-Za-z0-9._+-]+$/.test(name) || name === "." || name === "..") {
    throw new BundleError(
      "ERR_BUNDLE_NAME",
      `code bundle entry '${name}': expected a plain file name (letters, digits, . _ + -)`,
    );
  }
}

/**
 * Packs `files` (absolute paths, each a file or folder) into `out` as a tar with fixed order,
 * owners and times, so that the same code always has the same digest.
 * @throws BundleError when two files share a name, or a name is not a plain file name.
 */
export async function packBundle(files: string[], out: string): Promise<CodeBundle> {
  const names = files.map((file) => basename(file));
  for (const name of names) checkName(name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) {
    throw new BundleError("ERR_BUNDLE_NAME", `two files are both named '${duplicate}'`);
  }
  // One staging folder holds them all, so the tar can name them relative to it.
  const staging = await mkdtemp(join(dirname(out), ".bundle-"));
  try {
    for (const file of files) {
      await cp(file, join(staging, basename(file)), { recursive: true, dereference: true });
    }
    const sorted = [...names].sort();
    if (sorted.length === 0) {
      // A job with no shipped files (`-mapper cat`): tar's own empty archive, two zero blocks.
      await writeFile(out, Buffer.alloc(EMPTY_TAR_BYTES));
      return { path: out, ...(await digestOf(out)), names: [] };
    }
    await create(
      { file: out, cwd: staging, portable: true, noMtime: true, mtime: new Date(0) },
      sorted,
    );
    const { digest, bytes } = await digestOf(out);
    return { path: out, digest, bytes, names: sorted };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export async function digestOf(path: string): Promise<{ digest: string; bytes: number }> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return { digest: hash.digest("hex"), bytes: (await stat(path)).size };
}

/**
 * Unpacks a bundle into the empty folder `dir` after checking its digest. Only files and folders
 * are kept: links, devices and absolute or `..` paths are refused, so a bundle cannot write
 * outside `dir`. Nothing is left in `dir` when it fails.
 */
export async function unpackBundle(path: string, digest: string, dir: string): Promise<string[]> {
  const actual = await digestOf(path);
  if (actual.digest !== digest) {
    throw new BundleError(
      "ERR_BUNDLE_DIGEST",
      `the code bundle's sha256 is ${actual.digest}, not the announced ${digest}`,
    );
  }
  await mkdir(dir, { recursive: true });
  if (actual.bytes === EMPTY_TAR_BYTES && (await readFile(path)).every((byte) => byte === 0)) {
    return []; // tar's empty archive, which node-tar's strict reader does not take
  }
  let refused: string | undefined;
  try {
    await extract({
      file: path,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter: (entry, info) => {
        const type = "type" in info ? info.type : "File";
        const ok = (type === "File" || type === "Directory") && !entry.split("/").includes("..");
        if (!ok) refused ??= entry;
        return ok;
      },
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new BundleError("ERR_BUNDLE_FORMAT", `the code bundle is not a valid tar: ${error}`);
  }
  if (refused) {
    await rm(dir, { recursive: true, force: true });
    throw new BundleError(
      "ERR_BUNDLE_FORMAT",
      `the code bundle holds '${refused}', which is not a plain file`,
    );
  }
  return (await readdir(dir)).sort();
}
