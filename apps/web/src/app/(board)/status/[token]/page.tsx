// A request's status, reached by its secret link: waiting (and whether its onion is proved), formed, finished, cancelled or expired; and a cancel button.
import { connection } from "next/server";
import { BoardError } from "../../../../server/board/errors.ts";
import { requestStatus } from "../../../../server/board/request-status.ts";
import { boardContext } from "../../../../server/context.ts";
import { cancelAction } from "./actions.ts";

const WORDS = {
  waiting: "Waiting for volunteers",
  formed: "Cluster formed",
  finished: "Job finished",
  cancelled: "Cancelled",
  expired: "Expired",
} as const;

export default async function StatusPage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: Promise<{ posted?: string; problem?: string }>;
}) {
  await connection();
  const { token } = await params;
  const query = await searchParams;
  const { db } = await boardContext();
  let status: Awaited<ReturnType<typeof requestStatus>>;
  try {
    status = await requestStatus(db, undefined, token);
  } catch (error) {
    if (!(error instanceof BoardError)) throw error;
    return (
      <>
        <h1>No such request</h1>
        <p className="error">{error.message}</p>
      </>
    );
  }
  return (
    <>
      {query.posted ? (
        <p className="notice">
          Posted. Keep this page's address secret and safe: it is the only way back to your request,
          and anyone who has it can cancel it.
        </p>
      ) : null}
      <h1>{status.title}</h1>
      <p>
        <span className={`state ${status.state}`} id="state">
          {WORDS[status.state]}
        </span>
      </p>
      {query.problem ? <p className="error">{query.problem}</p> : null}
      <dl className="facts">
        <dt>Workers</dt>
        <dd>
          {status.seated} of {status.size}
        </dd>
        <dt>Posted</dt>
        <dd>{status.createdAt.toISOString().slice(0, 16).replace("T", " ")} UTC</dd>
        {status.formedAt ? (
          <>
            <dt>Formed</dt>
            <dd>{status.formedAt.toISOString().slice(0, 16).replace("T", " ")} UTC</dd>
          </>
        ) : (
          <>
            <dt>Expires</dt>
            <dd>{status.expiresAt.toISOString().slice(0, 16).replace("T", " ")} UTC</dd>
          </>
        )}
      </dl>
      {status.description ? <p>{status.description}</p> : null}
      {status.state === "waiting" && !status.verified ? (
        <div className="notice" id="unverified">
          <p>
            Volunteers are matched once your job host proves that its onion is yours: start it with
            this page's address, and it serves the board a challenge through Tor.
          </p>
          <pre>tormr host --tor --request &lt;this page's address&gt;</pre>
        </div>
      ) : null}
      {status.state === "formed" ? (
        <p>
          The workers have your job host's address and their tickets; they join it through Tor.
          Follow the job on your job host.
        </p>
      ) : null}
      {status.state === "waiting" || status.state === "formed" ? (
        <form action={cancelAction}>
          <input type="hidden" name="token" value={token} />
          <button className="danger" type="submit">
            Cancel this request
          </button>
        </form>
      ) : null}
      <p className="muted">This page does not refresh itself: reload it to see changes.</p>
    </>
  );
}
