// What the console's specs share: the console's URL and session, inputs with their word-count oracle, downloads, and screenshots.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, type Page, test } from "@playwright/test";

export const consoleUrl = () => process.env.CONSOLE_URL as string;
export const FIXTURES = join(import.meta.dirname, "..", "..", "job-host", "test", "fixtures");
export const WC_MAPPER = join(FIXTURES, "wc_mapper.py");
export const WC_REDUCER = join(FIXTURES, "wc_reducer.py");

const WORDS = [
  "onion",
  "relay",
  "circuit",
  "guard",
  "exit",
  "bridge",
  "hidden",
  "service",
  "map",
  "reduce",
];

/** Two input files of `lines` lines each, words drawn from a fixed list by a seeded sequence. */
export function wordInputs(lines: number, seed = 7): string[] {
  const dir = mkdtempSync(join(tmpdir(), "tormr-console-input-"));
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state;
  };
  return ["first.txt", "second.txt"].map((name) => {
    const body = Array.from({ length: lines }, () =>
      Array.from({ length: 1 + (next() % 8) }, () => WORDS[next() % WORDS.length]).join(" "),
    ).join("\n");
    const path = join(dir, name);
    writeFileSync(path, `${body}\n`);
    return path;
  });
}

/** What wc_mapper.py and wc_reducer.py give: `word<TAB>count` lines, sorted. */
export function wordCountOracle(paths: string[]): string[] {
  const counts = new Map<string, number>();
  for (const path of paths) {
    for (const word of readFileSync(path, "latin1").split(/[ \t\n\r\v\f]+/)) {
      if (word) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  return [...counts].map(([word, n]) => `${word}\t${n}`).sort();
}

export function sortedLines(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .sort();
}

/** Fails the test if the page asks anything of another origin. */
export function sameOriginOnly(page: Page): string[] {
  const foreign: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(consoleUrl())) foreign.push(request.url());
  });
  return foreign;
}

export async function screenshot(page: Page, name: string) {
  const { project } = test.info();
  const path = join(project.outputDir, "screenshots", project.name, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
}

/** Fills the new-job form for a streaming job and starts it; resolves with the job's id. */
export async function startStreamingJob(
  page: Page,
  job: {
    inputs: string[];
    files: string[];
    mapper: string;
    reducer?: string;
    reduces?: number;
    conf?: string;
    workers?: number;
    executable?: boolean;
    /** Other fields of the form by id, e.g. `{ spotchecks: "30" }`. */
    fields?: Record<string, string>;
  },
): Promise<string> {
  await page.goto(`${consoleUrl()}/console/new`);
  await page.setInputFiles("#inputs", job.inputs);
  await page.check("input[name=kind][value=streaming]");
  if (job.executable) await page.check("#executable");
  await page.setInputFiles("#files", job.files);
  await page.fill("#mapper", job.mapper);
  await page.fill("#reducer", job.reducer ?? "");
  await page.fill("#reduces", String(job.reduces ?? 1));
  await page.fill("#conf", job.conf ?? "");
  await page.check("input[name=cluster][value=local]");
  await page.fill("#workers", String(job.workers ?? 3));
  for (const [id, value] of Object.entries(job.fields ?? {})) await page.fill(`#${id}`, value);
  await page.click("button[type=submit]");
  await expect(page).toHaveURL(/\/console\/jobs\/job_\w+$/);
  return page.url().split("/").pop() as string;
}

/** Waits, through the page's own refreshing (live with JavaScript, <noscript> refresh without), for the job to end. */
export async function untilState(page: Page, state: string, timeout = 120_000) {
  await expect(page.getByTestId("job-state")).toHaveText(state, { timeout });
}

/** Clicks a download link and returns the file's text. */
export async function download(page: Page, name: string): Promise<string> {
  const [file] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name, exact: true }).click(),
  ]);
  return readFileSync(await file.path(), "latin1");
}
