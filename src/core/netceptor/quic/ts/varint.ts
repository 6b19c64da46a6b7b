/**
 * QUIC variable-length integers (RFC 9000 §16).
 *
 * Values are JavaScript numbers: every quantity this stack handles (offsets, packet numbers,
 * limits) stays below 2^53. Eight-byte values above Number.MAX_SAFE_INTEGER (grease parameter
 * ids, peer-chosen error codes) decode to the nearest double; they are only compared or skipped,
 * never re-encoded. Writers refuse non-safe or negative integers. The few limit checks near
 * 2^60-2^62 (stream counts, stream/crypto end offsets) read the exact value as bigint.
 */

export const VARINT_MAX = 2 ** 62 - 1;

/** Encoded length of v (1, 2, 4 or 8). */
export function varintLength(v: number): 1 | 2 | 4 | 8 {
  if (v < 0x40) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x40000000) return 4;
  return 8;
}

/** A decoded value and the number of bytes it took. */
export interface VarintRead {
  value: number;
  length: number;
}

/** Reads the varint at off; null when the input (ending at `end`) ends first. */
export function readVarint(buf: Uint8Array, off: number, end = buf.length): VarintRead | null {
  if (off < 0 || off >= end) return null;
  const first = buf[off] as number;
  const len = 1 << (first >> 6);
  if (off + len > end) return null;
  let v = first & 0x3f;
  if (len <= 4) {
    for (let i = 1; i < len; i++) v = v * 256 + (buf[off + i] as number);
    return {value: v, length: len};
  }
  // Eight bytes: two 32-bit halves so that no bitwise op overflows.
  let hi = v;
  for (let i = 1; i < 4; i++) hi = hi * 256 + (buf[off + i] as number);
  let lo = 0;
  for (let i = 4; i < 8; i++) lo = lo * 256 + (buf[off + i] as number);
  return {value: hi * 2 ** 32 + lo, length: 8};
}

/** Exact read as bigint, for the few range checks near 2^60-2^62 that doubles cannot make. */
export function readVarintBig(buf: Uint8Array, off: number, end = buf.length): {value: bigint; length: number} | null {
  if (off < 0 || off >= end) return null;
  const len = 1 << ((buf[off] as number) >> 6);
  if (off + len > end) return null;
  let v = BigInt((buf[off] as number) & 0x3f);
  for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(buf[off + i] as number);
  return {value: v, length: len};
}

export const VARINT_MAX_BIG = (1n << 62n) - 1n;

function checkValue(v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`);
}

/**
 * Writes v at off using `len` bytes (default: the shortest form); returns the offset after it.
 * Throws RangeError on a value that does not fit (a caller bug, not peer input).
 */
export function writeVarint(buf: Uint8Array, off: number, v: number, len: 1 | 2 | 4 | 8 = varintLength(v)): number {
  checkValue(v);
  if (len < varintLength(v)) throw new RangeError(`varint ${v} does not fit in ${len} bytes`);
  if (off + len > buf.length) throw new RangeError('varint write past end of buffer');
  const prefix = len === 1 ? 0 : len === 2 ? 0x40 : len === 4 ? 0x80 : 0xc0;
  if (len === 8) {
    const hi = Math.floor(v / 2 ** 32);
    const lo = v >>> 0;
    writeUint32(buf, off, hi);
    writeUint32(buf, off + 4, lo);
  } else {
    let x = v;
    for (let i = len - 1; i >= 0; i--) {
      buf[off + i] = x & 0xff;
      x = Math.floor(x / 256);
    }
  }
  buf[off] = (buf[off] as number) | prefix;
  return off + len;
}

function writeUint32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

/** Encodes v into a new Buffer. */
export function encodeVarint(v: number, len?: 1 | 2 | 4 | 8): Buffer {
  const out = Buffer.alloc(len ?? varintLength(v));
  writeVarint(out, 0, v, len);
  return out;
}

/** Bounded reader over a byte slice: every getter returns null instead of reading past end. */
export class ByteReader {
  off: number;
  constructor(
    readonly buf: Uint8Array,
    off = 0,
    readonly end = buf.length,
  ) {
    this.off = off;
  }
  get remaining(): number {
    return this.end - this.off;
  }
  varint(): number | null {
    const r = readVarint(this.buf, this.off, this.end);
    if (r === null) return null;
    this.off += r.length;
    return r.value;
  }
  varintBig(): bigint | null {
    const r = readVarintBig(this.buf, this.off, this.end);
    if (r === null) return null;
    this.off += r.length;
    return r.value;
  }
  /** Varint plus its encoded length (to spot non-minimal encodings). */
  varintWithLength(): VarintRead | null {
    const r = readVarint(this.buf, this.off, this.end);
    if (r === null) return null;
    this.off += r.length;
    return r;
  }
  uint8(): number | null {
    if (this.off + 1 > this.end) return null;
    return this.buf[this.off++] as number;
  }
  uint16(): number | null {
    if (this.off + 2 > this.end) return null;
    const v = ((this.buf[this.off] as number) << 8) | (this.buf[this.off + 1] as number);
    this.off += 2;
    return v;
  }
  uint32(): number | null {
    if (this.off + 4 > this.end) return null;
    const b = this.buf;
    const o = this.off;
    const v = (b[o] as number) * 0x1000000 + (((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number));
    this.off += 4;
    return v;
  }
  /** A copy of the next n bytes (copy so that callers may keep it after the packet is reused). */
  bytes(n: number): Buffer | null {
    if (n < 0 || this.off + n > this.end) return null;
    const out = Buffer.from(this.buf.subarray(this.off, this.off + n));
    this.off += n;
    return out;
  }
  skip(n: number): boolean {
    if (n < 0 || this.off + n > this.end) return false;
    this.off += n;
    return true;
  }
}

/** Growable writer used by the encoders. */
export class ByteWriter {
  private buf: Buffer;
  length = 0;
  constructor(initial = 64) {
    this.buf = Buffer.alloc(initial);
  }
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  varint(v: number, len?: 1 | 2 | 4 | 8): this {
    const l = len ?? varintLength(v);
    this.ensure(l);
    this.length = writeVarint(this.buf, this.length, v, l);
    return this;
  }
  uint8(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }
  uint16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.length);
    this.length += 2;
    return this;
  }
  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.length);
    this.length += 4;
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** The bytes written so far (a view; copy before writing more if kept). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}
