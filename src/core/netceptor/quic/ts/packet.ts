/**
 * QUIC v1 packet headers (RFC 9000 §17): long headers (Initial, 0-RTT, Handshake, Retry,
 * Version Negotiation), short headers, coalesced packets (§12.2), Retry integrity (RFC 9001
 * §5.8) and stateless reset detection (§10.3). Parsing is bounded and returns typed results.
 */
import {createCipheriv, createDecipheriv, timingSafeEqual} from 'node:crypto';
import {QUIC_V1} from './keys.js';
import {ByteReader, ByteWriter, varintLength} from './varint.js';

export {decodePacketNumber, packetNumberLength, truncatePacketNumber} from './packet-number.js';

/** Longest connection ID in QUIC v1 (RFC 9000 §17.2). */
export const MAX_CID_LENGTH = 20;
export const RETRY_TAG_LENGTH = 16;
export const STATELESS_RESET_TOKEN_LENGTH = 16;
/** Smallest datagram that may be a stateless reset (RFC 9000 §10.3: 5 + 16 bytes). */
export const MIN_STATELESS_RESET_LENGTH = 21;

export type LongPacketType = 'initial' | '0rtt' | 'handshake' | 'retry';
const LONG_TYPES: readonly LongPacketType[] = ['initial', '0rtt', 'handshake', 'retry'];

/** A long header packet of a known version with a Length field (Initial, 0-RTT, Handshake). */
export interface LongHeader {
  form: 'long';
  type: 'initial' | '0rtt' | 'handshake';
  version: number;
  /** First byte as received (still header-protected if the packet is). */
  firstByte: number;
  dcid: Buffer;
  scid: Buffer;
  /** Initial only; empty otherwise. */
  token: Buffer;
  /** Offset of the packet number within this packet. */
  pnOffset: number;
  /** Value of the Length field: packet number plus protected payload. */
  length: number;
  /** Bytes of this packet within the datagram (header + Length). */
  packetLength: number;
}

export interface RetryHeader {
  form: 'long';
  type: 'retry';
  version: number;
  firstByte: number;
  dcid: Buffer;
  scid: Buffer;
  token: Buffer;
  integrityTag: Buffer;
  packetLength: number;
}

export interface VersionNegotiationHeader {
  form: 'long';
  type: 'version-negotiation';
  firstByte: number;
  dcid: Buffer;
  scid: Buffer;
  versions: number[];
  packetLength: number;
}

/** Long header of a version other than v1: only the invariant fields (RFC 8999). */
export interface UnsupportedVersionHeader {
  form: 'long';
  type: 'unsupported-version';
  version: number;
  firstByte: number;
  dcid: Buffer;
  scid: Buffer;
  packetLength: number;
}

export interface ShortHeader {
  form: 'short';
  firstByte: number;
  dcid: Buffer;
  pnOffset: number;
  /** Rest of the datagram. */
  packetLength: number;
}

export type PacketHeader = LongHeader | RetryHeader | VersionNegotiationHeader | UnsupportedVersionHeader | ShortHeader;

export type ParseError = 'empty' | 'truncated' | 'fixed-bit-zero' | 'cid-too-long' | 'length-exceeds-datagram' | 'bad-version-negotiation' | 'retry-too-short' | 'dcid-mismatch';

export type HeaderResult = {ok: true; header: PacketHeader} | {ok: false; error: ParseError};

const fail = (error: ParseError): {ok: false; error: ParseError} => ({ok: false, error});

/**
 * Parses the header of the packet at `off` in a datagram. `shortDcidLength` is the length of
 * our own connection IDs (short headers carry no length). Packets of v1 must have the fixed bit
 * set; for other versions only the invariant fields are read.
 */
