// The volunteer's page: installing and running tormr-worker for this board, what it runs, what it sees, how to stop it.
import type { Metadata } from "next";
import { connection } from "next/server";
import { boardContext } from "../../../server/context.ts";

export const metadata: Metadata = { title: "Volunteer a worker · TorMR board" };

/** The worker's settings a volunteer is most likely to change, as `tormr-worker start --help` lists them. */
const FLAGS = [
  ["--slots N", "1", "tasks at once (1 to 64)"],
  ["--memory-mb N", "512", "memory per task, MiB; a task over it is killed"],
  ["--cpus N", "1", "CPU share per task (Docker only)"],
  ["--pids N", "128", "processes per task; a fork bomb stops there"],
  ["--sandbox KIND", "auto", "docker, bwrap, or auto: Docker if a daemon answers, else bubblewrap"],
  ["--tor-control PORT", "9051", "your tor's control port"],
  ["--work-dir DIR", "~/.cache/tormr-worker", "where tasks keep their data"],
] as const;

export default async function VolunteerPage() {
  await connection();
  const { settings } = await boardContext();
  const join = `tormr-worker start --board http://${settings.onion}.onion`;
  return (
    <>
      <h1>Volunteer a worker</h1>
      <p className="lead">
        Lend your computer to other people's MapReduce jobs. The worker waits on this board, joins
        one cluster at a time, runs its tasks in a sandbox with no network, and reaches everything
        through Tor. Nobody learns your IP address, and you never learn the requester's.
      </p>

      <div className="command">
        <p className="command-label">To join this board</p>
        <pre id="join-command">{join}</pre>
      </div>

      <h2>What you need</h2>
      <ul>
        <li>Node.js 20 or newer.</li>
        <li>
          tor, with a control port the worker may use: <code>ControlPort 9051</code> and{" "}
          <code>CookieAuthentication 1</code> in <code>/etc/tor/torrc</code>, and on Debian your
          user in the group <code>debian-tor</code>.
        </li>
        <li>
          A sandbox: rootless Docker (best), or bubblewrap (<code>apt-get install bubblewrap</code>
          ), which needs no daemon.
        </li>
      </ul>

      <h2>Install</h2>
      <p>
        The worker is one npm package with no dependencies, so it installs without network access.
        Get the tarball from the TorMR project (it is built with{" "}
        <code>npm run pack -w @tormr/worker</code>), then:
      </p>
      <pre>
        {`npm install --global ./tormr-worker-0.0.0.tgz
tormr-worker --version
tormr-worker identity    # makes your keys; prints the public ones`}
      </pre>

      <h2>Join this board</h2>
      <pre>{join}</pre>
      <p>
        It registers with this board through Tor, paying a small proof-of-work stamp, then waits for
        a cluster that fits what it offers. Settings come from{" "}
        <code>~/.config/tormr-worker/config.json</code> if you write one; flags override it:
      </p>
      <table className="flags">
        <thead>
          <tr>
            <th scope="col">flag</th>
            <th scope="col">default</th>
            <th scope="col">meaning</th>
          </tr>
        </thead>
        <tbody>
          {FLAGS.map(([flag, fallback, meaning]) => (
            <tr key={flag}>
              <td>
                <code>{flag}</code>
              </td>
              <td>
                <code>{fallback}</code>
              </td>
              <td>{meaning}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">
        <code>tormr-worker start --help</code> lists every flag and exit code.
      </p>

      <h2>A different pseudonym on each board</h2>
      <p>
        Your keys are made on your machine and never leave it. For each board, the worker derives
        another set from them (HKDF over the board's onion address), so this board knows you by a
        pseudonym that no other board sees. Two boards comparing notes cannot tell that their
        pseudonyms are one person's. Delete the folder <code>~/.config/tormr-worker</code> to start
        over with a new, unlinked identity everywhere.
      </p>

      <h2>What your machine runs</h2>
      <ul>
        <li>
          Each mapper, combiner and reducer runs in a sandbox with <strong>no network</strong>: a
          Docker container (<code>--network none</code>, read-only files except <code>/tmp</code>,
          user 65534, no capabilities) or a bubblewrap sandbox (new namespaces, a read-only view of{" "}
          <code>/usr</code>), with memory and process limits in both.
        </li>
        <li>
          Only the images on your allow-list run: <code>tormr/python</code> and{" "}
          <code>tormr/node</code> by default, built from this machine's own <code>python3</code> and{" "}
          <code>node</code>, never pulled from a registry.
        </li>
        <li>
          The worker itself talks only to your tor's SOCKS and control ports. It refuses to fall
          back to a direct connection.
        </li>
      </ul>

      <h2>Who sees what</h2>
      <dl className="facts">
        <dt>You</dt>
        <dd>
          Before a job's tasks run: its id, the sha256 of its code, its image and the commands it
          runs. A job whose image is not on your allow-list is refused. While a task runs, the one
          slice of data it reads, decrypted in your work folder.
        </dd>
        <dt>This board</dt>
        <dd>
          Your pseudonym here, what you offer (slots, memory, sandbox) and your heartbeats. Never
          your IP address, and never any job's data or code.
        </dd>
        <dt>The job host</dt>
        <dd>
          Your pseudonym, and the sealed results of your tasks. It reaches you only through Tor.
        </dd>
      </dl>

      <h2>Watching and stopping</h2>
      <pre>
        {`tormr-worker status    # from another shell: what it is doing
Ctrl-C                 # or SIGTERM: hands tasks back, leaves the board`}
      </pre>
      <p>
        A graceful stop keeps nothing half-computed: the job host gives those tasks to another
        worker. A second Ctrl-C quits at once (exit 130), and the job host notices later. To run the
        worker as a service, use the systemd unit that ships in the package; the package's{" "}
        <code>docs/volunteer.md</code> explains it.
      </p>
    </>
  );
}
