import { describe, expect, it } from "vitest";
import { keyLength, valuePart } from "./key-spec.ts";

const tab = { separator: "\t", fields: 1 };

describe("streaming key rules", () => {
  it("the key runs up to the first TAB", () => {
    expect(keyLength("word\t1", tab)).toBe(4);
    expect(valuePart("word\t1\t2", 4, tab)).toBe("1\t2");
  });

  it("a line with no TAB is all key, with an empty value", () => {
    expect(keyLength("whole line", tab)).toBe(10);
    expect(valuePart("whole line", 10, tab)).toBe("");
  });

  it("stream.num.map.output.key.fields=N takes N fields; fewer fields make the whole line the key", () => {
    const two = { separator: "\t", fields: 2 };
    expect(keyLength("a\tb\tc", two)).toBe(3);
    expect(keyLength("a\tb", two)).toBe(3);
    expect(valuePart("a\tb\tc", 3, two)).toBe("c");
  });

  it("honours a multi-character separator", () => {
    const spec = { separator: "::", fields: 2 };
    expect(keyLength("a::b::c::d", spec)).toBe(4);
    expect(valuePart("a::b::c::d", 4, spec)).toBe("c::d");
  });

  it("an empty key is a key", () => {
    expect(keyLength("\tvalue", tab)).toBe(0);
  });
});
