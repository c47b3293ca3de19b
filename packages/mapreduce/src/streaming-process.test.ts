import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { Counters } from "./counters.ts";
import { StreamingProcess } from "./streaming-process.ts";

describe("StreamingProcess.drive", () => {
  it("a feed that fails while the program still runs is no unhandled rejection; drive fails with it", async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    try {
      const program = new StreamingProcess({
        role: "mapper",
        // Reads nothing for a while, so the feed fails long before the output ends.
        command: "sleep 0.3; cat",
        cwd: tmpdir(),
        env: process.env,
        counters: new Counters(),
      });
      const lost = new Error("the input's grant was revoked");
      const drive = program.drive(
        async () => {
          await program.write(Buffer.from("a line\n"));
          throw lost;
        },
        async () => {
          for await (const _ of program.stdout) {
            // drains the output
          }
        },
      );
      await expect(drive).rejects.toBe(lost);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", listener);
    }
  });
});
