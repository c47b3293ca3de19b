// Starts one tor of the test network in its own folder and records its pid file: the same options for every node of a role.
import { join } from "node:path";
import { launchTor, type TorProcess } from "../tor-process.ts";
import { type NodeOptionsInput, nodeOptions } from "./node-options.ts";
import { recordPid } from "./state.ts";

export interface LaunchNodeOptions {
  /** The network's folder; the node's DataDirectory is `<dir>/<nickname>`, its pid file `<dir>/pids/<nickname>`. */
  dir: string;
  node: NodeOptionsInput;
  torBinary?: string;
  /** tor exits on its own once this process is gone (__OwningControllerProcess). */
  ownerPid?: number;
  /** Let tor outlive this node process. */
  detached?: boolean;
}

/**
 * Clients get launchTor's default SocksPort (`127.0.0.1:auto ExtendedErrors`, so refusals carry
 * tor's extended SOCKS replies); authorities and relays get none. Every node gets a ControlPort
 * with cookie authentication.
 */
export async function launchNode(options: LaunchNodeOptions): Promise<TorProcess> {
  const { dir, node } = options;
  const tor = await launchTor({
    dataDirectory: join(dir, node.nickname),
    options: nodeOptions(node),
    socksPort: node.role === "client" ? undefined : 0,
    torBinary: options.torBinary,
    ownerPid: options.ownerPid,
    detached: options.detached,
  });
  await recordPid(dir, node.nickname, tor.pid);
  return tor;
}
