// The text --help prints after commander's own: settings, examples and exit codes.
import { EXIT_CODES_HELP } from "./exit-codes.ts";

export const PROGRAM_HELP = [
  "",
  "A volunteer's worker for TorMR: it joins one job with the ticket the requester gave you,",
  "runs the job's map and reduce tasks in a sandbox (Docker or bubblewrap), and moves only",
  "sealed data. Run 'tormr-worker <command> --help' for a command's flags.",
  "",
  ...EXIT_CODES_HELP,
].join("\n");

export const START_HELP = [
  "",
  "Settings come from the config file (JSON; default <config-dir>/config.json, optional),",
  "and flags override it:",
  "  field        flag               default",
  "  slots        --slots N          1      tasks at once (1 to 64)",
  "  memoryMb     --memory-mb N      512    memory per task, MiB",
  "  cpus         --cpus N           1      CPU share per task",
  "  pids         --pids N           128    processes per task",
  "  sandbox      --sandbox KIND     auto   auto (Docker if a daemon answers, else bwrap), docker, bwrap",
  "  dockerHost   --docker-host URL  -      e.g. unix:///run/user/1000/docker.sock (rootless)",
  "  workDir      --work-dir DIR     $XDG_CACHE_HOME/tormr-worker (~/.cache/tormr-worker)",
  "  diskQuotaMb  --disk-quota-mb N  10240  refuse to start with less free space than this",
  '  allowImages  (file only)        ["tormr/python", "tormr/node"]  images jobs may use',
  "",
  "The job host URL and ticket may also come from TORMR_WORKER_JOB_HOST and",
  "TORMR_WORKER_TICKET, which keeps the ticket out of the process list.",
  "",
  "Stopping: SIGTERM or Ctrl-C hands the running tasks back to the job host, then the worker",
  "leaves (exit 0); a second Ctrl-C quits at once. Progress is a live line on a terminal and",
  "JSON lines (pino) on stderr otherwise; 'tormr-worker status' reads it from another shell.",
  "",
  "Examples:",
  "  tormr-worker start --job-host http://127.0.0.1:7311 --ticket <ticket>",
  "  tormr-worker start --job-host http://127.0.0.1:7311 --ticket <ticket> --slots 2 --yes",
  "",
  ...EXIT_CODES_HELP,
].join("\n");
