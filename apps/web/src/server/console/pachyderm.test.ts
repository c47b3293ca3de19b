// mapPachydermSpec: Pachyderm pipeline specs to TorMR streaming jobs, and every field it refuses.
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mapPachydermSpec, type PachydermResult, shellQuote } from "./pachyderm.ts";

type Json = Record<string, unknown>;

/** The minimal spec of Pachyderm's docs, with the input read on stdin. */
function pipeline(overrides: Json = {}): Json {
  return {
    pipeline: { name: "wordcount" },
    transform: { cmd: ["python3", "mapper.py"] },
    input: { pfs: { repo: "data", glob: "/*" } },
    ...overrides,
  };
}

/** `spec` with `value` at a dotted path, objects made on the way. */
function withField(spec: Json, path: string, value: unknown): Json {
  const copy = structuredClone(spec);
  const parts = path.split(".");
  let at = copy;
  for (const part of parts.slice(0, -1)) {
    at[part] ??= {};
    at = at[part] as Json;
  }
  at[parts.at(-1) as string] = value;
  return copy;
}

const map = (spec: unknown) => mapPachydermSpec(JSON.stringify(spec));

function job(result: PachydermResult) {
  if (!result.ok) throw new Error(`expected a job, got ${JSON.stringify(result.errors)}`);
  return result;
}

