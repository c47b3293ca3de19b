// The board's listener under `tormr-board start` never serves the requester console: its paths answer 404, however spelled.
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveBoard } from "../src/cli/serve.ts";

let dir: string;
let board = "";
let stop: () => void = () => {};
let serving: Promise<number>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tormr-board-console-"));
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  let ready: () => void = () => {};
  const served = new Promise<void>((resolve) => {
    ready = resolve;
  });
  serving = serveBoard({
    stateDir: dir,
    port: 0,
    torControl: undefined,
    stopped,
    say: (line) => {
      const url = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
      if (url) board = url;
      if (/address would be/.test(line)) ready();
    },
  });
  await Promise.race([
    served,
    serving.then((code) => Promise.reject(new Error(`the board stopped (${code})`))),
  ]);
}, 180_000);

afterAll(async () => {
  stop();
  await serving;
  rmSync(dir, { recursive: true, force: true });
});

/** A GET of a raw request target (fetch would normalize `//console`). */
function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(board, { path }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the board's listener and the console", () => {
  it("answers 404 to every console path", async () => {
    for (const path of [
      "/console",
      "/console?key=abc",
      "/console/style.css",
      "/api/console",
      "/api/console/jobs",
      "/Console",
      "//console",
      "/%63onsole",
    ]) {
      // The guard's own answer, not Next's 404 page: no page of the app is ever asked.
      expect(await get(path), path).toEqual({ status: 404, body: "not found\n" });
    }
  });

  it("still serves the board", async () => {
    expect((await get("/")).status).toBe(200);
    expect((await get("/post")).status).toBe(200);
  });
});
