// Checks a job before it runs, so bad input fails at once with one clear line and nothing is written.
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { basename, delimiter, isAbsolute, join } from "node:path";
import { MapReduceError } from "./errors.ts";
import { type JobSpec, jobSettings } from "./job-spec.ts";
import { listInputFiles } from "./splits.ts";

/** The program a streaming command runs: its first word, unquoted. */
export function programOf(command: string): string {
  const match = /^\s*(?:'([^']*)'|"([^"]*)"|(\S+))/.exec(command);
  return match?.[1] ?? match?.[2] ?? match?.[3] ?? "";
}

async function isExecutableFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) return false;
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function checkCommand(job: JobSpec, role: string, command: string): Promise<void> {
  const program = programOf(command);
  const shipped = job.files.find((f) => basename(f) === basename(program));
  const fix = `chmod +x it, or name its interpreter (-${role} 'python3 ${basename(program)}')`;
  if (shipped && !program.startsWith("/")) {
    if (!(await isExecutableFile(shipped))) {
      throw new MapReduceError(
        "ERR_NOT_EXECUTABLE",
        `${role} '${program}' (${shipped}) is not executable: ${fix}`,
      );
    }
    return;
  }
  if (isAbsolute(program)) {
    if (!(await isExecutableFile(program))) {
      throw new MapReduceError(
        "ERR_NOT_EXECUTABLE",
        `${role} '${program}' is not an executable file: ${fix}`,
      );
    }
    return;
  }
  if (program.includes("/")) {
    throw new MapReduceError(
      "ERR_NOT_EXECUTABLE",
      `${role} '${program}' is not shipped with the job: add -file ${program}, or give an absolute path`,
    );
  }
  // Shell builtins such as `cat` exist as programs too; anything else must be on PATH.
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && (await isExecutableFile(join(dir, program)))) return;
  }
  throw new MapReduceError(
    "ERR_NOT_EXECUTABLE",
    `${role} '${program}' was not found: ship it with -file ${program}, or install it on PATH`,
  );
}

/** Everything that can be checked before a job starts: settings, inputs, output, programs, files. */
export async function validateJob(job: JobSpec): Promise<void> {
  jobSettings(job);
  await listInputFiles(job.inputs);
  if (await stat(job.output).catch(() => null)) {
    throw new MapReduceError(
      "ERR_OUTPUT_EXISTS",
      `output folder already exists: ${job.output} (remove it or choose another -output)`,
    );
  }
  for (const file of job.files) {
    if (!(await stat(file).catch(() => null))) {
      throw new MapReduceError("ERR_INPUT_MISSING", `-file does not exist: ${file}`);
    }
  }
  const task = job.task;
  if (task.kind === "streaming") {
    await checkCommand(job, "mapper", task.mapper);
    if (task.combiner) await checkCommand(job, "combiner", task.combiner);
    if (task.reducer && job.numReduceTasks > 0) await checkCommand(job, "reducer", task.reducer);
  } else if (!(await stat(task.module).catch(() => null))) {
    throw new MapReduceError("ERR_BAD_JOB_MODULE", `job module does not exist: ${task.module}`);
  }
}
