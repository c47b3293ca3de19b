import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, type LoadConfigOptions, loadConfig, taskLimits } from "./config.ts";

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tormr-config-"));
  path = join(dir, "config.json");
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function load(options: Partial<LoadConfigOptions> = {}) {
  return loadConfig({
    path,
    explicit: false,
    cwd: "/here",
    defaultWorkDir: "/cache/w",
    ...options,
  });
}

async function fileError(content: string): Promise<ConfigError> {
  await writeFile(path, content);
  const error = await load().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe("config defaults, file and flags", () => {
  it("uses the defaults when the default file is absent", async () => {
    expect(await load()).toEqual({
      slots: 1,
      memoryMb: 512,
      cpus: 1,
      pids: 128,
      sandbox: "auto",
      workDir: "/cache/w",
      diskQuotaMb: 10240,
      allowImages: ["tormr/python", "tormr/node"],
      configPath: path,
    });
  });

  it("takes the file over the defaults, and flags over the file", async () => {
    await writeFile(
      path,
      JSON.stringify({
        slots: 4,
        memoryMb: 1024,
        sandbox: "bwrap",
        dockerHost: "unix:///run/user/1000/docker.sock",
        workDir: "/srv/tormr",
        allowImages: ["tormr/python", "example/tool:1.2"],
      }),
    );
    const config = await load({
      flags: { slots: "2", cpus: "0.5", workDir: "rel/work", diskQuotaMb: "0" },
    });
    expect(config).toMatchObject({
      slots: 2,
      memoryMb: 1024,
      cpus: 0.5,
      pids: 128,
      sandbox: "bwrap",
      dockerHost: "unix:///run/user/1000/docker.sock",
      workDir: "/here/rel/work",
      diskQuotaMb: 0,
      allowImages: ["tormr/python", "example/tool:1.2"],
    });
    expect(taskLimits(config)).toEqual({
      memoryBytes: 1024 * 1024 * 1024,
      cpus: 0.5,
      pids: 128,
      tmpfsBytes: 64 * 1024 * 1024,
    });
  });

  it("accepts an empty object", async () => {
    await writeFile(path, "{}\n");
    expect((await load()).slots).toBe(1);
  });
});

describe("a bad config file is one line naming the file, the field and what was expected", () => {
  it.each([
    [{ slots: 0 }, "slots: expected an integer from 1 to 64, got 0"],
    [{ slots: 65 }, "slots: expected an integer from 1 to 64, got 65"],
    [{ slots: 1.5 }, "slots: expected an integer from 1 to 64, got 1.5"],
    [{ slots: "2" }, 'slots: expected an integer from 1 to 64, got "2"'],
    [{ memoryMb: 10 }, "memoryMb: expected an integer from 64 to 1048576, got 10"],
    [{ cpus: 0 }, "cpus: expected a number of CPUs above 0, at most 1024, got 0"],
    [{ cpus: "many" }, 'cpus: expected a number of CPUs above 0, at most 1024, got "many"'],
    [{ pids: 4 }, "pids: expected an integer from 16 to 4194304, got 4"],
    [{ sandbox: "podman" }, "sandbox: expected 'auto', 'docker' or 'bwrap', got \"podman\""],
    [{ dockerHost: "/var/run/docker.sock" }, "dockerHost: expected a DOCKER_HOST URL such as"],
    [{ workDir: "relative/dir" }, 'workDir: expected an absolute path, got "relative/dir"'],
    [{ workDir: 7 }, "workDir: expected an absolute path, got 7"],
    [{ diskQuotaMb: -1 }, "diskQuotaMb: expected an integer from 0 to 1073741824, got -1"],
    [{ allowImages: "tormr/python" }, "allowImages: expected a list of image names"],
    [{ allowImages: [] }, "allowImages: expected at least one image name"],
    [
      { allowImages: ["Evil Image"] },
      'allowImages.0: expected an image name such as tormr/python, got "Evil Image"',
    ],
    [{ slot: 2 }, "unknown field 'slot'; the fields are slots, memoryMb, cpus, pids, sandbox,"],
  ])("%j", async (settings, expected) => {
    const error = await fileError(JSON.stringify(settings));
    expect(error.code).toBe("ERR_CONFIG_FIELD");
    expect(error.message).toContain(`config ${path}: ${expected}`);
    expect(error.message).not.toContain("\n");
  });

  it("says the file is not JSON", async () => {
    const error = await fileError("{ slots: 2 }");
    expect(error.code).toBe("ERR_CONFIG_JSON");
    expect(error.message).toMatch(new RegExp(`^config ${path} is not valid JSON \\(.+\\)$`));
  });

  it.each([
    ["[]", "an array"],
    ["3", "3"],
    ["null", "null"],
  ])("wants an object, not %s", async (content, got) => {
    const error = await fileError(content);
    expect(error.message).toBe(`config ${path}: expected a JSON object of settings, got ${got}`);
  });

  it("requires a file named with --config to exist", async () => {
    const error = await load({ explicit: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      `cannot read config ${path}: no such file; create it (\`{}\` is a valid config)`,
    );
  });

  it("names a file it cannot read", async () => {
    const error = await load({ path: dir }).catch((e: unknown) => e);
    expect((error as ConfigError).message).toBe(`cannot read config ${dir}: EISDIR`);
  });
});

describe("bad flags name the flag (a usage error)", () => {
  it.each([
    [{ slots: "two" }, "--slots: expected an integer from 1 to 64, got 'two'"],
    [{ slots: "" }, "--slots: expected an integer from 1 to 64, got ''"],
    [{ memoryMb: "12.5" }, "--memory-mb: expected an integer from 64 to 1048576, got '12.5'"],
    [{ cpus: "-1" }, "--cpus: expected a number of CPUs above 0, at most 1024, got '-1'"],
    [{ pids: "1e9" }, "--pids: expected an integer from 16 to 4194304, got '1e9'"],
    [{ sandbox: "none" }, "--sandbox: expected 'auto', 'docker' or 'bwrap', got 'none'"],
    [{ dockerHost: "localhost" }, "--docker-host: expected a DOCKER_HOST URL such as"],
    [
      { diskQuotaMb: "lots" },
      "--disk-quota-mb: expected an integer from 0 to 1073741824, got 'lots'",
    ],
  ])("%j", async (flags, expected) => {
    const error = await load({ flags }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe("ERR_BAD_FLAG");
    expect((error as ConfigError).message).toContain(expected);
  });
});
