import { describe, expect, it } from "vitest";
import { isConsolePath } from "./console-paths.ts";

describe("isConsolePath", () => {
  it("covers /console and /api/console and all beneath them", () => {
    for (const url of [
      "/console",
      "/console/",
      "/console?key=abc",
      "/console/style.css",
      "/api/console",
      "/api/console/jobs?x=1",
      "/CONSOLE",
      "//console",
      "/%63onsole",
      "/api//console",
      "\\console",
      "/console%ZZ",
      "http://board.example/console",
    ]) {
      expect(isConsolePath(url), url).toBe(true);
    }
  });

  it("leaves the board's own pages alone", () => {
    for (const url of [
      "/",
      "/post",
      "/status/abc",
      "/api/trpc/board.stats",
      "/consoles",
      "/x/console",
    ]) {
      expect(isConsolePath(url), url).toBe(false);
    }
  });
});
