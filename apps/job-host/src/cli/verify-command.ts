// `tormr verify <output-dir>`: checks a job's output against its _PROVENANCE.json and says which worker computed which part.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { PROVENANCE_FILE, type Provenance, provenanceSchema } from "@tormr/protocol/provenance";
import {
  checkProvenance,
  type PartOnDisk,
  type ProvenanceRow,
  shortPseudonym,
} from "@tormr/protocol/provenance-check";
import type { Command } from "commander";
import { EXIT, VERIFY_FAILED } from "./exit-codes.ts";
import type { CliIo } from "./main.ts";
import { oneLine } from "./one-line.ts";

const HELP = [
  "",
  "It checks, with nothing but the output folder, that:",
  "  - each task's statement verifies under the signing key of the worker named",
  "    with it, and is for this job, that task and the job's code;",
  "  - each reduce read, from every map, exactly the bucket and ciphertext",
  "    SHA-256 that the map signed;",
  "  - each part-NNNNN is the signed output of its task and hashes to the SHA-256",
  "    the job host recorded when it decrypted it; every part file is listed and",
  "    none is missing.",
  "",
  "A worker signs the ciphertext it stored. The job host, which decrypted it,",
  "vouches for the mapping from that ciphertext's digest to the part's. Only a",
  "job run by workers through a job host has a _PROVENANCE.json (not --local).",
  "",
  "Example:",
  "  tormr verify ~/.local/state/tormr/job-host/outputs/job_202612020000_0001",
  "",
  "Exit codes:",
  "  0    every check passed; the table says which worker computed which part",
  "  2    usage error",
  "  3    no such folder, or no _PROVENANCE.json in it",
  "  5    a check failed: one line per problem on stderr, naming part and worker",
].join("\n");

export function addVerifyCommand(program: Command, io: CliIo, setExit: (code: number) => void) {
  program
    .command("verify")
    .summary("Check a job's output against the signed record of who computed each part.")
    .description(
      "Check a job's output folder against its _PROVENANCE.json: the workers' signatures, the " +
        "chain from each map's signed outputs to each reduce's signed inputs, and every part " +
        "file's bytes. Prints which worker pseudonym computed which part.",
    )
    .argument("<output-dir>", "the job's output folder (part files, _PROVENANCE.json, _SUCCESS)")
    .addHelpText("after", HELP)
    .action(async (dir: string) => {
      setExit(await verifyOutput(resolve(io.cwd, dir), io));
    });
}

/** Verifies `dir` and prints the table (stdout) or one line per problem (stderr). */
export async function verifyOutput(dir: string, io: Pick<CliIo, "stdout" | "stderr">) {
  const say = (line: string) => io.stderr.write(`tormr: ${line}\n`);
  if (
    !(await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    say(`${dir} is not a folder; give the job's output folder`);
    return EXIT.badInput;
  }
  let text: string;
  try {
    text = await readFile(join(dir, PROVENANCE_FILE), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    say(
      code === "ENOENT"
        ? `${dir} has no ${PROVENANCE_FILE}; only an output written by a job host has one (not a --local run)`
        : `cannot read ${join(dir, PROVENANCE_FILE)}: ${oneLine((error as Error).message)}`,
    );
    return EXIT.badInput;
  }
  const doc = parseProvenance(text);
  if (typeof doc === "string") {
    say(`${PROVENANCE_FILE} does not verify: ${doc}`);
    return VERIFY_FAILED;
  }
  const report = checkProvenance(doc, await partsOnDisk(dir));
  if (report.problems.length > 0) {
    for (const problem of report.problems) say(problem);
    say(`${dir} does not verify: ${plural(report.problems.length, "problem")}`);
    return VERIFY_FAILED;
  }
  io.stdout.write(table(report.rows));
  const workers = new Set(doc.tasks.map((t) => t.worker)).size;
  io.stdout.write(
    `verified ${doc.job}: ${plural(doc.parts.length, "part")} from ${plural(doc.tasks.length, "task")} by ${plural(workers, "worker")}; every signature verifies, every reduce read what its maps signed, every part has the bytes the job host recorded\n`,
  );
  return EXIT.ok;
}

/** The record, or what is wrong with it. */
function parseProvenance(text: string): Provenance | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "it is not JSON";
  }
  const parsed = provenanceSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return `${issue?.path.join(".") || "the file"}: ${issue?.message}`;
}

/** Every `part-NNNNN` file of the folder with its SHA-256 and length. */
async function partsOnDisk(dir: string): Promise<PartOnDisk[]> {
  const names = (await readdir(dir)).filter((name) => /^part-[0-9]{5,}$/.test(name)).sort();
  const parts: PartOnDisk[] = [];
  for (const file of names) {
    const hash = createHash("sha256");
    let bytes = 0;
    await pipeline(createReadStream(join(dir, file)), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.length;
      }
    });
    parts.push({ file, sha256: hash.digest("hex"), bytes });
  }
  return parts;
}

function table(rows: readonly ProvenanceRow[]): string {
  const cells = [
    ["task", "worker", "part"],
    ...rows.map((r) => [r.task, shortPseudonym(r.worker), r.part ?? "-"]),
  ];
  const widths = [0, 1].map((c) => Math.max(...cells.map((row) => (row[c] as string).length)));
  return cells
    .map((row) =>
      row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c] as number) : cell)).join("  "),
    )
    .map((line) => `${line}\n`)
    .join("");
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
