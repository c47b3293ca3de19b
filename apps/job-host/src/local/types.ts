// What a local run reports while it runs and when it ends.

import type { CounterRecord } from "@tormr/mapreduce/counters";
import type { SandboxLimits } from "@tormr/sandbox/sandbox";

export interface PhaseProgress {
  total: number;
  done: number;
  running: number;
}

export interface JobProgress {
  jobId: string;
  phase: "map" | "reduce" | "done";
  maps: PhaseProgress;
  reduces: PhaseProgress;
  /** The latest `reporter:status:` line of any task, if one was sent. */
  status?: string;
  /** Set when an attempt failed and will be retried. */
  retry?: { task: string; attempt: number; message: string };
}

export interface LocalJobOptions {
  /** Number of separate worker processes. Defaults to the number of cores. */
  workers?: number;
  /** A job host and workers only: run them over a private Tor network (`--tor`). */
  tor?: boolean;
  onProgress?: (progress: JobProgress) => void;
  /** Where intermediate files go; defaults to the OS temp folder. Removed when the job ends. */
  scratchDir?: string;
  /**
   * Move splits, partitions and outputs through a bucket store, sealed, under a grant per attempt
   * (the default). `false` passes plain files between workers: for measurement only.
   */
  seal?: boolean;
  /**
   * Where the bucket store keeps its sealed buckets and database. Default: inside the scratch
   * folder, removed with it. A folder given here is kept, e.g. to inspect what was stored.
   */
  storeDir?: string;
  /**
   * Run each task's streaming programs in a sandbox: bubblewrap, or Docker (with the daemon at
   * `dockerHost` and `image`). Default: none, the programs run as this user.
   */
  sandbox?: SandboxChoice;
  /** Aborting stops the job: workers are killed and the output folder is removed. */
  signal?: AbortSignal;
}

export interface JobResult {
  jobId: string;
  /** Where the workers reached the job host (http://<onion> over Tor); absent for --local. */
  jobHostUrl?: string;
  output: string;
  /** The committed part files, in order. */
  parts: string[];
  counters: CounterRecord;
  maps: number;
  reduces: number;
  failedAttempts: number;
  durationMs: number;
}

export type SandboxChoice =
  | { kind: "bwrap"; limits?: SandboxLimits }
  | { kind: "docker"; dockerHost?: string; image: string; limits?: SandboxLimits };
