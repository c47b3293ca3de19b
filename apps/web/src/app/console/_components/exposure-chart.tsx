// How much of the job's data each worker has seen: its share of the input records and bytes, and of the map output it reduced.
import { type JSX, useId } from "react";
import "./charts.css";

export interface ExposureWorker {
  pseudonym: string;
  inputRecords: number;
  inputBytes: number;
  mapOutputRecords: number;
  mapOutputBytes: number;
}

type Totals = Omit<ExposureWorker, "pseudonym">;

interface Measure {
  key: "inputRecords" | "inputBytes" | "mapOutputRecords";
  className: string;
  legend: string;
  /** The tooltip's phrase: "read 31% of the input records". */
  verb: string;
  fill: string;
  count: (n: number) => string;
}

const NUMBER = new Intl.NumberFormat("en-US");
const records = (n: number) => `${NUMBER.format(n)} record${n === 1 ? "" : "s"}`;

const MEASURES: Measure[] = [
  {
    key: "inputRecords",
    className: "chart-input-records",
    legend: "Input records",
    verb: "read",
    fill: "#0072b2",
    count: records,
  },
  {
    key: "inputBytes",
    className: "chart-input-bytes",
    legend: "Input bytes",
    verb: "read",
    fill: "#56b4e9",
    count: formatBytes,
  },
  {
    key: "mapOutputRecords",
    className: "chart-reduced-records",
    legend: "Map output reduced",
    verb: "reduced",
    fill: "#e69f00",
    count: records,
  },
];
const NOUN: Record<Measure["key"], string> = {
  inputRecords: "the input records",
  inputBytes: "the input bytes",
  mapOutputRecords: "the map output records",
};

// The drawing's own units; the SVG scales to its container's width and keeps this aspect.
const WIDTH = 600;
const LABEL_W = 124;
const VALUE_W = 170;
const PLOT_X = LABEL_W;
const PLOT_W = WIDTH - LABEL_W - VALUE_W - 14;
const PLOT_TOP = 42;
const BAR_H = 10;
const PITCH = 14;
const GROUP_PAD = 8;
const AXIS_H = 28;

/** "512 B", "4.2 KiB", "31.0 MiB", as the console's other pages write sizes. */
function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The part of `total` that `value` is, in 0..1; 0 when there is no total yet. */
function share(value: number, total: number): number {
  if (!(total > 0) || !(value > 0)) return 0;
  return Math.min(value / total, 1);
}

