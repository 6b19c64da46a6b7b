/**
 * A minimal DER (ASN.1 Distinguished Encoding Rules) encoder and decoder, enough for X.509
 * certificates, certificate requests and their extensions.
 *
 * Encoders return complete TLV encodings as Buffers. The decoder reads TLVs with strict bounds
 * checks; every malformed input raises a {@link DerError} (never a RangeError).
 *
 * Kept whole (over 500 lines): the encoder and the strict decoder are one format; see README
 * "Architecture" for why this is ours rather than a library.
 */

/** Tag classes (the top two bits of the identifier octet). */
export const TagClass = {universal: 0, application: 1, context: 2, private: 3} as const;
export type TagClassValue = (typeof TagClass)[keyof typeof TagClass];

/** Universal tag numbers used here. */
export const Tag = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  NUMERIC_STRING: 18,
  PRINTABLE_STRING: 19,
  T61_STRING: 20,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  VISIBLE_STRING: 26,
  GENERAL_STRING: 27,
  UNIVERSAL_STRING: 28,
  BMP_STRING: 30,
} as const;

/** Malformed or unexpected DER. `offset` is the byte position in the buffer being read. */
export class DerError extends Error {
  readonly offset: number | undefined;
  constructor(message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at offset ${offset})`);
    this.name = 'DerError';
    this.offset = offset;
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/** The DER length octets for a content length. */
export function encodeLength(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new DerError(`invalid length ${n}`);
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  let v = n;
  while (v > 0) {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** The identifier octet(s) for a tag. */
export function encodeIdentifier(tagClass: TagClassValue, constructed: boolean, tagNumber: number): Buffer {
  if (!Number.isSafeInteger(tagNumber) || tagNumber < 0) throw new DerError(`invalid tag number ${tagNumber}`);
  const first = (tagClass << 6) | (constructed ? 0x20 : 0);
  if (tagNumber < 31) return Buffer.from([first | tagNumber]);
  const digits: number[] = [];
  let v = tagNumber;
  do {
    digits.unshift(v & 0x7f);
    v = Math.floor(v / 128);
  } while (v > 0);
  for (let i = 0; i < digits.length - 1; i++) digits[i]! |= 0x80;
  return Buffer.from([first | 0x1f, ...digits]);
}

/** A TLV with a raw identifier byte (e.g. `0x30` for SEQUENCE, `0x82` for `[2]` primitive). */
export function tlv(identifier: number, content: Buffer): Buffer {
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 0xff || (identifier & 0x1f) === 0x1f) {
    throw new DerError(`invalid identifier octet ${identifier}`);
  }
  return Buffer.concat([Buffer.from([identifier]), encodeLength(content.length), content]);
}

/** A TLV with an arbitrary tag (class, constructed flag, number). */
export function tagged(tagClass: TagClassValue, constructed: boolean, tagNumber: number, content: Buffer): Buffer {
  return Buffer.concat([encodeIdentifier(tagClass, constructed, tagNumber), encodeLength(content.length), content]);
}

export function sequence(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

/** SET (elements in the given order; use {@link setOf} for DER-sorted SET OF). */
export function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

/** SET OF with the elements sorted by their encodings, as DER requires. */
export function setOf(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat([...items].sort(Buffer.compare)));
}

/**
 * INTEGER. A bigint or number is encoded in minimal two's complement; a Buffer is taken as an
 * unsigned big-endian magnitude (leading zeros removed, a 0x00 prepended when the top bit is set).
 */
export function integer(value: bigint | number | Buffer): Buffer {
  if (Buffer.isBuffer(value)) {
    let i = 0;
    while (i < value.length - 1 && value[i] === 0) i++;
    let mag = value.subarray(i);
    if (mag.length === 0) mag = Buffer.from([0]);
    if (mag[0]! & 0x80) mag = Buffer.concat([Buffer.from([0]), mag]);
    return tlv(0x02, mag);
  }
  let v: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new DerError(`INTEGER value ${value} is not a safe integer`);
    v = BigInt(value);
  } else {
    v = value;
  }
  return tlv(0x02, bigintToTwosComplement(v));
}

function bigintToTwosComplement(v: bigint): Buffer {
  if (v === 0n) return Buffer.from([0]);
  const bytes: number[] = [];
  if (v > 0n) {
    let x = v;
    while (x > 0n) {
      bytes.unshift(Number(x & 0xffn));
      x >>= 8n;
    }
    if (bytes[0]! & 0x80) bytes.unshift(0);
    return Buffer.from(bytes);
  }
  // negative: find the smallest byte count n with -2^(8n-1) <= v
  let n = 1;
  while (v < -(1n << BigInt(8 * n - 1))) n++;
  let x = (1n << BigInt(8 * n)) + v;
  for (let i = 0; i < n; i++) {
    bytes.unshift(Number(x & 0xffn));
    x >>= 8n;
  }
  return Buffer.from(bytes);
}

/** OBJECT IDENTIFIER from dotted decimal text (`1.2.840.113549.1.1.11`). */
export function oid(dotted: string): Buffer {
  return tlv(0x06, encodeOidContent(dotted));
}

export function encodeOidContent(dotted: string): Buffer {
  if (!/^\d+(\.\d+)+$/.test(dotted)) throw new DerError(`invalid OID ${JSON.stringify(dotted)}`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [a0, a1] = [arcs[0]!, arcs[1]!];
  if (a0 > 2n || (a0 < 2n && a1 > 39n)) throw new DerError(`invalid OID ${JSON.stringify(dotted)}`);
  const out: number[] = [];
  const push = (arc: bigint) => {
    const digits: number[] = [];
    let v = arc;
    do {
      digits.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < digits.length - 1; i++) digits[i]! |= 0x80;
    out.push(...digits);
  };
  push(a0 * 40n + a1);
  for (const arc of arcs.slice(2)) push(arc);
  return Buffer.from(out);
}

export function nullValue(): Buffer {
  return Buffer.from([0x05, 0x00]);
}

export function boolean(v: boolean): Buffer {
  return Buffer.from([0x01, 0x01, v ? 0xff : 0x00]);
}

/** BIT STRING from whole bytes; `unusedBits` (0–7) counts the ignored low bits of the last byte. */
export function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7 || (bytes.length === 0 && unusedBits !== 0)) {
    throw new DerError(`invalid BIT STRING unused-bit count ${unusedBits}`);
  }
  const content = Buffer.concat([Buffer.from([unusedBits]), bytes]);
  if (unusedBits > 0) content[content.length - 1]! &= 0xff << unusedBits; // DER: unused bits are zero
  return tlv(0x03, content);
}

/**
 * BIT STRING for a named-bit list (e.g. KeyUsage): bit 0 is the most significant bit of the first
 * byte; trailing zero bits are dropped as DER requires.
 */
export function namedBitString(bits: number[]): Buffer {
  const max = bits.length === 0 ? -1 : Math.max(...bits);
  if (max < 0) return bitString(Buffer.alloc(0));
  const bytes = Buffer.alloc(Math.floor(max / 8) + 1);
  for (const b of bits) {
    if (!Number.isInteger(b) || b < 0) throw new DerError(`invalid bit number ${b}`);
    bytes[Math.floor(b / 8)]! |= 0x80 >> (b % 8);
  }
  return bitString(bytes, 7 - (max % 8));
}

export function octetString(bytes: Buffer): Buffer {
  return tlv(0x04, bytes);
}

export function utf8String(s: string): Buffer {
  return tlv(0x0c, Buffer.from(s, 'utf8'));
}

const PRINTABLE_RE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** Whether `s` fits a PrintableString (X.680 character set). */
export function isPrintableString(s: string): boolean {
  return PRINTABLE_RE.test(s);
}

export function printableString(s: string): Buffer {
  if (!isPrintableString(s)) throw new DerError(`${JSON.stringify(s)} is not a valid PrintableString`);
  return tlv(0x13, Buffer.from(s, 'latin1'));
}

export function ia5String(s: string): Buffer {
  if (!/^[\x00-\x7f]*$/.test(s)) throw new DerError(`${JSON.stringify(s)} is not a valid IA5String`);
  return tlv(0x16, Buffer.from(s, 'latin1'));
}

function checkDate(d: Date): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new DerError('invalid date');
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** UTCTime `YYMMDDHHMMSSZ` (years 1950–2049 only). Sub-second precision is dropped. */
export function utcTime(d: Date): Buffer {
  checkDate(d);
  const y = d.getUTCFullYear();
  if (y < 1950 || y > 2049) throw new DerError(`year ${y} cannot be encoded as UTCTime`);
  const s = `${pad(y % 100, 2)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}Z`;
  return tlv(0x17, Buffer.from(s, 'latin1'));
}

/** GeneralizedTime `YYYYMMDDHHMMSSZ` (no fractional seconds, as RFC 5280 requires). */
export function generalizedTime(d: Date): Buffer {
  checkDate(d);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new DerError(`year ${y} cannot be encoded as GeneralizedTime`);
  const s = `${pad(y, 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}Z`;
  return tlv(0x18, Buffer.from(s, 'latin1'));
}

/** An X.509 `Time` per RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
export function x509Time(d: Date): Buffer {
  checkDate(d);
  const y = d.getUTCFullYear();
  return y >= 1950 && y <= 2049 ? utcTime(d) : generalizedTime(d);
}

/** `[n] EXPLICIT`: a constructed context-specific tag wrapping a complete encoding. */
export function explicit(n: number, inner: Buffer): Buffer {
  return tagged(TagClass.context, true, n, inner);
}

/** `[n] IMPLICIT` with the given content octets. */
export function implicit(n: number, content: Buffer, constructed = false): Buffer {
  return tagged(TagClass.context, constructed, n, content);
}

/**
 * Replaces the tag of a complete encoding with `[n]` IMPLICIT, keeping its content and its
 * constructed bit (e.g. a SEQUENCE becomes `[0]` constructed).
 */
export function retagImplicit(n: number, encoded: Buffer): Buffer {
  const node = decode(encoded);
  return tagged(TagClass.context, node.constructed, n, node.content);
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** One decoded TLV. Buffers are views into the input (no copies). */
export interface DerNode {
  tagClass: TagClassValue;
  constructed: boolean;
  tagNumber: number;
  /** Offset of the identifier octet within the buffer that was read. */
  offset: number;
  /** Header length (identifier + length octets). */
  headerLength: number;
  /** The content octets. */
  content: Buffer;
  /** The complete encoding (header + content). */
  raw: Buffer;
}

/** Reads consecutive TLVs from `buf[start, end)`. */
export class DerReader {
  private pos: number;
  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
    /** Added to offsets in error messages (position of `buf` within a larger input). */
    private readonly base = 0,
  ) {
    if (start < 0 || end > buf.length || start > end) throw new DerError('reader bounds out of range');
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  hasMore(): boolean {
    return this.pos < this.end;
  }

  /** Reads the next TLV. */
  next(): DerNode {
    const node = this.peekAt(this.pos);
    this.pos += node.raw.length;
    return node;
  }

  /** The next TLV without consuming it, or undefined at the end. */
  peek(): DerNode | undefined {
    return this.hasMore() ? this.peekAt(this.pos) : undefined;
  }

  /** Reads the next TLV and checks its tag. `what` names the element in the error. */
  expect(tagClass: TagClassValue, tagNumber: number, constructed: boolean | undefined, what: string): DerNode {
    if (!this.hasMore()) throw new DerError(`${what}: unexpected end of data`, this.base + this.pos);
    const node = this.next();
    if (node.tagClass !== tagClass || node.tagNumber !== tagNumber || (constructed !== undefined && node.constructed !== constructed)) {
      throw new DerError(`${what}: unexpected tag ${describeTag(node)}`, this.base + node.offset);
    }
    return node;
  }

  /** Reads the next element if it carries context tag `[n]`; otherwise consumes nothing. */
  optionalContext(n: number): DerNode | undefined {
    const p = this.peek();
    if (p && p.tagClass === TagClass.context && p.tagNumber === n) return this.next();
    return undefined;
  }

  /** Throws unless all input has been consumed. */
  finish(what: string): void {
    if (this.hasMore()) throw new DerError(`${what}: trailing data`, this.base + this.pos);
  }

  private peekAt(pos: number): DerNode {
    const {buf, end} = this;
    const at = this.base + pos;
    if (pos >= end) throw new DerError('unexpected end of data', at);
    let p = pos;
    const id = buf[p++]!;
    const tagClass = (id >> 6) as TagClassValue;
    const constructed = (id & 0x20) !== 0;
    let tagNumber = id & 0x1f;
    if (tagNumber === 0x1f) {
      tagNumber = 0;
      let count = 0;
      for (;;) {
        if (p >= end) throw new DerError('truncated tag', at);
        const b = buf[p++]!;
        if (count === 0 && b === 0x80) throw new DerError('non-minimal tag encoding', at);
        tagNumber = tagNumber * 128 + (b & 0x7f);
        if (++count > 4) throw new DerError('tag number too large', at);
        if ((b & 0x80) === 0) break;
      }
      if (tagNumber < 31) throw new DerError('non-minimal tag encoding', at);
    }
    if (p >= end) throw new DerError('truncated length', at);
    const l0 = buf[p++]!;
    let length: number;
    if (l0 < 0x80) {
      length = l0;
    } else if (l0 === 0x80) {
      throw new DerError('indefinite length is not allowed in DER', at);
    } else {
      const n = l0 & 0x7f;
      if (n > 4) throw new DerError('length too large', at);
      if (p + n > end) throw new DerError('truncated length', at);
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + buf[p++]!;
      if (buf[p - n] === 0 || length < 0x80) throw new DerError('non-minimal length encoding', at);
    }
    if (length > end - p) throw new DerError(`length ${length} exceeds the ${end - p} remaining bytes`, at);
    return {
      tagClass,
      constructed,
      tagNumber,
      offset: pos,
      headerLength: p - pos,
      content: buf.subarray(p, p + length),
      raw: buf.subarray(pos, p + length),
    };
  }
}

export function describeTag(node: Pick<DerNode, 'tagClass' | 'tagNumber' | 'constructed'>): string {
  const cls = ['UNIVERSAL', 'APPLICATION', 'CONTEXT', 'PRIVATE'][node.tagClass];
  return node.tagClass === TagClass.context
    ? `[${node.tagNumber}]${node.constructed ? ' (constructed)' : ''}`
    : `${cls} ${node.tagNumber}${node.constructed ? ' (constructed)' : ''}`;
}

/** Decodes exactly one TLV that must span the whole buffer. */
export function decode(buf: Buffer): DerNode {
  if (!Buffer.isBuffer(buf)) throw new DerError('input is not a Buffer');
  const r = new DerReader(buf);
  const node = r.next();
  r.finish('DER');
  return node;
}

/** The child TLVs of a constructed node. */
export function children(node: DerNode): DerNode[] {
  if (!node.constructed) throw new DerError(`${describeTag(node)} is not constructed`);
  const r = reader(node);
  const out: DerNode[] = [];
  while (r.hasMore()) out.push(r.next());
  return out;
}

/** A reader over the content of a constructed node. */
export function reader(node: DerNode): DerReader {
  if (!node.constructed) throw new DerError(`${describeTag(node)} is not constructed`);
  return new DerReader(node.content);
}

export function isUniversal(node: DerNode, tagNumber: number): boolean {
  return node.tagClass === TagClass.universal && node.tagNumber === tagNumber;
}

function expectUniversal(node: DerNode, tagNumber: number, what: string, constructed = false): void {
  if (!isUniversal(node, tagNumber) || node.constructed !== constructed) {
    throw new DerError(`expected ${what}, found ${describeTag(node)}`);
  }
}

export function readBoolean(node: DerNode): boolean {
  expectUniversal(node, Tag.BOOLEAN, 'BOOLEAN');
  if (node.content.length !== 1) throw new DerError('BOOLEAN must have one content byte');
  const b = node.content[0]!;
  if (b !== 0x00 && b !== 0xff) throw new DerError('BOOLEAN must be 0x00 or 0xff in DER');
  return b === 0xff;
}

/** INTEGER as a bigint (two's complement). */
export function readInteger(node: DerNode): bigint {
  const c = readIntegerContent(node);
  let v = 0n;
  for (const b of c) v = (v << 8n) | BigInt(b);
  if (c[0]! & 0x80) v -= 1n << BigInt(8 * c.length);
  return v;
}

/** INTEGER content octets (validated as minimal). */
export function readIntegerContent(node: DerNode): Buffer {
  expectUniversal(node, Tag.INTEGER, 'INTEGER');
  const c = node.content;
  if (c.length === 0) throw new DerError('empty INTEGER');
  if (c.length > 1 && ((c[0] === 0x00 && (c[1]! & 0x80) === 0) || (c[0] === 0xff && (c[1]! & 0x80) !== 0))) {
    throw new DerError('non-minimal INTEGER encoding');
  }
  return c;
}

/** Decodes OID content octets to dotted text. */
export function decodeOidContent(c: Buffer): string {
  if (c.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: bigint[] = [];
  let v = 0n;
  let started = false;
  for (let i = 0; i < c.length; i++) {
    const b = c[i]!;
    if (!started && b === 0x80) throw new DerError('non-minimal OBJECT IDENTIFIER encoding');
    started = true;
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
      started = false;
    }
  }
  if (started) throw new DerError('truncated OBJECT IDENTIFIER');
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].map(String).join('.');
}

export function readOid(node: DerNode): string {
  expectUniversal(node, Tag.OID, 'OBJECT IDENTIFIER');
  return decodeOidContent(node.content);
}

export function readNull(node: DerNode): null {
  expectUniversal(node, Tag.NULL, 'NULL');
  if (node.content.length !== 0) throw new DerError('NULL must be empty');
  return null;
}

export interface BitStringValue {
  unusedBits: number;
  bytes: Buffer;
}

export function readBitString(node: DerNode): BitStringValue {
  expectUniversal(node, Tag.BIT_STRING, 'BIT STRING');
  const c = node.content;
  if (c.length === 0) throw new DerError('empty BIT STRING');
  const unusedBits = c[0]!;
  if (unusedBits > 7 || (c.length === 1 && unusedBits !== 0)) throw new DerError('invalid BIT STRING padding');
  return {unusedBits, bytes: c.subarray(1)};
}

/** The set bit numbers of a named-bit BIT STRING (bit 0 = most significant bit of byte 0). */
export function readNamedBits(node: DerNode): number[] {
  const {unusedBits, bytes} = readBitString(node);
  const total = bytes.length * 8 - unusedBits;
  const out: number[] = [];
  for (let i = 0; i < total; i++) if (bytes[i >> 3]! & (0x80 >> (i & 7))) out.push(i);
  return out;
}

export function readOctetString(node: DerNode): Buffer {
  expectUniversal(node, Tag.OCTET_STRING, 'OCTET STRING');
  return node.content;
}

const STRING_TAGS = new Set<number>([
  Tag.UTF8_STRING,
  Tag.NUMERIC_STRING,
  Tag.PRINTABLE_STRING,
  Tag.T61_STRING,
  Tag.IA5_STRING,
  Tag.VISIBLE_STRING,
  Tag.GENERAL_STRING,
  Tag.UNIVERSAL_STRING,
  Tag.BMP_STRING,
]);

export function isStringNode(node: DerNode): boolean {
  return node.tagClass === TagClass.universal && !node.constructed && STRING_TAGS.has(node.tagNumber);
}

/** Any of the ASN.1 character-string types as text (validated per type). */
export function readString(node: DerNode): string {
  if (!isStringNode(node)) throw new DerError(`expected a character string, found ${describeTag(node)}`);
  const c = node.content;
  switch (node.tagNumber) {
    case Tag.UTF8_STRING: {
      const s = c.toString('utf8');
      if (!Buffer.from(s, 'utf8').equals(c)) throw new DerError('invalid UTF-8 in UTF8String');
      return s;
    }
    case Tag.PRINTABLE_STRING: {
      const s = c.toString('latin1');
      // Go also tolerates '*' and '&' here (seen in the wild).
      if (!/^[A-Za-z0-9 '()+,\-./:=?*&]*$/.test(s)) throw new DerError('invalid PrintableString');
      return s;
    }
    case Tag.NUMERIC_STRING: {
      const s = c.toString('latin1');
      if (!/^[0-9 ]*$/.test(s)) throw new DerError('invalid NumericString');
      return s;
    }
    case Tag.IA5_STRING:
    case Tag.VISIBLE_STRING: {
      for (const b of c) if (b > 0x7f) throw new DerError('invalid IA5String');
      return c.toString('latin1');
    }
    case Tag.BMP_STRING: {
      if (c.length % 2 !== 0) throw new DerError('invalid BMPString length');
      const swapped = Buffer.from(c);
      swapped.swap16();
      return swapped.toString('utf16le');
    }
    case Tag.UNIVERSAL_STRING: {
      if (c.length % 4 !== 0) throw new DerError('invalid UniversalString length');
      let s = '';
      for (let i = 0; i < c.length; i += 4) {
        const cp = c.readUInt32BE(i);
        if (cp > 0x10ffff) throw new DerError('invalid UniversalString code point');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default: // T61String, GeneralString: treat as Latin-1
      return c.toString('latin1');
  }
}

/** UTCTime or GeneralizedTime as a Date. */
export function readTime(node: DerNode): Date {
  if (node.tagClass !== TagClass.universal || node.constructed) throw new DerError(`expected a time, found ${describeTag(node)}`);
  const s = node.content.toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  let rest: RegExpExecArray;
  if (node.tagNumber === Tag.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(Z|[+-]\d{4})$/.exec(s);
    if (!m) throw new DerError(`invalid UTCTime ${JSON.stringify(s)}`);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = m;
  } else if (node.tagNumber === Tag.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?(Z|[+-]\d{4})$/.exec(s);
    if (!m) throw new DerError(`invalid GeneralizedTime ${JSON.stringify(s)}`);
    year = Number(m[1]);
    rest = m;
  } else {
    throw new DerError(`expected a time, found ${describeTag(node)}`);
  }
  const month = Number(rest[2]);
  const day = Number(rest[3]);
  const hour = Number(rest[4]);
  const minute = Number(rest[5]);
  const second = rest[6] === undefined ? 0 : Number(rest[6]);
  const frac = node.tagNumber === Tag.GENERALIZED_TIME && rest[7] ? Number(`0.${rest[7]}`) : 0;
  const zone = rest[rest.length - 1]!;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new DerError(`time out of range ${JSON.stringify(s)}`);
  }
  let ms = Date.UTC(year, month - 1, day, hour, minute, second) + Math.round(frac * 1000);
  if (year < 100) ms = new Date(ms).setUTCFullYear(year); // Date.UTC maps 0–99 to 1900–1999
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const offMin = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5));
    ms -= sign * offMin * 60_000;
  }
  return new Date(ms);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}