export function parseHeader(datagram: Uint8Array, off: number, shortDcidLength: number): HeaderResult {
  if (off >= datagram.length) return fail('empty');
  const first = datagram[off] as number;
  const r = new ByteReader(datagram, off + 1);
  if ((first & 0x80) === 0) {
    if ((first & 0x40) === 0) return fail('fixed-bit-zero');
    const dcid = r.bytes(shortDcidLength);
    if (dcid === null) return fail('truncated');
    return {ok: true, header: {form: 'short', firstByte: first, dcid, pnOffset: 1 + shortDcidLength, packetLength: datagram.length - off}};
  }
  const version = r.uint32();
  if (version === null) return fail('truncated');
  const dcidLen = r.uint8();
  if (dcidLen === null) return fail('truncated');
  // v1 limits CIDs to 20 bytes; other versions may use up to 255 (RFC 8999 §5.1).
  if (version === QUIC_V1 && dcidLen > MAX_CID_LENGTH) return fail('cid-too-long');
  const dcid = r.bytes(dcidLen);
  if (dcid === null) return fail('truncated');
  const scidLen = r.uint8();
  if (scidLen === null) return fail('truncated');
  if (version === QUIC_V1 && scidLen > MAX_CID_LENGTH) return fail('cid-too-long');
  const scid = r.bytes(scidLen);
  if (scid === null) return fail('truncated');

  if (version === 0) {
    if (r.remaining === 0 || r.remaining % 4 !== 0) return fail('bad-version-negotiation');
    const versions: number[] = [];
    while (r.remaining > 0) versions.push(r.uint32() as number);
    return {ok: true, header: {form: 'long', type: 'version-negotiation', firstByte: first, dcid, scid, versions, packetLength: datagram.length - off}};
  }
  if (version !== QUIC_V1) {
    return {ok: true, header: {form: 'long', type: 'unsupported-version', version, firstByte: first, dcid, scid, packetLength: datagram.length - off}};
  }
  if ((first & 0x40) === 0) return fail('fixed-bit-zero');
  const type = LONG_TYPES[(first >> 4) & 0x03] as LongPacketType;
  if (type === 'retry') {
    if (r.remaining < RETRY_TAG_LENGTH) return fail('retry-too-short');
    const token = r.bytes(r.remaining - RETRY_TAG_LENGTH) as Buffer;
    const integrityTag = r.bytes(RETRY_TAG_LENGTH) as Buffer;
    return {ok: true, header: {form: 'long', type, version, firstByte: first, dcid, scid, token, integrityTag, packetLength: datagram.length - off}};
  }
  let token: Buffer = Buffer.alloc(0);
  if (type === 'initial') {
    const tokenLen = r.varint();
    if (tokenLen === null) return fail('truncated');
    const t = r.bytes(tokenLen);
    if (t === null) return fail('truncated');
    token = t;
  }
  const length = r.varint();
  if (length === null) return fail('truncated');
  const pnOffset = r.off - off;
  if (length > r.remaining) return fail('length-exceeds-datagram');
  // Too short for a header protection sample is left to unprotection (it gives null), so that
  // the packet's bytes are still skipped and the next coalesced packet is reached.
  return {ok: true, header: {form: 'long', type, version, firstByte: first, dcid, scid, token, pnOffset, length, packetLength: pnOffset + length}};
}

/** One packet of a datagram: its parsed header and its bytes. */
export interface SplitPacket {
  header: PacketHeader;
  bytes: Buffer;
}

/**
 * Splits a datagram into coalesced packets (RFC 9000 §12.2). Parsing stops at the first packet
 * that does not parse (the rest of the datagram is reported as `trailing`), after a short
 * header, Retry, Version Negotiation or unknown-version packet (those run to the end). A packet
 * whose Destination Connection ID differs from the first one's ends the split too (RFC 9000
 * §12.2: receivers SHOULD drop such packets); it is reported as 'dcid-mismatch'.
 */
export function splitCoalesced(datagram: Uint8Array, shortDcidLength: number): {packets: SplitPacket[]; error?: ParseError; trailing: number} {
  const packets: SplitPacket[] = [];
  let off = 0;
  while (off < datagram.length) {
    const res = parseHeader(datagram, off, shortDcidLength);
    if (!res.ok) return {packets, error: res.error, trailing: datagram.length - off};
    const h = res.header;
    const first = packets[0];
    if (first !== undefined && !first.header.dcid.equals(h.dcid)) return {packets, error: 'dcid-mismatch', trailing: datagram.length - off};
    packets.push({header: h, bytes: Buffer.from(datagram.subarray(off, off + h.packetLength))});
    off += h.packetLength;
  }
  return {packets, trailing: 0};
}

