import { describe, expect, it } from "vitest";
import { z } from "zod";
import { checkVersion, PROTOCOL_VERSION, parseMessage } from "./version.ts";

const hello = z.object({ v: z.literal(PROTOCOL_VERSION), name: z.string() });

describe("protocol versions", () => {
  it("accepts our own version", () => {
    expect(
      parseMessage(hello, { v: PROTOCOL_VERSION, name: "x" }, "the job host", "this worker"),
    ).toEqual({
      v: PROTOCOL_VERSION,
      name: "x",
    });
  });

  it("refuses a newer peer, naming both versions and who should upgrade", () => {
    expect(() => checkVersion({ v: PROTOCOL_VERSION + 1 }, "the job host", "this worker")).toThrow(
      `the job host speaks protocol version ${PROTOCOL_VERSION + 1}, this worker speaks version ${PROTOCOL_VERSION}; upgrade this worker`,
    );
  });

  it("refuses a message with no version, or not an object, with ERR_BAD_MESSAGE", () => {
    for (const bad of [undefined, null, "v1", { name: "x" }, { v: "1" }, { v: 0.5 }, { v: 0 }]) {
      expect(() => checkVersion(bad, "the board", "this job host")).toThrow(
        expect.objectContaining({ code: "ERR_BAD_MESSAGE" }),
      );
    }
  });

  it("names the bad field of a message in our version", () => {
    expect(() => parseMessage(hello, { v: PROTOCOL_VERSION, name: 3 }, "worker w1", "us")).toThrow(
      /worker w1 sent a bad message: name:/,
    );
  });
});
