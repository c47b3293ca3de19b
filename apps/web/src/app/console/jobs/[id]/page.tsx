// One job, live: progress, its cluster, the task timeline and the exposure chart, every attempt, counters, failures, and its results.
import { AdminError } from "@tormr/protocol/admin-client";
import { HostNotRunning } from "@tormr/protocol/host-endpoints";
import { notFound } from "next/navigation";
import { consoleAdmin } from "../../../../server/console/admin.ts";
import { type JobView, jobView } from "../../../../server/console/job-view.ts";
import { ExposureChart } from "../../_components/exposure-chart.tsx";
import { HostDown } from "../../_components/host-down.tsx";
import { LiveRefresh } from "../../_components/live-refresh.tsx";
import { TaskTimeline } from "../../_components/task-timeline.tsx";
import { ChecksCard, IntegrityCard } from "./integrity-cards.tsx";
import {
  AttemptsTable,
  ClusterCard,
  CountersCard,
  ExposureBudget,
  FailuresCard,
  ResultsCard,
  Tiles,
} from "./sections.tsx";

export const dynamic = "force-dynamic";

const JOB_ID = /^job_[0-9A-Za-z]+_[0-9]{4,}$/;
const OVER = new Set(["succeeded", "failed", "cancelled"]);

export default async function JobPage(props: { params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  if (!JOB_ID.test(id)) notFound();
  let view: JobView;
  try {
    view = await jobView(await consoleAdmin(), id);
  } catch (error) {
    if (error instanceof AdminError && error.code === "ERR_NO_JOB") notFound();
    if (error instanceof HostNotRunning || error instanceof AdminError) {
      return <HostDown message={error.message} />;
    }
    throw error;
  }
  const { status } = view;
  const over = OVER.has(status.state);
  return (
    <>
      {over ? null : (
        <noscript>
          <meta httpEquiv="refresh" content="2" />
        </noscript>
      )}
      <div className="title-row">
        <h1 className="mono">{status.id}</h1>
        <span className={`badge ${status.state}`} data-testid="job-state">
          {status.state}
        </span>
        <div className="actions">
          {over ? (
            <form method="post" action={`/api/console/jobs/${id}/rerun`}>
              <button type="submit" className="quiet">
                Run again
              </button>
            </form>
          ) : (
            <form method="post" action={`/api/console/jobs/${id}/cancel`}>
              <button type="submit" className="danger">
                Cancel job
              </button>
            </form>
          )}
        </div>
      </div>
      <p className="sub">
        {describeTask(view)}
        {over ? null : <LiveRefresh everyMs={1_000} />}
      </p>
      {status.error ? <p className="notice bad">{status.error}</p> : null}
      {status.status ? <p className="notice">status: {status.status}</p> : null}
      <Tiles view={view} />
      <div className="card">
        <h2>Task timeline</h2>
        <TaskTimeline attempts={view.attempts} now={view.now} startedAt={status.createdAt} />
      </div>
      <div className="grid">
        <div className="card">
          <h2>Exposure: who saw how much</h2>
          <ExposureChart
            workers={view.exposure.workers.map((w) => ({
              pseudonym: w.pseudonym,
              inputRecords: w.input.records,
              inputBytes: w.input.bytes,
              mapOutputRecords: w.mapOutput.records,
              mapOutputBytes: w.mapOutput.bytes,
            }))}
            totals={{
              inputRecords: view.exposure.input.records,
              inputBytes: view.exposure.input.bytes,
              mapOutputRecords: view.exposure.mapOutput.records,
              mapOutputBytes: view.exposure.mapOutput.bytes,
            }}
            {...(view.exposure.cap !== null ? { cap: view.exposure.cap } : {})}
          />
          <ExposureBudget view={view} />
        </div>
        <ClusterCard view={view} />
      </div>
      <div className="card">
        <h2>Tasks</h2>
        <AttemptsTable view={view} />
      </div>
      <FailuresCard view={view} />
      <IntegrityCard view={view} />
      <ChecksCard view={view} />
      <div className="grid">
        <CountersCard view={view} />
        <ResultsCard view={view} />
      </div>
    </>
  );
}

function describeTask(view: JobView): string {
  const task = view.spec.task;
  if (task?.kind === "js") return `JavaScript job · ${task.module?.split("/").pop() ?? ""} · `;
  // A JS job is stored as streaming commands around the job's module (js-runner.mjs).
  const module = /js-runner\.mjs map(?:-combine)? (\S+)/.exec(task?.mapper ?? "")?.[1];
  if (module) return `JavaScript job · ${module} · `;
  if (task?.kind === "streaming") {
    return `Streaming · mapper ${task.mapper}${task.reducer ? ` · reducer ${task.reducer}` : " · map-only"} · `;
  }
  return "";
}
