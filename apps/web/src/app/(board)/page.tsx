// The home page: what TorMR is, how to request a cluster, how to volunteer, and coarse, late numbers.
import { connection } from "next/server";
import { boardStats } from "../../server/board/stats.ts";
import { boardContext } from "../../server/context.ts";

export default async function Home() {
  await connection();
  const { db, settings } = await boardContext();
  const stats = await boardStats(db);
  return (
    <>
      <h1>MapReduce for people who must not be seen</h1>
      <p>
        A requester posts a cluster request here. Volunteers' workers wait here for work. When a
        request has enough suitable workers, the board hands them the onion address of the
        requester's job host, and a one-time ticket each. From then on they talk only to the job
        host, through Tor: it gives each task only the sealed slice of data it needs. Nobody learns
        anyone's IP address, and this board never sees the data or the code.
      </p>
      <ul className="numbers">
        <li>
          <strong>{stats.workersAvailable}</strong>workers available
        </li>
        <li>
          <strong>{stats.openRequests}</strong>open requests
        </li>
        <li>
          <strong>{stats.clustersFormed}</strong>clusters formed
        </li>
      </ul>
      <p className="muted">
        Rounded down to fives, and counted at most every five minutes (last at{" "}
        {stats.countedAt.toISOString().slice(11, 16)} UTC), so that they tell nobody when a given
        volunteer came or went.
      </p>
      <h2>Request a cluster</h2>
      <p>
        Run a job host (<code>tormr host --tor</code>) with your data and code, then{" "}
        <a href="/post">post a request</a> naming its onion address and how many workers you want.
        You get a secret status link; there are no accounts. Give the link to your job host, which
        proves to the board that the onion is yours and takes in the workers it is matched with:
      </p>
      <pre>tormr host --tor --request &lt;your status link&gt;</pre>
      <h2 id="volunteer">Volunteer</h2>
      <p>
        Install the worker package and let it wait for work here. It registers under a pseudonym of
        its own for this board (another on every board), runs each task in a sandbox with no
        network, and reaches everything through Tor. <a href="/volunteer">How to volunteer</a>.
      </p>
      <pre>tormr-worker start --board http://{settings.onion}.onion</pre>
    </>
  );
}
