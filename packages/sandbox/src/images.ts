// Builds the project's standard Docker images from host files with `docker import`, once per content hash.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { dockerEnv } from "./dockerd.ts";
import { SandboxError } from "./sandbox.ts";

const exec = promisify(execFile);

export type ImageKind = "python" | "node";

/** Bumped when the layout below changes, so that old tags are not reused. */
const LAYOUT_VERSION = "2";

/** Small tools that streaming jobs commonly pipe through. */
const TOOLS = [
  ...["sh", "dash", "cat", "cut", "head", "tail", "sort", "uniq", "wc", "tr", "env", "tee"],
  ...["sleep", "echo", "true", "false", "ls", "mkdir", "rm", "grep", "sed", "awk"],
  ...["basename", "dirname", "xargs", "printf", "expr", "test", "seq", "od", "rev", "paste"],
  ...["join"],
];
const TOOL_DIR = "/usr/bin";

const STATIC_FILES: Record<string, string> = {
  "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/sh\n",
  "/etc/group": "root:x:0:\nnogroup:x:65534:\n",
};
const SYMLINKS: Record<string, string> = {
  "/bin": "usr/bin",
  "/sbin": "usr/sbin",
  "/lib": "usr/lib",
  "/lib64": "usr/lib64",
};

export interface ImageOptions {
  /** DOCKER_HOST; the environment's when absent. */
  host?: string;
}

/** The host files that make up an image: path inside it → path on the host. */
export async function imageFiles(kind: ImageKind): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const binaries = TOOLS.map((tool) => join(TOOL_DIR, tool)).filter((path) => existsSync(path));
  if (kind === "python") {
    const python = realpathSync("/usr/bin/python3");
    binaries.push(python);
    files.set("/usr/bin/python3", python);
    const stdlib = join("/usr/lib", python.split("/").pop() as string);
    for (const path of walk(stdlib)) {
      files.set(path, path);
      if (path.endsWith(".so")) binaries.push(path);
    }
  } else {
    binaries.push("/usr/bin/node");
  }
  for (const binary of binaries) files.set(binary, binary);
  for (const library of await sharedLibraries(binaries)) files.set(insideUsr(library), library);
  return files;
}

/** The tag of an image's current content: `tormr/<kind>:<hash>`. */
export async function imageTag(kind: ImageKind, files?: Map<string, string>): Promise<string> {
  const hash = createHash("sha256").update(`tormr-image ${LAYOUT_VERSION} ${kind}\0`);
  const content = files ?? (await imageFiles(kind));
  for (const path of [...content.keys()].sort()) {
    const source = content.get(path) as string;
    hash.update(`${path}\0${statSync(source).mode & 0o777}\0`);
    hash.update(readFileSync(source));
  }
  hash.update(JSON.stringify([STATIC_FILES, SYMLINKS]));
  return `tormr/${kind}:${hash.digest("hex").slice(0, 16)}`;
}

/** Builds `tormr/<kind>:<hash>` unless that tag already exists; returns the tag. */
export async function ensureImage(kind: ImageKind, options: ImageOptions = {}): Promise<string> {
  const env = dockerEnv(options.host);
  const files = await imageFiles(kind);
  const tag = await imageTag(kind, files);
  const exists = await exec("docker", ["image", "inspect", tag], { env }).then(
    () => true,
    () => false,
  );
  if (exists) return tag;
  const rootfs = mkdtempSync(join(tmpdir(), `tormr-image-${kind}-`));
  try {
    writeRootfs(rootfs, files);
    await importRootfs(rootfs, tag, env);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
  return tag;
}

function writeRootfs(rootfs: string, files: Map<string, string>): void {
  for (const [path, source] of files) {
    const target = join(rootfs, path);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, target);
    chmodSync(target, statSync(source).mode & 0o777);
  }
  for (const [path, content] of Object.entries(STATIC_FILES)) {
    mkdirSync(dirname(join(rootfs, path)), { recursive: true });
    writeFileSync(join(rootfs, path), content);
  }
  for (const [path, target] of Object.entries(SYMLINKS)) {
    mkdirSync(join(rootfs, "usr", target.slice("usr/".length)), { recursive: true });
    symlinkSync(target, join(rootfs, path));
  }
  // Docker copies the image's /tmp mode onto the tmpfs mounted there, so it must be 1777.
  for (const dir of ["tmp", "job"]) {
    mkdirSync(join(rootfs, dir));
    chmodSync(join(rootfs, dir), 0o1777);
  }
}

function importRootfs(rootfs: string, tag: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn(
      "tar",
      ["-C", rootfs, "--numeric-owner", "--owner=0", "--group=0", "-c", "."],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const importer = spawn(
      "docker",
      ["import", "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin", "-", tag],
      { env, stdio: ["pipe", "ignore", "pipe"] },
    );
    tar.stdout.pipe(importer.stdin);
    let stderr = "";
    importer.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    importer.on("error", reject);
    importer.on("close", (code) => {
      if (code === 0) resolve();
      else
        reject(new SandboxError("ERR_IMAGE", `docker import of ${tag} failed: ${stderr.trim()}`));
    });
  });
}

/** Every shared library the binaries load, as ldd resolves them on this host. */
async function sharedLibraries(binaries: string[]): Promise<Set<string>> {
  const outputs = await Promise.all(
    binaries.map((binary) =>
      exec("ldd", [binary]).then(
        ({ stdout }) => stdout,
        () => "", // "not a dynamic executable"
      ),
    ),
  );
  const libraries = new Set<string>();
  for (const output of outputs) {
    for (const match of output.matchAll(/(\/\S+) \(0x[0-9a-f]+\)/g)) {
      libraries.add(match[1] as string);
    }
  }
  return libraries;
}

/** The image has /lib → usr/lib (merged /usr, as Debian 12), so libraries live under /usr. */
function insideUsr(path: string): string {
  return /^\/(bin|sbin|lib|lib64)\//.test(path) ? `/usr${path}` : path;
}

/** Regular files under a folder (following links to files, skipping dangling ones). */
function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile() || (entry.isSymbolicLink() && isFile(path))) yield path;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
