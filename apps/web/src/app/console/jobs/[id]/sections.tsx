// The job page's cards: progress tiles, the exposure budget, cluster, attempts, failures, counters and results.
import type { JobView } from "../../../../server/console/job-view.ts";
import {
  bytes,
  clock,
  count,
  duration,
  shortName,
  taskName,
  time,
} from "../../_components/format.ts";

const ms = (from: string, to: string | null, now: string) =>
  Date.parse(to ?? now) - Date.parse(from);

function Meter({ done, total }: { done: number; total: number }) {
  const width = total > 0 ? Math.round((done / total) * 100) : 0;
  // A <meter> needs no inline style (the page's CSP allows none).
  return <meter className="progress" min={0} max={100} value={width} />;
}

export function Tiles({ view }: { view: JobView }) {
  const { status, exposure } = view;
  const active = status.workers.filter((w) => w.state === "active").length;
  const troubled = view.attempts.filter((a) => a.state === "failed" || a.state === "lost").length;
  return (
    <div className="tiles">
      <div className="tile" data-testid="tile-maps">
        <span className="label">Maps</span>
        <span className="value">
          {status.maps.committed}/{status.maps.total}
        </span>
        <span className="detail">{status.maps.running} running</span>
        <Meter done={status.maps.committed} total={status.maps.total} />
      </div>
      <div className="tile" data-testid="tile-reduces">
        <span className="label">Reduces</span>
        <span className="value">
          {status.reduces.committed}/{status.reduces.total}
        </span>
        <span className="detail">{status.reduces.running} running</span>
        <Meter done={status.reduces.committed} total={status.reduces.total} />
      </div>
      <div className="tile">
        <span className="label">Workers</span>
        <span className="value">{active}</span>
        <span className="detail">{status.workers.length} joined in all</span>
      </div>
      <div className="tile">
        <span className="label">Failed or lost</span>
        <span className="value">{troubled}</span>
        <span className="detail">attempts, each retried</span>
      </div>
      <div className="tile">
        <span className="label">Input</span>
        <span className="value">{count(exposure.input.records)}</span>
        <span className="detail">records · {bytes(exposure.input.bytes)}</span>
      </div>
      <div className="tile">
        <span className="label">Elapsed</span>
        <span className="value">{duration(ms(status.createdAt, status.finishedAt, view.now))}</span>
        <span className="detail">since {time(status.createdAt)}</span>
      </div>
    </div>
  );
}

/** A share of records as a percentage to one decimal, rounded down: never shown past what it is. */
const percent = (fraction: number) => `${Math.floor(fraction * 1000 + 1e-9) / 10}%`;

/**
 * How near the job came to its exposure cap, by the ledger: the most one worker read of each
 * side, and with collusion k the most any k read together.
 */
export function ExposureBudget({ view }: { view: JobView }) {
  const { cap, collusion, reached } = view.exposure;
  if (cap === null) {
    return (
      <p className="muted" data-testid="exposure-reached">
        No exposure cap: a worker may be given any share of the data.
      </p>
    );
  }
  const capText = `${Number((cap * 100).toPrecision(12))}%`;
  const sides = [
    { label: "Input records", shares: reached.input },
    ...(view.status.reduces.total > 0
      ? [{ label: "Map output reduced", shares: reached.mapOutput }]
      : []),
  ];
  return (
    <ul className="budget" data-testid="exposure-reached">
      {sides.map(({ label, shares }) => (
        <li key={label}>
          {label} — reached: {percent(shares.maxShare)} (cap {capText})
          {collusion > 1
            ? `; any ${collusion} workers together: ${percent(shares.maxUnionShare)} (cap ${capText})`
            : null}
        </li>
      ))}
    </ul>
  );
}

