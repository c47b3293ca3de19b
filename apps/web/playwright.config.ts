// Playwright for the board: Debian's Chromium (nothing downloads), against `next start` on loopback, JavaScript on and off.
import { defineConfig } from "@playwright/test";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export default defineConfig({
  testDir: "e2e",
  outputDir: "e2e-results",
  timeout: 60_000,
  workers: 1,
  reporter: [["list"]],
  globalSetup: "./e2e/global-setup.ts",
  use: {
    launchOptions: { executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS },
    screenshot: "off",
  },
  projects: [
    // A test tagged @javascript-on or @javascript-off runs in that project only (once is enough).
    { name: "javascript-off", use: { javaScriptEnabled: false }, grepInvert: /@javascript-on/ },
    { name: "javascript-on", use: { javaScriptEnabled: true }, grepInvert: /@javascript-off/ },
  ],
});
