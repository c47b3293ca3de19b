import { describe, expect, it } from "vitest";
import {
  createResolveImage,
  ImageRefusedError,
  isAllowed,
  repositoryOf,
} from "./image-allow-list.ts";

const STANDARD = ["tormr/python", "tormr/node"];

function resolver(sandbox: "docker" | "bwrap" | "none", allowImages = STANDARD) {
  const builds: string[] = [];
  const resolve = createResolveImage({
    allowImages,
    configPath: "/home/v/.config/tormr-worker/config.json",
    sandbox,
    ensureImage: async (kind) => {
      builds.push(kind);
      return `tormr/${kind}:localhash`;
    },
  });
  return { resolve, builds };
}

describe("the image allow-list", () => {
  it.each([
    ["tormr/python", "tormr/python"],
    ["tormr/python:abc123", "tormr/python"],
    ["localhost:5000/team/tool:1.0", "localhost:5000/team/tool"],
    ["localhost:5000/team/tool", "localhost:5000/team/tool"],
    ["tool@sha256:00ff", "tool"],
  ])("reads the repository of %s", (image, repository) => {
    expect(repositoryOf(image)).toBe(repository);
  });

  it("allows every tag of an entry without a tag, and only the named tag otherwise", () => {
    expect(isAllowed("tormr/python:0123456789abcdef", STANDARD)).toBe(true);
    expect(isAllowed("tormr/pythonx", STANDARD)).toBe(false);
    expect(isAllowed("example/tool:1.2", ["example/tool:1.2"])).toBe(true);
    expect(isAllowed("example/tool:1.3", ["example/tool:1.2"])).toBe(false);
    expect(isAllowed("example/tool", ["example/tool:1.2"])).toBe(false);
  });

  it("refuses an image that is not listed, naming the list and the config file", async () => {
    const { resolve, builds } = resolver("docker");
    const error = await resolve("evil/miner").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageRefusedError);
    expect((error as Error).message).toBe(
      "job image 'evil/miner' is not on this worker's allow-list (tormr/python, tormr/node); " +
        "add it to allowImages in /home/v/.config/tormr-worker/config.json to run it",
    );
    expect(builds).toEqual([]);
  });

  it("builds the standard images locally, once each, whatever the requester's tag", async () => {
    const { resolve, builds } = resolver("docker");
    expect(await resolve("tormr/python:requesterhash")).toBe("tormr/python:localhash");
    expect(await resolve("tormr/python")).toBe("tormr/python:localhash");
    expect(await resolve("tormr/node:x")).toBe("tormr/node:localhash");
    expect(builds).toEqual(["python", "node"]);
  });

  it("uses other allowed images as given", async () => {
    const { resolve, builds } = resolver("docker", [...STANDARD, "example/tool"]);
    expect(await resolve("example/tool:2")).toBe("example/tool:2");
    expect(builds).toEqual([]);
  });

  it("still checks the list under bwrap, where there is no image to build", async () => {
    const { resolve, builds } = resolver("bwrap");
    expect(await resolve("tormr/python:abc")).toBe("tormr/python:abc");
    await expect(resolve("evil/miner")).rejects.toThrow(ImageRefusedError);
    expect(builds).toEqual([]);
  });

  it("tries a failed build again next time", async () => {
    let calls = 0;
    const resolve = createResolveImage({
      allowImages: STANDARD,
      configPath: "c.json",
      sandbox: "docker",
      ensureImage: async () => {
        calls++;
        if (calls === 1) throw new Error("docker import failed");
        return "tormr/python:ok";
      },
    });
    await expect(resolve("tormr/python")).rejects.toThrow("docker import failed");
    expect(await resolve("tormr/python")).toBe("tormr/python:ok");
  });
});
