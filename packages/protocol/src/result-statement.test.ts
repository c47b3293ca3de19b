import { sign } from "node:crypto";
import { generateKeyPair, privateKeyObject, verifyEd25519 } from "@tormr/crypto/keys";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  parseResultStatement,
  type ResultClaims,
  resultClaimsSchema,
  resultStatement,
} from "./worker-api.ts";

const hex = (c: string) => c.repeat(64);
const claims: ResultClaims = {
  job: "job_202612020000_0001",
  task: "r1",
  attempt: 2,
  attemptId: "att_XYZ",
  code: hex("c"),
  inputs: [
    { id: "j/job_202612020000_0001/m/0/0/p1", digest: hex("a") },
    { id: "j/job_202612020000_0001/m/1/3/p1", digest: hex("b") },
  ],
  outputs: [{ id: "j/job_202612020000_0001/r/1/2/part", digest: hex("d"), bytes: 120, records: 9 }],
  counters: { "Map-Reduce Framework": { "Reduce input records": 40, "Reduce output records": 9 } },
  outputRecords: 9,
};

const key = generateKeyPair("Ed25519");
const publicKey = key.publicKey.toString("base64url");
const signed = (c: ResultClaims) =>
  sign(null, resultStatement(c), privateKeyObject(key)).toString("base64url");

/** The same object with its keys (and its nested objects' keys) in reverse order. */
function reversed<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversed) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reversed(v)]),
  ) as T;
}

describe("resultStatement", () => {
  it("is one line of format, then the claims as canonical JSON: sorted keys, no whitespace", () => {
    const text = resultStatement(claims).toString("utf8");
    const [format, json, ...more] = text.split("\n");
    expect(format).toBe("tormr-result/1");
    expect(more).toEqual([]);
    expect(json).toBe(
      [
        `{"attempt":2,"attemptId":"att_XYZ","code":"${hex("c")}",`,
        `"counters":{"Map-Reduce Framework":{"Reduce input records":40,"Reduce output records":9}},`,
        `"inputs":[{"digest":"${hex("a")}","id":"j/job_202612020000_0001/m/0/0/p1"},`,
        `{"digest":"${hex("b")}","id":"j/job_202612020000_0001/m/1/3/p1"}],`,
        `"job":"job_202612020000_0001","outputRecords":9,`,
        `"outputs":[{"bytes":120,"digest":"${hex("d")}","id":"j/job_202612020000_0001/r/1/2/part","records":9}],`,
        `"task":"r1"}`,
      ].join(""),
    );
  });

  it("gives the same bytes for the same claims, whatever order their fields came in", () => {
    expect(resultStatement(reversed(claims))).toEqual(resultStatement(claims));
    expect(resultStatement({ ...claims })).toEqual(resultStatement(claims));
  });

  it("signs only the claims: extra fields are dropped", () => {
    const extra = { ...claims, sandbox: "none", outputs: [{ ...claims.outputs[0], key: "k" }] };
    expect(resultStatement(extra as ResultClaims)).toEqual(resultStatement(claims));
  });

  it("reads back the claims it was made of", () => {
    expect(parseResultStatement(resultStatement(claims).toString("utf8"))).toEqual(claims);
    expect(() => parseResultStatement(`tormr-join/v2\n{}`)).toThrow(/tormr-result\/1/);
  });

  it("is domain-separated from a join statement: its first line names it", () => {
    expect(resultStatement(claims).subarray(0, 15).toString()).toBe("tormr-result/1\n");
  });

  it("refuses numbers JSON cannot carry", () => {
    expect(() => resultStatement({ ...claims, counters: { g: { n: Number.NaN } } })).toThrow(
      /finite number/,
    );
  });
});

const digest = fc.stringMatching(/^[0-9a-f]{64}$/);
const bucketId = fc.stringMatching(/^j\/[a-z0-9/]{1,30}$/);
const count = fc.nat({ max: 1_000_000 });
// zod's record refuses an object whose own `constructor` is not a function, wire schema and all.
const counterName = fc
  .string({ minLength: 1, maxLength: 12 })
  .filter((name) => name !== "constructor" && name !== "__proto__");
const claimsArbitrary: fc.Arbitrary<ResultClaims> = fc.record({
  job: fc.stringMatching(/^job_[0-9]{12}_[0-9]{4}$/),
  task: fc.stringMatching(/^[mr][0-9]{1,3}$/),
  attempt: fc.nat({ max: 20 }),
  attemptId: fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/),
  code: digest,
  inputs: fc.array(fc.record({ id: bucketId, digest }), { maxLength: 6 }),
  outputs: fc.array(fc.record({ id: bucketId, digest, bytes: count, records: count }), {
    minLength: 1,
    maxLength: 4,
  }),
  counters: fc.dictionary(counterName, fc.dictionary(counterName, count, { maxKeys: 4 }), {
    maxKeys: 3,
  }),
  outputRecords: count,
});

/** Every way to change exactly one signed field of `c` (each to a value it did not have). */
function mutations(c: ResultClaims): ResultClaims[] {
  const other = (value: string) =>
    value.endsWith("0") ? `${value.slice(0, -1)}1` : `${value.slice(0, -1)}0`;
  const out: ResultClaims[] = [
    { ...c, job: other(c.job) },
    { ...c, task: other(c.task) },
    { ...c, attempt: c.attempt + 1 },
    { ...c, attemptId: other(c.attemptId) },
    { ...c, code: other(c.code) },
    { ...c, outputRecords: c.outputRecords + 1 },
    { ...c, inputs: [...c.inputs, { id: "j/extra", digest: hex("e") }] },
  ];
  if (!Object.hasOwn(c.counters, "added"))
    out.push({ ...c, counters: { ...c.counters, added: { n: 1 } } });
  c.inputs.forEach((input, i) => {
    const at = (changed: ResultClaims["inputs"][number]) =>
      out.push({ ...c, inputs: c.inputs.map((x, j) => (j === i ? changed : x)) });
    at({ ...input, id: other(input.id) });
    at({ ...input, digest: other(input.digest) });
    out.push({ ...c, inputs: c.inputs.filter((_, j) => j !== i) });
  });
  c.outputs.forEach((output, i) => {
    const at = (changed: ResultClaims["outputs"][number]) =>
      out.push({ ...c, outputs: c.outputs.map((x, j) => (j === i ? changed : x)) });
    at({ ...output, id: other(output.id) });
    at({ ...output, digest: other(output.digest) });
    at({ ...output, bytes: output.bytes + 1 });
    at({ ...output, records: output.records + 1 });
  });
  for (const [group, names] of Object.entries(c.counters)) {
    for (const [name, value] of Object.entries(names)) {
      out.push({ ...c, counters: { ...c.counters, [group]: { ...names, [name]: value + 1 } } });
    }
  }
  return out;
}

describe("a signed result statement (property)", () => {
  it("verifies as signed, and any change to a signed field breaks it", () => {
    fc.assert(
      fc.property(claimsArbitrary, (c) => {
        expect(resultClaimsSchema.safeParse(c).success).toBe(true);
        const signature = signed(c);
        expect(verifyEd25519(publicKey, resultStatement(reversed(c)), signature)).toBe(true);
        for (const changed of mutations(c)) {
          expect(resultStatement(changed)).not.toEqual(resultStatement(c));
          expect(verifyEd25519(publicKey, resultStatement(changed), signature)).toBe(false);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("does not verify under another worker's key", () => {
    const other = generateKeyPair("Ed25519").publicKey.toString("base64url");
    expect(verifyEd25519(other, resultStatement(claims), signed(claims))).toBe(false);
  });
});
