// The requester console in Chromium, JavaScript off and on: a word count from upload to download, a worker killed mid-job, a Pachyderm spec, bad input beside its field, and who may use it.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import {
  consoleUrl,
  download,
  FIXTURES,
  sameOriginOnly,
  screenshot,
  sortedLines,
  startStreamingJob,
  untilState,
  WC_MAPPER,
  WC_REDUCER,
  wordCountOracle,
  wordInputs,
} from "./console-helpers.ts";

test.use({ storageState: process.env.CONSOLE_STATE as string });

test("a streaming word count: two inputs and the scripts uploaded, 3 local workers, watched to success, parts equal the oracle", async ({
  page,
}) => {
  test.setTimeout(180_000);
  const foreign = sameOriginOnly(page);
  const inputs = wordInputs(3_000);
  await page.goto(`${consoleUrl()}/console/new`);
  await screenshot(page, "console-new-job");
  const id = await startStreamingJob(page, {
    inputs,
    files: [WC_MAPPER, WC_REDUCER],
    mapper: "python3 wc_mapper.py",
    reducer: "python3 wc_reducer.py",
    reduces: 2,
    conf: "mapreduce.input.fileinputformat.split.maxsize=8192\ntormr.exposure.cap=75%",
    workers: 3,
  });
  await expect(page.locator("h1")).toHaveText(id);
  await expect(page.getByTestId("attempts").locator("tbody tr").first()).toBeVisible({
    timeout: 60_000,
  });
  await screenshot(page, "console-job-running");
  await untilState(page, "succeeded");
  const rows = page.getByTestId("attempts").locator("tbody tr");
  expect(await rows.count()).toBeGreaterThan(2);
  for (const state of await rows.evaluateAll((trs) =>
    trs.map((tr) => tr.getAttribute("data-state")),
  )) {
    expect(["succeeded", "killed"]).toContain(state);
  }
  await expect(page.getByTestId("results")).toContainText("part-00000");
  await expect(page.getByTestId("exposure-reached")).toContainText(/reached: [\d.]+% \(cap 75%\)/);
  await screenshot(page, "console-job-finished");
  const parts = [await download(page, "part-00000"), await download(page, "part-00001")];
  expect(sortedLines(parts.join(""))).toEqual(wordCountOracle(inputs));
  const report = JSON.parse(await download(page, "Job report (JSON)")) as {
    state: string;
    exposure: { input: { records: number }; workers: unknown[] };
    counters: Record<string, Record<string, number>>;
  };
  expect(report.state).toBe("succeeded");
  expect(report.exposure.input.records).toBe(6_000);
  expect(report.exposure.workers.length).toBeGreaterThan(0);
  const tar = await download(page, "All parts (.tar)");
  expect(tar).toContain(`${id}/part-00000`);
  expect(foreign).toEqual([]);
});

test("a worker killed mid-job: the console shows the lost attempt and its retry, and the job succeeds @javascript-on", async ({
  page,
}) => {
  test.setTimeout(180_000);
  const inputs = wordInputs(2_000, 11);
  await startStreamingJob(page, {
    inputs,
    files: [WC_MAPPER, WC_REDUCER],
    // Long enough that the kill below lands inside an attempt (fresh-clone CI once killed a
    // worker between two 1-second maps, and nothing was lost).
    mapper: "sleep 5 && python3 wc_mapper.py",
    reducer: "python3 wc_reducer.py",
    reduces: 1,
    conf: "mapreduce.input.fileinputformat.split.maxsize=4096",
    workers: 3,
  });
  // Once every worker is busy with a map, one of them dies without a word.
  await expect(page.getByTestId("attempts").locator("tbody tr[data-state=running]")).toHaveCount(
    3,
    {
      timeout: 60_000,
    },
  );
  const pid = Number(await page.getByTestId("local-pid").first().textContent());
  process.kill(pid, "SIGKILL");
  await expect(page.getByTestId("failures")).toContainText("lost", { timeout: 60_000 });
  await screenshot(page, "console-job-worker-lost");
  await untilState(page, "succeeded");
  // The lost attempt's task ran again: a second attempt of it succeeded.
  const lost = page.getByTestId("attempts").locator("tbody tr[data-state=lost]").first();
  const task = await lost.getAttribute("data-task");
  await expect(
    page.getByTestId("attempts").locator(`tbody tr[data-task="${task}"][data-state=succeeded]`),
  ).toHaveCount(1);
  const text = [await download(page, "part-00000")].join("");
  expect(sortedLines(text)).toEqual(wordCountOracle(inputs));
});

