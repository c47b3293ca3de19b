import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // One private Tor network for the whole run (slow to start), shared through provide/inject:
    // the one TORMR_TESTNET_DIR names (scripts/test.sh starts one for every workspace), or its own.
    globalSetup: ["src/testnet/vitest-setup.ts"],
    // The files share one network and its clients: run them one after another.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 150_000,
  },
});
