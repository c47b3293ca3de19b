import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
    // Each test file starts its own dockerd and runs real containers.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
