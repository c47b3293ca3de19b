// What every console page shows when the job host does not answer: what happened and how to start it.
export function HostDown({ message }: { message: string }) {
  return (
    <div className="card">
      <h1>The job host does not answer</h1>
      <p className="notice bad">{message}</p>
      <p className="sub">
        The console shows the jobs of a running job host. Start it (<code>tormr host</code>, with
        the same <code>--state-dir</code>), then reload this page.
      </p>
    </div>
  );
}
