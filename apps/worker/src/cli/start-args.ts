// Checks start's own values (job host URL, ticket) before anything touches the disk or the network.
import { joinTicketSchema } from "@tormr/protocol/worker-api";
import { UsageError } from "./usage-error.ts";

/** The job host's worker URL: http or https, no query or fragment. */
export function checkJobHost(value: string | undefined): string {
  if (value === undefined) {
    throw new UsageError(
      "ERR_MISSING_FLAG",
      "missing --job-host <url> (or TORMR_WORKER_JOB_HOST); the requester gives it with the ticket",
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      "ERR_BAD_VALUE",
      "--job-host: expected a URL such as http://127.0.0.1:7311, got something that is not a URL",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(
      "ERR_BAD_VALUE",
      `--job-host: expected an http:// or https:// URL, got ${url.protocol}//`,
    );
  }
  return value;
}

/** The one-time ticket. Messages say what is wrong with it but never repeat it. */
export function checkTicket(value: string | undefined): string {
  if (value === undefined) {
    throw new UsageError(
      "ERR_MISSING_FLAG",
      "missing --ticket <ticket> (or TORMR_WORKER_TICKET, which keeps it out of ps)",
    );
  }
  if (!joinTicketSchema.safeParse(value).success) {
    throw new UsageError(
      "ERR_BAD_VALUE",
      `--ticket: expected 43 base64url characters, got ${value.length} characters` +
        (/^[A-Za-z0-9_-]*$/.test(value) ? "" : " with some outside A-Z a-z 0-9 - _") +
        "; copy the whole ticket the requester gave you",
    );
  }
  return value;
}
