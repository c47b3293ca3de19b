// The job's task attempts as an event timeline: one row per worker, seconds since the job's start across.
import { type JSX, useId } from "react";
import "./charts.css";

export interface TimelineAttempt {
  id: string;
  /** "m3" (map 3) or "r0" (reduce 0). */
  task: string;
  number: number;
  /** The worker's pseudonym. */
  worker: string;
  /** running | succeeded | failed | lost | killed | returned */
  state: string;
  speculative: boolean;
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601, or null while the attempt runs. */
  finishedAt: string | null;
}

/** States that ended without a result: hatched and outlined so they read apart from the bars that count. */
const BAD_STATES = new Set(["failed", "lost", "killed", "outvoted"]);
const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600];

// The drawing's own units; the SVG scales to its container's width and keeps this aspect.
const WIDTH = 1100;
const LABEL_W = 124;
const PLOT_X = LABEL_W;
const PLOT_W = WIDTH - PLOT_X - 16;
const PLOT_TOP = 34;
const AXIS_H = 30;
/** A bar this narrow still shows, so an attempt that lasted no time is not lost. */
const MIN_BAR_W = 2;

interface Bar {
  attempt: TimelineAttempt;
  /** Seconds since the job's start. */
  start: number;
  end: number;
  lane: number;
}

interface Row {
  worker: string;
  lanes: number;
  bars: Bar[];
}

/** Rows in order of each worker's first attempt; overlapping attempts on one worker go to sub-lanes. */
function layoutRows(attempts: TimelineAttempt[], t0: number, now: number): Row[] {
  const timed = attempts
    .map((attempt) => {
      const start = Math.max(Date.parse(attempt.startedAt), t0);
      const finished = attempt.finishedAt === null ? now : Date.parse(attempt.finishedAt);
      const end = Math.max(Number.isFinite(finished) ? finished : now, start);
      return { attempt, start: (start - t0) / 1000, end: (end - t0) / 1000 };
    })
    .filter((bar) => Number.isFinite(bar.start))
    .sort((a, b) => a.start - b.start);
  const rows = new Map<string, Row & { laneEnds: number[] }>();
  for (const bar of timed) {
    let row = rows.get(bar.attempt.worker);
    if (row === undefined) {
      row = { worker: bar.attempt.worker, lanes: 0, bars: [], laneEnds: [] };
      rows.set(bar.attempt.worker, row);
    }
    // Sorted by start, the first lane that is free by then is the best one (interval partitioning).
    let lane = row.laneEnds.findIndex((laneEnd) => laneEnd <= bar.start);
    if (lane === -1) lane = row.laneEnds.length;
    row.laneEnds[lane] = bar.end;
    row.lanes = row.laneEnds.length;
    row.bars.push({ ...bar, lane });
  }
  return [...rows.values()];
}

