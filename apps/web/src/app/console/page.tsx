// The console's front page: this job host's jobs, newest first, with their progress.
import { AdminError } from "@tormr/protocol/admin-client";
import { HostNotRunning } from "@tormr/protocol/host-endpoints";
import { consoleAdmin } from "../../server/console/admin.ts";
import { duration, time } from "./_components/format.ts";
import { HostDown } from "./_components/host-down.tsx";

export const dynamic = "force-dynamic";

export default async function JobsPage() {
  let rows: Awaited<ReturnType<typeof loadJobs>>;
  try {
    rows = await loadJobs();
  } catch (error) {
    if (error instanceof HostNotRunning || error instanceof AdminError) {
      return <HostDown message={error.message} />;
    }
    throw error;
  }
  return (
    <>
      <div className="title-row">
        <h1>Jobs</h1>
        <div className="actions">
          <a className="button" href="/console/new">
            New job
          </a>
        </div>
      </div>
      <p className="sub">Every job of this job host, newest first.</p>
      <div className="card">
        {rows.length === 0 ? (
          <p className="muted">
            No job yet. <a href="/console/new">Create one</a>: upload its input and its code, and
            choose where its workers come from.
          </p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Job</th>
                <th>State</th>
                <th className="num">Maps</th>
                <th className="num">Reduces</th>
                <th className="num">Failed attempts</th>
                <th>Created</th>
                <th className="num">Took</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((job) => (
                <tr key={job.id}>
                  <td>
                    <a className="mono" href={`/console/jobs/${job.id}`}>
                      {job.id}
                    </a>
                  </td>
                  <td>
                    <span className={`badge ${job.state}`}>{job.state}</span>
                  </td>
                  <td className="num">
                    {job.maps.committed}/{job.maps.total}
                  </td>
                  <td className="num">
                    {job.reduces.committed}/{job.reduces.total}
                  </td>
                  <td className="num">{job.failedAttempts}</td>
                  <td>{time(job.createdAt)}</td>
                  <td className="num">
                    {duration(
                      job.finishedAt
                        ? Date.parse(job.finishedAt) - Date.parse(job.createdAt)
                        : null,
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </>
  );
}

async function loadJobs() {
  const admin = await consoleAdmin();
  const jobs = await admin.jobs();
  return Promise.all(jobs.slice(0, 200).map((job) => admin.status(job.id)));
}
