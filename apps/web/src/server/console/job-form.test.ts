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

  it("sets the exposure cap and collusion k from their fields, and says what is wrong beside them", () => {
    const streaming = { kind: "streaming", mapper: "cat", reducer: "cat", reduces: "4" };
    expect(build({ ...streaming, cap: " 25 ", collusion: "2" })).toMatchObject({
      ok: true,
      spec: { conf: { "tormr.exposure.cap": "25%", "tormr.exposure.collusion": "2" } },
    });
    const half = build({ ...streaming, cap: ".5" });
    expect(half.ok && half.spec.conf).toEqual({ "tormr.exposure.cap": "0.5%" });
    const none = build({ ...streaming, cap: "", collusion: "" });
    expect(none.ok && none.spec.conf).toEqual({});
    for (const cap of ["0", "101", "abc", "-5", "25%"]) {
      expect(jobFormSchema.safeParse({ ...streaming, cap }).error?.issues[0]).toMatchObject({
        path: ["cap"],
        message: "expected a percentage above 0 and at most 100, e.g. 25",
      });
    }
    for (const collusion of ["0", "33", "1.5", "two"]) {
      expect(jobFormSchema.safeParse({ ...streaming, collusion }).error?.issues[0]).toMatchObject({
        path: ["collusion"],
        message: "expected a whole number from 1 to 32",
      });
    }
    expect(build({ ...streaming, collusion: "3" })).toEqual({
      ok: false,
      warnings: [],
      errors: {
        collusion:
          "set an exposure cap too: collusion 3 bounds what 3 workers see together under it",
      },
    });
    expect(
      build({ ...streaming, cap: "25", conf: "tormr.exposure.cap=10%", collusion: "2" }),
    ).toMatchObject({
      ok: false,
      errors: {
        cap: "the cap is also set under Settings (-D tormr.exposure.cap): set it in one place",
      },
    });
    // The cap may come from the Settings lines alone, with k from its field.
    const fromConf = build({ ...streaming, conf: "tormr.exposure.cap=0.2", collusion: "2" });
    expect(fromConf.ok && fromConf.spec.conf).toEqual({
      "tormr.exposure.cap": "0.2",
      "tormr.exposure.collusion": "2",
    });
    // A bad cap typed under Settings is the engine's to refuse, beside the Settings.
    expect(build({ ...streaming, conf: "tormr.exposure.cap=0" })).toMatchObject({
      ok: false,
      errors: { conf: expect.stringMatching(/^-D tormr\.exposure\.cap=0: expected a share/) },
    });
  });

  it("sets the spot-check and decoy rates from their fields, and says what is wrong beside them", () => {
    const streaming = { kind: "streaming", mapper: "cat", reducer: "cat", reduces: "1" };
    expect(build({ ...streaming, spotchecks: " 30 ", decoys: "20" })).toMatchObject({
      ok: true,
      spec: { conf: { "tormr.spotcheck.rate": "30%", "tormr.decoy.rate": "20%" } },
    });
    const edges = build({ ...streaming, spotchecks: "100", decoys: ".5" });
    expect(edges.ok && edges.spec.conf).toEqual({
      "tormr.spotcheck.rate": "100%",
      "tormr.decoy.rate": "0.5%",
    });
    // 0 is no checks, as the engine reads it; empty sets nothing.
    const zero = build({ ...streaming, spotchecks: "0", decoys: "" });
    expect(zero.ok && zero.spec.conf).toEqual({ "tormr.spotcheck.rate": "0%" });
    for (const value of ["101", "100.5", "-5", "abc", "30%", "0.3.1"]) {
      for (const field of ["spotchecks", "decoys"]) {
        expect(
          jobFormSchema.safeParse({ ...streaming, [field]: value }).error?.issues[0],
        ).toMatchObject({ path: [field], message: "expected a percentage from 0 to 100, e.g. 30" });
      }
    }
    expect(
      build({
        ...streaming,
        spotchecks: "30",
        decoys: "20",
        conf: "tormr.spotcheck.rate=0.1\ntormr.decoy.rate=10%",
      }),
    ).toEqual({
      ok: false,
      warnings: [],
      errors: {
        spotchecks:
          "the spot-check rate is also set under Settings (-D tormr.spotcheck.rate): set it in one place",
        decoys:
          "the decoy rate is also set under Settings (-D tormr.decoy.rate): set it in one place",
      },
    });
    // Either may come from the Settings lines alone, the other from its field.
    const fromConf = build({ ...streaming, conf: "tormr.spotcheck.rate=0.3", decoys: "20" });
    expect(fromConf.ok && fromConf.spec.conf).toEqual({
      "tormr.spotcheck.rate": "0.3",
      "tormr.decoy.rate": "20%",
    });
  });

  it("puts the job host's refusals of a cap beside the field to change", () => {
    expect(
      fieldOfEngineError(
        "ERR_BAD_CONF",
        "a cluster of 3 workers cannot keep to the exposure cap of 10%: …; the smallest cluster that can is 10 workers",
      ),
    ).toBe("workers");
    expect(
      fieldOfEngineError(
        "ERR_BAD_CONF",
        "-numReduceTasks 2 cannot keep to the exposure cap of 25%: …; use at least 4 reducers",
      ),
    ).toBe("reduces");
    expect(
      fieldOfEngineError(
        "ERR_BAD_CONF",
        "split 0 (a.txt, bytes 0-3) holds 3 of 3 input records (100%), over the exposure cap of 25%: …",
      ),
    ).toBe("conf");
    expect(
      fieldOfEngineError(
        "ERR_BAD_CONF",
        "-D tormr.decoy.rate plants decoys of sampled input records, which -D tormr.exposure.cap would not count: under an exposure cap use spot checks (-D tormr.spotcheck.rate) alone",
      ),
    ).toBe("decoys");
    expect(
      fieldOfEngineError(
        "ERR_BAD_CONF",
        "-D tormr.replication=2 already compares every task's results; spot checks (-D tormr.spotcheck.rate) and decoys (-D tormr.decoy.rate) are for jobs without replicas: set one or the other",
      ),
    ).toBe("conf");
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
