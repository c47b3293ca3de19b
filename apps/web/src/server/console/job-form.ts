// The new-job form's fields, checked, and turned into the engine's JobSpec with the uploaded files' paths on the job host.
import { join } from "node:path";
import { MapReduceError } from "@tormr/mapreduce/errors";
import { type JobSpec, parseJobSpec } from "@tormr/mapreduce/job-spec";
import { z } from "zod";
import type { DraftUpload } from "./drafts.ts";
import { mapPachydermSpec } from "./pachyderm.ts";

const text = (max: number) => z.string().max(max, `expected at most ${max} characters`);
const whole = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `expected a whole number from ${min} to ${max}`)
        .max(max, `expected a whole number from ${min} to ${max}`),
    );

export const jobFormSchema = z.object({
  kind: z.enum(["streaming", "js", "pachyderm"], "choose the job's kind"),
  mapper: text(4096).default(""),
  combiner: text(4096).default(""),
  reducer: text(4096).default(""),
  reduces: whole(0, 1000).default(1),
  conf: text(65_536).default(""),
  cmdenv: text(65_536).default(""),
  pipeline: text(262_144).default(""),
  workers: whole(1, 32).default(3),
  cluster: z
    .enum(["local", "tickets", "board"], "choose where the workers come from")
    .default("local"),
  /** With cluster "board": where to post the request, and what volunteers read there. */
  board: text(200).default(""),
  title: text(120).default(""),
  description: text(2000).default(""),
});
export type JobForm = z.infer<typeof jobFormSchema>;

export type FormResult =
  | { ok: true; spec: JobSpec; workers: number; warnings: string[] }
  | { ok: false; errors: Record<string, string>; warnings: string[] };

/** `key=value` lines (a leading `-D ` allowed, as pasted from a hadoop command), blank lines skipped. */
function keyValues(field: string, body: string, errors: Record<string, string>) {
  const out: Record<string, string> = {};
  for (const [i, raw] of body.split(/\r?\n/).entries()) {
    const line = raw.trim().replace(/^-D\s*/, "");
    if (!line) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) {
      errors[field] ??= `line ${i + 1}: expected key=value, got '${line.slice(0, 60)}'`;
      continue;
    }
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/** The form's first error per field, from zod's issues. */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues) errors[String(issue.path[0] ?? "form")] ??= issue.message;
  return errors;
}

/** Which field an engine refusal belongs beside. */
export function fieldOfEngineError(code: string, message: string): string {
  const role = /^(mapper|combiner|reducer)\b/.exec(message)?.[1];
  if (role) return role;
  if (code === "ERR_BAD_CONF") return "conf";
  if (code === "ERR_INPUT_EMPTY" || (code === "ERR_INPUT_MISSING" && !message.startsWith("-file")))
    return "inputs";
  if (code === "ERR_INPUT_MISSING") return "files";
  if (code === "ERR_BAD_JOB_MODULE") return "module";
  return "form";
}

export interface BuildOptions {
  jobId: string;
  /** The job host's state folder: the output goes to its outputs/<job>. */
  stateDir: string;
  uploads: DraftUpload[];
}

export function buildJob(form: JobForm, options: BuildOptions): FormResult {
  const errors: Record<string, string> = {};
  const warnings: string[] = [];
  const inputs = options.uploads.filter((u) => u.role === "input");
  let files = options.uploads.filter((u) => u.role === "file");
  if (inputs.length === 0) errors.inputs = "upload at least one input file";
  if (form.cluster === "board") {
    if (!form.board.trim()) errors.board = "give the board's onion address, e.g. abcd…xyz.onion";
    if (!form.title.trim()) errors.title = "give the request a title volunteers will read";
  }
  const conf = keyValues("conf", form.conf, errors);
  const cmdenv = keyValues("cmdenv", form.cmdenv, errors);
  let task: JobSpec["task"] | undefined;
  let reduces = form.reduces;
  let workers = form.workers;
  if (form.kind === "streaming") {
    if (!form.mapper.trim()) errors.mapper = "give the mapper command, e.g. python3 mapper.py";
    const reducer = form.reducer.trim();
    const mapOnly = reducer === "" || reducer === "NONE";
    if (mapOnly) reduces = 0;
    task = {
      kind: "streaming",
      mapper: form.mapper.trim(),
      ...(form.combiner.trim() ? { combiner: form.combiner.trim() } : {}),
      ...(mapOnly ? {} : { reducer }),
    };
  } else if (form.kind === "js") {
    const module = files.find((f) => /\.(?:m?js|ts)$/.test(f.name));
    if (!module) errors.module = "upload the job module (.js, .mjs or .ts) as a file";
    else {
      task = { kind: "js", module: module.path };
      // The module travels as the job's code itself; the other files go beside it.
      files = files.filter((f) => f !== module);
    }
  } else {
    const mapped = mapPachydermSpec(form.pipeline);
    if (!mapped.ok) {
      errors.pipeline = mapped.errors.map((e) => `${e.field}: ${e.message}`).join("\n");
    } else {
      warnings.push(...mapped.warnings);
      task = {
        kind: "streaming",
        mapper: mapped.job.mapper,
        ...(mapped.job.reducer ? { reducer: mapped.job.reducer } : {}),
      };
      reduces = mapped.job.numReduceTasks;
      Object.assign(conf, mapped.job.conf);
      Object.assign(cmdenv, mapped.job.cmdenv);
      if (mapped.job.workers) workers = mapped.job.workers;
    }
  }
  if (Object.keys(errors).length > 0 || !task) return { ok: false, errors, warnings };
  try {
    const spec = parseJobSpec({
      id: options.jobId,
      inputs: inputs.map((u) => u.path),
      output: join(options.stateDir, "outputs", options.jobId),
      task,
      numReduceTasks: reduces,
      files: files.map((u) => u.path),
      cmdenv,
      conf,
    });
    return { ok: true, spec, workers, warnings };
  } catch (error) {
    if (error instanceof MapReduceError) {
      return {
        ok: false,
        errors: { [fieldOfEngineError(error.code, error.message)]: error.message },
        warnings,
      };
    }
    throw error;
  }
}