test("a Pachyderm pipeline spec runs as a map-only job; an unsupported field gets its message", async ({
  page,
}) => {
  test.setTimeout(120_000);
  const inputs = wordInputs(500, 3);
  await page.goto(`${consoleUrl()}/console/new`);
  await page.setInputFiles("#inputs", inputs);
  await page.check("input[name=kind][value=pachyderm]");
  await page.setInputFiles("#files", [WC_MAPPER]);
  await page.fill(
    "#pipeline",
    JSON.stringify({
      pipeline: { name: "words" },
      transform: { cmd: ["python3", "wc_mapper.py"] },
      input: { pfs: { repo: "books", glob: "/*" }, cross: [] },
      parallelism_spec: { constant: 2 },
    }),
  );
  await page.click("button[type=submit]");
  await expect(page).toHaveURL(/\/console\/new\?draft=/);
  await expect(page.locator("#pipeline-error")).toContainText("input.cross");
  // What was uploaded stays: the inputs need not be sent again.
  await expect(page.locator(".kept").first()).toContainText("first.txt");
  await page.fill(
    "#pipeline",
    JSON.stringify({
      pipeline: { name: "words" },
      transform: { cmd: ["python3", "wc_mapper.py"] },
      input: { pfs: { repo: "books", glob: "/*" } },
      parallelism_spec: { constant: 2 },
    }),
  );
  await page.click("button[type=submit]");
  await expect(page).toHaveURL(/\/console\/jobs\/job_\w+$/);
  await untilState(page, "succeeded");
  const text = await download(page, "part-00000");
  const words = wordCountOracle(inputs).flatMap((line) => {
    const [word, n] = line.split("\t");
    return Array.from({ length: Number(n) }, () => `${word}\t1`);
  });
  const all = [text];
  for (const part of ["part-00001", "part-00002", "part-00003"]) {
    if (await page.getByRole("link", { name: part, exact: true }).count())
      all.push(await download(page, part));
  }
  expect(sortedLines(all.join(""))).toEqual(words.sort());
});

test("a JavaScript job module runs from the console to the oracle's word count @javascript-on", async ({
  page,
}) => {
  test.setTimeout(120_000);
  const inputs = wordInputs(400, 9);
  await page.goto(`${consoleUrl()}/console/new`);
  await page.setInputFiles("#inputs", inputs);
  await page.check("input[name=kind][value=js]");
  await page.setInputFiles("#files", [join(FIXTURES, "wordcount.mjs")]);
  await page.fill("#reduces", "1");
  await page.fill("#workers", "2");
  await page.click("button[type=submit]");
  await expect(page).toHaveURL(/\/console\/jobs\/job_\w+$/);
  await expect(page.locator("p.sub")).toContainText("JavaScript job · wordcount.mjs");
  await untilState(page, "succeeded");
  expect(sortedLines(await download(page, "part-00000"))).toEqual(wordCountOracle(inputs));
});

test("a job with replication 2 shows its replicas agreeing @javascript-on", async ({ page }) => {
  test.setTimeout(120_000);
  const inputs = wordInputs(600, 13);
  await startStreamingJob(page, {
    inputs,
    files: [WC_MAPPER, WC_REDUCER],
    mapper: "python3 wc_mapper.py",
    reducer: "python3 wc_reducer.py",
    reduces: 1,
    conf: "tormr.replication=2\nmapreduce.input.fileinputformat.split.maxsize=8192",
    workers: 3,
  });
  await untilState(page, "succeeded");
  await expect(page.getByTestId("integrity")).toContainText("Each task runs on 2 workers");
  await expect(page.getByTestId("integrity")).toContainText("No result has been outvoted.");
  await expect(
    page.getByTestId("attempts").locator("tbody tr[data-state=agreed]").first(),
  ).toBeVisible();
  expect(sortedLines(await download(page, "part-00000"))).toEqual(wordCountOracle(inputs));
});