// ---------------------------------------------------------------------------------------------
// Building headers
// ---------------------------------------------------------------------------------------------

export interface LongHeaderSpec {
  type: 'initial' | '0rtt' | 'handshake';
  version?: number;
  dcid: Uint8Array;
  scid: Uint8Array;
  token?: Uint8Array;
  /** Truncated packet number and its length (1-4 bytes). */
  truncatedPn: number;
  pnLength: 1 | 2 | 3 | 4;
  /** Bytes of protected payload that will follow (plaintext frames + 16-byte tag). */
  payloadLength: number;
  /** Width of the Length field; 2 lets callers fix the header before the payload size is final. */
  lengthFieldLength?: 1 | 2 | 4 | 8;
}

/** Builds an unprotected long header ending with the packet number; returns it and pnOffset. */
export function buildLongHeader(spec: LongHeaderSpec): {header: Buffer; pnOffset: number} {
  checkCid(spec.dcid);
  checkCid(spec.scid);
  const typeBits = spec.type === 'initial' ? 0 : spec.type === '0rtt' ? 1 : 2;
  const w = new ByteWriter(64 + (spec.token?.length ?? 0));
  w.uint8(0xc0 | (typeBits << 4) | (spec.pnLength - 1));
  w.uint32(spec.version ?? QUIC_V1);
  w.uint8(spec.dcid.length).bytes(spec.dcid);
  w.uint8(spec.scid.length).bytes(spec.scid);
  if (spec.type === 'initial') {
    const token = spec.token ?? Buffer.alloc(0);
    w.varint(token.length).bytes(token);
  } else if (spec.token !== undefined && spec.token.length > 0) {
    throw new RangeError('only Initial packets carry a token');
  }
  const length = spec.pnLength + spec.payloadLength;
  w.varint(length, spec.lengthFieldLength ?? varintLength(length));
  const pnOffset = w.length;
  writePn(w, spec.truncatedPn, spec.pnLength);
  return {header: w.toBuffer(), pnOffset};
}

export interface ShortHeaderSpec {
  dcid: Uint8Array;
  truncatedPn: number;
  pnLength: 1 | 2 | 3 | 4;
  keyPhase: boolean;
  spin?: boolean;
}

/** Builds an unprotected short header (RFC 9000 §17.3.1); reserved bits are zero. */
export function buildShortHeader(spec: ShortHeaderSpec): {header: Buffer; pnOffset: number} {
  checkCid(spec.dcid);
  const w = new ByteWriter(32);
  w.uint8(0x40 | (spec.spin === true ? 0x20 : 0) | (spec.keyPhase ? 0x04 : 0) | (spec.pnLength - 1));
  w.bytes(spec.dcid);
  const pnOffset = w.length;
  writePn(w, spec.truncatedPn, spec.pnLength);
  return {header: w.toBuffer(), pnOffset};
}

/** Short header bits after header protection removal. */
export function shortHeaderBits(firstByte: number): {spin: boolean; keyPhase: boolean; reserved: number; pnLength: number} {
  return {spin: (firstByte & 0x20) !== 0, keyPhase: (firstByte & 0x04) !== 0, reserved: (firstByte >> 3) & 0x03, pnLength: (firstByte & 0x03) + 1};
}

/** Long header reserved bits (must be zero after header protection removal, §17.2). */
export function longHeaderReservedBits(firstByte: number): number {
  return (firstByte >> 2) & 0x03;
}

function writePn(w: ByteWriter, pn: number, len: number): void {
  for (let i = len - 1; i >= 0; i--) w.uint8(Math.floor(pn / 2 ** (8 * i)) & 0xff);
}

function checkCid(cid: Uint8Array): void {
  if (cid.length > MAX_CID_LENGTH) throw new RangeError('connection ID longer than 20 bytes');
}

/** Version Negotiation packet (RFC 9000 §17.2.1): echoes the client's CIDs swapped. */
export function buildVersionNegotiation(dcid: Uint8Array, scid: Uint8Array, versions: readonly number[], unusedBits = 0): Buffer {
  const w = new ByteWriter(16 + dcid.length + scid.length + 4 * versions.length);
  w.uint8(0x80 | (unusedBits & 0x7f)).uint32(0);
  w.uint8(dcid.length).bytes(dcid);
  w.uint8(scid.length).bytes(scid);
  for (const v of versions) w.uint32(v);
  return w.toBuffer();
}

