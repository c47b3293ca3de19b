// The board in Chromium, with JavaScript off (Tor Browser's Safest) and on: post, form, status, cancel, bad input; nothing from elsewhere.
import { execSync } from "node:child_process";
import { join } from "node:path";
import { expect, type Page, test } from "@playwright/test";
import { openBoardDb } from "@tormr/db/board";
import { registerWorker } from "../src/server/board/register-worker.ts";
import { boardSettings } from "../src/server/board/settings.ts";
import { pollAssignment } from "../src/server/board/worker-calls.ts";
import { admitCluster, registration } from "../test/board-helpers.ts";

const board = () => process.env.BOARD_URL as string;
const onion = () => process.env.BOARD_ONION as string;
const settings = () => boardSettings({ onion: onion(), registerBits: 8, postBits: 8 });
const HOST = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion";

/** Fails the test if the page asks anything of another origin. */
function sameOriginOnly(page: Page): string[] {
  const foreign: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(board())) foreign.push(request.url());
  });
  return foreign;
}

/**
 * Saves a full-page screenshot as a test artifact, under one fixed folder per project
 * (e2e-results/screenshots/javascript-off/home.png, ...), so that people can look at them.
 */
async function screenshot(page: Page, name: string) {
  const { project } = test.info();
  const path = join(project.outputDir, "screenshots", project.name, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
}

/** Fills the post form; the stamp comes from running the command the page shows, as a requester would. */
async function postRequest(page: Page, fields: { title: string; size: string; onion?: string }) {
  await page.goto(`${board()}/post`);
  await page.fill("#title", fields.title);
  await page.fill("#description", "A word count over Tor.");
  await page.fill("#onion", fields.onion ?? HOST);
  await page.fill("#size", fields.size);
  const command = (await page.locator("pre").textContent()) ?? "";
  await page.fill("#stamp", execSync(command, { encoding: "utf8" }).trim());
  await page.click("button[type=submit]");
}

test("a request is posted through the form, forms when workers register, and another is cancelled", async ({
  page,
}, info) => {
  const foreign = sameOriginOnly(page);
  await page.goto(board());
  await expect(page.locator("h1")).toHaveText("MapReduce for people who must not be seen");
  await screenshot(page, "home");

  await page.goto(`${board()}/post`);
  await screenshot(page, "post");
  await postRequest(page, { title: `Word count (${info.project.name})`, size: "2" });
  await expect(page).toHaveURL(/\/status\/[A-Za-z0-9_-]{43}\?posted=1$/);
  await expect(page.locator("#state")).toHaveText("Waiting for volunteers");
  await screenshot(page, "status-waiting");
  const statusUrl = page.url().replace(/\?posted=1$/, "");

  // Two workers register (through the board's logic, on its own database file).
  const db = await openBoardDb(process.env.BOARD_DB as string);
  try {
    const workers = [];
    for (let i = 0; i < 2; i++)
      workers.push(await registerWorker(db, settings(), registration({ board: onion() }).body));
    await expect(async () => {
      await page.goto(statusUrl);
      await expect(page.locator("#state")).toHaveText("Cluster formed", { timeout: 1000 });
    }).toPass({ timeout: 20_000 });
    await screenshot(page, "status-formed");
    // As the job host does once its onion lets the cluster in.
    expect(await admitCluster(db, statusUrl.split("/status/")[1] as string)).toBe(2);
    for (const worker of workers) {
      const assignment = await pollAssignment(db, worker.token);
      expect(assignment?.jobHost).toBe(`http://${HOST}`);
      expect(assignment?.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  } finally {
    await db.$disconnect();
  }

  // A second request, cancelled from its status page.
  await postRequest(page, { title: "To be cancelled", size: "64" });
  await expect(page.locator("#state")).toHaveText("Waiting for volunteers");
  await page.click("button.danger");
  await expect(page.locator("#state")).toHaveText("Cancelled");
  await screenshot(page, "status-cancelled");
  expect(foreign).toEqual([]);
});

test("bad input is refused beside its field, and what was typed stays", async ({ page }) => {
  const foreign = sameOriginOnly(page);
  await postRequest(page, { title: "Bad onion", size: "2", onion: "expyuzz4wqqyqhjn.onion" });
  await expect(page.locator("#onion-error")).toContainText("expected 56 base32 characters, got 16");
  await expect(page.locator("#title")).toHaveValue("Bad onion");
  await screenshot(page, "post-bad-onion");
  await postRequest(page, { title: "Too many", size: "65" });
  await expect(page.locator("#size-error")).toHaveText("size: at most 64 workers");
  await page.goto(`${board()}/status/${"A".repeat(43)}`);
  await expect(page.locator("h1")).toHaveText("No such request");
  await screenshot(page, "status-unknown");
  expect(foreign).toEqual([]);
});

test("the volunteer page shows how to join this board, by its own onion", async ({ page }) => {
  const foreign = sameOriginOnly(page);
  await page.goto(board());
  await page.click("header nav >> text=Volunteer");
  await expect(page).toHaveURL(`${board()}/volunteer`);
  await expect(page.locator("h1")).toHaveText("Volunteer a worker");
  await expect(page.locator("#join-command")).toHaveText(
    `tormr-worker start --board http://${onion()}.onion`,
  );
  for (const words of ["different pseudonym on each board", "no network", "Ctrl-C"])
    await expect(page.locator("main")).toContainText(words);
  await screenshot(page, "volunteer");
  await page.setViewportSize({ width: 400, height: 800 });
  await screenshot(page, "volunteer-narrow");
  expect(foreign).toEqual([]);
});

test("every page sends the privacy headers and sets no cookie", async ({ request }) => {
  for (const path of ["/", "/post", "/volunteer", `/status/${"A".repeat(43)}`]) {
    const response = await request.get(`${board()}${path}`);
    const headers = response.headers();
    expect(headers["content-security-policy"]).toMatch(
      /^default-src 'self'; script-src 'self' 'nonce-/,
    );
    expect(headers["referrer-policy"]).toBe("same-origin");
    expect(headers["set-cookie"]).toBeUndefined();
    expect(headers["x-powered-by"]).toBeUndefined();
  }
});

test("the worker API answers over HTTP, and refuses a bad token with 401", async ({ request }) => {
  const one = registration({ board: onion() });
  const registered = await request.post(`${board()}/api/trpc/worker.register`, { data: one.body });
  expect(registered.status()).toBe(200);
  const body = (await registered.json()) as {
    result: { data: { pseudonym: string; token: string } };
  };
  expect(body.result.data.pseudonym).toBe(one.pseudonym);
  const as = { authorization: `Bearer ${body.result.data.token}` };
  const heartbeat = await request.post(`${board()}/api/trpc/worker.heartbeat`, {
    headers: as,
    data: {},
  });
  expect(heartbeat.status()).toBe(200);
  const refused = await request.post(`${board()}/api/trpc/worker.poll`, {
    headers: { authorization: `Bearer ${"A".repeat(43)}` },
    data: {},
  });
  expect(refused.status()).toBe(401);
  expect(await refused.json()).toMatchObject({
    error: {
      message: "no worker has this token: register first",
      data: { boardCode: "ERR_TOKEN" },
    },
  });
  expect(JSON.stringify(await refused.json())).not.toContain("stack");
  // It leaves again, so that no later test's cluster takes it.
  const left = await request.post(`${board()}/api/trpc/worker.leave`, { headers: as, data: {} });
  expect(left.status()).toBe(200);
});