/** Whole percent, but never "0%" for some or "100%" for not all. */
function formatShare(fraction: number): string {
  const percent = fraction * 100;
  if (percent > 0 && percent < 1) return "<1%";
  if (percent > 99 && percent < 100) return "99%";
  return `${Math.round(percent)}%`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function r(value: number): number {
  return Math.round(value * 100) / 100;
}

function barTitle(worker: ExposureWorker, m: Measure, totals: Totals, over: boolean): string {
  const part = formatShare(share(worker[m.key], totals[m.key]));
  const of = `${m.count(worker[m.key])} of ${m.count(totals[m.key])}`;
  return `${worker.pseudonym} ${m.verb} ${part} of ${NOUN[m.key]} (${of})${over ? ", over the cap" : ""}`;
}

export function ExposureChart(props: {
  workers: ExposureWorker[];
  totals: Totals;
  cap?: number;
}): JSX.Element {
  const uid = useId().replace(/[^\w-]/g, "");
  const { workers, totals } = props;
  if (workers.length === 0) return <p className="chart-empty">No worker has read any data yet.</p>;

  const measures = MEASURES.filter(
    (m) => m.key !== "mapOutputRecords" || totals.mapOutputRecords > 0,
  );
  const cap = Number.isFinite(props.cap) ? Math.min(Math.max(props.cap ?? 0, 0), 1) : undefined;
  const groupH = measures.length * PITCH - (PITCH - BAR_H) + GROUP_PAD * 2;
  const bottom = PLOT_TOP + workers.length * groupH;
  const ids = { title: `ex-title-${uid}`, desc: `ex-desc-${uid}` };
  const most = measures.map((m) => {
    const top = Math.max(...workers.map((w) => share(w[m.key], totals[m.key])));
    return `${formatShare(top)} of ${NOUN[m.key]}`;
  });
  const count = `${workers.length} worker${workers.length === 1 ? "" : "s"}`;

  return (
    <svg
      className="chart chart-exposure"
      viewBox={`0 0 ${WIDTH} ${bottom + AXIS_H}`}
      role="img"
      aria-labelledby={`${ids.title} ${ids.desc}`}
    >
      <title id={ids.title}>How much of the data each worker has seen</title>
      <desc id={ids.desc}>{`${count}; the most any one has seen: ${most.join(", ")}.`}</desc>
      <Legend measures={measures} cap={cap !== undefined} />
      {workers.map((worker, i) =>
        i % 2 === 0 ? (
          <rect
            key={worker.pseudonym}
            className="chart-band"
            x="0"
            y={PLOT_TOP + i * groupH}
            width={WIDTH}
            height={groupH}
            fill="#f3f4f6"
          />
        ) : null,
      )}
      <Axis bottom={bottom} />
      {workers.map((worker, i) => {
        const top = PLOT_TOP + i * groupH;
        return (
          <g key={worker.pseudonym} className="chart-row" data-worker={worker.pseudonym}>
            <text
              className="chart-label"
              x={LABEL_W - 10}
              y={top + groupH / 2}
              textAnchor="end"
              dominantBaseline="central"
              fontSize="12"
            >
              <title>{worker.pseudonym}</title>
              {truncate(worker.pseudonym, 14)}
            </text>
            {measures.map((m, j) => (
              <MeasureBar
                key={m.key}
                worker={worker}
                measure={m}
                totals={totals}
                cap={cap}
                y={top + GROUP_PAD + j * PITCH}
              />
            ))}
          </g>
        );
      })}
      {cap !== undefined && (
        <g className="chart-cap">
          <line
            x1={r(x(cap))}
            x2={r(x(cap))}
            y1={PLOT_TOP - 6}
            y2={bottom}
            stroke="#d55e00"
            strokeWidth="1.5"
            strokeDasharray="4 3"
          />
          <text
            x={r(x(cap))}
            y={PLOT_TOP - 10}
            textAnchor={cap > 0.92 ? "end" : cap < 0.08 ? "start" : "middle"}
            fontSize="11"
          >
            {`cap ${formatShare(cap)}`}
          </text>
        </g>
      )}
    </svg>
  );
}

const x = (fraction: number) => PLOT_X + fraction * PLOT_W;

/** One measure's bar, and its value in the column at the right: the share right-aligned, then the count. */
function MeasureBar(props: {
  worker: ExposureWorker;
  measure: Measure;
  totals: Totals;
  cap: number | undefined;
  y: number;
}) {
  const { worker, measure: m } = props;
  const part = share(worker[m.key], props.totals[m.key]);
  const over = props.cap !== undefined && part > props.cap;
  return (
    <g className={`chart-bar ${m.className}${over ? " chart-over" : ""}`} data-share={r(part)}>
      <title>{barTitle(worker, m, props.totals, over)}</title>
      <rect
        className="chart-bar-fill"
        x={PLOT_X}
        y={props.y}
        width={r(part * PLOT_W)}
        height={BAR_H}
        rx="2"
        fill={m.fill}
      />
      <text
        className="chart-value"
        y={props.y + BAR_H / 2}
        dominantBaseline="central"
        fontSize="11"
      >
        <tspan className="chart-value-share" x={PLOT_X + PLOT_W + 46} textAnchor="end">
          {formatShare(part)}
        </tspan>
        <tspan
          className="chart-value-count"
          x={PLOT_X + PLOT_W + 50}
        >{` · ${m.count(worker[m.key])}`}</tspan>
      </text>
    </g>
  );
}

function Axis(props: { bottom: number }) {
  return (
    <g className="chart-axis">
      {[0, 0.25, 0.5, 0.75, 1].map((t) => (
        <g key={t}>
          <line
            className="chart-grid"
            x1={r(x(t))}
            x2={r(x(t))}
            y1={PLOT_TOP}
            y2={props.bottom}
            stroke="#d9dde3"
          />
          <text
            x={r(x(t))}
            y={props.bottom + 16}
            textAnchor="middle"
            fontSize="11"
          >{`${t * 100}%`}</text>
        </g>
      ))}
      <line
        className="chart-baseline"
        x1={PLOT_X}
        x2={PLOT_X + PLOT_W}
        y1={props.bottom}
        y2={props.bottom}
        stroke="#9aa2af"
      />
    </g>
  );
}

function Legend(props: { measures: Measure[]; cap: boolean }) {
  const keys = props.measures.map((m) => ({
    label: m.legend,
    className: m.className,
    fill: m.fill,
  }));
  if (props.cap)
    keys.push({
      label: "Over the cap",
      className: "chart-input-records chart-over",
      fill: "#0072b2",
    });
  let left = PLOT_X;
  return (
    <g className="chart-legend">
      {keys.map((key) => {
        const at = left;
        left += 36 + key.label.length * 6.2;
        return (
          <g key={key.label} className={`chart-bar ${key.className}`}>
            <rect
              className="chart-bar-fill"
              x={at}
              y="6"
              width="16"
              height="11"
              rx="2"
              fill={key.fill}
            />
            <text
              className="chart-legend-text"
              x={at + 21}
              y="12"
              dominantBaseline="central"
              fontSize="11"
            >
              {key.label}
            </text>
          </g>
        );
      })}
    </g>
  );
}
