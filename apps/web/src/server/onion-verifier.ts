// The board's way to fetch a request's challenge from its job host's onion: through its own tor, as a client the job host lets in.
import { get } from "node:http";
import { loadOrCreateClientAuthKey } from "@tormr/tor/client-auth-file";
import { onionClientAuthAdd, onionClientAuthRemove } from "@tormr/tor/control/client-auth";
import { attachTor } from "@tormr/tor/tor-process";
import { torTransport } from "@tormr/tor/transport";
import type { OnionFetcher } from "./board/attach-request.ts";

export interface OnionVerifier {
  fetch: OnionFetcher;
  /** The public half (base32) of the board's client-authorization key. */
  clientAuth: string;
}

/** A challenge is 43 characters; anything much longer is not one. */
const MAX_BODY = 1024;

/**
 * A verifier over the tor at `control` (`[host:]port`, cookie or TORMR_TOR_CONTROL_PASSWORD),
 * with the client-authorization key kept in `keyFile`. The control connection is opened on first
 * use and again after it is lost. Each fetch gives tor the key for that one onion, and takes it
 * back afterwards; fetches of one onion run one at a time.
 */
export async function torOnionVerifier(control: string, keyFile: string): Promise<OnionVerifier> {
  const key = await loadOrCreateClientAuthKey(keyFile);
  const colon = control.lastIndexOf(":");
  const host = colon > 0 ? control.slice(0, colon) : "127.0.0.1";
  const port = Number(colon > 0 ? control.slice(colon + 1) : control);
  const password = process.env.TORMR_TOR_CONTROL_PASSWORD || undefined;
  let tor: ReturnType<typeof attachTor> | undefined;
  const attached = () => {
    if (!tor) {
      const pending = attachTor({ host, controlPort: port, ...(password ? { password } : {}) });
      const forget = () => {
        if (tor === pending) tor = undefined;
      };
      tor = pending;
      pending.then((t) => void t.control.ended.then(forget), forget);
    }
    return tor;
  };
  const chains = new Map<string, Promise<unknown>>();

  const fetchOnce = async (onion: string, path: string): Promise<string> => {
    const { control: ctl, socks } = await attached();
    if (!socks) throw new Error("the board's tor has no SOCKS port");
    const hostname = `${onion}.onion`;
    await onionClientAuthAdd(ctl, hostname, key.privateKey);
    const transport = torTransport({ socks, isolation: `tormr-board:verify:${onion}` });
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = get(`http://${hostname}${path}`, { agent: transport.agent }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
            if (body.length > MAX_BODY)
              res.destroy(new Error(`it answered over ${MAX_BODY} bytes`));
          });
          res.on("error", reject);
          res.on("end", () =>
            res.statusCode === 200
              ? resolve(body)
              : reject(new Error(`it answered ${res.statusCode}`)),
          );
        });
        req.setTimeout(transport.timeouts.callMs, () =>
          req.destroy(new Error(`no answer in ${transport.timeouts.callMs / 1000} s`)),
        );
        req.on("error", reject);
      });
    } finally {
      transport.close();
      await onionClientAuthRemove(ctl, hostname).catch(() => {});
    }
  };

  return {
    clientAuth: key.publicKey,
    fetch(onion, path) {
      const run = (chains.get(onion) ?? Promise.resolve()).then(() => fetchOnce(onion, path));
      const settled = run.catch(() => {});
      chains.set(onion, settled);
      void settled.then(() => chains.get(onion) === settled && chains.delete(onion));
      return run;
    },
  };
}
