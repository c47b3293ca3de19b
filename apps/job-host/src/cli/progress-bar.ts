// Progress as live map and reduce bars on a terminal, with retries logged above them.
import cliProgress from "cli-progress";
import type { JobProgress, PhaseProgress } from "../local/types.ts";
import { oneLine } from "./one-line.ts";
import { type ProgressReporter, retryTracker } from "./progress-lines.ts";

interface BarPayload {
  label: string;
  detail: string;
}

function detail(phase: PhaseProgress, status: string | undefined): string {
  const parts = phase.running > 0 ? [`${phase.running} running`] : [];
  if (status !== undefined && status !== "") parts.push(oneLine(status, 50));
  return parts.join("  ");
}

export function barProgress(stream: NodeJS.WritableStream): ProgressReporter {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      format: "{label} [{bar}] {value}/{total}  {detail}",
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      linewrap: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const newRetry = retryTracker();
  const bars = new Map<"map" | "reduce", cliProgress.SingleBar>();
  let stopped = false;

  const show = (name: "map" | "reduce", phase: PhaseProgress, status: string | undefined) => {
    const payload: BarPayload = { label: name.padEnd(6), detail: detail(phase, status) };
    let bar = bars.get(name);
    if (bar === undefined) {
      bar = multibar.create(phase.total, phase.done, payload);
      bars.set(name, bar);
    }
    bar.setTotal(phase.total);
    bar.update(phase.done, payload);
  };

  return {
    update(progress: JobProgress) {
      if (stopped) return;
      const retry = newRetry(progress);
      if (retry !== undefined) multibar.log(`${retry}\n`);
      show("map", progress.maps, progress.phase === "map" ? progress.status : undefined);
      // A map-only job has no reduce bar.
      if (progress.reduces.total > 0) {
        show("reduce", progress.reduces, progress.phase === "reduce" ? progress.status : undefined);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multibar.stop();
    },
  };
}
