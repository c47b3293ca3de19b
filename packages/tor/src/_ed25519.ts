// Ed25519 public key from a secret scalar ([a]B, RFC 8032 §5.1.5 step 3), for tor's expanded keys that node:crypto cannot load.
// Not constant-time: it runs only on keys this process already holds, to check tor's answer, never on attacker timing paths.

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
/** d = -121665/121666 mod p (RFC 8032 §5.1). */
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
const BASE = {
  x: 15112221349535400772501151409588531511454012693041857206046113283949847762202n,
  y: 46316835694926478169428394003475163141307993866256225615783033603165251855960n,
};

/** Extended twisted Edwards coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z. */
interface Point {
  x: bigint;
  y: bigint;
  z: bigint;
  t: bigint;
}

const mod = (value: bigint): bigint => {
  const result = value % P;
  return result >= 0n ? result : result + P;
};

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let square = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = mod(result * square);
    square = mod(square * square);
  }
  return result;
}

/** Unified addition for a = -1 (RFC 8032 §5.1.4); it also doubles. */
function add(p: Point, q: Point): Point {
  const a = mod((p.y - p.x) * (q.y - q.x));
  const b = mod((p.y + p.x) * (q.y + q.x));
  const c = mod(p.t * 2n * D * q.t);
  const d = mod(p.z * 2n * q.z);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return { x: mod(e * f), y: mod(g * h), z: mod(f * g), t: mod(e * h) };
}

/** Reads 32 bytes as a little-endian integer (RFC 8032 §5.1.2). */
function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let index = bytes.length - 1; index >= 0; index--)
    value = (value << 8n) | BigInt(bytes[index] ?? 0);
  return value;
}

/** [scalar]B encoded as 32 bytes: y little-endian, the sign of x in the top bit (RFC 8032 §5.1.2). */
export function publicKeyFromScalar(scalarBytes: Uint8Array): Buffer {
  if (scalarBytes.length !== 32) {
    throw new RangeError(`expected a 32-byte scalar, got length=${scalarBytes.length}`);
  }
  // B has order L, so reducing the scalar first changes nothing but the loop length.
  let scalar = littleEndian(scalarBytes) % L;
  let result: Point = { x: 0n, y: 1n, z: 1n, t: 0n };
  let addend: Point = { x: BASE.x, y: BASE.y, z: 1n, t: mod(BASE.x * BASE.y) };
  while (scalar > 0n) {
    if (scalar & 1n) result = add(result, addend);
    addend = add(addend, addend);
    scalar >>= 1n;
  }
  const inverse = power(result.z, P - 2n);
  const x = mod(result.x * inverse);
  let y = mod(result.y * inverse);
  const out = Buffer.alloc(32);
  for (let index = 0; index < 32; index++) {
    out[index] = Number(y & 0xffn);
    y >>= 8n;
  }
  out[31] = (out[31] ?? 0) | (Number(x & 1n) << 7);
  return out;
}