test("bad input is shown beside its field: a mapper that is not executable, an empty form", async ({
  page,
}) => {
  await page.goto(`${consoleUrl()}/console/new`);
  await page.check("input[name=kind][value=streaming]");
  await page.click("button[type=submit]");
  await expect(page.locator("#inputs-error")).toContainText("upload at least one input file");
  await expect(page.locator("#mapper-error")).toContainText("give the mapper command");
  await page.setInputFiles("#inputs", wordInputs(10));
  await page.setInputFiles("#files", [WC_MAPPER]);
  await page.fill("#mapper", "./wc_mapper.py");
  await page.click("button[type=submit]");
  await expect(page.locator("#mapper-error")).toContainText("is not executable");
  await expect(page.locator("#mapper")).toHaveValue("./wc_mapper.py");
  // A board needs a job host on Tor: this one is on loopback only.
  await page.fill("#mapper", "python3 wc_mapper.py");
  await page.check("input[name=cluster][value=board]");
  await page.click("button[type=submit]");
  await expect(page.locator("#board-error")).toContainText("give the board's onion address");
  await expect(page.locator("#title-error")).toContainText("give the request a title");
  await page.check("input[name=cluster][value=board]");
  await page.fill("#board", `${process.env.BOARD_ONION}.onion`);
  await page.fill("#title", "Word count");
  await page.click("button[type=submit]");
  await expect(page.locator("#board-error")).toContainText("--tor");
  await expect(page.locator(".kept").first()).toContainText(".txt");
  await screenshot(page, "console-bad-input");
});

test("who may use the console: its secret, its Host, its origin; nothing of the board here, nothing of the console on the board @javascript-on", async ({
  playwright,
}) => {
  const bare = await playwright.request.newContext({ storageState: { cookies: [], origins: [] } });
  const page = await bare.get(`${consoleUrl()}/console`, { maxRedirects: 0 });
  expect(page.status()).toBe(401);
  expect(await page.text()).toContain("open the URL that 'tormr console' printed");
  const api = await bare.get(`${consoleUrl()}/api/console/jobs/job_202612010000_0001/report.json`);
  expect(api.status()).toBe(401);
  expect(await api.json()).toMatchObject({ code: "ERR_CONSOLE_SECRET" });
  // The printed key was spent by the first visit.
  const again = await bare.get(process.env.CONSOLE_OPEN_URL as string, { maxRedirects: 0 });
  expect(again.status()).toBe(401);
  expect(again.headers()["set-cookie"]).toBeUndefined();
  await bare.dispose();

  const signedIn = await playwright.request.newContext({
    storageState: process.env.CONSOLE_STATE as string,
  });
  const ok = await signedIn.get(`${consoleUrl()}/console`);
  expect(ok.status()).toBe(200);
  // The console's pages carry the board's strict headers: its own scripts only, never framed.
  expect(ok.headers()["content-security-policy"]).toMatch(
    /default-src 'self'.*frame-ancestors 'none'/,
  );
  expect(ok.headers()["content-security-policy"]).toMatch(
    /script-src 'self' 'nonce-[^']+' 'strict-dynamic'/,
  );
  expect(ok.headers()).toMatchObject({
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
  });
  expect(ok.headers()["set-cookie"]).toBeUndefined();
  const rebound = await signedIn.get(`${consoleUrl()}/console`, {
    headers: { host: `attacker.example:${new URL(consoleUrl()).port}` },
  });
  expect(rebound.status()).toBe(421);
  const crossSite = await signedIn.post(
    `${consoleUrl()}/api/console/jobs/job_202612010000_0001/cancel`,
    {
      headers: { origin: "http://attacker.example" },
      maxRedirects: 0,
    },
  );
  expect(crossSite.status()).toBe(403);
  // The board's pages are not served on the console's listener, and the console's not on the board's.
  expect((await signedIn.get(`${consoleUrl()}/`)).status()).toBe(404);
  expect((await signedIn.get(`${consoleUrl()}/post`)).status()).toBe(404);
  expect((await signedIn.get(`${process.env.BOARD_URL}/console`)).status()).toBe(404);
  expect((await signedIn.get(`${process.env.BOARD_URL}/api/console/jobs`)).status()).toBe(404);
  await signedIn.dispose();
});