/** "3:07" or "1:02:03". */
function formatClock(seconds: number): string {
  const whole = Math.round(seconds);
  const s = String(whole % 60).padStart(2, "0");
  const m = Math.floor(whole / 60) % 60;
  const h = Math.floor(whole / 3600);
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** "4.5s", "42s" or "3:07". */
function formatDuration(seconds: number): string {
  if (seconds >= 59.5) return formatClock(seconds);
  return seconds < 10 ? `${Math.round(seconds * 10) / 10}s` : `${Math.round(seconds)}s`;
}

function ticks(span: number): number[] {
  const step = TICK_STEPS.find((candidate) => span / candidate <= 8) ?? span / 8;
  const out: number[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) out.push(t);
  return out;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Presentation-attribute fallbacks for when charts.css has not loaded; the CSS classes win over them. */
const FILL = { map: "#0072b2", reduce: "#e69f00", other: "#999999" } as const;

function kind(task: string): keyof typeof FILL {
  if (task.startsWith("m")) return "map";
  if (task.startsWith("r")) return "reduce";
  return "other";
}

function barTitle(bar: Bar): string {
  const { attempt } = bar;
  const task = attempt.task.replace(/^m(?=\d)/, "map ").replace(/^r(?=\d)/, "reduce ");
  const what = `${task} attempt ${attempt.number}${attempt.speculative ? " (speculative)" : ""}`;
  const when = `${formatClock(bar.start)} → ${attempt.finishedAt === null ? "now" : formatClock(bar.end)}`;
  return `${what} on ${attempt.worker}: ${attempt.state}, ${when} (${formatDuration(bar.end - bar.start)})`;
}

function summary(attempts: TimelineAttempt[], rows: Row[], span: number): string {
  const count = (test: (a: TimelineAttempt) => boolean) => attempts.filter(test).length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return (
    `${plural(attempts.length, "attempt")} on ${plural(rows.length, "worker")} over ${formatDuration(span)}; ` +
    `${count((a) => a.finishedAt === null)} running, ${count((a) => BAD_STATES.has(a.state))} failed, lost or killed.`
  );
}

/** Two decimals is finer than any screen, and keeps 200 bars' markup short. */
function r(value: number): number {
  return Math.round(value * 100) / 100;
}

export function TaskTimeline(props: {
  attempts: TimelineAttempt[];
  now: string;
  startedAt?: string;
}): JSX.Element {
  const uid = useId().replace(/[^\w-]/g, "");
  const starts = props.attempts.map((a) => Date.parse(a.startedAt)).filter(Number.isFinite);
  if (starts.length === 0) return <p className="chart-empty">No task has started yet.</p>;

  const given = props.startedAt === undefined ? Number.NaN : Date.parse(props.startedAt);
  const t0 = Number.isFinite(given) ? given : Math.min(...starts);
  const now = Date.parse(props.now);
  const rows = layoutRows(props.attempts, t0, Number.isFinite(now) ? now : Math.max(...starts));
  const span = Math.max(1, ...rows.flatMap((row) => row.bars.map((bar) => bar.end)));
  const x = (seconds: number) => PLOT_X + (seconds / span) * PLOT_W;

  // Many lanes squeeze into thinner bars, so 200 attempts stay one chart rather than a long scroll.
  const dense = rows.reduce((sum, row) => sum + row.lanes, 0) > 30;
  const pitch = dense ? 11 : 20;
  const barH = dense ? 8 : 15;
  const pad = dense ? 2 : 5;
  const rowHeight = (row: Row) => row.lanes * pitch - (pitch - barH) + pad * 2;
  // A tall chart repeats its tick labels above the rows, in a strip of their own under the legend.
  const tall = rows.reduce((sum, row) => sum + rowHeight(row), 0) > 400;
  const plotTop = PLOT_TOP + (tall ? 14 : 0);
  const tops: number[] = [];
  let bottom = plotTop;
  for (const row of rows) {
    tops.push(bottom);
    bottom += rowHeight(row);
  }
  const ids = { hatch: `tl-hatch-${uid}`, title: `tl-title-${uid}`, desc: `tl-desc-${uid}` };
  const running = props.attempts.some((a) => a.finishedAt === null);
  const present = new Set(
    props.attempts.flatMap((a) => [a.state, a.speculative ? "speculative" : ""]),
  );

  return (
    <svg
      className="chart chart-timeline"
      viewBox={`0 0 ${WIDTH} ${bottom + AXIS_H}`}
      role="img"
      aria-labelledby={`${ids.title} ${ids.desc}`}
    >
      <title id={ids.title}>Task attempts by worker</title>
      <desc id={ids.desc}>{summary(props.attempts, rows, span)}</desc>
      <defs>
        <pattern
          id={ids.hatch}
          width="5"
          height="5"
          patternUnits="userSpaceOnUse"
          patternTransform="rotate(45)"
        >
          <line
            className="chart-hatch-line"
            x1="0"
            y1="0"
            x2="0"
            y2="5"
            stroke="#d55e00"
            strokeWidth="2"
          />
        </pattern>
      </defs>
      <Legend hatch={ids.hatch} present={present} />
      {rows.map((row, i) => {
        const top = tops[i] ?? plotTop;
        return (
          <g key={row.worker} className="chart-row" data-worker={row.worker}>
            {i % 2 === 0 && (
              <rect
                className="chart-band"
                x="0"
                y={top}
                width={WIDTH}
                height={rowHeight(row)}
                fill="#f3f4f6"
              />
            )}
            <text
              className="chart-label"
              x={LABEL_W - 10}
              y={top + rowHeight(row) / 2}
              textAnchor="end"
              dominantBaseline="central"
              fontSize={dense ? 9 : 12}
            >
              <title>{row.worker}</title>
              {truncate(row.worker, 14)}
            </text>
          </g>
        );
      })}
      <Axis span={span} x={x} top={plotTop} bottom={bottom} topLabels={tall} now={running} />
      {rows.flatMap((row, i) =>
        row.bars.map((bar) => (
          <AttemptBar
            key={bar.attempt.id}
            bar={bar}
            x={x}
            y={(tops[i] ?? plotTop) + pad + bar.lane * pitch}
            height={barH}
            hatch={ids.hatch}
            labelled={!dense}
          />
        )),
      )}
      {running && (
        <g className="chart-now">
          <line
            x1={r(x(span))}
            x2={r(x(span))}
            y1={plotTop - 4}
            y2={bottom}
            stroke="#1d2126"
            strokeDasharray="2 3"
          />
          <text x={r(x(span))} y={plotTop - 8} textAnchor="end" fontSize="10">
            now
          </text>
        </g>
      )}
    </svg>
  );
}

function AttemptBar(props: {
  bar: Bar;
  x: (s: number) => number;
  y: number;
  height: number;
  hatch: string;
  labelled: boolean;
}) {
  const { attempt } = props.bar;
  const left = r(props.x(props.bar.start));
  const width = r(Math.max(MIN_BAR_W, props.x(props.bar.end) - left));
  const bad = BAD_STATES.has(attempt.state);
  const classes = [
    "chart-bar",
    `chart-${kind(attempt.task)}`,
    `chart-state-${attempt.state.replace(/\W/g, "")}`,
  ];
  if (bad) classes.push("chart-failed");
  if (attempt.speculative) classes.push("chart-speculative");
  const box = { x: left, y: props.y, width, height: props.height, rx: 2 };
  return (
    <g className={classes.join(" ")} data-attempt={attempt.id}>
      <title>{barTitle(props.bar)}</title>
      <rect className="chart-bar-fill" {...box} fill={FILL[kind(attempt.task)]} />
      {bad && <rect className="chart-bar-hatch" {...box} fill={`url(#${props.hatch})`} />}
      {props.labelled && width > attempt.task.length * 7 + 8 && (
        <text
          className="chart-bar-label"
          x={r(left + 4)}
          y={props.y + props.height / 2}
          dominantBaseline="central"
          fontSize="10"
        >
          {attempt.task}
        </text>
      )}
    </g>
  );
}

function Axis(props: {
  span: number;
  x: (s: number) => number;
  top: number;
  bottom: number;
  topLabels: boolean;
  now: boolean;
}) {
  const label = (t: number) => (props.span >= 60 ? formatClock(t) : `${t}s`);
  return (
    <g className="chart-axis">
      {ticks(props.span).map((t) => {
        const at = r(props.x(t));
        // Up top the "now" label has the right end.
        const roomTop = !props.now || at < props.x(props.span) - 40;
        return (
          <g key={t}>
            <line
              className="chart-grid"
              x1={at}
              x2={at}
              y1={props.top}
              y2={props.bottom}
              stroke="#d9dde3"
            />
            <text x={at} y={props.bottom + 16} textAnchor="middle" fontSize="11">
              {label(t)}
            </text>
            {props.topLabels && roomTop && (
              <text x={at} y={props.top - 8} textAnchor="middle" fontSize="11">
                {label(t)}
              </text>
            )}
          </g>
        );
      })}
      <line
        className="chart-baseline"
        x1={PLOT_X}
        x2={PLOT_X + PLOT_W}
        y1={props.bottom}
        y2={props.bottom}
        stroke="#9aa2af"
      />
      <text className="chart-axis-title" x="4" y={props.bottom + 16} fontSize="11">
        since start
      </text>
    </g>
  );
}

/** The legend's keys: the two task kinds always, each marking only when some attempt has it. */
const LEGEND = [
  { label: "Map", className: "chart-map", when: "" },
  { label: "Reduce", className: "chart-reduce", when: "" },
  { label: "Running", className: "chart-map chart-state-running", when: "running" },
  { label: "Speculative", className: "chart-map chart-speculative", when: "speculative" },
  { label: "Returned", className: "chart-map chart-state-returned", when: "returned" },
  {
    label: "Failed, lost, killed or outvoted",
    className: "chart-map chart-failed",
    when: "failed lost killed",
  },
] as const;

function Legend(props: { hatch: string; present: Set<string> }) {
  let left = PLOT_X;
  const shown = LEGEND.filter(
    (item) => item.when === "" || item.when.split(" ").some((s) => props.present.has(s)),
  );
  return (
    <g className="chart-legend">
      {shown.map((item) => {
        const at = left;
        left += 36 + item.label.length * 6.2;
        const box = { x: at, y: 6, width: 16, height: 11, rx: 2 };
        return (
          <g key={item.label} className={`chart-bar ${item.className}`}>
            <rect
              className="chart-bar-fill"
              {...box}
              fill={item.className === "chart-reduce" ? FILL.reduce : FILL.map}
            />
            {item.className.includes("failed") && (
              <rect className="chart-bar-hatch" {...box} fill={`url(#${props.hatch})`} />
            )}
            <text
              className="chart-legend-text"
              x={at + 21}
              y="12"
              dominantBaseline="central"
              fontSize="11"
            >
              {item.label}
            </text>
          </g>
        );
      })}
    </g>
  );
}
