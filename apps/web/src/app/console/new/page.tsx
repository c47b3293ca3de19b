// New job: upload the input and the code, choose the job's kind and where its workers come from. A plain multipart form, so it works without JavaScript; the files stream to the job host.
import { makeJobId } from "@tormr/mapreduce/job-id";
import { type Draft, getDraft } from "../../../server/console/drafts.ts";
import { Field } from "../_components/field.tsx";
import { bytes } from "../_components/format.ts";
import { ProtectionFields } from "./protection-fields.tsx";

export const dynamic = "force-dynamic";

const EXAMPLE_PIPELINE = `{
  "pipeline": { "name": "grep-errors" },
  "transform": { "cmd": ["grep", "ERROR"] },
  "input": { "pfs": { "repo": "logs", "glob": "/*" } },
  "parallelism_spec": { "constant": 3 }
}`;

function Kept({ draft, kind }: { draft: Draft | undefined; kind: "input" | "file" }) {
  const kept = draft?.uploads.filter((u) => u.role === kind) ?? [];
  if (kept.length === 0) return null;
  return (
    <ul className="kept">
      {kept.map((u) => (
        <li key={u.name}>
          kept: <code>{u.name}</code> ({bytes(u.bytes)}) — upload a file of the same name to replace
          it
        </li>
      ))}
    </ul>
  );
}

