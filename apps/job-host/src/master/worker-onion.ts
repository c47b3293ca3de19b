// The job host's worker listener as an onion service: a persistent address, and client authorization that follows the cluster.
import type { EventEmitter } from "node:events";
import { generateClientAuthKeyPair } from "@tormr/tor/control/client-auth";
import { watchDescriptorUpload } from "@tormr/tor/control/events";
import {
  type AddedOnion,
  type AddOnionOptions,
  addOnion,
  delOnion,
} from "@tormr/tor/control/onion-service";
import type { TorControl } from "@tormr/tor/control/tor-control";
import { loadOnionKey, saveOnionKey } from "@tormr/tor/onion-key";
import type { OnionClients } from "./onion-clients.ts";

export interface WorkerOnionOptions {
  /** An authenticated control connection; the service lives as long as it does (no Detach). */
  control: TorControl;
  /** The onion's key (0600): made on first start, so the address survives restarts. */
  keyFile: string;
  /** The worker listener's port on 127.0.0.1. */
  target: number;
  /** How long to wait for the first descriptor upload. */
  uploadTimeoutMs?: number;
  log?: (event: Record<string, unknown>) => void;
}

/**
 * Only the worker listener is ever published, on virtual port 80. Tor has no command to change a
 * running service's ClientAuthV3 set, so `restrict` withdraws the service and publishes it again
 * with the same key (control-spec §3.27–3.28); circuits in use then close, and workers reconnect.
 */
export class WorkerOnion {
  private current = "none";
  private chain: Promise<void> = Promise.resolve();
  /** A key nobody holds: the set for "nobody may connect", which ClientAuthV3 cannot say otherwise. */
  private readonly nobody = generateClientAuthKeyPair().publicKey;
  private closed = false;

  private constructor(
    private readonly options: WorkerOnionOptions,
    private readonly keyBlob: string,
    readonly serviceId: string,
  ) {}

  get hostname(): string {
    return `${this.serviceId}.onion`;
  }

  get url(): string {
    return `http://${this.hostname}`;
  }

  /**
   * Publishes the service and waits until its descriptor is uploaded, so the printed address
   * works. A job host resuming jobs whose workers are known starts restricted to them; otherwise
   * the service starts open (joining needs a ticket anyway) until the first `restrict`.
   */
  static async publish(options: WorkerOnionOptions, initial?: OnionClients): Promise<WorkerOnion> {
    const saved = await loadOnionKey(options.keyFile);
    const known = initial && !initial.open && initial.keys.length > 0 ? initial.keys : undefined;
    const added = await publishAndWait(options, {
      ...(saved ? { keyBlob: saved.keyBlob } : {}),
      ports: [{ virtualPort: 80, target: options.target }],
      ...(known ? { clientAuthV3: known } : {}),
    });
    if (!saved && added.keyBlob) {
      await saveOnionKey(options.keyFile, { serviceId: added.serviceId, keyBlob: added.keyBlob });
    }
    const onion = new WorkerOnion(options, added.keyBlob ?? "", added.serviceId);
    onion.current = known ? known.join(",") : "open";
    options.log?.({
      event: "onion-published",
      onion: onion.hostname,
      ...(known ? { clients: known.length } : { open: true }),
    });
    return onion;
  }

  /** Makes the service's client authorization `clients`, re-publishing only when it changes. */
  restrict(clients: OnionClients): Promise<void> {
    const run = this.chain.then(() => this.apply(clients));
    this.chain = run.catch(() => {});
    return run;
  }

  private async apply(clients: OnionClients): Promise<void> {
    const keys = clients.open ? [] : clients.keys.length > 0 ? clients.keys : [this.nobody];
    const wanted = clients.open ? "open" : keys.join(",");
    if (this.closed || wanted === this.current) return;
    await delOnion(this.options.control, this.serviceId);
    this.current = "none";
    await publishAndWait(this.options, {
      keyBlob: this.keyBlob,
      ports: [{ virtualPort: 80, target: this.options.target }],
      ...(keys.length > 0 ? { clientAuthV3: keys } : {}),
    });
    this.current = wanted;
    this.options.log?.({
      event: "onion-clients",
      onion: this.hostname,
      ...(clients.open ? { open: true, reason: clients.reason } : { clients: clients.keys.length }),
    });
  }

  /**
   * Keeps the client authorization equal to what `wanted` says: looked at on every "job" event of
   * `events` and every `periodMs` (a killed worker changes nothing until it is noticed silent).
   * The first look waits for either, so a host about to get its first job and tickets is not
   * closed to nobody and then opened again. Failures are logged, and the next look tries again.
   */
  follow(
    wanted: () => Promise<OnionClients>,
    options: { events: EventEmitter<{ job: [jobId: string] }>; periodMs: number },
  ): { stop(): void } {
    let running = false;
    let again = false;
    const check = () => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      void wanted()
        .then((clients) => this.restrict(clients))
        .catch((error: unknown) =>
          this.options.log?.({ event: "onion-clients-failed", message: (error as Error).message }),
        )
        .finally(() => {
          running = false;
          if (again) {
            again = false;
            check();
          }
        });
    };
    options.events.on("job", check);
    const timer = setInterval(check, options.periodMs);
    timer.unref();
    return {
      stop() {
        options.events.off("job", check);
        clearInterval(timer);
      },
    };
  }

  /** Withdraws the service. */
  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    await delOnion(this.options.control, this.serviceId).catch(() => {});
  }
}

/** ADD_ONION, then waits until tor reports the descriptor uploaded to every HSDir (watching from before the add). */
async function publishAndWait(
  options: WorkerOnionOptions,
  onion: AddOnionOptions,
): Promise<AddedOnion> {
  const upload = await watchDescriptorUpload(options.control, options.uploadTimeoutMs ?? 120_000);
  let added: AddedOnion;
  try {
    added = await addOnion(options.control, onion);
  } catch (error) {
    await upload.cancel();
    throw error;
  }
  // Every HSDir, not the first: one still holding the previous descriptor under this key would send
  // clients to introduction points that are gone.
  await upload.uploaded(added.serviceId, { everywhere: true });
  return added;
}
