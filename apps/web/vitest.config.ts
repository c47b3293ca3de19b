import { defineConfig } from "vitest/config";

export default defineConfig({
  // Next builds with jsx "preserve"; the tests render components themselves.
  esbuild: { jsx: "automatic" },
  test: {
    environment: "node",
    include: ["src/**/*.test.{ts,tsx}", "test/**/*.test.{ts,tsx}"],
    // The run's private Tor network (or one of its own when run alone), for the board-over-Tor test.
    globalSetup: ["../../packages/tor/src/testnet/vitest-setup.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
