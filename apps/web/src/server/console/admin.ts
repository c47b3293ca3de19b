// The job host's admin API as the console's pages reach it: the state folder from the console's environment, read again on every call (the job host may have restarted).
import { AdminClient } from "@tormr/protocol/admin-client";
import { readConsoleEnv } from "./console-env.ts";

export function consoleAdmin(): Promise<AdminClient> {
  return AdminClient.fromStateDir(readConsoleEnv().TORMR_CONSOLE_STATE_DIR);
}
