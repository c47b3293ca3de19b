// The new-job form's fields, checked, and turned into the engine's JobSpec with the uploaded files' paths on the job host.
import { join } from "node:path";
import { MapReduceError } from "@tormr/mapreduce/errors";
import {
  DECOY_KEY,
  EXPOSURE_CAP_KEY,
  EXPOSURE_COLLUSION_KEY,
  type JobSpec,
  parseJobSpec,
  SPOT_CHECK_KEY,
} from "@tormr/mapreduce/job-spec";
import { wholeNumber } from "@tormr/protocol/whole-number";
import { z } from "zod";
import type { DraftUpload } from "./drafts.ts";
import { mapPachydermSpec } from "./pachyderm.ts";

const text = (max: number) => z.string().max(max, `expected at most ${max} characters`);

const PERCENTAGE = "expected a percentage above 0 and at most 100, e.g. 25";
/** Empty (no cap), or a percentage in (0, 100]. */
const percentage = z
  .string()
  .trim()
  .refine((v) => v === "" || (/^(?:\d+(?:\.\d+)?|\.\d+)$/.test(v) && Number(v) > 0), PERCENTAGE)
  .refine((v) => v === "" || Number(v) <= 100, PERCENTAGE);
const RATE = "expected a percentage from 0 to 100, e.g. 30";
/** Empty (none), or a percentage in [0, 100]: 0 is none too, as the engine reads it. */
const rate = z
  .string()
  .trim()
  .refine((v) => v === "" || (/^(?:\d+(?:\.\d+)?|\.\d+)$/.test(v) && Number(v) <= 100), RATE);
const COLLUSION = "expected a whole number from 1 to 32";
/** Empty (each worker alone), or k from 1 to 32. */
const collusion = z
  .string()
  .trim()
  .refine((v) => v === "" || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 32), COLLUSION);

export const jobFormSchema = z.object({
  kind: z.enum(["streaming", "js", "pachyderm"], "choose the job's kind"),
  mapper: text(4096).default(""),
  combiner: text(4096).default(""),
  reducer: text(4096).default(""),
  reduces: wholeNumber(0, 1000).default(1),
  conf: text(65_536).default(""),
  cmdenv: text(65_536).default(""),
  pipeline: text(262_144).default(""),
  workers: wholeNumber(1, 32).default(3),
  /** Exposure cap (%): no worker may see more of the input records (`tormr.exposure.cap`). */
  cap: percentage.default(""),
  /** Collusion k: the cap also bounds any k workers together (`tormr.exposure.collusion`). */
  collusion: collusion.default(""),
  /** Spot checks (%): tasks the job host runs again itself (`tormr.spotcheck.rate`). */
  spotchecks: rate.default(""),
  /** Decoys (%): decoy splits planted, as a share of the real ones (`tormr.decoy.rate`). */
  decoys: rate.default(""),
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
  // The job host's refusals of a cap it cannot keep name what to change.
  if (/^a cluster of \d+ workers? cannot keep to the exposure cap/.test(message)) return "workers";
  if (/^-numReduceTasks \d+ cannot keep to the exposure cap/.test(message)) return "reduces";
  // Decoys under a cap: the job host names both keys; the decoys are what to drop.
  if (message.startsWith(`-D ${DECOY_KEY} plants decoys`)) return "decoys";
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
  exposureFields(form, conf, errors);
  checkFields(form, conf, errors);
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

const twice = (what: string, key: string) =>
  `${what} is also set under Settings (-D ${key}): set it in one place`;
/** A percentage field as the engine reads it: `25%`, and `0.5%` for `.5`. */
const asPercent = (field: string) => `${field.startsWith(".") ? "0" : ""}${field}%`;

/** The Exposure cap (%) and Collusion k fields as their `-D` keys, each set in one place only. */
function exposureFields(
  form: JobForm,
  conf: Record<string, string>,
  errors: Record<string, string>,
) {
  if (form.cap !== "") {
    if (conf[EXPOSURE_CAP_KEY] !== undefined) errors.cap = twice("the cap", EXPOSURE_CAP_KEY);
    else conf[EXPOSURE_CAP_KEY] = asPercent(form.cap);
  }
  if (form.collusion !== "") {
    if (conf[EXPOSURE_COLLUSION_KEY] !== undefined) {
      errors.collusion = twice("collusion", EXPOSURE_COLLUSION_KEY);
    } else if (conf[EXPOSURE_CAP_KEY] === undefined && form.cap === "") {
      errors.collusion = `set an exposure cap too: collusion ${form.collusion} bounds what ${form.collusion} workers see together under it`;
    } else conf[EXPOSURE_COLLUSION_KEY] = form.collusion;
  }
}

/**
 * The Spot checks (%) and Decoys (%) fields as their `-D` keys, each set in one place only. Their
 * refusals beside replication or a cap are the job host's, which names both keys.
 */
function checkFields(form: JobForm, conf: Record<string, string>, errors: Record<string, string>) {
  if (form.spotchecks !== "") {
    if (conf[SPOT_CHECK_KEY] !== undefined) {
      errors.spotchecks = twice("the spot-check rate", SPOT_CHECK_KEY);
    } else conf[SPOT_CHECK_KEY] = asPercent(form.spotchecks);
  }
  if (form.decoys !== "") {
    if (conf[DECOY_KEY] !== undefined) errors.decoys = twice("the decoy rate", DECOY_KEY);
    else conf[DECOY_KEY] = asPercent(form.decoys);
  }
}
