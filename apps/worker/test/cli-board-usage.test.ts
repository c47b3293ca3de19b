// `start --board` refusals made before anything is read or reached, and how `status` shows a board-mode worker.
import { afterEach, describe, expect, it } from "vitest";
import { statusLines } from "../src/cli/status-command.ts";
import { initialStatus } from "../src/worker-status.ts";
import { JOB_HOST, TICKET, type World, world } from "./cli-helpers.ts";

const ONION = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd";

let w: World;
afterEach(() => w?.cleanup());

describe("start --board usage", () => {
  it("refuses --board with --unsafe-no-sandbox, --job-host or --ticket (exit 2, one line)", async () => {
    const cases: Array<[string[], string]> = [
      [["--unsafe-no-sandbox"], "--board and --unsafe-no-sandbox do not go together"],
      [["--job-host", JOB_HOST], "--board and --job-host/--ticket contradict each other"],
      [["--ticket", TICKET], "--board and --job-host/--ticket contradict each other"],
    ];
    for (const [extra, message] of cases) {
      w = await world();
      expect(await w.run("start", "--board", `${ONION}.onion`, "--yes", ...extra)).toBe(2);
      expect(w.stderr.text).toContain(message);
      expect(w.stderr.text.trim().split("\n")).toHaveLength(1);
      expect(w.loops).toEqual([]);
      await w.cleanup();
    }
  });

  it("refuses TORMR_WORKER_BOARD beside TORMR_WORKER_JOB_HOST", async () => {
    w = await world({ env: { TORMR_WORKER_BOARD: ONION, TORMR_WORKER_JOB_HOST: JOB_HOST } });
    expect(await w.run("start", "--yes")).toBe(2);
    expect(w.stderr.text).toContain("TORMR_WORKER_BOARD and TORMR_WORKER_JOB_HOST");
  });

  it("documents --board, its examples and the banned exit code", async () => {
    w = await world();
    expect(await w.run("start", "--help")).toBe(0);
    for (const text of [
      "--board <onion>",
      "start --board <56 characters>.onion",
      "  8    --board",
    ]) {
      expect(w.stdout.text).toContain(text);
    }
  });
});

describe("status of a board-mode worker", () => {
  const base = {
    ...initialStatus({
      pid: 1,
      board: "http://127.0.0.1:3000",
      pseudonym: "p1",
      sandbox: "bwrap",
      slots: 1,
      now: new Date(0),
    }),
  };

  it("says waiting on board, and in job with the job host once seated", () => {
    const waiting = statusLines({ ...base, state: "waiting" }, true, new Date(0));
    expect(waiting).toContain("board      http://127.0.0.1:3000: waiting on board");
    expect(waiting).toContain("job        (none yet)");
    const host = `http://${"b".repeat(56)}.onion`;
    const running = statusLines(
      { ...base, state: "running", jobHost: host, jobId: "job_1" },
      true,
      new Date(0),
    );
    expect(running).toContain("board      http://127.0.0.1:3000: in job");
    expect(running).toContain(`job        job_1 at ${host}`);
  });
});
