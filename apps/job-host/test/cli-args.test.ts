// Unit tests of the Hadoop-grammar argument parser behind `tormr streaming`, `jar` and `run`.
import { describe, expect, it } from "vitest";
import { closest, editDistance } from "../src/cli/closest.ts";
import {
  parseJarArgs,
  parseRunArgs,
  parseStreamingArgs,
  type RunArgs,
  type StreamingArgs,
} from "../src/cli/hadoop-args.ts";
import { UsageError } from "../src/cli/usage-error.ts";

const BASE = ["-input", "in", "-output", "out", "-mapper", "cat"];

function streaming(...extra: string[]): StreamingArgs {
  const parsed = parseStreamingArgs([...BASE, ...extra]);
  if (parsed.command !== "streaming") throw new Error("expected streaming args");
  return parsed;
}

function run(argv: string[]): RunArgs {
  const parsed = parseRunArgs(argv);
  if (parsed.command !== "run") throw new Error("expected run args");
  return parsed;
}

/** The UsageError a parse throws, so tests can check its code, message and hint. */
function usageError(parse: () => unknown): UsageError {
  try {
    parse();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error("expected a UsageError");
}

describe("parseStreamingArgs: flags", () => {
  it("reads the required flags with Hadoop's single-dash spelling", () => {
    expect(parseStreamingArgs(BASE)).toEqual({
      command: "streaming",
      inputs: ["in"],
      output: "out",
      mapper: "cat",
      combiner: undefined,
      reducer: undefined,
      numReduceTasks: 1,
      files: [],
      cmdenv: {},
      conf: {},
      workers: undefined,
      seal: true,
      local: false,
      jobHost: undefined,
      tor: false,
      sandbox: "none",
      warnings: [],
    });
  });

  it("reads --sandbox, and refuses a kind it does not know", () => {
    expect(streaming("--sandbox", "bwrap").sandbox).toBe("bwrap");
    expect(streaming("--sandbox=docker").sandbox).toBe("docker");
    expect(() => streaming("--sandbox", "vm")).toThrow(
      "--sandbox: expected none, bwrap or docker, got 'vm'",
    );
  });

  it("reads --no-seal as a switch that takes no value", () => {
    expect(streaming("--no-seal").seal).toBe(false);
    expect(streaming().seal).toBe(true);
  });

  it("reads --tor, and refuses it beside --local, --no-seal and --job-host", () => {
    expect(streaming("--tor").tor).toBe(true);
    expect(streaming().tor).toBe(false);
    expect(() => streaming("--tor", "--local")).toThrow(
      "--tor and --local contradict each other: --local runs without a job host, so nothing would cross Tor",
    );
    expect(() => streaming("--no-seal", "--tor")).toThrow(/--tor and --no-seal contradict/);
    expect(() => streaming("--tor", "--job-host", "/x")).toThrow(
      "--tor and --job-host contradict each other: a running job host's own --tor decides",
    );
  });

  it("does not read -input as -i nput", () => {
    expect(streaming().inputs).toEqual(["in"]);
  });

  it("reads every optional flag", () => {
    const args = streaming(
      "-combiner",
      "uniq -c",
      "-reducer",
      "python3 r.py",
      "-numReduceTasks",
      "3",
      "-file",
      "r.py",
      "-files",
      "a.txt,b.txt",
      "-cmdenv",
      "LANG=C",
      "-D",
      "stream.num.map.output.key.fields=2",
      "--workers",
      "5",
    );
    expect(args).toMatchObject({
      combiner: "uniq -c",
      reducer: "python3 r.py",
      numReduceTasks: 3,
      files: ["r.py", "a.txt", "b.txt"],
      cmdenv: { LANG: "C" },
      conf: { "stream.num.map.output.key.fields": "2" },
      workers: 5,
    });
  });

  it("keeps a mapper command with spaces and quotes as one value", () => {
    expect(
      parseStreamingArgs(["-mapper", `sh -c "tr a b"`, "-input", "i", "-output", "o"]),
    ).toMatchObject({
      mapper: `sh -c "tr a b"`,
    });
  });

  it("takes a value that starts with a dash when it is not a flag", () => {
    expect(streaming("-reducer", "-weird-but-allowed").reducer).toBe("-weird-but-allowed");
  });

  it("accepts flags in any order", () => {
    const args = parseStreamingArgs(["-mapper", "cat", "-output", "out", "-input", "in"]);
    expect(args).toMatchObject({ inputs: ["in"], output: "out", mapper: "cat" });
  });

  it("accepts --name and --name=value spellings too", () => {
    const args = parseStreamingArgs([
      "--input=in",
      "--output",
      "out",
      "--mapper=cat",
      "--workers=2",
    ]);
    expect(args).toMatchObject({ inputs: ["in"], output: "out", mapper: "cat", workers: 2 });
  });

  it("accepts -workers with one dash", () => {
    expect(streaming("-workers", "3").workers).toBe(3);
  });
});

describe("parseStreamingArgs: repeated flags", () => {
  it("collects repeated -input in order and splits comma lists, as FileInputFormat does", () => {
    const args = parseStreamingArgs([
      "-input",
      "a",
      "-input",
      "b,c",
      "-input",
      "d,",
      "-output",
      "o",
      "-mapper",
      "cat",
    ]);
    expect(args).toMatchObject({ inputs: ["a", "b", "c", "d"] });
  });

  it("collects -file and -files together, -file first", () => {
    expect(streaming("-files", "x,y", "-file", "m.py", "-file", "r.py").files).toEqual([
      "m.py",
      "r.py",
      "x",
      "y",
    ]);
  });

  it("keeps the last of repeated -cmdenv and -D keys, as Hadoop's Configuration.set does", () => {
    const args = streaming("-cmdenv", "A=1", "-cmdenv", "A=2", "-D", "k=1", "-Dk=2");
    expect(args.cmdenv).toEqual({ A: "2" });
    expect(args.conf).toEqual({ k: "2" });
  });

  it.each([
    ["-output", "other"],
    ["-mapper", "cat"],
    ["-numReduceTasks", "2", "-numReduceTasks", "3"],
    ["-reducer", "a", "-reducer", "b"],
    ["-combiner", "a", "-combiner", "b"],
    ["--workers", "1", "--workers", "2"],
  ])("refuses a single-valued flag given twice: %s", (...extra) => {
    const error = usageError(() => streaming(...extra));
    expect(error.code).toBe("ERR_REPEATED_FLAG");
    expect(error.message).toMatch(/given 2 times .*; give it once$/);
  });
});

describe("parseStreamingArgs: -D forms", () => {
  it("reads -D k=v, -Dk=v and values holding '='", () => {
    const args = streaming("-D", "a=1", "-Db=2", "-D", "c=x=y", "-Dd=");
    expect(args.conf).toEqual({ a: "1", b: "2", c: "x=y", d: "" });
  });

  it("accepts generic options before the streaming flags, as GenericOptionsParser requires", () => {
    const args = parseStreamingArgs(["-D", "mapreduce.job.name=wc", "-files", "m.py", ...BASE]);
    expect(args).toMatchObject({ conf: { "mapreduce.job.name": "wc" }, files: ["m.py"] });
  });

  it.each([
    [["-D", "novalue"], /-D novalue: expected key=value, but no '=' in it/],
    [["-Dnovalue"], /-D novalue: expected key=value, but no '=' in it/],
    [["-D", "=x"], /-D =x: expected key=value, but the key is empty/],
    [["-D=x"], /the key is empty/],
    [["-D", "a b=c"], /the key must not contain whitespace/],
  ])("refuses malformed %j", (extra, message) => {
    const error = usageError(() => streaming(...extra));
    expect(error.code).toBe("ERR_BAD_VALUE");
    expect(error.message).toMatch(message);
  });

  it("keeps __proto__ as a plain key", () => {
    const conf = streaming("-D", "__proto__=x").conf;
    expect(Object.keys(conf)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(conf)).toBe(Object.prototype);
  });
});

describe("parseStreamingArgs: number of reduce tasks", () => {
  it("defaults to 1, as Hadoop does", () => {
    expect(streaming().numReduceTasks).toBe(1);
  });

  it.each([
    [["-D", "mapreduce.job.reduces=4"], 4],
    [["-Dmapred.reduce.tasks=6"], 6],
    [["-D", "mapreduce.job.reduces=4", "-numReduceTasks", "2"], 2],
    [["-numReduceTasks", "2", "-D", "mapreduce.job.reduces=4"], 2],
    [["-numReduceTasks", "0"], 0],
    [["-numReduceTasks", "100000"], 100_000],
  ])("%j gives %d", (extra, expected) => {
    expect(streaming(...extra).numReduceTasks).toBe(expected);
  });

  it("keeps mapreduce.job.reduces in the configuration as given", () => {
    expect(streaming("-D", "mapreduce.job.reduces=4").conf).toEqual({
      "mapreduce.job.reduces": "4",
    });
  });

  it.each([["x"], ["-1"], ["1.5"], ["100001"], [""], [" 2"]])(
    "refuses -numReduceTasks %j",
    (raw) => {
      const error = usageError(() => streaming("-numReduceTasks", raw));
      expect(error.code).toBe("ERR_BAD_VALUE");
      expect(error.message).toBe(
        `-numReduceTasks: expected a whole number from 0 to 100000, got '${raw}'`,
      );
    },
  );

  it("refuses a bad -D mapreduce.job.reduces", () => {
    const error = usageError(() => streaming("-D", "mapreduce.job.reduces=many"));
    expect(error.message).toBe(
      "-D mapreduce.job.reduces: expected a whole number from 0 to 100000, got 'many'",
    );
  });
});

describe("parseStreamingArgs: map-only jobs", () => {
  it("-reducer NONE drops the reducer and sets 0 reduce tasks", () => {
    expect(streaming("-reducer", "NONE")).toMatchObject({ reducer: undefined, numReduceTasks: 0 });
  });

  it("-reducer NONE wins over -numReduceTasks, as in StreamJob", () => {
    expect(streaming("-numReduceTasks", "5", "-reducer", "NONE").numReduceTasks).toBe(0);
  });

  it("only NONE in capitals means no reducer", () => {
    expect(streaming("-reducer", "none").reducer).toBe("none");
  });

  it("-numReduceTasks 0 drops the reducer and combiner with a warning", () => {
    const args = streaming("-reducer", "uniq", "-combiner", "uniq", "-numReduceTasks", "0");
    expect(args).toMatchObject({ reducer: undefined, combiner: undefined, numReduceTasks: 0 });
    expect(args.warnings).toEqual([
      "-reducer 'uniq' is ignored: the job is map-only (0 reduce tasks)",
      "-combiner 'uniq' is ignored: the job is map-only (0 reduce tasks)",
    ]);
  });

  it("-D mapreduce.job.reduces=0 makes a map-only job too", () => {
    expect(streaming("-reducer", "uniq", "-D", "mapreduce.job.reduces=0")).toMatchObject({
      reducer: undefined,
      numReduceTasks: 0,
    });
  });
});

describe("parseStreamingArgs: errors", () => {
  it("names an unknown flag and suggests the closest known one", () => {
    const error = usageError(() => streaming("-numReduceTask", "2"));
    expect(error.code).toBe("ERR_UNKNOWN_FLAG");
    expect(error.message).toBe("unknown flag -numReduceTask (did you mean -numReduceTasks?)");
    expect(error.hint).toBe("see tormr streaming --help");
  });

  it.each([
    ["-inptu", "-input"],
    ["-Input", "-input"],
    ["-outptu", "-output"],
    ["-maper", "-mapper"],
    ["-reduce", "-reducer"],
    ["-numreducetasks", "-numReduceTasks"],
    ["--worker", "--workers"],
    ["-cmdEnv", "-cmdenv"],
    ["--input-path", "-input"],
  ])("suggests for %s: %s", (flag, suggestion) => {
    expect(usageError(() => streaming(flag, "x")).message).toContain(`did you mean ${suggestion}?`);
  });

  it("names the flag without its inline value", () => {
    expect(usageError(() => streaming("--bogus=1")).message).toMatch(/^unknown flag --bogus \(/);
  });

  it("explains Hadoop options tormr does not support instead of guessing", () => {
    const error = usageError(() => streaming("-partitioner", "org.apache.Foo"));
    expect(error.code).toBe("ERR_UNSUPPORTED_FLAG");
    expect(error.message).toBe(
      "-partitioner is a Hadoop option that tormr does not support: it names a Java class, which tormr cannot run",
    );
    expect(usageError(() => streaming("-jobconf", "a=b")).message).toContain("write -D key=value");
  });

  it.each([
    [["-input"], "-input needs a value: -input <path>"],
    [["-mapper"], "-mapper needs a value: -mapper <cmd>"],
    [["-D"], "-D needs a value: -D <key=value>"],
    [["--workers"], "--workers needs a value: --workers <n>"],
    [
      ["-reducer", "-numReduceTasks", "2"],
      "-reducer needs a value before -numReduceTasks: -reducer <cmd>",
    ],
    [["-D", "-input", "x"], "-D needs a value before -input: -D <key=value>"],
    [["-file", "-partitioner"], "-file needs a value before -partitioner: -file <path>"],
  ])("refuses a flag missing its value: %j", (extra, message) => {
    const error = usageError(() => streaming(...extra));
    expect(error.code).toBe("ERR_MISSING_VALUE");
    expect(error.message).toBe(message);
  });

  it.each([
    [["-output", "o", "-mapper", "cat"], "missing required flag -input <path>"],
    [["-input", "i", "-mapper", "cat"], "missing required flag -output <dir>"],
    [["-input", "i", "-output", "o"], "missing required flag -mapper <cmd>"],
    [[], "missing required flags -input <path>, -output <dir>, -mapper <cmd>"],
  ])("names every missing required flag: %j", (argv, message) => {
    const error = usageError(() => parseStreamingArgs(argv));
    expect(error.code).toBe("ERR_MISSING_FLAG");
    expect(error.message).toBe(message);
    expect(error.hint).toBe("see tormr streaming --help");
  });

  it("explains an unquoted mapper command", () => {
    const error = usageError(() =>
      parseStreamingArgs(["-input", "i", "-output", "o", "-mapper", "python3", "map.py"]),
    );
    expect(error.code).toBe("ERR_UNEXPECTED_ARGUMENT");
    expect(error.message).toBe("unexpected argument 'map.py'");
    expect(error.hint).toBe("quote the whole command: -mapper 'python3 map.py'");
  });

  it("refuses stray words, and words after --", () => {
    expect(usageError(() => parseStreamingArgs(["extra", ...BASE])).hint).toBe(
      "see tormr streaming --help",
    );
    expect(usageError(() => streaming("--", "-x")).message).toBe("unexpected argument '-x'");
  });

  it.each([
    ["-mapper", ""],
    ["-output", ""],
    ["-input", " "],
    ["-reducer", ""],
  ])("refuses an empty %s", (flag, value) => {
    const argv = [...BASE.filter((_, i) => BASE[i - 1] !== flag && BASE[i] !== flag), flag, value];
    expect(usageError(() => parseStreamingArgs(argv)).message).toMatch(
      new RegExp(`^${flag}: expected .*, got an empty string$`),
    );
  });

  it.each([["1A=x"], ["A-B=x"], ["=x"], ["NOEQUALS"]])("refuses -cmdenv %j", (raw) => {
    const error = usageError(() => streaming("-cmdenv", raw));
    expect(error.code).toBe("ERR_BAD_VALUE");
    expect(error.message).toMatch(/^-cmdenv .*: expected NAME=value, but /);
  });

  it.each([["0"], ["x"], ["1025"]])("refuses --workers %j", (raw) => {
    expect(usageError(() => streaming("--workers", raw)).message).toBe(
      `--workers: expected a whole number from 1 to 1024, got '${raw}'`,
    );
  });

  it("takes --workers 0 with --job-host: the cluster comes from a board, no tickets", () => {
    expect(streaming("--job-host", "state", "--workers", "0").workers).toBe(0);
    expect(usageError(() => streaming("--job-host", "state", "--workers", "-1")).message).toBe(
      "--workers: expected a whole number from 0 to 1024, got '-1'",
    );
  });
});

describe("help", () => {
  it.each([["--help"], ["-help"], ["-h"]])(
    "%s anywhere asks for help, even among errors",
    (flag) => {
      expect(parseStreamingArgs(["-bogus", flag])).toEqual({ command: "help" });
      expect(parseJarArgs([flag])).toEqual({ command: "help" });
      expect(parseRunArgs(["x.ts", flag])).toEqual({ command: "help" });
    },
  );
});

describe("parseJarArgs", () => {
  it("takes a pasted hadoop jar line with one word changed", () => {
    const line =
      "hadoop-streaming-3.3.6.jar -D mapreduce.job.reduces=2 -files m.py,r.py -input in -output out -mapper m.py -reducer r.py";
    expect(parseJarArgs(line.split(" "))).toMatchObject({
      command: "streaming",
      inputs: ["in"],
      output: "out",
      mapper: "m.py",
      reducer: "r.py",
      files: ["m.py", "r.py"],
      numReduceTasks: 2,
    });
  });

  it("accepts any .jar path, in any case", () => {
    expect(parseJarArgs(["/opt/hadoop/x.JAR", ...BASE]).command).toBe("streaming");
  });

  it("refuses a missing or non-.jar first word", () => {
    for (const argv of [[], ["-input", "in"], ["streaming.zip", ...BASE]]) {
      const error = usageError(() => parseJarArgs(argv));
      expect(error.code).toBe("ERR_MISSING_ARGUMENT");
      expect(error.message).toMatch(/^tormr jar expects a \.jar file name first, got /);
    }
  });

  it("names jar, not streaming, in its hints", () => {
    expect(usageError(() => parseJarArgs(["s.jar", "-bogus"])).hint).toBe("see tormr jar --help");
  });
});

describe("parseRunArgs", () => {
  it("reads the module and the job flags", () => {
    expect(
      run([
        "job.ts",
        "-input",
        "a,b",
        "-output",
        "o",
        "-numReduceTasks",
        "3",
        "-Dx=y",
        "--workers",
        "2",
      ]),
    ).toEqual({
      command: "run",
      module: "job.ts",
      inputs: ["a", "b"],
      output: "o",
      numReduceTasks: 3,
      conf: { x: "y" },
      workers: 2,
      seal: true,
      local: false,
      jobHost: undefined,
      tor: false,
      sandbox: "none",
      warnings: [],
    });
  });

  it("accepts the module after the flags", () => {
    expect(run(["-input", "i", "-output", "o", "job.mjs"]).module).toBe("job.mjs");
  });

  it("refuses streaming-only flags, a missing module and a second module", () => {
    expect(
      usageError(() => run(["j.ts", "-input", "i", "-output", "o", "-mapper", "cat"])).code,
    ).toBe("ERR_UNKNOWN_FLAG");
    expect(usageError(() => run(["-input", "i", "-output", "o"])).message).toBe(
      "missing the job module",
    );
    expect(usageError(() => run(["a.ts", "b.ts", "-input", "i", "-output", "o"])).message).toBe(
      "unexpected argument 'b.ts'",
    );
    expect(usageError(() => run(["a.ts", "-input", "i"])).message).toBe(
      "missing required flag -output <dir>",
    );
  });
});

describe("closest", () => {
  it("counts edits, with a transposition as one", () => {
    expect(editDistance("input", "input")).toBe(0);
    expect(editDistance("inptu", "input")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });

  it("ignores dashes and case, and prefers the earlier candidate on ties", () => {
    expect(closest("--INPUT", ["-output", "-input"])).toBe("-input");
    expect(closest("-x", ["-a", "-b"])).toBe("-a");
    expect(closest("-x", [])).toBeUndefined();
  });
});