function errors(result: PachydermResult) {
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.job)}`);
  return result.errors;
}

/** Runs a mapped command as the worker does (`/bin/sh -c`), with `input` on stdin. */
function run(command: string, input: string): string {
  const child = spawnSync("/bin/sh", ["-c", command], { input, encoding: "utf8" });
  expect(child.stderr).toBe("");
  return child.stdout;
}

describe("one pipeline: a map-only job", () => {
  it("maps cmd and glob '/*' to a map-only job on the engine's own splits", () => {
    const result = job(map(pipeline({ parallelism_spec: { constant: 4 } })));
    expect(result.job).toEqual({
      name: "wordcount",
      mapper: "python3 mapper.py",
      numReduceTasks: 0,
      cmdenv: {},
      conf: {},
      workers: 4,
    });
    expect(result.warnings).toEqual([]);
  });

  it("makes glob '/' one split over all the input, and warns that the mapper still runs per file", () => {
    const result = job(map(withField(pipeline(), "input.pfs.glob", "/")));
    expect(result.job.conf).toEqual({
      "mapreduce.input.fileinputformat.split.maxsize": String(Number.MAX_SAFE_INTEGER),
    });
    expect(result.job.workers).toBeUndefined();
    expect(result.warnings).toEqual([
      expect.stringMatching(/^input\.pfs\.glob: .*once per uploaded file/),
    ]);
  });

  it("turns env into cmdenv, with a warning that volunteers can read it", () => {
    const result = job(map(withField(pipeline(), "transform.env", { LANG: "C", N: "3" })));
    expect(result.job.cmdenv).toEqual({ LANG: "C", N: "3" });
    expect(result.warnings).toEqual([expect.stringContaining("every volunteer")]);
  });

  it("ignores transform.image with a warning naming it, and description, name, lazy and master", () => {
    let spec = withField(pipeline(), "transform.image", "python:3.12");
    spec = withField(spec, "description", "counts words");
    spec = withField(spec, "input.pfs", {
      repo: "data",
      glob: "/*",
      name: "d",
      lazy: true,
      branch: "master",
    });
    const result = job(map(spec));
    expect(result.warnings).toEqual([
      "transform.image: TorMR runs its own image (tormr/python); 'python:3.12' is ignored",
    ]);
  });

  it("warns about another branch, /pfs paths, and programs tormr/python lacks", () => {
    let spec = withField(pipeline(), "input.pfs.branch", "dev");
    spec = withField(spec, "transform.cmd", ["python", "/code/count.py", "/pfs/data", "/pfs/out"]);
    const result = job(map(spec));
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^transform\.cmd: tormr\/python has python3 and sh but no python.*\["python3"\]/,
      ),
      expect.stringMatching(/^transform: mentions \/pfs.*mapper reads its input on stdin/),
      "input.pfs.branch: TorMR reads the uploaded input; branch 'dev' is ignored",
    ]);
  });

  it("takes protojson's camelCase names, string uint64 and null for unset", () => {
    const spec = {
      pipeline: { name: "wordcount", project: { name: "default" } },
      transform: { cmd: ["cat"], stdin: null, env: null },
      input: { pfs: { repo: "data", glob: "/*", emptyFiles: null } },
      parallelismSpec: { constant: "6" },
      egress: null,
    };
    expect(job(map(spec)).job).toMatchObject({ mapper: "cat", workers: 6 });
    expect(job(map(withField(pipeline(), "parallelism_spec", { constant: 0 }))).job.workers).toBe(
      undefined,
    );
    expect(errors(map(withField(pipeline(), "datumTimeout", "1m")))).toEqual([
      { field: "datum_timeout", message: expect.stringContaining("no time limit") },
    ]);
  });
});

describe("transform.stdin: the script becomes an argument, since stdin carries the data", () => {
  it.each([
    [["python3"], "python3 -c"],
    [["/usr/bin/python3"], "/usr/bin/python3 -c"],
    [["sh"], "sh -c"],
    [["bash"], "bash -c"],
    [["node"], "node -e"],
  ])("%j runs the script as %s", (cmd, start) => {
    const spec = withField(pipeline(), "transform", { cmd, stdin: ["echo 'x'"] });
    expect(job(map(spec)).job.mapper).toBe(`${start} 'echo '\\''x'\\'''`);
  });

  it("gives python3 the script, and the data on stdin, when run as the worker runs it", () => {
    const stdin = [
      "import sys",
      "for line in sys.stdin:",
      "    for word in line.split():",
      '        print(f"{word}\\t1")',
    ];
    const spec = withField(pipeline(), "transform", { cmd: ["python3"], stdin });
    expect(run(job(map(spec)).job.mapper, "it's a test\n")).toBe("it's\t1\na\t1\ntest\t1\n");
  });

  it("gives sh a script with quotes, and the data on stdin", () => {
    const stdin = ["tr 'a-z' 'A-Z' | sed \"s/^/> /\""];
    const spec = withField(pipeline(), "transform", { cmd: ["sh"], stdin });
    expect(run(job(map(spec)).job.mapper, "it's\n")).toBe("> IT'S\n");
  });

  it("refuses a script for a cmd that is more than an interpreter", () => {
    const spec = withField(pipeline(), "transform", {
      cmd: ["python3", "-u"],
      stdin: ["print(1)"],
    });
    expect(errors(map(spec))).toEqual([
      {
        field: "transform.stdin",
        message: expect.stringContaining(
          'just an interpreter (python3, python, sh, bash or node); got ["python3","-u"]',
        ),
      },
    ]);
  });

  it("refuses a bare interpreter with no script, which would run the data as code", () => {
    for (const stdin of [undefined, []]) {
      const spec = withField(pipeline(), "transform", { cmd: ["sh"], stdin });
      expect(errors(map(spec))).toEqual([
        {
          field: "transform.cmd",
          message: expect.stringContaining("would run the input data as code"),
        },
      ]);
    }
  });

  it("refuses NUL characters, which no argument can hold", () => {
    const spec = withField(pipeline(), "transform", { cmd: ["sh"], stdin: ["echo", "a\u0000b"] });
    expect(errors(map(spec))).toEqual([
      { field: "transform.stdin[1]", message: expect.stringContaining("NUL") },
    ]);
  });
});

describe("two pipelines: map, then reduce", () => {
  const mapper = pipeline({ parallelism_spec: { constant: 8 } });
  const reducer = (glob: string, constant?: number) => ({
    pipeline: { name: "wordcount-sum" },
    transform: { cmd: ["python3", "reducer.py"] },
    input: { pfs: { repo: "wordcount", glob } },
    ...(constant === undefined ? {} : { parallelism_spec: { constant } }),
  });

  it("maps the second pipeline to the reducer, with its constant as the number of reducers", () => {
    const result = job(map([mapper, reducer("/*", 3)]));
    expect(result.job).toEqual({
      name: "wordcount-sum",
      mapper: "python3 mapper.py",
      reducer: "python3 reducer.py",
      numReduceTasks: 3,
      cmdenv: {},
      conf: {},
      workers: 8,
    });
    expect(result.warnings).toEqual([]);
    expect(job(map([mapper, reducer("/*")])).job.numReduceTasks).toBe(1);
  });

  it("makes glob '/' one reducer, with a warning when a constant asked for more", () => {
    const result = job(map([mapper, reducer("/", 5)]));
    expect(result.job.numReduceTasks).toBe(1);
    expect(result.warnings).toEqual([
      expect.stringMatching(/^\[1\]\.parallelism_spec\.constant: .*5 is ignored/),
    ]);
  });

  it("refuses a reduce pipeline that does not read the map pipeline's output", () => {
    const other = withField(reducer("/*"), "input.pfs.repo", "data");
    expect(errors(map([mapper, other]))).toEqual([
      { field: "[1].input.pfs.repo", message: expect.stringContaining("expected 'wordcount'") },
    ]);
  });

  it("merges both environments, and refuses one name with two values", () => {
    const a = withField(mapper, "transform.env", { MODE: "fast", A: "1" });
    const same = withField(reducer("/*"), "transform.env", { MODE: "fast", B: "2" });
    expect(job(map([a, same])).job.cmdenv).toEqual({ MODE: "fast", A: "1", B: "2" });
    const clash = withField(reducer("/*"), "transform.env", { MODE: "slow" });
    expect(errors(map([a, clash]))).toEqual([
      { field: "[1].transform.env.MODE", message: expect.stringContaining('sets it to "fast"') },
    ]);
  });

  it("reports the errors of both pipelines, each under its index", () => {
    const bad = withField(reducer("/**"), "egress", { URL: "s3://out" });
    expect(errors(map([withField(mapper, "input.pfs.glob", 7), bad]))).toEqual([
      { field: "[0].input.pfs.glob", message: "expected '/' or '/*', got 7" },
      { field: "[1].input.pfs.glob", message: expect.stringContaining("'/**' is not supported") },
      { field: "[1].egress", message: expect.stringContaining("download it from the console") },
    ]);
  });

  it("refuses arrays of other lengths, and specs that are not objects", () => {
    expect(errors(map([]))).toEqual([{ field: "spec", message: expect.stringContaining("got 0") }]);
    expect(errors(map([mapper, mapper, mapper]))[0]?.message).toContain("got 3");
    expect(errors(map(["x"]))).toEqual([
      { field: "[0]", message: 'expected a pipeline object, got "x"' },
    ]);
  });
});

describe("fields TorMR refuses", () => {
  // Every field of Pachyderm's pipeline spec (pps.proto, 1.x docs) that TorMR cannot honour.
  const refused: [string, unknown][] = [
    ["tf_job", { tf_job: "{}" }],
    ["egress", { URL: "s3://bucket/dir" }],
    ["output_branch", "master"],
    ["s3_out", true],
    ["resource_requests", { memory: "1G", cpu: 1 }],
    ["resource_limits", { gpu: { type: "nvidia.com/gpu", number: 1 } }],
    ["sidecar_resource_limits", { memory: "1G" }],
    ["sidecar_resource_requests", { memory: "1G" }],
    ["service", { internal_port: 8888, external_port: 30888 }],
    ["spout", { service: {} }],
    ["datum_set_spec", { number: 10 }],
    ["chunk_spec", { number: 10 }],
    ["datum_timeout", "1m"],
    ["job_timeout", "1h"],
    ["datum_tries", 3],
    ["salt", "x"],
    ["reprocess", true],
    ["reprocess_spec", "every_job"],
    ["update", true],
    ["dry_run", true],
    ["spec_commit", {}],
    ["scheduling_spec", { node_selector: {} }],
    ["pod_spec", "{}"],
    ["pod_patch", "[]"],
    ["tolerations", []],
    ["metadata", { labels: {} }],
    ["autoscaling", true],
    ["determined", { workspaces: [] }],
    ["standby", true],
    ["cache_size", "64M"],
    ["enable_stats", true],
    ["max_queue_size", 1],
    ["hashtree_spec", { constant: 1 }],
    ["transform.secrets", [{ name: "s", env_var: "S", key: "k" }]],
    ["transform.image_pull_secrets", ["key"]],
    ["transform.dockerfile", "Dockerfile"],
    ["transform.build", { path: "." }],
    ["transform.err_cmd", ["true"]],
    ["transform.err_stdin", ["true"]],
    ["transform.accept_return_code", [1]],
    ["transform.debug", true],
    ["transform.user", "root"],
    ["transform.working_dir", "/app"],
    ["transform.memory_volume", true],
    ["transform.datum_batching", true],
    ["input.cross", [{ pfs: { repo: "a", glob: "/*" } }]],
    ["input.union", [{ pfs: { repo: "a", glob: "/*" } }]],
    ["input.join", [{ pfs: { repo: "a", glob: "/(*)", join_on: "$1" } }]],
    ["input.group", [{ pfs: { repo: "a", glob: "/(*)", group_by: "$1" } }]],
    ["input.cron", { name: "tick", spec: "@every 1h" }],
    ["input.git", { URL: "https://github.com/a/b.git" }],
    ["input.atom", { repo: "a", glob: "/*" }],
    ["input.pfs.commit", "abc"],
    ["input.pfs.repo_type", "user"],
    ["input.pfs.join_on", "$1"],
    ["input.pfs.outer_join", true],
    ["input.pfs.group_by", "$1"],
    ["input.pfs.empty_files", true],
    ["input.pfs.s3", true],
    ["input.pfs.trigger", { size: "1M" }],
    ["parallelism_spec.coefficient", 0.5],
  ];

  it.each(refused)("refuses %s with a message of its own", (field, value) => {
    const [error, ...more] = errors(map(withField(pipeline(), field, value)));
    expect(more).toEqual([]);
    expect(error?.field).toBe(field);
    expect(error?.message).not.toBe("not a Pachyderm pipeline field");
    expect(error?.message).toMatch(/: |instead|rename/);
  });

  it("collects every error, not just the first", () => {
    let spec = withField(pipeline(), "transform.cmd", "python3 mapper.py");
    spec = withField(spec, "transform.secrets", []);
    spec = withField(spec, "input", { cross: [] });
    spec = withField(spec, "egress", {});
    spec = withField(spec, "extra", 1);
    expect(errors(map(spec)).map((e) => e.field)).toEqual([
      "transform.cmd",
      "transform.secrets",
      "input.cross",
      "egress",
      "extra",
    ]);
  });

  it.each(["colour", "transform.shell", "input.pfs.regex", "pipeline.version", "__proto__"])(
    "refuses %s as not a Pachyderm field",
    (field) => {
      const text = JSON.stringify(pipeline()).replace(/}$/, "");
      const spec =
        field === "__proto__"
          ? `${text}, "__proto__": {}}`
          : JSON.stringify(withField(pipeline(), field, 1));
      expect(errors(mapPachydermSpec(spec))).toEqual([
        { field, message: "not a Pachyderm pipeline field" },
      ]);
    },
  );
});

describe("wrong types and values", () => {
  it.each<[string, unknown, string]>([
    [
      "transform.cmd",
      "python3 mapper.py",
      'expected an array of strings, e.g. ["python3", "mapper.py"], got "python3 mapper.py"',
    ],
    ["transform.cmd", [], "expected at least one word: the program to run"],
    ["transform.cmd", ["python3", 1], "expected a string, got 1"],
    ["transform.stdin", "print(1)", 'expected an array of script lines (strings), got "print(1)"'],
    ["transform.env", ["A=1"], "expected an object of string values, got an array"],
    ["transform.env", { N: 1 }, "expected a string, got 1"],
    ["transform.env", { "A-B": "1" }, "expected an environment variable name (A-Z, a-z, 0-9, _)"],
    ["transform.image", 3, "expected a string, got 3"],
    ["pipeline", "wordcount", 'expected an object like {"name": "wordcount"}, got "wordcount"'],
    [
      "pipeline.name",
      "word count",
      "expected 1 to 50 letters, digits, _ and -, starting and ending with a letter or digit",
    ],
    ["input.pfs.repo", "", "expected the input repo's name"],
    [
      "input.pfs.glob",
      "/*/*",
      "'/*/*' is not supported: TorMR takes '/' (all the input as one datum) or '/*' (a datum per top-level file)",
    ],
    ["input.pfs.lazy", "yes", 'expected true or false, got "yes"'],
    ["parallelism_spec.constant", 65, "expected a whole number from 1 to 64, got 65"],
    ["parallelism_spec.constant", 1.5, "expected a whole number from 1 to 64, got 1.5"],
    ["parallelism_spec.constant", true, "expected a whole number from 1 to 64, got true"],
    ["description", 1, "expected a string, got 1"],
  ])("%s = %j: %s", (field, value, message) => {
    const [error, ...more] = errors(map(withField(pipeline(), field, value)));
    expect(more).toEqual([]);
    expect(error?.message).toBe(message);
    expect(error?.field.startsWith(field)).toBe(true);
  });

  it("names the missing required fields", () => {
    expect(errors(map({ input: { pfs: { repo: "data" } } }))).toEqual([
      { field: "pipeline", message: 'required: expected an object like {"name": "wordcount"}' },
      {
        field: "transform",
        message: 'required: expected an object like {"cmd": ["python3", "x.py"]}',
      },
      { field: "input.pfs.glob", message: "required: expected '/' or '/*'" },
    ]);
    expect(errors(map(withField(pipeline(), "input", {})))).toEqual([
      { field: "input.pfs", message: 'required: expected {"repo": "…", "glob": "/" or "/*"}' },
    ]);
  });
});

describe("the text", () => {
  it.each([
    ['{"pipeline": }', "expected a value at line 1, column 14 (position 13)"],
    [
      '{\n  "pipeline": {"name": "x"}\n  "transform": {}\n}',
      "expected ',' or '}' at line 3, column 3 (position 32)",
    ],
    ['{"a": [1 2]}', "expected ',' or ']' at line 1, column 10 (position 9)"],
    ['{"a": "x', "expected a closing '\"' at line 1, column 9 (position 8)"],
    ["{'a': 1}", "expected a double-quoted property name or '}' at line 1, column 2 (position 1)"],
    ['{"a": 1,}', "expected a double-quoted property name at line 1, column 9 (position 8)"],
    ['{"a": 1}}', "expected the end of the text at line 1, column 9 (position 8)"],
    ['{"a": "\\q"}', "expected an escape"],
  ])("says where %j stops being JSON", (text, where) => {
    expect(errors(mapPachydermSpec(text))).toEqual([
      {
        field: "spec",
        message: expect.stringMatching(
          /^expected a JSON pipeline spec, but it is not valid JSON: /,
        ),
      },
    ]);
    expect(errors(mapPachydermSpec(text))[0]?.message).toContain(where);
  });

  it("refuses YAML, empty text and overlong text", () => {
    expect(errors(mapPachydermSpec("pipeline:\n  name: wordcount\n"))[0]?.message).toMatch(
      /^expected a JSON pipeline spec, .* got 'p' at line 1, column 1 .*YAML/,
    );
    expect(errors(mapPachydermSpec(" \n"))[0]?.message).toBe(
      "expected a JSON pipeline spec, got empty text",
    );
    expect(errors(mapPachydermSpec(`[${" ".repeat(300_000)}]`))[0]?.message).toContain(
      "expected at most 262144",
    );
  });

  it("survives deep nesting", () => {
    expect(errors(mapPachydermSpec("[".repeat(100_000)))[0]?.message).toContain("expected a value");
  });
});

describe("shellQuote", () => {
  it("leaves plain words alone and single-quotes the rest", () => {
    expect(shellQuote(["python3", "mapper.py", "--n=3"])).toBe("python3 mapper.py '--n=3'");
    expect(shellQuote(["it's", "a b", "", "$HOME", "if", "x=1"])).toBe(
      "'it'\\''s' 'a b' '' '$HOME' 'if' 'x=1'",
    );
  });

  it("gives any words back unchanged through /bin/sh", () => {
    const special = fc.constantFrom(..."'\"\\$`!*?[]{}()<>|&;#~= \t\n%^");
    const char = fc.oneof(special, fc.string({ unit: "binary", minLength: 1, maxLength: 1 }));
    const word = fc
      .string({ unit: char, maxLength: 12 })
      .filter((w) => !w.includes("\0") && !/[\uD800-\uDFFF]/u.test(w));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), (words) => {
        const child = spawnSync("/bin/sh", ["-c", `printf '%s\\0' ${shellQuote(words)}`], {
          encoding: "utf8",
        });
        expect(child.stdout.split("\0").slice(0, -1)).toEqual(words);
      }),
      { numRuns: 200 },
    );
  });

  it("keeps a mapped cmd's words, whatever they hold", () => {
    const cmd = ["printf", "%s|", "it's", 'say "hi"', "a  b", "$PATH"];
    const spec = withField(pipeline(), "transform.cmd", cmd);
    expect(run(job(map(spec)).job.mapper, "")).toBe(`it's|say "hi"|a  b|$PATH|`);
  });
});