export function ClusterCard({ view }: { view: JobView }) {
  const { status, local, tickets } = view;
  return (
    <div className="card">
      <h2>Cluster</h2>
      {status.workers.length === 0 ? (
        <p className="muted">No worker has joined yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Worker</th>
              <th>State</th>
              <th>Sandbox</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {status.workers.map((w) => (
              <tr key={w.pseudonym}>
                <td className="mono" title={w.pseudonym}>
                  {shortName(w.pseudonym)}
                </td>
                <td>
                  <span className={`badge ${w.state}`}>{w.state}</span>
                </td>
                <td>{w.sandbox}</td>
                <td>{clock(w.lastSeen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {local.length > 0 ? (
        <>
          <h2>Workers on this machine</h2>
          <table data-testid="local-workers">
            <thead>
              <tr>
                <th>#</th>
                <th className="num">pid</th>
                <th>State</th>
                <th className="num">Exit</th>
              </tr>
            </thead>
            <tbody>
              {local.map((w) => (
                <tr key={w.index}>
                  <td>{w.index + 1}</td>
                  <td className="num mono" data-testid="local-pid">
                    {w.pid ?? "—"}
                  </td>
                  <td>
                    <span className={`badge ${w.state}`}>{w.state}</span>
                  </td>
                  <td className="num">{w.exitCode ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {view.board.statusLink ? (
        <>
          <h2>Board request</h2>
          <p>
            {view.board.following
              ? "The job host follows it: it admits whom the board matches and replaces lost workers."
              : "No longer followed."}{" "}
            {view.board.error ? <span className="notice bad">{view.board.error}</span> : null}
          </p>
          <p className="muted">
            Status link (secret: it is the request's only key; open it in Tor Browser):{" "}
            <code>{view.board.statusLink}</code>
          </p>
        </>
      ) : null}
      {tickets.length > 0 ? (
        <>
          <h2>Join tickets</h2>
          <p className="muted">Give each volunteer one line (each ticket works once):</p>
          <pre className="tail">
            {tickets
              .map(
                (t) => `TORMR_WORKER_TICKET=${t} tormr-worker start --job-host ${view.workerUrl}`,
              )
              .join("\n")}
          </pre>
        </>
      ) : null}
    </div>
  );
}

export function AttemptsTable({ view }: { view: JobView }) {
  if (view.attempts.length === 0) return <p className="muted">No task has started yet.</p>;
  const sorted = [...view.attempts].sort(
    (a, b) =>
      a.task[0]?.localeCompare(b.task[0] ?? "") ||
      Number(a.task.slice(1)) - Number(b.task.slice(1)) ||
      a.number - b.number,
  );
  return (
    <div className="scroll">
      <table data-testid="attempts">
        <thead>
          <tr>
            <th>Task</th>
            <th>State</th>
            <th className="num">Attempt</th>
            <th>Worker</th>
            <th>Sandbox</th>
            <th className="num">Duration</th>
            <th className="num">Written</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((a) => (
            <tr key={a.id} data-task={a.task} data-state={a.state}>
              <td>{taskName(a.task)}</td>
              <td>
                <span className={`badge ${a.state}`}>{a.state}</span>
                {a.speculative ? <span className="muted"> · speculative</span> : null}
              </td>
              <td className="num">{a.number + 1}</td>
              <td className="mono" title={a.worker}>
                {shortName(a.worker)}
              </td>
              <td>{a.sandbox ?? "—"}</td>
              <td className="num">{duration(ms(a.startedAt, a.finishedAt, view.now))}</td>
              <td className="num">{bytes(a.bytesWritten)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function FailuresCard({ view }: { view: JobView }) {
  const failed = view.attempts.filter((a) => a.state === "failed" || a.state === "lost");
  if (failed.length === 0) return null;
  return (
    <div className="card" data-testid="failures">
      <h2>Failed attempts</h2>
      <div className="stack">
        {failed.map((a) => (
          <div key={a.id}>
            <p>
              <strong>{taskName(a.task)}</strong>, attempt {a.number + 1} on <code>{a.worker}</code>
              : <span className={`badge ${a.state}`}>{a.state}</span> {a.error ?? a.reason ?? ""}
              {a.exitCode !== null ? ` (exit ${a.exitCode})` : ""}
            </p>
            {a.stderrTail ? <pre className="tail">{a.stderrTail}</pre> : null}
          </div>
        ))}
      </div>
    </div>
  );
}

export function CountersCard({ view }: { view: JobView }) {
  const groups = Object.entries(view.status.counters);
  return (
    <div className="card">
      <h2>Counters</h2>
      {groups.length === 0 ? (
        <p className="muted">None yet: counters arrive as tasks commit.</p>
      ) : (
        <div className="scroll">
          <table data-testid="counters">
            <tbody>
              {groups.flatMap(([group, names]) => [
                <tr key={group}>
                  <th colSpan={2}>{group.replace(/^org\.apache\.hadoop\.mapreduce\./, "")}</th>
                </tr>,
                ...Object.entries(names).map(([name, value]) => (
                  <tr key={`${group}/${name}`}>
                    <td>{name}</td>
                    <td className="num">{count(value)}</td>
                  </tr>
                )),
              ])}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function ResultsCard({ view }: { view: JobView }) {
  const id = view.status.id;
  return (
    <div className="card" data-testid="results">
      <h2>Results</h2>
      {view.parts.length === 0 ? (
        <p className="muted">
          {view.status.state === "succeeded"
            ? "The job wrote no output file."
            : "The output files appear here when the job succeeds."}
        </p>
      ) : (
        <ul>
          {view.parts.map((part) => (
            <li key={part}>
              <a href={`/api/console/jobs/${id}/parts/${part}`} download>
                {part}
              </a>
            </li>
          ))}
        </ul>
      )}
      <p>
        {view.parts.length > 0 ? (
          <>
            <a className="button quiet" href={`/api/console/jobs/${id}/output.tar`} download>
              All parts (.tar)
            </a>{" "}
          </>
        ) : null}
        <a className="button quiet" href={`/api/console/jobs/${id}/report.json`} download>
          Job report (JSON)
        </a>
      </p>
    </div>
  );
}
