// A new job's form as last submitted, kept in memory while it is refused, so the page shows each error beside its field and the files already uploaded stay.

export interface DraftUpload {
  role: "input" | "file";
  name: string;
  /** Where the job host keeps it. */
  path: string;
  bytes: number;
}

export interface Draft {
  /** The job id the draft will be submitted as (its uploads live under it on the job host). */
  id: string;
  fields: Record<string, string>;
  /** Field name (or "form") → message. */
  errors: Record<string, string>;
  uploads: DraftUpload[];
  /** Pachyderm's warnings, shown once the spec maps. */
  warnings: string[];
  touchedAt: number;
}

const DRAFTS = Symbol.for("tormr.console.drafts");
const KEEP_MS = 6 * 60 * 60 * 1000;

function drafts(): Map<string, Draft> {
  const store = globalThis as { [DRAFTS]?: Map<string, Draft> };
  store[DRAFTS] ??= new Map();
  return store[DRAFTS];
}

export function getDraft(id: string): Draft | undefined {
  return drafts().get(id);
}

export function saveDraft(draft: Draft): void {
  const now = Date.now();
  for (const [id, old] of drafts()) if (now - old.touchedAt > KEEP_MS) drafts().delete(id);
  drafts().set(draft.id, { ...draft, touchedAt: now });
}

export function dropDraft(id: string): void {
  drafts().delete(id);
}

/** Adds or replaces an upload of the same role and name. */
export function withUpload(uploads: DraftUpload[], upload: DraftUpload): DraftUpload[] {
  return [...uploads.filter((u) => u.role !== upload.role || u.name !== upload.name), upload];
}
