import { join } from "node:path";
import type { AddedTestnetClient } from "@tormr/tor/testnet/add-client";
import { describe, expect, it } from "vitest";
import { adminClient, startWorkerProcess, TORMR_WORKER, waitForJob } from "./cluster-helpers.ts";
import { fixture, jobSpec, readParts, wordCountOracle } from "./helpers.ts";
import { hostEvents, torSuite, until, watchStreams, workerTorFlags } from "./tor-helpers.ts";

const suite = torSuite({ name: "tor-cluster", tors: 4, input: [3, 60_000, 41] });

describe("a job over Tor", () => {
  it("runs the word count on 3 workers through onion services, identical to the oracle, with one SIGKILLed mid-job", async () => {
    const { w, dir, tors, workers, host: started } = suite;
    // The worker endpoint is an onion; the admin endpoint stays on loopback and is never published.
    expect(started.workerUrl).toMatch(/^http:\/\/[a-z2-7]{56}\.onion$/);
    expect(started.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const onion = new URL(started.workerUrl).hostname;
    const streams = await Promise.all(tors.slice(1).map(watchStreams));
    const admin = adminClient(started);
    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "out"),
      task: {
        kind: "streaming",
        // Maps long enough that a kill always lands inside one (see below).
        mapper: "sleep 3 && python3 wc_mapper.py",
        reducer: "sleep 0.5 && python3 wc_reducer.py",
      },
      files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
      numReduceTasks: 3,
      conf: { "mapreduce.input.fileinputformat.split.maxsize": "15000" },
    });
    const { jobId, tickets } = await admin.createJob(spec, 3);
    for (const [i, ticket] of tickets.entries()) {
      workers.push(
        await startWorkerProcess(
          started.workerUrl,
          ticket,
          join(dir, `w${i}`),
          "bwrap",
          {},
          TORMR_WORKER,
          workerTorFlags(tors[i + 1] as AddedTestnetClient),
        ),
      );
    }
    // Once every ticket is used, the onion lets in exactly those 3 workers' keys.
    await until("the onion restricted to the 3 workers", () =>
      hostEvents(started, "onion-clients").some((e) => e.clients === 3),
    );
    await waitForJob(admin, jobId, (s) => s.maps.committed > 0, 180_000);
    // A map attempt that started under a second ago cannot have finished its 3 s sleep: the kill
    // lands inside it, never just after its result went out.
    let fresh: { worker: string } | undefined;
    await until("a map attempt that has just started", async () => {
      const now = Date.now();
      fresh = (await admin.attempts(jobId)).find(
        (a) =>
          a.state === "running" && a.task.startsWith("m") && now - Date.parse(a.startedAt) < 1000,
      );
      return fresh !== undefined;
    });
    const victim = workers.find((x) => x.pseudonym === fresh?.worker);
    const cut = (await admin.attempts(jobId)).filter(
      (a) => a.state === "running" && a.worker === victim?.pseudonym,
    );
    expect(victim).toBeDefined();
    expect(cut.length).toBeGreaterThan(0);
    victim?.process.kill("SIGKILL");
    const final = await waitForJob(admin, jobId, undefined, 240_000);
    expect(final.error).toBeNull();
    expect(final.state).toBe("succeeded");
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    // What the killed worker was running never counted: another worker's attempt of each task won
    // (a lost attempt's re-run, or a speculative copy that finished first).
    const attempts = await admin.attempts(jobId);
    for (const attempt of cut) {
      const now = attempts.find((a) => a.id === attempt.id);
      expect(["lost", "killed"]).toContain(now?.state);
      const winner = attempts.find((a) => a.task === attempt.task && a.state === "succeeded");
      expect(winner).toBeDefined();
      expect(winner?.worker).not.toBe(victim?.pseudonym);
    }

    // The traffic really crossed Tor: every worker's tor carried streams to the onion.
    for (const watch of streams) {
      await watch.stop();
      const toOnion = watch.events.filter((e) => e.target === `${onion}:80`);
      expect(toOnion.some((e) => e.status === "SUCCEEDED")).toBe(true);
    }
    for (const worker of workers) {
      expect(worker.output.join("\n")).toContain("reaching the job host through tor");
    }
  }, 360_000);
});
