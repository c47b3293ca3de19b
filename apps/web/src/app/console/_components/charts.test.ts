// The console's two charts as server markup: no inline style, geometry that matches the data, sane at 0, 1 and 200 items.
// (.ts with createElement rather than .tsx: vitest.config.ts includes only *.test.ts.)
import { createElement, Fragment } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { ExposureChart, type ExposureWorker } from "./exposure-chart.tsx";
import { TaskTimeline, type TimelineAttempt } from "./task-timeline.tsx";

const T0 = Date.parse("2025-01-01T12:00:00Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function attempt(
  id: string,
  worker: string,
  from: number,
  to: number | null,
  state = "succeeded",
): TimelineAttempt {
  const task = id.startsWith("r") ? id : `m${id.replace(/\D/g, "") || 0}`;
  const finishedAt = to === null ? null : at(to);
  return {
    id,
    task,
    number: 1,
    worker,
    state,
    speculative: false,
    startedAt: at(from),
    finishedAt,
  };
}

const timeline = (attempts: TimelineAttempt[], now: number, startedAt?: string) =>
  renderToStaticMarkup(createElement(TaskTimeline, { attempts, now: at(now), startedAt }));

interface Box {
  className: string;
  x: number;
  y: number;
  width: number;
}

/** Each bar's group class and its fill rect's geometry, keyed by data-attempt. */
function bars(markup: string): Map<string, Box> {
  const out = new Map<string, Box>();
  const re =
    /<g class="([^"]*)" data-attempt="([^"]*)"><title>[^<]*<\/title><rect class="chart-bar-fill" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"/g;
  for (const m of markup.matchAll(re)) {
    out.set(m[2]!, { className: m[1]!, x: Number(m[3]), y: Number(m[4]), width: Number(m[5]) });
  }
  return out;
}

function box(markup: string, id: string): Box {
  const found = bars(markup).get(id);
  if (found === undefined) throw new Error(`expected a bar for attempt '${id}' in the markup`);
  return found;
}

const ids = (markup: string) => [...markup.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!);

describe("TaskTimeline", () => {
  const attempts = [
    attempt("a1", "w-aaaaaa", 0, 10),
    attempt("a2", "w-bbbbbb", 2, 22, "failed"),
    attempt("a3", "w-aaaaaa", 10, 50),
    attempt("r0", "w-cccccc", 20, null, "running"),
  ];
  const markup = timeline(attempts, 60);

  it("writes no inline style, so the page's CSP need not allow one", () => {
    expect(markup).not.toMatch(/style=/);
    expect(timeline([], 0)).not.toMatch(/style=/);
  });

  it("is an image with a title and a summary", () => {
    expect(markup).toMatch(/^<svg [^>]*role="img"/);
    const labelledBy = /aria-labelledby="([^"]+)"/.exec(markup)![1]!.split(" ");
    for (const id of labelledBy) expect(ids(markup)).toContain(id);
    expect(markup).toContain(
      "4 attempts on 3 workers over 1:00; 1 running, 1 failed, lost or killed.",
    );
  });

  it("draws one row per worker, in the order of their first attempts", () => {
    const rows = [...markup.matchAll(/data-worker="([^"]+)"/g)].map((m) => m[1]);
    expect(rows).toEqual(["w-aaaaaa", "w-bbbbbb", "w-cccccc"]);
    const labels = [
      ...markup.matchAll(/<text class="chart-label"[^>]*><title>([^<]+)<\/title>/g),
    ].map((m) => m[1]);
    expect(labels).toEqual(rows);
  });

  it("makes bar widths and offsets proportional to durations and start times", () => {
    const a1 = box(markup, "a1");
    const a2 = box(markup, "a2");
    const a3 = box(markup, "a3");
    expect(a3.width / a1.width).toBeCloseTo(4, 2);
    expect(a2.width / a1.width).toBeCloseTo(2, 2);
    const perSecond = a1.width / 10;
    expect(a3.x - a1.x).toBeCloseTo(10 * perSecond, 1);
    expect(a2.x - a1.x).toBeCloseTo(2 * perSecond, 1);
  });

  it("extends a running attempt to now, where the chart ends and the now line is", () => {
    const a1 = box(markup, "a1");
    const running = box(markup, "r0");
    expect(running.width / a1.width).toBeCloseTo(4, 2);
    const nowLine = /<g class="chart-now"><line x1="([\d.]+)"/.exec(markup);
    expect(Number(nowLine![1])).toBeCloseTo(running.x + running.width, 1);
    expect(running.className).toContain("chart-state-running");
  });

  it("starts the axis at the job's start when it is given", () => {
    const later = timeline([attempt("a1", "w-aaaaaa", 30, 60)], 60, at(0));
    const a1 = box(later, "a1");
    const fromStart = box(timeline([attempt("a1", "w-aaaaaa", 30, 60)], 60), "a1");
    expect(a1.width).toBeCloseTo(fromStart.width / 2, 1);
  });

  it("marks failed, lost and killed attempts, and only those, with the failed class and the hatch", () => {
    const all = ["failed", "lost", "killed", "succeeded", "returned"].map((state, i) =>
      attempt(`a${i}`, "w-aaaaaa", i * 10, i * 10 + 5, state),
    );
    const found = bars(timeline(all, 60));
    expect([...found.values()].map((b) => b.className.includes("chart-failed"))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    const html = timeline(all, 60);
    const pattern = /<pattern id="([^"]+)"/.exec(html)![1]!;
    expect(
      html.match(new RegExp(`class="chart-bar-hatch"[^>]*fill="url\\(#${pattern}\\)"`, "g")),
    ).toHaveLength(4); // 3 bars + the legend
  });

  it("stacks overlapping attempts on one worker into sub-lanes", () => {
    const html = timeline(
      [attempt("a1", "w-a", 0, 20), attempt("a2", "w-a", 5, 15), attempt("a3", "w-a", 20, 30)],
      30,
    );
    expect(box(html, "a2").y).toBeGreaterThan(box(html, "a1").y);
    expect(box(html, "a3").y).toBe(box(html, "a1").y);
  });

  it("shortens a long pseudonym with an ellipsis and keeps it whole in the tooltip", () => {
    const name = "w-0123456789abcdef0123456789";
    const html = timeline([attempt("a1", name, 0, 5)], 5);
    expect(html).toContain(`<title>${name}</title>w-0123456789a…</text>`);
  });

  it("says so when no task has started, instead of an empty axis", () => {
    const html = timeline([], 0);
    expect(html).toContain("No task has started yet.");
    expect(html).not.toContain("<svg");
  });

  it("draws a single attempt across the whole axis", () => {
    const html = timeline([attempt("a1", "w-a", 0, 1)], 100);
    expect(box(html, "a1").width).toBeGreaterThan(500);
  });

  it("draws 200 attempts in markup of a sane size", () => {
    const many = Array.from({ length: 200 }, (_, i) =>
      attempt(`a${i}`, `w-${i % 20}`, (i * 7) % 300, i % 9 === 0 ? null : ((i * 7) % 300) + 30),
    );
    const html = timeline(many, 400);
    expect(bars(html).size).toBe(200);
    expect(html.length).toBeLessThan(100_000);
    const height = Number(/viewBox="0 0 \d+ ([\d.]+)"/.exec(html)![1]);
    expect(height).toBeLessThan(2_000);
  });

  it("gives each chart on a page its own ids, so each hatch fill finds its own pattern", () => {
    const two = renderToStaticMarkup(
      createElement(
        Fragment,
        null,
        createElement(TaskTimeline, { attempts, now: at(60) }),
        createElement(TaskTimeline, { attempts, now: at(60) }),
        createElement(ExposureChart, {
          workers: [worker("w-a", 1, 1, 0)],
          totals: totals(1, 1, 0),
        }),
      ),
    );
    const all = ids(two);
    expect(new Set(all).size).toBe(all.length);
    const patterns = [...two.matchAll(/<pattern id="([^"]+)"/g)].map((m) => m[1]!);
    expect(patterns).toHaveLength(2);
    for (const [i, chart] of two.split("</svg>").slice(0, 2).entries()) {
      const refs = new Set([...chart.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1]));
      expect([...refs]).toEqual([patterns[i]]);
    }
  });
});

