// `tormr console` for real, in Chromium: beside a real `tormr host` with a job run by a real worker, it lists the jobs, with JavaScript off and on, and refuses a rebinding name and a visit without its key; every request stays on its origin.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type Browser, chromium, type Page } from "@playwright/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminClient,
  type HostProcess,
  killAll,
  startHostProcess,
  startWorkerProcess,
  type WorkerProcess,
  waitForJob,
} from "./cluster-helpers.ts";
import { fixture, jobSpec, type Workspace, workspace } from "./helpers.ts";

const TORMR = join(import.meta.dirname, "..", "bin", "tormr.js");
/** As apps/web/playwright.config.ts, plus a name of an attacker's that resolves to 127.0.0.1. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--host-resolver-rules=MAP rebind.test 127.0.0.1",
];

let w: Workspace;
let stateDir: string;
let host: HostProcess;
const workers: WorkerProcess[] = [];
const consoles: ChildProcess[] = [];
let browser: Browser;
let done = "";
let waiting = "";

/** Starts `tormr console --json` and returns the URL it prints. */
async function startConsole(): Promise<string> {
  const child = spawn(process.execPath, [TORMR, "console", "--state-dir", stateDir, "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  consoles.push(child);
  const err: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => err.push(line));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`tormr console exited ${code}: ${err}`)));
  });
  return (JSON.parse(line) as { url: string }).url;
}

/** Every request the page makes that leaves `origin`. */
function foreignRequests(page: Page, origin: string): string[] {
  const foreign: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(`${origin}/`)) foreign.push(request.url());
  });
  return foreign;
}

beforeAll(async () => {
  // Never skipped: without Chromium there is no browser test, and that fails the run.
  if (!existsSync("/usr/bin/chromium")) {
    throw new Error("Chromium is not installed (/usr/bin/chromium): run 'npm run setup'");
  }
  w = workspace(2, 20_000);
  stateDir = mkdtempSync(join(tmpdir(), "tormr-console-host-"));
  host = await startHostProcess(stateDir);
  const admin = adminClient(host);
  const spec = (name: string) =>
    jobSpec({
      inputs: [w.input],
      output: join(w.dir, name),
      task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
      files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
      numReduceTasks: 1,
    });
  const first = await admin.createJob(spec("out-done"), 1);
  done = first.jobId;
  workers.push(
    await startWorkerProcess(host.workerUrl, first.tickets[0] as string, join(w.dir, "w"), "none"),
  );
  expect((await waitForJob(admin, done)).state).toBe("succeeded");
  // No worker for this one: it waits.
  waiting = (await admin.createJob(spec("out-waiting"), 0)).jobId;
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  for (const child of consoles) child.kill("SIGTERM");
  await killAll(host, workers);
  rmSync(stateDir, { recursive: true, force: true });
  w?.cleanup();
});

describe("tormr console in Chromium", () => {
  for (const javaScriptEnabled of [false, true]) {
    it(`lists the job host's jobs from the printed URL (JavaScript ${javaScriptEnabled ? "on" : "off"})`, async () => {
      const url = await startConsole();
      const origin = new URL(url).origin;
      const context = await browser.newContext({ javaScriptEnabled });
      const page = await context.newPage();
      const foreign = foreignRequests(page, origin);
      await page.goto(url);
      // The key has left the address bar; the session cookie carries on, and a reload works.
      expect(page.url()).toBe(`${origin}/console`);
      await page.reload();
      await expect.poll(() => page.locator("h1").textContent()).toBe("Jobs");
      const cells = async (id: string) =>
        page.locator("table.jobs tr", { hasText: id }).locator("td").allTextContents();
      expect(await cells(done)).toEqual([
        done,
        "succeeded",
        expect.stringMatching(/^(\d+) of \1$/),
        "1 of 1",
        "0",
        expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/),
      ]);
      const open = await cells(waiting);
      expect(open[0]).toBe(waiting);
      expect(["preparing", "running"]).toContain(open[1]);
      expect(open[3]).toBe("0 of 1");
      // The newest first.
      expect(await page.locator("table.jobs tbody td.id").allTextContents()).toEqual([
        waiting,
        done,
      ]);
      // The stylesheet applied: the board's paper colour.
      expect(await page.evaluate("getComputedStyle(document.body).backgroundColor")).toBe(
        "rgb(247, 247, 245)",
      );
      const cookies = await context.cookies();
      expect(cookies).toEqual([
        expect.objectContaining({
          name: "tormr_console",
          path: "/console",
          httpOnly: true,
          sameSite: "Strict",
        }),
      ]);

      // Another browser holding the same link: the key is spent.
      const other = await browser.newContext({ javaScriptEnabled });
      const second = await other.newPage();
      const answer = await second.goto(url);
      expect(answer?.status()).toBe(401);
      await expect.poll(() => second.locator("body").textContent()).toContain("opened already");
      await other.close();

      expect(foreign).toEqual([]);
      await context.close();
    });
  }

  it("refuses a visit without the key, and says how to open the console", async () => {
    const origin = new URL(await startConsole()).origin;
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const foreign = foreignRequests(page, origin);
    const answer = await page.goto(`${origin}/console`);
    expect(answer?.status()).toBe(401);
    expect(await page.locator("h1").textContent()).toBe("Open the console's link");
    expect(await page.locator("main").textContent()).toContain("tormr console");
    expect(await page.locator("table").count()).toBe(0);
    expect(foreign).toEqual([]);
    await context.close();
  });

  it("refuses a rebinding name that resolves to 127.0.0.1, even with the key", async () => {
    const url = new URL(await startConsole());
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const rebound = `http://rebind.test:${url.port}${url.pathname}${url.search}`;
    const answer = await page.goto(rebound);
    expect(answer?.status()).toBe(421);
    expect(await page.locator("body").textContent()).toContain(
      `answers only to 127.0.0.1:${url.port} and localhost:${url.port}`,
    );
    expect(await context.cookies()).toEqual([]);
    // The key was not spent by the refused visit: the real name still opens the console.
    await page.goto(url.href);
    await expect.poll(() => page.locator("h1").textContent()).toBe("Jobs");
    await context.close();
  });
});
