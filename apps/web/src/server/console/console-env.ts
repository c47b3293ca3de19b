// The console's environment, read and checked in this one place (set by `tormr console` for its server process).
import { isAbsolute } from "node:path";
import { z } from "zod";

const envSchema = z.object({
  /** The job host's state folder: its endpoints and admin secret are read from there. */
  TORMR_CONSOLE_STATE_DIR: z
    .string()
    .refine(isAbsolute, "expected the absolute path of the job host's state folder"),
  /**
   * Sent by the console's own server to Next with every console page it lets through; a board's
   * Next never knows it, so console paths there answer 404 (src/proxy.ts).
   */
  TORMR_CONSOLE_PROXY_SECRET: z.string().min(32, "expected at least 32 characters"),
  /** The sandbox of the workers the console starts on this machine (bwrap by default). */
  TORMR_CONSOLE_WORKER_SANDBOX: z.enum(["bwrap", "docker", "none"]).default("bwrap"),
});

export type ConsoleEnv = z.infer<typeof envSchema>;

export function readConsoleEnv(
  source: Record<string, string | undefined> = process.env,
): ConsoleEnv {
  const parsed = envSchema.safeParse(
    Object.fromEntries(Object.entries(source).filter(([, value]) => value !== "")),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`console environment: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

/** The header that carries TORMR_CONSOLE_PROXY_SECRET from the console's server to Next. */
export const CONSOLE_PROXY_HEADER = "x-tormr-console";

/** The proxy secret when this process serves a console, undefined on a board. */
export function consoleProxySecret(source: Record<string, string | undefined> = process.env) {
  const secret = source.TORMR_CONSOLE_PROXY_SECRET;
  return secret && secret.length >= 32 ? secret : undefined;
}
