#!/usr/bin/env node
// Packs tormr-worker for volunteers: one esbuild bundle in a staging package with no dependencies, then `npm pack`.
// Usage: node scripts/pack.mjs [--out-dir DIR]   (default apps/worker/dist); prints the tarball path on stdout.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const WORKER = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO = resolve(WORKER, "../..");
const BIN = "tormr-worker.mjs";

const { values } = parseArgs({ options: { "out-dir": { type: "string" } } });
const outDir = resolve(values["out-dir"] ?? join(WORKER, "dist"));
const stage = join(outDir, "package");
const started = performance.now();
rmSync(stage, { recursive: true, force: true });
mkdirSync(join(stage, "systemd"), { recursive: true });

// The workspace packages export TypeScript source, so everything (theirs and npm's) goes into one file.
await build({
  entryPoints: [join(WORKER, "src/cli/entry.ts")],
  outfile: join(stage, BIN),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // CommonJS dependencies (pino, commander) call require() for Node's own modules; ESM has none.
  banner: {
    js: [
      "#!/usr/bin/env node",
      'import { createRequire as __tormrCreateRequire } from "node:module";',
      "const require = __tormrCreateRequire(import.meta.url);",
    ].join("\n"),
  },
  legalComments: "eof",
  logLevel: "warning",
});
chmodSync(join(stage, BIN), 0o755);

const workspace = JSON.parse(readFileSync(join(WORKER, "package.json"), "utf8"));
const manifest = {
  name: "tormr-worker",
  version: workspace.version,
  description: workspace.description,
  type: "module",
  bin: { "tormr-worker": BIN },
  files: [BIN, "README.md", "systemd/"],
  engines: { node: ">=20" },
};
writeFileSync(join(stage, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
copyFileSync(join(REPO, "docs/volunteer.md"), join(stage, "README.md"));
copyFileSync(
  join(WORKER, "systemd/tormr-worker.service"),
  join(stage, "systemd/tormr-worker.service"),
);

const packed = execFileSync(
  "npm",
  ["pack", "--json", "--pack-destination", outDir, "--ignore-scripts"],
  { cwd: stage, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
);
const [{ filename, size, unpackedSize }] = JSON.parse(packed);
const tarball = join(outDir, filename);
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
process.stderr.write(
  `tormr-worker: bundle ${kib(statSync(join(stage, BIN)).size)}, tarball ${kib(size)} ` +
    `(${kib(unpackedSize)} unpacked), in ${Math.round(performance.now() - started)} ms\n`,
);
process.stdout.write(`${tarball}\n`);
