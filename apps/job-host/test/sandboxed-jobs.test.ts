// Jobs whose streaming programs run in a real sandbox (bubblewrap, then Docker): same output, and no way out.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Dockerd, startDockerd } from "@tormr/sandbox/dockerd";
import { ensureImage } from "@tormr/sandbox/images";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SandboxChoice } from "../src/local/types.ts";
import {
  fixture,
  readParts,
  run,
  SMALL_SPLITS,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";

let w: Workspace;
let scripts: string;
let dockerd: Dockerd | undefined;
const choices: Record<"bwrap" | "docker", () => SandboxChoice> = {
  bwrap: () => ({ kind: "bwrap" }),
  docker: () => ({ kind: "docker", dockerHost: dockerd?.host, image }),
};
let image = "";
let nodeImage = "";

beforeAll(async () => {
  w = workspace(3, 20_000, 21);
  scripts = mkdtempSync(join(tmpdir(), "tormr-sandbox-scripts-"));
  writeFileSync(
    join(scripts, "phone_home.py"),
    "import socket,sys\ns=socket.socket()\ns.settimeout(5)\ns.connect(('1.1.1.1',53))\n",
  );
  writeFileSync(
    join(scripts, "whoami.py"),
    "import os,sys\nsys.stdin.read()\nprint('uid', os.getuid())\n",
  );
  writeFileSync(
    join(scripts, "whoami.mjs"),
    "export function map(line, emit) { emit('uid ' + process.getuid(), 1); }\n" +
      "export async function reduce(key, values, emit) {\n" +
      "  let n = 0;\n  for await (const _ of values) n++;\n  emit(key, n);\n}\n",
  );
  writeFileSync(join(scripts, "escape.sh"), "cat > /dev/null; echo x > /job/escaped\n");
  dockerd = await startDockerd(mkdtempSync(join(tmpdir(), "tormr-dockerd-")));
  image = await ensureImage("python", { host: dockerd.host });
  nodeImage = await ensureImage("node", { host: dockerd.host });
}, 120_000);
afterAll(async () => {
  await dockerd?.stop();
  rmSync(scripts, { recursive: true, force: true });
  w.cleanup();
});

describe.each(["bwrap", "docker"] as const)("streaming jobs in the %s sandbox", (kind) => {
  it("give the oracle's word count", async () => {
    const result = await run(
      {
        inputs: [w.input],
        output: join(w.dir, `wc-${kind}`),
        task: {
          kind: "streaming",
          mapper: "python3 wc_mapper.py",
          reducer: "python3 wc_reducer.py",
        },
        files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
        numReduceTasks: 2,
        conf: SMALL_SPLITS,
      },
      { sandbox: choices[kind]() },
    );
    expect(readParts(result.output)).toEqual(wordCountOracle(w.input));
  });

  it("a JS job's functions run inside the sandbox too, as its nobody", async () => {
    const result = await run(
      {
        inputs: [w.input],
        output: join(w.dir, `js-uid-${kind}`),
        task: { kind: "js", module: join(scripts, "whoami.mjs") },
        numReduceTasks: 1,
      },
      {
        sandbox:
          kind === "docker"
            ? { kind: "docker", dockerHost: dockerd?.host, image: nodeImage }
            : choices.bwrap(),
      },
    );
    const lines = readParts(result.output);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^uid 65534\t\d+$/);
  });

  it("run the mapper as the sandbox's nobody (uid 65534), not as this user", async () => {
    const result = await run(
      {
        inputs: [w.input],
        output: join(w.dir, `uid-${kind}`),
        task: { kind: "streaming", mapper: "python3 whoami.py" },
        files: [join(scripts, "whoami.py")],
        numReduceTasks: 0,
      },
      { sandbox: choices[kind]() },
    );
    expect(new Set(readParts(result.output))).toEqual(new Set(["uid 65534"]));
  });

  it.each([
    ["reaches for the network", "python3 phone_home.py", "phone_home.py", /Network is unreachable/],
    ["writes outside /tmp", "sh escape.sh", "escape.sh", /Read-only file system/],
  ])("fail a mapper that %s, with the reason in its stderr", async (_, mapper, script, reason) => {
    await expect(
      run(
        {
          inputs: [w.input],
          output: join(w.dir, `${script}-${kind}`),
          task: { kind: "streaming", mapper },
          files: [join(scripts, script)],
          numReduceTasks: 0,
          conf: { "mapreduce.map.maxattempts": "1" },
        },
        { sandbox: choices[kind]() },
      ),
    ).rejects.toThrow(reason);
  });
});
