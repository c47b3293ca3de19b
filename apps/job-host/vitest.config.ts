import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Jobs fork worker processes; files run one at a time so two jobs never fight for the two cores.
    fileParallelism: false,
    // The run's private Tor network (or one of its own when run alone), for the tor-*.test.ts suites.
    globalSetup: ["../../packages/tor/src/testnet/vitest-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
