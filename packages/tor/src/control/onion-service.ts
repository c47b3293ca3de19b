// ADD_ONION and DEL_ONION (control-spec §3.27, §3.28): publish and withdraw v3 onion services.
import { TorError } from "../errors.ts";
import { assertKeyMatches } from "../onion-key.ts";
import type { TorControl } from "./tor-control.ts";

export interface OnionPort {
  /** The port clients ask for on the onion address. */
  virtualPort: number;
  /** Where tor forwards it: a port on 127.0.0.1, or "host:port", or "unix:/path". */
  target: number | string;
}

export interface AddOnionOptions {
  /** A saved `ED25519-V3:<base64>` key to restore an address; a new key when absent. */
  keyBlob?: string;
  ports: OnionPort[];
  /** Keep the service after this control connection closes (Flags=Detach). */
  detach?: boolean;
  /** Do not return the new key (Flags=DiscardPK): the address cannot be restored later. */
  discardKey?: boolean;
  /** Base32 x25519 public keys of the clients allowed in (v3 client authorization, Flags=V3Auth). */
  clientAuthV3?: string[];
  /** Close the circuit of a client that opens more streams than this (MaxStreams, with MaxStreamsCloseCircuit). */
  maxStreams?: number;
  timeoutMs?: number;
}

export interface AddedOnion {
  /** 56 characters, no ".onion". */
  serviceId: string;
  hostname: string;
  /** `ED25519-V3:<base64>` for a new key, unless discarded; already checked against serviceId. */
  keyBlob: string | undefined;
}

const KEY_ARGUMENT = /^ED25519-V3:[A-Za-z0-9+/]{86}==$/;
const BASE32_KEY = /^[A-Za-z2-7]{52}$/;

function portArgument(port: OnionPort): string {
  const checkPort = (value: number) => Number.isInteger(value) && value > 0 && value < 65536;
  if (!checkPort(port.virtualPort)) {
    throw new TorError(
      "ERR_TOR_ARGUMENT",
      `expected a virtual port 1-65535, got ${port.virtualPort}`,
    );
  }
  const target = typeof port.target === "number" ? `127.0.0.1:${port.target}` : port.target;
  if (typeof port.target === "number" ? !checkPort(port.target) : !/^[^\s,]+$/.test(target)) {
    throw new TorError(
      "ERR_TOR_ARGUMENT",
      `expected a target port or host:port, got ${JSON.stringify(port.target)}`,
    );
  }
  return `Port=${port.virtualPort},${target}`;
}

/**
 * ADD_ONION (control-spec §3.27): `ADD_ONION KeyType:KeyBlob [Flags=...] [MaxStreams=N]
 * Port=virt,target... ClientAuthV3=key...`. A returned key is checked to give the returned
 * address before it is handed back, so a caller never saves a key for the wrong address.
 */
export async function addOnion(control: TorControl, options: AddOnionOptions): Promise<AddedOnion> {
  if (options.ports.length === 0)
    throw new TorError("ERR_TOR_ARGUMENT", "expected at least one onion port");
  if (options.keyBlob !== undefined && !KEY_ARGUMENT.test(options.keyBlob)) {
    throw new TorError(
      "ERR_TOR_ARGUMENT",
      "expected the key as 'ED25519-V3:' and 64 bytes in base64",
    );
  }
  const clients = options.clientAuthV3 ?? [];
  for (const key of clients) {
    if (!BASE32_KEY.test(key)) {
      throw new TorError(
        "ERR_TOR_ARGUMENT",
        `expected a client-auth public key as 52 base32 characters, got length=${key.length}`,
      );
    }
  }
  const flags = [
    options.detach ? "Detach" : undefined,
    options.discardKey ? "DiscardPK" : undefined,
    clients.length > 0 ? "V3Auth" : undefined,
    options.maxStreams !== undefined ? "MaxStreamsCloseCircuit" : undefined,
  ].filter((flag) => flag !== undefined);
  const parts = [`ADD_ONION ${options.keyBlob ?? "NEW:ED25519-V3"}`];
  if (flags.length > 0) parts.push(`Flags=${flags.join(",")}`);
  if (options.maxStreams !== undefined) {
    if (
      !Number.isInteger(options.maxStreams) ||
      options.maxStreams < 0 ||
      options.maxStreams > 65535
    ) {
      throw new TorError(
        "ERR_TOR_ARGUMENT",
        `expected MaxStreams 0-65535, got ${options.maxStreams}`,
      );
    }
    parts.push(`MaxStreams=${options.maxStreams}`);
  }
  parts.push(...options.ports.map(portArgument));
  parts.push(...clients.map((key) => `ClientAuthV3=${key}`));
  const reply = await control.send(parts.join(" "), { timeoutMs: options.timeoutMs });

  let serviceId: string | undefined;
  let keyBlob: string | undefined;
  for (const line of reply.lines) {
    if (line.text.startsWith("ServiceID=")) serviceId = line.text.slice("ServiceID=".length);
    if (line.text.startsWith("PrivateKey=")) keyBlob = line.text.slice("PrivateKey=".length);
  }
  if (!serviceId || !/^[a-z2-7]{56}$/.test(serviceId)) {
    throw new TorError("ERR_TOR_PROTOCOL", "ADD_ONION answered without a v3 ServiceID");
  }
  if (keyBlob) assertKeyMatches(keyBlob, serviceId);
  return { serviceId, hostname: `${serviceId}.onion`, keyBlob: keyBlob ?? options.keyBlob };
}

/** DEL_ONION (control-spec §3.28): withdraws a service this tor publishes (its descriptor expires on its own). */
export async function delOnion(control: TorControl, serviceId: string): Promise<void> {
  const id = serviceId.replace(/\.onion$/, "");
  if (!/^[a-z2-7]{56}$/.test(id)) {
    throw new TorError(
      "ERR_TOR_ARGUMENT",
      `expected a 56-character service id, got ${JSON.stringify(serviceId)}`,
    );
  }
  await control.send(`DEL_ONION ${id}`);
}
