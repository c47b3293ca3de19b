import { describe, expect, it } from "vitest";
import type { DraftUpload } from "./drafts.ts";
import { buildJob, fieldOfEngineError, jobFormSchema } from "./job-form.ts";

const ID = "job_202612020000_0001";
const uploads: DraftUpload[] = [
  { role: "input", name: "a.txt", path: "/h/uploads/a.txt", bytes: 3 },
  { role: "file", name: "mapper.py", path: "/h/uploads/mapper.py", bytes: 9 },
];
const form = (fields: Record<string, string>) => jobFormSchema.parse(fields);
const build = (fields: Record<string, string>, files = uploads) =>
  buildJob(form(fields), { jobId: ID, stateDir: "/h", uploads: files });

describe("the new-job form", () => {
  it("builds a streaming spec with the uploads' paths, -D lines and the output under the state folder", () => {
    const result = build({
      kind: "streaming",
      mapper: " python3 mapper.py ",
      reducer: "python3 reducer.py",
      reduces: "2",
      conf: "-D mapreduce.job.reduces=2\n\nmapreduce.map.maxattempts = 3",
      cmdenv: "LANG=C",
    });
    expect(result).toMatchObject({
      ok: true,
      workers: 3,
      spec: {
        id: ID,
        inputs: ["/h/uploads/a.txt"],
        files: ["/h/uploads/mapper.py"],
        output: `/h/outputs/${ID}`,
        numReduceTasks: 2,
        task: { kind: "streaming", mapper: "python3 mapper.py", reducer: "python3 reducer.py" },
        conf: { "mapreduce.job.reduces": "2", "mapreduce.map.maxattempts": "3" },
        cmdenv: { LANG: "C" },
      },
    });
  });

  it("makes a map-only job of an empty or NONE reducer", () => {
    for (const reducer of ["", "NONE"]) {
      const result = build({ kind: "streaming", mapper: "cat", reducer, reduces: "4" });
      expect(result.ok && result.spec.numReduceTasks).toBe(0);
      expect(result.ok && result.spec.task).toEqual({ kind: "streaming", mapper: "cat" });
    }
  });

  it("says what is missing beside each field, all at once", () => {
    expect(build({ kind: "streaming", conf: "no equals sign" }, [])).toEqual({
      ok: false,
      warnings: [],
      errors: {
        inputs: "upload at least one input file",
        mapper: "give the mapper command, e.g. python3 mapper.py",
        conf: "line 1: expected key=value, got 'no equals sign'",
      },
    });
    expect(build({ kind: "js" })).toMatchObject({
      ok: false,
      errors: { module: expect.any(String) },
    });
    expect(jobFormSchema.safeParse({ kind: "jar" }).success).toBe(false);
    expect(
      jobFormSchema.safeParse({ kind: "streaming", workers: "33" }).error?.issues[0],
    ).toMatchObject({
      path: ["workers"],
      message: "expected a whole number from 1 to 32",
    });
  });

  it("maps a Pachyderm spec, and names its refused fields beside the spec", () => {
    const ok = build({
      kind: "pachyderm",
      pipeline: JSON.stringify({
        pipeline: { name: "wc" },
        transform: { cmd: ["python3", "mapper.py"] },
        input: { pfs: { repo: "books", glob: "/*" } },
        parallelism_spec: { constant: 5 },
      }),
    });
    expect(ok).toMatchObject({ ok: true, workers: 5, spec: { numReduceTasks: 0 } });
    const refused = build({
      kind: "pachyderm",
      pipeline: JSON.stringify({
        pipeline: { name: "wc" },
        transform: { cmd: ["cat"] },
        egress: {},
      }),
    });
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.errors.pipeline).toMatch(/egress/);
  });

  it("puts the engine's refusals beside the field they are about", () => {
    expect(fieldOfEngineError("ERR_NOT_EXECUTABLE", "mapper './m.py' (/x) is not executable")).toBe(
      "mapper",
    );
    expect(fieldOfEngineError("ERR_NOT_EXECUTABLE", "reducer 'r' was not found")).toBe("reducer");
    expect(fieldOfEngineError("ERR_BAD_CONF", "mapreduce.map.maxattempts: …")).toBe("conf");
    expect(fieldOfEngineError("ERR_INPUT_EMPTY", "no input")).toBe("inputs");
    expect(fieldOfEngineError("ERR_INPUT_MISSING", "-file does not exist: /x")).toBe("files");
    expect(fieldOfEngineError("ERR_UPLOADS_CLOSED", "job … was already submitted")).toBe("form");
  });
});
