// The tor transport through real tors: requests reuse one keep-alive stream, isolation keys get their own circuits, and refusals read clearly.
import { get } from "node:http";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  parseStream,
  type StreamEvent,
  subscribe,
  watchDescriptorUpload,
} from "../src/control/events.ts";
import { addOnion, delOnion } from "../src/control/onion-service.ts";
import type { TorControl } from "../src/control/tor-control.ts";
import { TorAgent } from "../src/transport.ts";
import { controlOf, fetchUntil, httpServer } from "./helpers.ts";

const testnet = inject("testnet");

function fetchText(url: string, agent: TorAgent): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      res.on("error", reject);
    }).on("error", reject);
  });
}

describe("TorAgent against tor", () => {
  const [host, visitor] = testnet.clients;
  let hostControl: TorControl;
  let visitorControl: TorControl;
  let onion: { serviceId: string; hostname: string };
  let close: () => void;
  beforeAll(async () => {
    hostControl = await controlOf(host!);
    visitorControl = await controlOf(visitor!);
    const { server, port } = await httpServer("through tor");
    close = () => server.close();
    const upload = await watchDescriptorUpload(hostControl);
    onion = await addOnion(hostControl, {
      ports: [{ virtualPort: 80, target: port }],
      discardKey: true,
    });
    await upload.uploaded(onion.serviceId);
    await fetchUntil(visitor!, onion.hostname, "through tor");
  });
  afterAll(async () => {
    await delOnion(hostControl, onion.serviceId).catch(() => {});
    await hostControl?.close();
    await visitorControl?.close();
    close?.();
  });

  it("keeps one stream alive for many requests, and gives each isolation key its own circuit", async () => {
    const streams: StreamEvent[] = [];
    const unsubscribe = await subscribe(visitorControl, "STREAM", (event) =>
      streams.push(parseStream(event)),
    );
    const socks = { port: visitor!.socksPort };
    const first = new TorAgent({ socks, isolation: "job_a" });
    const second = new TorAgent({ socks, isolation: "job_b" });
    try {
      for (let i = 0; i < 3; i++)
        expect(await fetchText(`http://${onion.hostname}/`, first)).toBe("through tor");
      expect(await fetchText(`http://${onion.hostname}/`, second)).toBe("through tor");
    } finally {
      first.destroy();
      second.destroy();
      await unsubscribe();
    }
    const succeeded = streams.filter(
      (s) => s.target === `${onion.hostname}:80` && s.status === "SUCCEEDED",
    );
    // Three requests of one agent, one stream; the other key, a stream of its own on another circuit.
    expect(succeeded).toHaveLength(2);
    expect(succeeded[0]?.circuitId).not.toBe(succeeded[1]?.circuitId);
  });

  it("says so when the onion is not published", async () => {
    const agent = new TorAgent({ socks: { port: visitor!.socksPort }, isolation: "gone" });
    // rend-spec-v3's test vector: a valid address that nobody publishes.
    const other = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion";
    const error = await fetchText(`http://${other}/`, agent).catch((e: unknown) => e);
    agent.destroy();
    expect(error).toMatchObject({ code: "ERR_SOCKS", socksReply: 0xf0 });
    expect((error as Error).message).toContain(`${other} is not published on Tor`);
  });
});