function worker(
  pseudonym: string,
  inputRecords: number,
  inputBytes: number,
  mapOutputRecords: number,
): ExposureWorker {
  return { pseudonym, inputRecords, inputBytes, mapOutputRecords, mapOutputBytes: 0 };
}

function totals(inputRecords: number, inputBytes: number, mapOutputRecords: number) {
  return { inputRecords, inputBytes, mapOutputRecords, mapOutputBytes: 0 };
}

const exposure = (workers: ExposureWorker[], sums: ReturnType<typeof totals>, cap?: number) =>
  renderToStaticMarkup(createElement(ExposureChart, { workers, totals: sums, cap }));

/** Each bar's class, share and fill width, in document order. */
function shares(markup: string) {
  const re =
    /<g class="chart-bar ([^"]*)" data-share="([\d.]+)"><title>[^<]*<\/title><rect class="chart-bar-fill" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g;
  return [...markup.matchAll(re)].map((m) => ({
    className: m[1]!,
    share: Number(m[2]),
    width: Number(m[3]),
  }));
}

describe("ExposureChart", () => {
  const workers = [
    worker("w-aaaaaa", 1204, 3_145_728, 750),
    worker("w-bbbbbb", 2680, 1_048_576, 250),
  ];
  const markup = exposure(workers, totals(3884, 4_194_304, 1000), 0.25);

  it("writes no inline style and is an image with a title", () => {
    expect(markup).not.toMatch(/style=/);
    expect(markup).toMatch(/^<svg [^>]*role="img"/);
    expect(markup).toContain("2 workers; the most any one has seen: 69% of the input records");
  });

  it("draws one row per worker, with a bar per measure", () => {
    expect([...markup.matchAll(/data-worker="([^"]+)"/g)].map((m) => m[1])).toEqual([
      "w-aaaaaa",
      "w-bbbbbb",
    ]);
    expect(shares(markup).map((s) => s.className.split(" ")[0])).toEqual([
      ...["chart-input-records", "chart-input-bytes", "chart-reduced-records"],
      ...["chart-input-records", "chart-input-bytes", "chart-reduced-records"],
    ]);
  });

  it("makes bar widths proportional to shares", () => {
    const bars = shares(markup);
    const full = bars[0]!.width / bars[0]!.share;
    for (const bar of bars) expect(bar.width).toBeCloseTo(bar.share * full, 0);
    expect(bars.map((b) => b.share)).toEqual([0.31, 0.75, 0.75, 0.69, 0.25, 0.25]);
  });

  it("labels each bar with its share and its count", () => {
    const text = markup.replace(/<[^>]+>/g, "");
    expect(text).toContain("31% · 1,204 records");
    expect(text).toContain("75% · 3.0 MiB");
    expect(text).toContain("25% · 250 records");
  });

  it("draws the cap and marks the bars over it", () => {
    expect(markup).toContain(">cap 25%</text>");
    const over = shares(markup).map((s) => s.className.includes("chart-over"));
    expect(over).toEqual([true, true, true, true, false, false]);
  });

  it("leaves out the map output bars until there is map output, and divides nothing by zero", () => {
    const html = exposure([worker("w-a", 0, 0, 0)], totals(0, 0, 0));
    expect(html).not.toMatch(/NaN|Infinity/);
    expect(shares(html)).toEqual([
      { className: "chart-input-records", share: 0, width: 0 },
      { className: "chart-input-bytes", share: 0, width: 0 },
    ]);
    expect(html.replace(/<[^>]+>/g, "")).toContain("0% · 0 records");
  });

  it("says so when no worker has read anything", () => {
    expect(exposure([], totals(0, 0, 0))).toContain("No worker has read any data yet.");
  });

  it("draws 200 workers without trouble", () => {
    const many = Array.from({ length: 200 }, (_, i) => worker(`w-${i}`, i, i * 100, i));
    const html = exposure(many, totals(19_900, 1_990_000, 19_900), 0.01);
    expect(shares(html)).toHaveLength(600);
    expect(html.length).toBeLessThan(400_000);
  });
});
