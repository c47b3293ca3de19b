// The job page's cards on whether its results can be trusted: replication's votes, and the job host's own spot checks and decoys.
import type { Outvoted } from "@tormr/protocol/admin-api";
import type { JobView } from "../../../../server/console/job-view.ts";
import { count, shortName, taskName } from "../../_components/format.ts";

/** The results a card's rule discarded: each with its task, attempt, worker and why. */
function DiscardedTable({ rows, who }: { rows: readonly Outvoted[]; who: string }) {
  return (
    <table>
      <thead>
        <tr>
          <th>Task</th>
          <th className="num">Attempt</th>
          <th>{who}</th>
          <th>Why</th>
          <th>Board told</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((o) => (
          <tr key={`${o.task}/${o.attempt}`}>
            <td>{taskName(o.task)}</td>
            <td className="num">{o.attempt + 1}</td>
            <td className="mono" title={o.worker}>
              {shortName(o.worker)}
            </td>
            <td>{o.reason}</td>
            <td>{o.reported ? "yes" : "no"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** With replication: how many results were compared, where they disagreed, and who was outvoted. */
export function IntegrityCard({ view }: { view: JobView }) {
  const integrity = view.status.integrity;
  if (!integrity || integrity.replication < 2) return null;
  return (
    <div className="card" data-testid="integrity">
      <h2>Replication</h2>
      <p>
        Each task runs on {integrity.replication} workers and commits when their outputs agree:{" "}
        {count(integrity.replicas)} results compared, {count(integrity.mismatches)}{" "}
        {integrity.mismatches === 1 ? "task" : "tasks"} where one disagreed.
      </p>
      {integrity.outvoted.length === 0 ? (
        <p className="muted">No result has been outvoted.</p>
      ) : (
        <DiscardedTable rows={integrity.outvoted} who="Outvoted worker" />
      )}
    </div>
  );
}

/**
 * With spot checks or decoys: how many tasks the job host ran again itself, how many matched, who
 * was caught (the reason says by which check), and how much of their committed work was undone.
 */
export function ChecksCard({ view }: { view: JobView }) {
  const checks = view.status.checks;
  if (!checks) return null;
  return (
    <div className="card" data-testid="checks">
      <h2>Checks</h2>
      <p>
        The job host runs checked tasks again itself and commits them when the worker's output
        matches its own: {count(checks.spotChecked)} {checks.spotChecked === 1 ? "task" : "tasks"}{" "}
        spot-checked, {count(checks.decoys)} {checks.decoys === 1 ? "decoy" : "decoys"} planted,{" "}
        {count(checks.passed)} passed.
      </p>
      {checks.caught.length === 0 ? (
        <p className="muted">No result has been caught.</p>
      ) : (
        <DiscardedTable rows={checks.caught} who="Caught worker" />
      )}
      {checks.caught.length > 0 || checks.undone > 0 ? (
        <p>
          {count(checks.undone)} committed {checks.undone === 1 ? "result" : "results"} of caught
          workers undone and run again.
        </p>
      ) : null}
    </div>
  );
}