// ---------------------------------------------------------------------------------------------
// Retry (RFC 9001 §5.8)
// ---------------------------------------------------------------------------------------------

const RETRY_KEY_V1 = Buffer.from('be0c690b9f66575a1d766b54e368c84e', 'hex');
const RETRY_NONCE_V1 = Buffer.from('461599d35d632bf2239825bb', 'hex');

/** Integrity tag over the Retry pseudo-packet: ODCID length, ODCID, Retry without its tag. */
export function retryIntegrityTag(retryWithoutTag: Uint8Array, originalDcid: Uint8Array): Buffer {
  const c = createCipheriv('aes-128-gcm', RETRY_KEY_V1, RETRY_NONCE_V1, {authTagLength: 16});
  c.setAAD(Buffer.concat([Buffer.of(originalDcid.length), originalDcid, retryWithoutTag]));
  c.final();
  return c.getAuthTag();
}

/** Builds a v1 Retry packet with its integrity tag. */
export function buildRetry(dcid: Uint8Array, scid: Uint8Array, token: Uint8Array, originalDcid: Uint8Array, unusedBits = 0): Buffer {
  checkCid(dcid);
  checkCid(scid);
  const w = new ByteWriter(32 + token.length);
  w.uint8(0xf0 | (unusedBits & 0x0f)).uint32(QUIC_V1);
  w.uint8(dcid.length).bytes(dcid);
  w.uint8(scid.length).bytes(scid);
  w.bytes(token);
  const body = w.toBuffer();
  return Buffer.concat([body, retryIntegrityTag(body, originalDcid)]);
}

/** Checks a received Retry packet's tag (constant time); false on any malformed input. */
export function verifyRetry(retryPacket: Uint8Array, originalDcid: Uint8Array): boolean {
  if (retryPacket.length < 7 + RETRY_TAG_LENGTH) return false;
  try {
    const body = retryPacket.subarray(0, retryPacket.length - RETRY_TAG_LENGTH);
    const d = createDecipheriv('aes-128-gcm', RETRY_KEY_V1, RETRY_NONCE_V1, {authTagLength: 16});
    d.setAuthTag(retryPacket.subarray(retryPacket.length - RETRY_TAG_LENGTH));
    d.setAAD(Buffer.concat([Buffer.of(originalDcid.length), originalDcid, body]));
    d.final();
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Stateless reset (RFC 9000 §10.3)
// ---------------------------------------------------------------------------------------------

/**
 * True when the datagram could be a stateless reset carrying one of `tokens`: a short header
 * form, at least 21 bytes, and its last 16 bytes equal a token (compared in constant time).
 */
export function isStatelessReset(datagram: Uint8Array, tokens: Iterable<Uint8Array>): boolean {
  if (datagram.length < MIN_STATELESS_RESET_LENGTH || ((datagram[0] as number) & 0x80) !== 0) return false;
  const tail = datagram.subarray(datagram.length - STATELESS_RESET_TOKEN_LENGTH);
  let found = false;
  for (const t of tokens) {
    if (t.length === STATELESS_RESET_TOKEN_LENGTH && timingSafeEqual(tail, t)) found = true;
  }
  return found;
}

/**
 * A stateless reset of `length` bytes (>= 21): random bytes made to look like a short header
 * (fixed bit set, long bit clear) followed by the token. `random` supplies the unpredictable
 * bytes (sans-IO: the caller owns the randomness source).
 */
export function buildStatelessReset(token: Uint8Array, length: number, random: (n: number) => Uint8Array): Buffer {
  if (token.length !== STATELESS_RESET_TOKEN_LENGTH) throw new RangeError('stateless reset token must be 16 bytes');
  const n = Math.max(length, MIN_STATELESS_RESET_LENGTH) - STATELESS_RESET_TOKEN_LENGTH;
  const head = Buffer.from(random(n).subarray(0, n));
  if (head.length < n) throw new RangeError('random source returned too few bytes');
  head[0] = ((head[0] as number) & 0x3f) | 0x40;
  return Buffer.concat([head, token]);
}
