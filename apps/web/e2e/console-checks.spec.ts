// Spot checks and decoys from the console: a job with both, run by honest local workers, passes every check and gives the oracle's word count.
import { expect, test } from "@playwright/test";
import {
  download,
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

test("a job with spot checks and decoys passes its checks, catches nobody, and its output is the oracle's @javascript-on", async ({
  page,
}) => {
  test.setTimeout(150_000);
  const inputs = wordInputs(600, 17);
  await startStreamingJob(page, {
    inputs,
    files: [WC_MAPPER, WC_REDUCER],
    mapper: "python3 wc_mapper.py",
    reducer: "python3 wc_reducer.py",
    reduces: 1,
    conf: "mapreduce.input.fileinputformat.split.maxsize=2048",
    workers: 3,
    fields: { spotchecks: "30", decoys: "20" },
  });
  await untilState(page, "succeeded");
  const checks = page.getByTestId("checks");
  await expect(checks).toContainText("No result has been caught.");
  const summary = /(\d+) tasks? spot-checked, (\d+) decoys? planted, (\d+) passed/.exec(
    (await checks.textContent()) ?? "",
  );
  expect(summary).not.toBeNull();
  const [spotChecked, decoys, passed] = (summary ?? []).slice(1).map(Number);
  expect(spotChecked).toBeGreaterThan(0);
  expect(decoys).toBeGreaterThan(0);
  // Every checked task committed: the job host's own runs matched each worker's result.
  expect(passed).toBe((spotChecked ?? 0) + (decoys ?? 0));
  await expect(checks).not.toContainText("undone");
  await expect(page.getByTestId("integrity")).toHaveCount(0);
  await screenshot(page, "console-job-checks");
  // The decoys were dropped before the reduce: the output is the real input's count alone.
  expect(sortedLines(await download(page, "part-00000"))).toEqual(wordCountOracle(inputs));
});