export default async function NewJobPage(props: { searchParams: Promise<{ draft?: string }> }) {
  const { draft: draftId } = await props.searchParams;
  const draft = draftId ? getDraft(draftId) : undefined;
  const id = draft?.id ?? makeJobId(new Date());
  const f = draft?.fields ?? {};
  const e = draft?.errors ?? {};
  const value = (name: string, fallback = "") => f[name] ?? fallback;
  const kind = value("kind", "streaming");
  const cluster = value("cluster", "local");
  return (
    <>
      <h1>New job</h1>
      <p className="sub">
        Job <code>{id}</code>. Its files go to the job host's store as they upload; the job starts
        once every field checks out.
      </p>
      {draftId && !draft ? (
        <p className="notice warn">
          That form has expired (the console keeps refused forms for six hours, and not across a
          restart). Fill it in again.
        </p>
      ) : null}
      {e.form ? <p className="notice bad">{e.form}</p> : null}
      {Object.keys(e).length > 0 && !e.form ? (
        <p className="notice bad" role="alert">
          The job was not started: see the messages beside the fields below.
        </p>
      ) : null}
      {draft?.warnings.length ? (
        <div className="notice warn">
          {draft.warnings.map((w) => (
            <p key={w}>{w}</p>
          ))}
        </div>
      ) : null}
      <form className="job" method="post" action="/api/console/jobs" encType="multipart/form-data">
        {/* First: the files that follow are stored under this job id. */}
        <input type="hidden" name="draft" value={id} />
        <fieldset>
          <legend>Input</legend>
          <Field
            name="inputs"
            label="Input files"
            error={e.inputs}
            hint="One or more text files; each line is a record. Large files stream; nothing is held whole in memory."
          >
            <input id="inputs" type="file" name="inputs" multiple />
            <Kept draft={draft} kind="input" />
          </Field>
        </fieldset>
        <fieldset>
          <legend>Kind of job</legend>
          <div className="choices">
            {[
              ["streaming", "Hadoop Streaming (mapper and reducer commands)"],
              ["js", "JavaScript job module"],
              ["pachyderm", "Pachyderm pipeline spec"],
            ].map(([k, label]) => (
              <label key={k}>
                <input type="radio" name="kind" value={k} defaultChecked={kind === k} /> {label}
              </label>
            ))}
          </div>
          {e.kind ? <p className="error">{e.kind}</p> : null}
        </fieldset>
        <fieldset>
          <legend>Code: files shipped with the job (-file)</legend>
          <Field name="executable" label="Executable">
            <label>
              <input
                id="executable"
                type="checkbox"
                name="executable"
                defaultChecked={f.executable === "on"}
              />{" "}
              make the files below executable (browsers do not send a file's mode)
            </label>
          </Field>
          <Field
            name="files"
            label="Files"
            error={e.files ?? e.module}
            hint="Scripts the commands run (mapper.py, reducer.py), or the job module for a JavaScript job. They land in each task's working folder."
          >
            <input id="files" type="file" name="files" multiple />
            <Kept draft={draft} kind="file" />
          </Field>
        </fieldset>
        <fieldset>
          <legend>Hadoop Streaming</legend>
          <Field name="mapper" label="Mapper" error={e.mapper} hint="e.g. python3 mapper.py">
            <input id="mapper" type="text" name="mapper" defaultValue={value("mapper")} />
          </Field>
          <Field name="combiner" label="Combiner" error={e.combiner} hint="optional">
            <input id="combiner" type="text" name="combiner" defaultValue={value("combiner")} />
          </Field>
          <Field
            name="reducer"
            label="Reducer"
            error={e.reducer}
            hint="e.g. python3 reducer.py; empty or NONE for a map-only job"
          >
            <input id="reducer" type="text" name="reducer" defaultValue={value("reducer")} />
          </Field>
          <Field name="reduces" label="Reducers" error={e.reduces} hint="-numReduceTasks">
            <input
              id="reduces"
              type="number"
              name="reduces"
              min={0}
              max={1000}
              defaultValue={value("reduces", "1")}
            />
          </Field>
          <Field
            name="conf"
            label="Settings (-D)"
            error={e.conf}
            hint="one key=value per line, e.g. mapreduce.input.fileinputformat.split.maxsize=65536"
          >
            <textarea id="conf" name="conf" rows={3} defaultValue={value("conf")} />
          </Field>
          <Field
            name="cmdenv"
            label="Environment (-cmdenv)"
            error={e.cmdenv}
            hint="NAME=value per line"
          >
            <textarea id="cmdenv" name="cmdenv" rows={2} defaultValue={value("cmdenv")} />
          </Field>
        </fieldset>
        <fieldset>
          <legend>Pachyderm pipeline</legend>
          <Field
            name="pipeline"
            label="Pipeline spec (JSON)"
            error={e.pipeline}
            hint="transform.cmd, input.pfs.glob and parallelism_spec are used; a field TorMR cannot honour is named with what to do instead."
          >
            <textarea
              id="pipeline"
              name="pipeline"
              rows={8}
              placeholder={EXAMPLE_PIPELINE}
              defaultValue={value("pipeline")}
            />
          </Field>
        </fieldset>
        <fieldset>
          <legend>Cluster</legend>
          <div className="choices">
            <label>
              <input
                type="radio"
                name="cluster"
                value="local"
                defaultChecked={cluster === "local"}
              />{" "}
              start workers on this machine (sandboxed)
            </label>
            <label>
              <input
                type="radio"
                name="cluster"
                value="tickets"
                defaultChecked={cluster === "tickets"}
              />{" "}
              make join tickets to hand to volunteers
            </label>
            <label>
              <input
                type="radio"
                name="cluster"
                value="board"
                defaultChecked={cluster === "board"}
              />{" "}
              post a cluster request on a board, through Tor
            </label>
          </div>
          {e.cluster ? <p className="error">{e.cluster}</p> : null}
          <Field
            name="board"
            label="Board"
            error={e.board}
            hint="for a board: its onion address; the job host must run with --tor, and follows the request (proves its onion, admits whom the board matches)"
          >
            <input
              id="board"
              type="text"
              name="board"
              defaultValue={value("board")}
              placeholder="xxxx….onion"
            />
          </Field>
          <Field
            name="title"
            label="Request title"
            error={e.title}
            hint="for a board: what volunteers read"
          >
            <input
              id="title"
              type="text"
              name="title"
              maxLength={120}
              defaultValue={value("title")}
            />
          </Field>
          <Field
            name="description"
            label="Description"
            error={e.description}
            hint="for a board: optional"
          >
            <textarea
              id="description"
              name="description"
              rows={2}
              defaultValue={value("description")}
            />
          </Field>
          <Field name="workers" label="Workers" error={e.workers} hint="1 to 32">
            <input
              id="workers"
              type="number"
              name="workers"
              min={1}
              max={32}
              defaultValue={value("workers", "3")}
            />
          </Field>
          <ProtectionFields value={value} errors={e} />
        </fieldset>
        <button type="submit">Start the job</button>
      </form>
    </>
  );
}
