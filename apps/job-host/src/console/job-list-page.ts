// The console's job list: every job on the job host, its state and progress, refreshed by reloading the page.
import { escapeHtml, page } from "./html.ts";
import type { JobRow } from "./job-host-api.ts";

const STATE_CLASS: Record<string, string> = {
  succeeded: "good",
  failed: "bad",
  cancelled: "bad",
};

/** `2026-11-25T10:00:00.000Z` as `2026-11-25 10:00:00 UTC`. */
function when(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC");
}

function row(job: JobRow): string {
  const state = `<span class="state ${STATE_CLASS[job.state] ?? ""}">${escapeHtml(job.state)}</span>`;
  return `<tr>
<td class="id">${escapeHtml(job.id)}</td>
<td>${state}</td>
<td class="num">${job.maps.committed} of ${job.maps.total}</td>
<td class="num">${job.reduces.committed} of ${job.reduces.total}</td>
<td class="num">${job.failedAttempts}</td>
<td><time datetime="${escapeHtml(job.createdAt)}">${escapeHtml(when(job.createdAt))}</time></td>
</tr>`;
}

export function jobListPage(jobs: { rows: JobRow[]; more: number }, stateDir: string): string {
  const intro = `<h1>Jobs</h1>
<p class="lead">The jobs of the job host in <code>${escapeHtml(stateDir)}</code>, newest first. Reload the page to see them move.</p>`;
  if (jobs.rows.length === 0) {
    return page("Jobs", `${intro}\n<p class="empty">No jobs yet.</p>`);
  }
  const more =
    jobs.more > 0 ? `\n<p class="muted">And ${jobs.more} older jobs, not shown.</p>` : "";
  return page(
    "Jobs",
    `${intro}
<table class="jobs">
<thead><tr><th scope="col">Job</th><th scope="col">State</th><th scope="col">Maps committed</th><th scope="col">Reduces committed</th><th scope="col">Failed attempts</th><th scope="col">Created</th></tr></thead>
<tbody>
${jobs.rows.map(row).join("\n")}
</tbody>
</table>${more}`,
  );
}

/** What the console says when the job host cannot be asked, and how to fix it. */
export function unavailablePage(message: string): string {
  return page(
    "Job host unavailable",
    `<h1>The job host is not answering</h1>\n<p class="notice bad">${escapeHtml(message)}</p>\n<p>Reload this page once it runs again.</p>`,
  );
}

/** The answer to a request without the console's secret: how to open the console. */
export function refusedPage(reason: "no-secret" | "key-used" | "bad-key"): string {
  const why = {
    "no-secret": "This browser has not opened the console yet.",
    "key-used": "That link has been opened already: each link opens the console once.",
    "bad-key": "That link's key is not this console's.",
  }[reason];
  return page(
    "Open the console's link",
    `<h1>Open the console's link</h1>
<p>${why}</p>
<p>Open the URL that <code>tormr console</code> printed when it started (<code>http://127.0.0.1:&lt;port&gt;/console?key=…</code>). To get a new one, stop the console and start it again.</p>`,
  );
}
