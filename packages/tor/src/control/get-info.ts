// GETINFO and the few keys TorMR reads: bootstrap progress, SOCKS listeners, our onion services (control-spec §3.9).
import { TorError } from "../errors.ts";
import { parseArguments } from "./tokens.ts";
import type { TorControl } from "./tor-control.ts";

/**
 * GETINFO (control-spec §3.9): `250-key=value` lines, or `250+key=` with a data block.
 * @returns each asked key's value, as tor wrote it.
 */
export async function getInfo(control: TorControl, keys: string[]): Promise<Map<string, string>> {
  for (const key of keys) {
    if (!/^[A-Za-z0-9/_.:-]+$/.test(key)) {
      throw new TorError(
        "ERR_TOR_ARGUMENT",
        `expected a GETINFO key like net/listeners/socks, got ${JSON.stringify(key)}`,
      );
    }
  }
  const reply = await control.send(`GETINFO ${keys.join(" ")}`);
  const values = new Map<string, string>();
  for (const line of reply.lines) {
    const equals = line.text.indexOf("=");
    if (equals < 0) continue; // the final "OK"
    const key = line.text.slice(0, equals);
    values.set(key, line.data ?? line.text.slice(equals + 1));
  }
  return values;
}

export interface BootstrapPhase {
  /** 0 to 100. */
  progress: number;
  tag: string;
  summary: string;
  /** tor's warning, when bootstrap is stuck (severity WARN). */
  warning: string | undefined;
}

/** `status/bootstrap-phase` (control-spec §4.1.10's BOOTSTRAP status event, as GETINFO returns it). */
export function parseBootstrapPhase(value: string): BootstrapPhase {
  const { positional, keywords } = parseArguments(value);
  const progress = Number(keywords.get("PROGRESS"));
  if (positional[1] !== "BOOTSTRAP" || !Number.isInteger(progress)) {
    throw new TorError("ERR_TOR_PROTOCOL", `unexpected status/bootstrap-phase: ${value}`);
  }
  return {
    progress,
    tag: keywords.get("TAG") ?? "",
    summary: keywords.get("SUMMARY") ?? "",
    warning:
      positional[0] === "WARN" ? (keywords.get("WARNING") ?? keywords.get("REASON")) : undefined,
  };
}

export async function bootstrapPhase(control: TorControl): Promise<BootstrapPhase> {
  const value = (await getInfo(control, ["status/bootstrap-phase"])).get("status/bootstrap-phase");
  return parseBootstrapPhase(value ?? "");
}

/** `net/listeners/socks`: the addresses tor's SOCKS ports actually listen on (useful with `SocksPort auto`). */
export async function socksListeners(
  control: TorControl,
): Promise<{ host: string; port: number }[]> {
  const value = (await getInfo(control, ["net/listeners/socks"])).get("net/listeners/socks") ?? "";
  return parseArguments(value).positional.flatMap((address) => {
    const match = /^(.*):(\d+)$/.exec(address);
    if (!match || match[1]?.startsWith("unix")) return [];
    return [{ host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port: Number(match[2]) }];
  });
}

/** `onions/current`: the service ids (56 chars, no ".onion") this connection added without Detach. */
export async function currentOnions(control: TorControl, detached = false): Promise<string[]> {
  const key = detached ? "onions/detached" : "onions/current";
  try {
    const value = (await getInfo(control, [key])).get(key) ?? "";
    return value.split(/\s+/).filter((id) => id.length > 0);
  } catch (error) {
    // tor answers 551 when the list is empty.
    if (
      error instanceof TorError &&
      error.code === "ERR_TOR_COMMAND" &&
      /: 551 /.test(error.message)
    )
      return [];
    throw error;
  }
}