test("an upload cut off mid-way leaves nothing on the job host; uploading to a submitted job is refused @javascript-on", async ({
  playwright,
}) => {
  const context = await playwright.request.newContext({
    storageState: process.env.CONSOLE_STATE as string,
  });
  const cookie = (await context.storageState()).cookies.find((c) => c.name === "tormr_console");
  const { port } = new URL(consoleUrl());
  const draft = "job_202612020000_4242";
  // Half a multipart body, then the connection is cut.
  execFileSync(process.execPath, [
    "-e",
    `const s = require("node:net").connect(${port}, "127.0.0.1", () => {
      const b = "--X\\r\\ncontent-disposition: form-data; name=\\"draft\\"\\r\\n\\r\\n${draft}\\r\\n--X\\r\\ncontent-disposition: form-data; name=\\"inputs\\"; filename=\\"big.txt\\"\\r\\ncontent-type: text/plain\\r\\n\\r\\n";
      s.write("POST /api/console/jobs HTTP/1.1\\r\\nhost: 127.0.0.1:${port}\\r\\ncookie: tormr_console=${cookie?.value}\\r\\ncontent-type: multipart/form-data; boundary=X\\r\\ncontent-length: 10000000\\r\\n\\r\\n" + b + "a".repeat(200000));
      setTimeout(() => { s.destroy(); process.exit(0); }, 1500);
    });`,
  ]);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const uploads = join(process.env.CONSOLE_HOST_DIR as string, "uploads", draft);
  const left = (() => {
    try {
      return readdirSync(uploads, { recursive: true, withFileTypes: true }).filter((e) =>
        e.isFile(),
      );
    } catch {
      return [];
    }
  })();
  expect(left.map((e) => e.name)).toEqual([]);

  // A job that exists takes no more files: one made here, waiting for volunteers' tickets.
  const submitted = "job_202612020000_4343";
  const made = await context.post(`${consoleUrl()}/api/console/jobs`, {
    multipart: {
      draft: submitted,
      inputs: { name: "early.txt", mimeType: "text/plain", buffer: Buffer.from("on time\n") },
      kind: "streaming",
      mapper: "cat",
      reducer: "NONE",
      cluster: "tickets",
      workers: "1",
    },
    maxRedirects: 0,
  });
  expect(made.headers().location).toBe(`/console/jobs/${submitted}`);
  const refused = await context.post(`${consoleUrl()}/api/console/jobs`, {
    multipart: {
      draft: submitted,
      inputs: { name: "late.txt", mimeType: "text/plain", buffer: Buffer.from("too late\n") },
      kind: "streaming",
    },
    maxRedirects: 0,
  });
  expect(refused.status()).toBe(303);
  const form = await context.get(`${consoleUrl()}${refused.headers().location}`);
  expect(await form.text()).toContain("already submitted");
  await context.dispose();
});

test("a waiting job is cancelled, then run again from the same spec @javascript-off", async ({
  page,
}) => {
  await page.goto(`${consoleUrl()}/console/new`);
  await page.setInputFiles("#inputs", wordInputs(20, 5));
  await page.fill("#mapper", "cat");
  await page.fill("#reducer", "NONE");
  await page.check("input[name=cluster][value=tickets]");
  await page.fill("#workers", "2");
  await page.click("button[type=submit]");
  await expect(page).toHaveURL(/\/console\/jobs\/job_\w+$/);
  const first = page.url().split("/").pop() as string;
  // Nobody has the tickets yet: they are listed for the requester to hand out.
  await expect(page.locator("pre.tail")).toContainText(
    "tormr-worker start --job-host http://127.0.0.1:",
  );
  await page.click("text=Cancel job");
  await untilState(page, "cancelled", 30_000);
  await page.click("text=Run again");
  await expect(page).toHaveURL(/\/console\/jobs\/job_\w+$/);
  expect(page.url().split("/").pop()).not.toBe(first);
  await expect(page.getByTestId("job-state")).toHaveText(/preparing|running/);
  await expect(page.locator("p.sub")).toContainText("mapper cat · map-only");
});
