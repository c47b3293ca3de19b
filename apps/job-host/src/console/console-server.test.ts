import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeEndpoints } from "../master/host-endpoints.ts";
import { type JobHost, startJobHost } from "../master/job-host.ts";
import { type ConsoleServer, startConsoleServer } from "./console-server.ts";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET with any Host header (fetch does not let one set it). */
function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

let stateDir: string;
let host: JobHost;
let console_: ConsoleServer;
let cookie: string;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "tormr-console-"));
  host = await startJobHost({ stateDir });
  await writeEndpoints(stateDir, {
    workerUrl: host.workerUrl,
    adminUrl: host.adminUrl,
    pid: process.pid,
  });
  console_ = await startConsoleServer({ stateDir });
});

afterAll(async () => {
  await console_?.close();
  await host?.close();
  await rm(stateDir, { recursive: true, force: true });
});

describe("the console's listener", () => {
  it("listens on 127.0.0.1 and prints a URL with a key", () => {
    expect(console_.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\?key=[A-Za-z0-9_-]{43}$/);
  });

  it("refuses a foreign Host with 421, key or not (DNS rebinding)", async () => {
    const port = new URL(console_.origin).port;
    for (const name of [`rebind.example:${port}`, "127.0.0.1", `127.0.0.1:${Number(port) + 1}`]) {
      const answer = await get(console_.url, { host: name });
      expect(answer.status, name).toBe(421);
      expect(answer.headers["set-cookie"]).toBeUndefined();
    }
  });

  it("refuses a request without the secret with 401 and says how to open the console", async () => {
    const answer = await get(`${console_.origin}/console`);
    expect(answer.status).toBe(401);
    expect(answer.body).toContain("Open the URL that <code>tormr console</code> printed");
    expect((await get(`${console_.origin}/console/style.css`)).status).toBe(401);
    expect((await get(`${console_.origin}/console?key=wrong`)).status).toBe(401);
  });

  it("trades the key for a session cookie, once, and then lists the jobs", async () => {
    const first = await get(console_.url);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe("/console");
    const setCookie = String(first.headers["set-cookie"]);
    expect(setCookie).toContain("HttpOnly; SameSite=Strict; Path=/console");
    cookie = setCookie.split(";")[0] as string;

    const again = await get(console_.url);
    expect(again.status).toBe(401);
    expect(again.body).toContain("opened already");

    const list = await get(`${console_.origin}/console`, { cookie });
    expect(list.status).toBe(200);
    expect(list.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(list.body).toContain("No jobs yet.");
    const localhost = await get(`${console_.origin}/console`, {
      cookie,
      host: `localhost:${new URL(console_.origin).port}`,
    });
    expect(localhost.status).toBe(200);
  });

  it("says the job host is unavailable, with how to start it, when it is gone", async () => {
    await writeEndpoints(stateDir, {
      workerUrl: host.workerUrl,
      adminUrl: host.adminUrl,
      pid: 2 ** 22 + 1,
    });
    const answer = await get(`${console_.origin}/console`, { cookie });
    expect(answer.status).toBe(503);
    expect(answer.body).toContain("start one with &#39;tormr host --state-dir");
  });

  it("answers 404 outside /console, and 405 to anything but GET", async () => {
    expect((await get(`${console_.origin}/`, { cookie })).status).toBe(404);
    expect((await get(`${console_.origin}/api/console`, { cookie })).status).toBe(404);
    const posted = await new Promise<number>((resolve, reject) => {
      const req = request(`${console_.origin}/console`, { method: "POST", headers: { cookie } });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(posted).toBe(405);
  });
});
