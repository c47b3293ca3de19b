// The worker's environment variables, read and checked in this one place.
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { defaultConfigDir } from "./identity.ts";

/** An unset variable and an empty one mean the same: not given. */
const optional = z
  .string()
  .optional()
  .transform((value) => (value === "" ? undefined : value));

const envSchema = z.object({
  XDG_CONFIG_HOME: optional,
  XDG_CACHE_HOME: optional,
  /** Lets a service manager keep the ticket out of the command line (and so out of `ps`). */
  TORMR_WORKER_TICKET: optional,
  TORMR_WORKER_JOB_HOST: optional,
  /** `start --board`: the board to wait on for seats (instead of a job host and ticket). */
  TORMR_WORKER_BOARD: optional,
  /** tor's control port, `[host:]port`. */
  TORMR_TOR_CONTROL: optional,
  /** tor's HashedControlPassword, for a tor without cookie authentication; never a flag (ps). */
  TORMR_TOR_CONTROL_PASSWORD: optional,
  TORMR_DEBUG: optional,
});

export interface WorkerEnv {
  /** `$XDG_CONFIG_HOME/tormr-worker` or `~/.config/tormr-worker`: identity and config. */
  configDir: string;
  /** `$XDG_CACHE_HOME/tormr-worker` or `~/.cache/tormr-worker`: the default work folder. */
  cacheDir: string;
  ticket: string | undefined;
  jobHost: string | undefined;
  board: string | undefined;
  torControl: string | undefined;
  torControlPassword: string | undefined;
  /** TORMR_DEBUG=1 adds stack traces to internal errors. */
  debug: boolean;
}

export function readEnv(source: Record<string, string | undefined> = process.env): WorkerEnv {
  const env = envSchema.parse({
    XDG_CONFIG_HOME: source.XDG_CONFIG_HOME,
    XDG_CACHE_HOME: source.XDG_CACHE_HOME,
    TORMR_WORKER_TICKET: source.TORMR_WORKER_TICKET,
    TORMR_WORKER_JOB_HOST: source.TORMR_WORKER_JOB_HOST,
    TORMR_WORKER_BOARD: source.TORMR_WORKER_BOARD,
    TORMR_TOR_CONTROL: source.TORMR_TOR_CONTROL,
    TORMR_TOR_CONTROL_PASSWORD: source.TORMR_TOR_CONTROL_PASSWORD,
    TORMR_DEBUG: source.TORMR_DEBUG,
  });
  return {
    configDir: defaultConfigDir({ XDG_CONFIG_HOME: env.XDG_CONFIG_HOME }),
    cacheDir: join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tormr-worker"),
    ticket: env.TORMR_WORKER_TICKET,
    jobHost: env.TORMR_WORKER_JOB_HOST,
    board: env.TORMR_WORKER_BOARD,
    torControl: env.TORMR_TOR_CONTROL,
    torControlPassword: env.TORMR_TOR_CONTROL_PASSWORD,
    debug: env.TORMR_DEBUG === "1",
  };
}
