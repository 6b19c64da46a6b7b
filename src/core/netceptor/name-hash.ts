/**
 * Node-name hashing for data-message headers (netceptor-wire.md §5.2, vectors V1).
 *
 * Google HighwayHash with 64-bit output and a 32-byte all-zero key, over the UTF-8 bytes of
 * the name. The result is the uint64 value whose big-endian bytes go on the wire
 * (`nameHash('foo') === 0xef7a78b67f92bdf7n`).
 *
 * Written from the algorithm's definition: a state of four 4×64-bit vectors (v0, v1, mul0,
 * mul1), one Update per 32-byte packet (little-endian lanes), a special packet for the last
 * `length mod 32` bytes, four permute-and-update rounds, then the sum of lane 0 of every
 * vector. All arithmetic is modulo 2^64, done with BigInt; names are short and results are
 * memoized, so speed is not a concern here.
 */

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;

const INIT_MUL0 = [0xdbe6d5d5fe4cce2fn, 0xa4093822299f31d0n, 0x13198a2e03707344n, 0x243f6a8885a308d3n] as const;
const INIT_MUL1 = [0x3bd39e10cb0ef593n, 0xc0acf169b5f18a8cn, 0xbe5466cf34e90c6cn, 0x452821e638d01377n] as const;

interface State {
  v0: bigint[];
  v1: bigint[];
  mul0: bigint[];
  mul1: bigint[];
}

/** Swaps the two 32-bit halves of a 64-bit lane. */
function swapHalves(x: bigint): bigint {
  return ((x >> 32n) | (x << 32n)) & M64;
}

/** The zero-key start state: v0 = mul0 ^ key, v1 = mul1 ^ swapHalves(key), with key = 0. */
function initialState(): State {
  return {v0: [...INIT_MUL0], v1: [...INIT_MUL1], mul0: [...INIT_MUL0], mul1: [...INIT_MUL1]};
}

/** The byte shuffle that spreads the multiplication results; returns [add1, add0] increments. */
function zipperMerge(v1: bigint, v0: bigint): [bigint, bigint] {
  const add0 =
    (((v0 & 0xff000000n) | (v1 & 0xff00000000n)) >> 24n) |
    (((v0 & 0xff0000000000n) | (v1 & 0xff000000000000n)) >> 16n) |
    (v0 & 0xff0000n) |
    ((v0 & 0xff00n) << 32n) |
    ((v1 & 0xff00000000000000n) >> 8n) |
    ((v0 << 56n) & M64);
  const add1 =
    (((v1 & 0xff000000n) | (v0 & 0xff00000000n)) >> 24n) |
    (v1 & 0xff0000n) |
    ((v1 & 0xff0000000000n) >> 16n) |
    ((v1 & 0xff00n) << 24n) |
    ((v0 & 0xff000000000000n) >> 8n) |
    ((v1 & 0xffn) << 48n) |
    (v0 & 0xff00000000000000n);
  return [add1, add0];
}

function update(s: State, lanes: readonly bigint[]): void {
  for (let i = 0; i < 4; i++) {
    s.v1[i] = (s.v1[i]! + s.mul0[i]! + lanes[i]!) & M64;
    s.mul0[i] = (s.mul0[i]! ^ ((s.v1[i]! & M32) * (s.v0[i]! >> 32n))) & M64;
    s.v0[i] = (s.v0[i]! + s.mul1[i]!) & M64;
    s.mul1[i] = (s.mul1[i]! ^ ((s.v0[i]! & M32) * (s.v1[i]! >> 32n))) & M64;
  }
  mergeInto(s.v1, s.v0, 1, 0);
  mergeInto(s.v1, s.v0, 3, 2);
  mergeInto(s.v0, s.v1, 1, 0);
  mergeInto(s.v0, s.v1, 3, 2);
}

/** target[hi] += add1, target[lo] += add0 where [add1, add0] = zipperMerge(src[hi], src[lo]). */
function mergeInto(src: bigint[], target: bigint[], hi: number, lo: number): void {
  const [add1, add0] = zipperMerge(src[hi]!, src[lo]!);
  target[lo] = (target[lo]! + add0) & M64;
  target[hi] = (target[hi]! + add1) & M64;
}

function readLanes(bytes: Uint8Array, offset: number): bigint[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 32);
  return [0, 8, 16, 24].map((o) => view.getBigUint64(o, true));
}

/** Rotates each 32-bit half of every lane left by `count` (1..31). */
function rotate32By(count: number, lanes: bigint[]): void {
  const c = BigInt(count);
  const back = BigInt(32 - count);
  for (let i = 0; i < 4; i++) {
    const lo = lanes[i]! & M32;
    const hi = lanes[i]! >> 32n;
    const rlo = ((lo << c) | (lo >> back)) & M32;
    const rhi = ((hi << c) | (hi >> back)) & M32;
    lanes[i] = (rhi << 32n) | rlo;
  }
}

/** The final, partial packet (1..31 bytes). */
function updateRemainder(s: State, bytes: Uint8Array, start: number): void {
  const size = bytes.length - start;
  const sizeMod4 = size & 3;
  const whole = size & ~3;
  const sz = BigInt(size);
  for (let i = 0; i < 4; i++) s.v0[i] = (s.v0[i]! + ((sz << 32n) + sz)) & M64;
  rotate32By(size, s.v1);
  const packet = new Uint8Array(32);
  packet.set(bytes.subarray(start, start + whole));
  const rem = start + whole;
  if (size & 16) {
    for (let i = 0; i < 4; i++) packet[28 + i] = bytes[rem + i + sizeMod4 - 4]!;
  } else if (sizeMod4 !== 0) {
    packet[16] = bytes[rem]!;
    packet[17] = bytes[rem + (sizeMod4 >> 1)]!;
    packet[18] = bytes[rem + sizeMod4 - 1]!;
  }
  update(s, readLanes(packet, 0));
}

/** HighwayHash-64 with the all-zero key over raw bytes. */
export function highwayHash64(bytes: Uint8Array): bigint {
  const s = initialState();
  const full = bytes.length - (bytes.length % 32);
  for (let off = 0; off < full; off += 32) update(s, readLanes(bytes, off));
  if (full !== bytes.length) updateRemainder(s, bytes, full);
  for (let round = 0; round < 4; round++) {
    update(s, [swapHalves(s.v0[2]!), swapHalves(s.v0[3]!), swapHalves(s.v0[0]!), swapHalves(s.v0[1]!)]);
  }
  return (s.v0[0]! + s.v1[0]! + s.mul0[0]! + s.mul1[0]!) & M64;
}

/** Bound on memoized names: a peer flooding invented node IDs must not grow memory forever. */
const CACHE_LIMIT = 8192;
const cache = new Map<string, bigint>();

/**
 * The wire hash of a node name (HighwayHash-64, zero key, UTF-8 bytes; no normalisation,
 * case-sensitive). Memoized. Lone UTF-16 surrogates are encoded as U+FFFD, as Go strings
 * cannot hold them.
 */
export function nameHash(name: string): bigint {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const value = highwayHash64(Buffer.from(name, 'utf8'));
  if (cache.size >= CACHE_LIMIT) {
    // Forget the oldest entry (Map iterates in insertion order).
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(name, value);
  return value;
}
