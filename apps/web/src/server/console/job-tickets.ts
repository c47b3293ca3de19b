// The join tickets the console made for a job whose workers the requester hands out herself: shown on the job's page while this console runs.

const TICKETS = Symbol.for("tormr.console.tickets");

function tickets(): Map<string, string[]> {
  const store = globalThis as { [TICKETS]?: Map<string, string[]> };
  store[TICKETS] ??= new Map();
  return store[TICKETS];
}

export function saveTickets(jobId: string, list: string[]): void {
  tickets().set(jobId, [...(tickets().get(jobId) ?? []), ...list]);
}

export function jobTickets(jobId: string): string[] {
  return [...(tickets().get(jobId) ?? [])];
}
