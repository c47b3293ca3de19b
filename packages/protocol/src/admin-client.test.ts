// The admin client against a tiny real server: the secret it sends, how refusals and malformed answers surface, streamed uploads and downloads.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AdminClient, AdminError } from "./admin-client.ts";
import { HostNotRunning } from "./host-endpoints.ts";

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return new AdminClient({
    adminUrl: `http://127.0.0.1:${port}`,
    workerUrl: "http://worker.example",
    secret: "s3cret",
  });
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

const status = {
  id: "job_1_0001",
  state: "running",
  error: null,
  maps: { total: 2, committed: 1, running: 1 },
  reduces: { total: 1, committed: 0, running: 0 },
  counters: { g: { n: 3 } },
  failedAttempts: 0,
  workers: [],
  createdAt: "2026-12-01T10:00:00.000Z",
  finishedAt: null,
};

describe("AdminClient", () => {
  it("sends the secret as a bearer token and parses the answer with its schema", async () => {
    let seen: IncomingMessage | undefined;
    const client = await serve((req, res) => {
      seen = req;
      json(res, 200, status);
    });
    await expect(client.status("job_1_0001")).resolves.toEqual(status);
    expect(seen?.url).toBe("/admin/jobs/job_1_0001");
    expect(seen?.headers.authorization).toBe("Bearer s3cret");
  });

  it("turns the host's refusal into an AdminError with its code, message and status", async () => {
    const client = await serve((req, res) => {
      if (req.url === "/admin/jobs") {
        json(res, 400, { code: "ERR_NOT_EXECUTABLE", message: "mapper 'm.sh' is not executable" });
      } else {
        json(res, 404, { code: "ERR_NO_JOB", message: "no job job_1_0002 on this job host" });
      }
    });
    await expect(client.createJob({ spec: {} })).rejects.toMatchObject({
      name: "AdminError",
      code: "ERR_NOT_EXECUTABLE",
      status: 400,
      message: "mapper 'm.sh' is not executable",
    });
    const missing = await client.exposure("job_1_0002").catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(AdminError);
    expect(missing).toMatchObject({ code: "ERR_NO_JOB", status: 404 });
  });

  it("names the status when a refusal is not the host's JSON (a proxy's page)", async () => {
    const client = await serve((_req, res) => {
      res.writeHead(502).end("<html>bad gateway</html>");
    });
    await expect(client.jobs()).rejects.toMatchObject({
      code: "ERR_HTTP_502",
      status: 502,
      message: "the job host answered 502 to GET /admin/jobs",
    });
  });

  it("refuses an answer that does not match its schema, naming the field", async () => {
    const client = await serve((_req, res) => {
      json(res, 200, { ...status, state: "sleeping" });
    });
    await expect(client.status("job_1_0001")).rejects.toMatchObject({
      code: "ERR_BAD_ANSWER",
      status: 200,
      message: expect.stringMatching(
        /^the job host sent an answer this client cannot read: state:/,
      ),
    });
    const notJson = await serve((_req, res) => {
      res.writeHead(200).end("hello");
    });
    await expect(notJson.outputParts("job_1_0001")).rejects.toMatchObject({
      code: "ERR_BAD_ANSWER",
    });
  });

  it("says the host does not answer when nothing listens", async () => {
    const client = await serve(() => {});
    const url = client.adminUrl;
    server?.close();
    await expect(client.jobs()).rejects.toMatchObject({
      code: "ERR_HOST_UNREACHABLE",
      status: 0,
      message: `the job host at ${url} does not answer; is tormr host running?`,
    });
  });

  it("streams an upload: the host has the first chunk before the second is made", async () => {
    const received: Buffer[] = [];
    let firstArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      firstArrived = resolve;
    });
    let seen: IncomingMessage | undefined;
    const client = await serve(async (req, res) => {
      seen = req;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        received.push(chunk);
        firstArrived();
      }
      const bytes = Buffer.concat(received).length;
      json(res, 201, { path: "/state/uploads/job_1_0001/input/a.txt", bytes });
    });
    async function* body() {
      yield Buffer.from("first line\n");
      // Buffering the whole body before sending would wait here forever.
      await arrived;
      yield Buffer.from("second line\n");
    }
    const result = await client.upload("job_1_0001", "input", "a.txt", body(), {
      executable: true,
    });
    expect(result).toEqual({ path: "/state/uploads/job_1_0001/input/a.txt", bytes: 23 });
    expect(seen?.method).toBe("PUT");
    expect(seen?.url).toBe("/admin/jobs/job_1_0001/uploads/input/a.txt?executable=1");
    expect(Buffer.concat(received).toString()).toBe("first line\nsecond line\n");
  });

  it("gives the body's own error, not 'unreachable', when the body fails mid-upload", async () => {
    const client = await serve((req, res) => {
      req.resume();
      req.on("end", () => json(res, 201, { path: "/x", bytes: 0 }));
    });
    async function* body() {
      yield Buffer.from("some");
      throw new Error("the disk went away");
    }
    await expect(client.upload("job_1_0001", "file", "m.py", body())).rejects.toThrow(
      "the disk went away",
    );
  });

  it("streams an output part as a web stream, with its size", async () => {
    const client = await serve((req, res) => {
      if (req.url === "/admin/jobs/job_1_0001/output") json(res, 200, { parts: ["part-00000"] });
      else res.writeHead(200, { "content-length": 8 }).end("a\t1\nb\t2\n");
    });
    expect(await client.outputParts("job_1_0001")).toEqual(["part-00000"]);
    const part = await client.outputPart("job_1_0001", "part-00000");
    expect(part.size).toBe(8);
    expect(await new Response(part.body).text()).toBe("a\t1\nb\t2\n");
  });

  it("reads the host, follows a board request for a job and reads it back, each checked with its schema", async () => {
    const link = `http://${"a".repeat(56)}.onion/status/${"t".repeat(43)}`;
    const seen: { method?: string; url?: string; body: string }[] = [];
    const client = await serve((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, body });
        if (req.url === "/admin/host") {
          json(res, 200, {
            workerUrl: `http://${"b".repeat(56)}.onion`,
            onion: "b".repeat(56),
            socks: { host: "127.0.0.1", port: 9050 },
          });
        } else json(res, 200, { statusLink: link, following: true, error: null });
      });
    });
    await expect(client.host()).resolves.toMatchObject({ onion: "b".repeat(56) });
    await expect(client.followBoard("job_1_0001", link)).resolves.toEqual({
      statusLink: link,
      following: true,
      error: null,
    });
    await expect(client.boardOf("job_1_0001")).resolves.toMatchObject({ following: true });
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /admin/host",
      "POST /admin/jobs/job_1_0001/board",
      "GET /admin/jobs/job_1_0001/board",
    ]);
    expect(JSON.parse(seen[1]?.body ?? "")).toEqual({ statusLink: link });
  });

  it("refuses a host answer whose onion is not a service id", async () => {
    const client = await serve((_req, res) => {
      json(res, 200, { workerUrl: "http://127.0.0.1:1", onion: "x.onion", socks: null });
    });
    await expect(client.host()).rejects.toMatchObject({
      code: "ERR_BAD_ANSWER",
      message: expect.stringMatching(/: onion: /),
    });
  });

  it("reads its endpoints and secret from a state folder, or says no host runs there", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tormr-admin-client-"));
    try {
      await expect(AdminClient.fromStateDir(dir)).rejects.toThrow(HostNotRunning);
      await expect(AdminClient.fromStateDir(dir)).rejects.toThrow(
        `no job host is running on ${dir}; start one with 'tormr host --state-dir ${dir}'`,
      );
      const endpoints = {
        adminUrl: "http://127.0.0.1:1",
        workerUrl: "http://w.example",
        pid: process.pid,
      };
      writeFileSync(join(dir, "endpoints.json"), JSON.stringify(endpoints));
      writeFileSync(join(dir, "admin-secret"), "abc\n");
      const client = await AdminClient.fromStateDir(dir);
      expect(client).toMatchObject({ adminUrl: endpoints.adminUrl, workerUrl: "http://w.example" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
