// POST /api/console/jobs: the new-job form, streamed. Each file goes straight to the job host's store as it arrives; the fields are checked and the job created, or the form comes back with its errors.
import type { IncomingMessage } from "node:http";
import { basename } from "node:path";
import { makeJobId } from "@tormr/mapreduce/job-id";
import { AdminClient, AdminError } from "@tormr/protocol/admin-client";
import busboy from "busboy";
import { BoardPostError, postClusterRequest } from "./board-post.ts";
import {
  type Draft,
  type DraftUpload,
  dropDraft,
  getDraft,
  saveDraft,
  withUpload,
} from "./drafts.ts";
import { buildJob, fieldErrors, fieldOfEngineError, jobFormSchema } from "./job-form.ts";
import { saveTickets } from "./job-tickets.ts";
import { startLocalWorkers } from "./local-workers.ts";

/** The file fields of the form and where their files go on the job host. */
const FILE_FIELDS = { inputs: "input", files: "file", module: "file" } as const;
const JOB_ID = /^job_[0-9A-Za-z]+_[0-9]{4,}$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface NewJobOptions {
  stateDir: string;
  sandbox: "bwrap" | "docker" | "none";
  /** Below it, the folders of the workers the console starts. */
  workersDir: string;
}

/** Where the browser goes next: the new job, or the form again with its errors. */
export type NewJobOutcome = { location: string };

/** The form itself cannot be read (not multipart, cut off): a 400, not a form to show again. */
export class FormError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

interface Parsed {
  fields: Record<string, string>;
  uploads: DraftUpload[];
  errors: Record<string, string>;
}

/** Streams the multipart body: files to the job host as they come, fields into memory (bounded). */
function readForm(req: IncomingMessage, admin: AdminClient, signal: AbortSignal): Promise<Parsed> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    const errors: Record<string, string> = {};
    let uploads: DraftUpload[] = [];
    let draftId: string | undefined;
    const pending: Promise<void>[] = [];
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fieldSize: 262_144, fields: 64, files: 200, parts: 300 },
      });
    } catch {
      reject(new FormError("form", "the form must be sent as multipart/form-data"));
      return;
    }
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) errors[name] = "too long";
      if (name === "draft") {
        if (!JOB_ID.test(value))
          errors.form = "this form's job id is not valid: open New job again";
        else {
          draftId = value;
          uploads = getDraft(value)?.uploads ?? [];
        }
      } else {
        fields[name] = value;
      }
    });
    parser.on("file", (name, stream, info) => {
      const role = FILE_FIELDS[name as keyof typeof FILE_FIELDS];
      const fileName = basename(info.filename ?? "");
      // A file field left empty still sends a part, with no name and no bytes.
      if (!role || fileName === "") {
        stream.resume();
        return;
      }
      if (!draftId) {
        stream.resume();
        errors.form = "the form's job id must come before its files: open New job again";
        return;
      }
      if (!FILE_NAME.test(fileName)) {
        stream.resume();
        errors[name] =
          `'${fileName.slice(0, 80)}': a file name may hold only letters, digits, '.', '_' and '-', and not start with '.'`;
        return;
      }
      const id = draftId;
      const executable = role === "file" && fields.executable === "on";
      pending.push(
        admin
          .upload(id, role, fileName, stream, { executable, signal })
          .then((stored) => {
            uploads = withUpload(uploads, { role, name: fileName, ...stored });
          })
          .catch((error: unknown) => {
            stream.resume();
            if (error instanceof AdminError) errors[name] = error.message;
            else errors[name] = `'${fileName}' was not stored: ${(error as Error).message}`;
          }),
      );
    });
    parser.once("error", (error: Error) => reject(new FormError("form", error.message)));
    parser.once("close", () => {
      Promise.all(pending).then(() => {
        if (!draftId) reject(new FormError("form", "the form has no job id: open New job again"));
        else resolve({ fields: { ...fields, draft: draftId }, uploads, errors });
      }, reject);
    });
    req.pipe(parser);
  });
}

export async function submitNewJob(
  req: IncomingMessage,
  options: NewJobOptions,
): Promise<NewJobOutcome> {
  const admin = await AdminClient.fromStateDir(options.stateDir);
  // A browser that goes away mid-upload aborts the uploads in flight: the job host keeps nothing of them.
  const controller = new AbortController();
  req.once("close", () => {
    if (!req.complete) controller.abort();
  });
  const parsed = await readForm(req, admin, controller.signal);
  const jobId = parsed.fields.draft as string;
  const back = (errors: Record<string, string>, warnings: string[] = []): NewJobOutcome => {
    const draft: Draft = {
      id: jobId,
      fields: parsed.fields,
      errors,
      uploads: parsed.uploads,
      warnings,
      touchedAt: Date.now(),
    };
    saveDraft(draft);
    return { location: `/console/new?draft=${jobId}` };
  };
  if (Object.keys(parsed.errors).length > 0) return back(parsed.errors);
  const form = jobFormSchema.safeParse(parsed.fields);
  if (!form.success) return back(fieldErrors(form.error.issues));
  const built = buildJob(form.data, { jobId, stateDir: options.stateDir, uploads: parsed.uploads });
  if (!built.ok) return back(built.errors, built.warnings);
  const local = form.data.cluster === "local";
  let tickets: string[];
  try {
    ({ tickets } = await admin.createJob({
      spec: built.spec,
      // Local workers and handed-out tickets need one each; a board's workers get theirs from it.
      tickets: form.data.cluster === "board" ? 0 : built.workers,
      // The cluster size, which the job host checks an exposure cap against.
      workers: built.workers,
    }));
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    return back({ [fieldOfEngineError(error.code, error.message)]: error.message }, built.warnings);
  }
  dropDraft(jobId);
  if (form.data.cluster === "board") {
    try {
      await postClusterRequest(admin, {
        jobId,
        board: form.data.board.trim(),
        title: form.data.title.trim(),
        description: form.data.description.trim(),
        size: built.workers,
        sandbox: "any",
      });
    } catch (error) {
      // The job exists and takes no more files: the form comes back under a new id, its files kept.
      await admin.cancel(jobId).catch(() => {});
      const again: Draft = {
        id: makeJobId(new Date()),
        fields: { ...parsed.fields },
        errors: { [boardField(error)]: (error as Error).message },
        uploads: parsed.uploads,
        warnings: built.warnings,
        touchedAt: Date.now(),
      };
      saveDraft(again);
      return { location: `/console/new?draft=${again.id}` };
    }
  } else if (local) {
    await startLocalWorkers({
      jobId,
      workerUrl: admin.workerUrl,
      tickets,
      sandbox: options.sandbox,
      dir: options.workersDir,
    });
  } else {
    saveTickets(jobId, tickets);
  }
  return { location: `/console/jobs/${jobId}` };
}

/** Which field a refused board post belongs beside (the board's address unless it says otherwise). */
function boardField(error: unknown): string {
  const field = error instanceof BoardPostError ? error.extra.field : undefined;
  if (field === "title" || field === "description") return field;
  return field === "size" ? "workers" : "board";
}
