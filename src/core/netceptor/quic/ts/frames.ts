/**
 * QUIC v1 frames (RFC 9000 §19) as a typed union: encode, decode (bad input gives a transport
 * error code value, never an exception), the §12.4 packet-type table, ack-eliciting and sizes.
 */
import {TransportError, wireError, type WireError} from './errors.js';
import {ByteReader, ByteWriter, VARINT_MAX_BIG, varintLength} from './varint.js';

export const FrameType = {
  PADDING: 0x00,
  PING: 0x01,
  ACK: 0x02,
  ACK_ECN: 0x03,
  RESET_STREAM: 0x04,
  STOP_SENDING: 0x05,
  CRYPTO: 0x06,
  NEW_TOKEN: 0x07,
  STREAM: 0x08, // 0x08-0x0f: OFF 0x04, LEN 0x02, FIN 0x01
  MAX_DATA: 0x10,
  MAX_STREAM_DATA: 0x11,
  MAX_STREAMS_BIDI: 0x12,
  MAX_STREAMS_UNI: 0x13,
  DATA_BLOCKED: 0x14,
  STREAM_DATA_BLOCKED: 0x15,
  STREAMS_BLOCKED_BIDI: 0x16,
  STREAMS_BLOCKED_UNI: 0x17,
  NEW_CONNECTION_ID: 0x18,
  RETIRE_CONNECTION_ID: 0x19,
  PATH_CHALLENGE: 0x1a,
  PATH_RESPONSE: 0x1b,
  CONNECTION_CLOSE: 0x1c,
  CONNECTION_CLOSE_APP: 0x1d,
  HANDSHAKE_DONE: 0x1e,
} as const;

/** Largest stream count a MAX_STREAMS / STREAMS_BLOCKED frame may carry (§19.11). */
export const MAX_STREAM_COUNT = 2 ** 60;

/** One ACK range, inclusive at both ends. */
export interface AckRange {
  smallest: number;
  largest: number;
}

export interface EcnCounts {
  ect0: number;
  ect1: number;
  ce: number;
}

export type Frame =
  /** A run of PADDING bytes (decoded runs are merged). */
  | {type: 'padding'; length: number}
  | {type: 'ping'}
  /** ranges in descending order, ranges[0].largest is the Largest Acknowledged. delay is the raw encoded field. */
  | {type: 'ack'; ackDelay: number; ranges: AckRange[]; ecn?: EcnCounts}
  | {type: 'reset_stream'; streamId: number; errorCode: number; finalSize: number}
  | {type: 'stop_sending'; streamId: number; errorCode: number}
  | {type: 'crypto'; offset: number; data: Buffer}
  | {type: 'new_token'; token: Buffer}
  /** hasLength false means the frame runs to the end of the packet. */
  | {type: 'stream'; streamId: number; offset: number; data: Buffer; fin: boolean; hasLength?: boolean; hasOffset?: boolean}
  | {type: 'max_data'; maximum: number}
  | {type: 'max_stream_data'; streamId: number; maximum: number}
  | {type: 'max_streams'; bidi: boolean; maximum: number}
  | {type: 'data_blocked'; limit: number}
  | {type: 'stream_data_blocked'; streamId: number; limit: number}
  | {type: 'streams_blocked'; bidi: boolean; limit: number}
  | {type: 'new_connection_id'; sequence: number; retirePriorTo: number; connectionId: Buffer; statelessResetToken: Buffer}
  | {type: 'retire_connection_id'; sequence: number}
  | {type: 'path_challenge'; data: Buffer}
  | {type: 'path_response'; data: Buffer}
  | {type: 'connection_close'; application: false; errorCode: number; frameType: number; reason: Buffer}
  | {type: 'connection_close'; application: true; errorCode: number; reason: Buffer}
  | {type: 'handshake_done'};

export type FrameKind = Frame['type'];

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/** Appends one frame to w. Throws RangeError on frames that cannot be encoded (caller bug). */
export function writeFrame(w: ByteWriter, f: Frame): void {
  switch (f.type) {
    case 'padding':
      w.zeros(f.length);
      return;
    case 'ping':
      w.uint8(FrameType.PING);
      return;
    case 'ack': {
      const first = f.ranges[0];
      if (first === undefined) throw new RangeError('ACK frame without ranges');
      w.uint8(f.ecn !== undefined ? FrameType.ACK_ECN : FrameType.ACK);
      w.varint(first.largest)
        .varint(f.ackDelay)
        .varint(f.ranges.length - 1)
        .varint(first.largest - first.smallest);
      let prevSmallest = first.smallest;
      for (let i = 1; i < f.ranges.length; i++) {
        const r = f.ranges[i] as AckRange;
        const gap = prevSmallest - r.largest - 2;
        if (gap < 0 || r.smallest > r.largest) throw new RangeError('ACK ranges must be descending and disjoint');
        w.varint(gap).varint(r.largest - r.smallest);
        prevSmallest = r.smallest;
      }
      if (f.ecn !== undefined) w.varint(f.ecn.ect0).varint(f.ecn.ect1).varint(f.ecn.ce);
      return;
    }
    case 'reset_stream':
      w.uint8(FrameType.RESET_STREAM).varint(f.streamId).varint(f.errorCode).varint(f.finalSize);
      return;
    case 'stop_sending':
      w.uint8(FrameType.STOP_SENDING).varint(f.streamId).varint(f.errorCode);
      return;
    case 'crypto':
      w.uint8(FrameType.CRYPTO).varint(f.offset).varint(f.data.length).bytes(f.data);
      return;
    case 'new_token':
      w.uint8(FrameType.NEW_TOKEN).varint(f.token.length).bytes(f.token);
      return;
    case 'stream': {
      const hasOffset = f.hasOffset ?? f.offset > 0;
      if (!hasOffset && f.offset !== 0) throw new RangeError('STREAM frame with offset needs the OFF bit');
      const hasLength = f.hasLength ?? true;
      w.uint8(FrameType.STREAM | (hasOffset ? 0x04 : 0) | (hasLength ? 0x02 : 0) | (f.fin ? 0x01 : 0));
      w.varint(f.streamId);
      if (hasOffset) w.varint(f.offset);
      if (hasLength) w.varint(f.data.length);
      w.bytes(f.data);
      return;
    }
    case 'max_data':
      w.uint8(FrameType.MAX_DATA).varint(f.maximum);
      return;
    case 'max_stream_data':
      w.uint8(FrameType.MAX_STREAM_DATA).varint(f.streamId).varint(f.maximum);
      return;
    case 'max_streams':
      w.uint8(f.bidi ? FrameType.MAX_STREAMS_BIDI : FrameType.MAX_STREAMS_UNI).varint(f.maximum);
      return;
    case 'data_blocked':
      w.uint8(FrameType.DATA_BLOCKED).varint(f.limit);
      return;
    case 'stream_data_blocked':
      w.uint8(FrameType.STREAM_DATA_BLOCKED).varint(f.streamId).varint(f.limit);
      return;
    case 'streams_blocked':
      w.uint8(f.bidi ? FrameType.STREAMS_BLOCKED_BIDI : FrameType.STREAMS_BLOCKED_UNI).varint(f.limit);
      return;
    case 'new_connection_id':
      if (f.connectionId.length < 1 || f.connectionId.length > 20) throw new RangeError('NEW_CONNECTION_ID needs a 1-20 byte CID');
      if (f.statelessResetToken.length !== 16) throw new RangeError('stateless reset token must be 16 bytes');
      w.uint8(FrameType.NEW_CONNECTION_ID).varint(f.sequence).varint(f.retirePriorTo).uint8(f.connectionId.length).bytes(f.connectionId).bytes(f.statelessResetToken);
      return;
    case 'retire_connection_id':
      w.uint8(FrameType.RETIRE_CONNECTION_ID).varint(f.sequence);
      return;
    case 'path_challenge':
    case 'path_response':
      if (f.data.length !== 8) throw new RangeError('PATH_CHALLENGE/PATH_RESPONSE data must be 8 bytes');
      w.uint8(f.type === 'path_challenge' ? FrameType.PATH_CHALLENGE : FrameType.PATH_RESPONSE).bytes(f.data);
      return;
    case 'connection_close':
      if (f.application) {
        w.uint8(FrameType.CONNECTION_CLOSE_APP).varint(f.errorCode);
      } else {
        w.uint8(FrameType.CONNECTION_CLOSE).varint(f.errorCode).varint(f.frameType);
      }
      w.varint(f.reason.length).bytes(f.reason);
      return;
    case 'handshake_done':
      w.uint8(FrameType.HANDSHAKE_DONE);
      return;
  }
}

export function encodeFrame(f: Frame): Buffer {
  const w = new ByteWriter(32);
  writeFrame(w, f);
  return w.toBuffer();
}

export function encodeFrames(frames: readonly Frame[]): Buffer {
  const w = new ByteWriter(256);
  for (const f of frames) writeFrame(w, f);
  return w.toBuffer();
}

/** Encoded size of a frame. */
export function frameSize(f: Frame): number {
  const v = varintLength;
  switch (f.type) {
    case 'padding':
      return f.length;
    case 'ping':
    case 'handshake_done':
      return 1;
    case 'ack': {
      const first = f.ranges[0];
      if (first === undefined) return 0;
      let n = 1 + v(first.largest) + v(f.ackDelay) + v(f.ranges.length - 1) + v(first.largest - first.smallest);
      let prev = first.smallest;
      for (let i = 1; i < f.ranges.length; i++) {
        const r = f.ranges[i] as AckRange;
        n += v(prev - r.largest - 2) + v(r.largest - r.smallest);
        prev = r.smallest;
      }
      if (f.ecn !== undefined) n += v(f.ecn.ect0) + v(f.ecn.ect1) + v(f.ecn.ce);
      return n;
    }
    case 'reset_stream':
      return 1 + v(f.streamId) + v(f.errorCode) + v(f.finalSize);
    case 'stop_sending':
      return 1 + v(f.streamId) + v(f.errorCode);
    case 'crypto':
      return 1 + v(f.offset) + v(f.data.length) + f.data.length;
    case 'new_token':
      return 1 + v(f.token.length) + f.token.length;
    case 'stream':
      return streamFrameOverhead(f.streamId, f.offset, f.data.length, f.hasLength ?? true, f.hasOffset) + f.data.length;
    case 'max_data':
      return 1 + v(f.maximum);
    case 'max_stream_data':
      return 1 + v(f.streamId) + v(f.maximum);
    case 'max_streams':
      return 1 + v(f.maximum);
    case 'data_blocked':
      return 1 + v(f.limit);
    case 'stream_data_blocked':
      return 1 + v(f.streamId) + v(f.limit);
    case 'streams_blocked':
      return 1 + v(f.limit);
    case 'new_connection_id':
      return 1 + v(f.sequence) + v(f.retirePriorTo) + 1 + f.connectionId.length + 16;
    case 'retire_connection_id':
      return 1 + v(f.sequence);
    case 'path_challenge':
    case 'path_response':
      return 9;
    case 'connection_close':
      return 1 + v(f.errorCode) + (f.application ? 0 : v(f.frameType)) + v(f.reason.length) + f.reason.length;
  }
}

/** STREAM frame bytes other than data (type, stream ID, offset, length). */
export function streamFrameOverhead(streamId: number, offset: number, dataLength: number, withLength = true, withOffset = offset > 0): number {
  return 1 + varintLength(streamId) + (withOffset ? varintLength(offset) : 0) + (withLength ? varintLength(dataLength) : 0);
}

/** Largest data that fits a STREAM frame (with Length) of at most `budget` bytes, or 0. */
export function maxStreamDataFor(budget: number, streamId: number, offset: number): number {
  // Start from a pessimistic Length field; it only shrinks, so grow while it still fits.
  let n = budget - streamFrameOverhead(streamId, offset, budget, true);
  if (n <= 0) return 0;
  while (streamFrameOverhead(streamId, offset, n + 1, true) + n + 1 <= budget) n++;
  return n;
}

/** Largest data that fits a CRYPTO frame of at most `budget` bytes, or 0. */
export function maxCryptoDataFor(budget: number, offset: number): number {
  const overhead = (len: number): number => 1 + varintLength(offset) + varintLength(len);
  let n = budget - overhead(budget);
  if (n <= 0) return 0;
  while (overhead(n + 1) + n + 1 <= budget) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

export type FrameResult = {ok: true; frame: Frame; next: number} | WireError;
export type FramesResult = {ok: true; frames: Frame[]} | WireError;

const enc = (ft: number, why: string): WireError => wireError(TransportError.FRAME_ENCODING_ERROR, why, ft);

/** Decodes the frame at off in a packet payload that ends at payload.length. */
export function decodeFrame(payload: Uint8Array, off: number): FrameResult {
  const r = new ByteReader(payload, off);
  const t = r.varintWithLength();
  if (t === null) return enc(0, 'truncated frame type');
  const ft = t.value;
  // §12.4: frame types use the shortest encoding; longer ones MAY be PROTOCOL_VIOLATION.
  if (t.length !== varintLength(ft)) return wireError(TransportError.PROTOCOL_VIOLATION, 'frame type not minimally encoded', ft);
  const done = (frame: Frame): FrameResult => ({ok: true, frame, next: r.off});
  const trunc = (): WireError => enc(ft, 'truncated frame');
  switch (ft) {
    case FrameType.PADDING: {
      let n = 1;
      while (r.off < payload.length && payload[r.off] === 0) {
        r.off++;
        n++;
      }
      return done({type: 'padding', length: n});
    }
    case FrameType.PING:
      return done({type: 'ping'});
    case FrameType.ACK:
    case FrameType.ACK_ECN: {
      const largest = r.varint();
      const ackDelay = r.varint();
      const count = r.varint();
      const firstRange = r.varint();
      if (largest === null || ackDelay === null || count === null || firstRange === null) return trunc();
      if (firstRange > largest) return enc(ft, 'ACK first range below zero');
      // Each further range takes at least two bytes: refuse counts the payload cannot hold.
      if (count > r.remaining / 2) return trunc();
      const ranges: AckRange[] = [{smallest: largest - firstRange, largest}];
      let smallest = largest - firstRange;
      for (let i = 0; i < count; i++) {
        const gap = r.varint();
        const len = r.varint();
        if (gap === null || len === null) return trunc();
        const hi = smallest - gap - 2;
        if (hi < 0 || len > hi) return enc(ft, 'ACK range below zero');
        smallest = hi - len;
        ranges.push({smallest, largest: hi});
      }
      if (ft === FrameType.ACK_ECN) {
        const ect0 = r.varint();
        const ect1 = r.varint();
        const ce = r.varint();
        if (ect0 === null || ect1 === null || ce === null) return trunc();
        return done({type: 'ack', ackDelay, ranges, ecn: {ect0, ect1, ce}});
      }
      return done({type: 'ack', ackDelay, ranges});
    }
    case FrameType.RESET_STREAM: {
      const streamId = r.varint();
      const errorCode = r.varint();
      const finalSize = r.varint();
      if (streamId === null || errorCode === null || finalSize === null) return trunc();
      return done({type: 'reset_stream', streamId, errorCode, finalSize});
    }
    case FrameType.STOP_SENDING: {
      const streamId = r.varint();
      const errorCode = r.varint();
      if (streamId === null || errorCode === null) return trunc();
      return done({type: 'stop_sending', streamId, errorCode});
    }
    case FrameType.CRYPTO: {
      const offsetBig = r.varintBig();
      const len = r.varint();
      if (offsetBig === null || len === null) return trunc();
      if (offsetBig + BigInt(len) > VARINT_MAX_BIG) return enc(ft, 'CRYPTO data beyond 2^62-1');
      const offset = Number(offsetBig);
      const data = r.bytes(len);
      if (data === null) return trunc();
      return done({type: 'crypto', offset, data});
    }
    case FrameType.NEW_TOKEN: {
      const len = r.varint();
      if (len === null) return trunc();
      if (len === 0) return enc(ft, 'empty NEW_TOKEN');
      const token = r.bytes(len);
      if (token === null) return trunc();
      return done({type: 'new_token', token});
    }
    case FrameType.MAX_DATA:
    case FrameType.DATA_BLOCKED: {
      const v = r.varint();
      if (v === null) return trunc();
      return done(ft === FrameType.MAX_DATA ? {type: 'max_data', maximum: v} : {type: 'data_blocked', limit: v});
    }
    case FrameType.MAX_STREAM_DATA:
    case FrameType.STREAM_DATA_BLOCKED: {
      const streamId = r.varint();
      const v = r.varint();
      if (streamId === null || v === null) return trunc();
      return done(ft === FrameType.MAX_STREAM_DATA ? {type: 'max_stream_data', streamId, maximum: v} : {type: 'stream_data_blocked', streamId, limit: v});
    }
    case FrameType.MAX_STREAMS_BIDI:
    case FrameType.MAX_STREAMS_UNI:
    case FrameType.STREAMS_BLOCKED_BIDI:
    case FrameType.STREAMS_BLOCKED_UNI: {
      const exact = r.varintBig();
      if (exact === null) return trunc();
      if (exact > BigInt(MAX_STREAM_COUNT)) return enc(ft, 'stream count above 2^60');
      const v = Number(exact);
      const bidi = ft === FrameType.MAX_STREAMS_BIDI || ft === FrameType.STREAMS_BLOCKED_BIDI;
      return done(ft <= FrameType.MAX_STREAMS_UNI ? {type: 'max_streams', bidi, maximum: v} : {type: 'streams_blocked', bidi, limit: v});
    }
    case FrameType.NEW_CONNECTION_ID: {
      const sequence = r.varint();
      const retirePriorTo = r.varint();
      const len = r.uint8();
      if (sequence === null || retirePriorTo === null || len === null) return trunc();
      if (len < 1 || len > 20) return enc(ft, 'NEW_CONNECTION_ID length outside 1-20');
      if (retirePriorTo > sequence) return enc(ft, 'Retire Prior To greater than Sequence Number');
      const connectionId = r.bytes(len);
      const statelessResetToken = r.bytes(16);
      if (connectionId === null || statelessResetToken === null) return trunc();
      return done({type: 'new_connection_id', sequence, retirePriorTo, connectionId, statelessResetToken});
    }
    case FrameType.RETIRE_CONNECTION_ID: {
      const sequence = r.varint();
      if (sequence === null) return trunc();
      return done({type: 'retire_connection_id', sequence});
    }
    case FrameType.PATH_CHALLENGE:
    case FrameType.PATH_RESPONSE: {
      const data = r.bytes(8);
      if (data === null) return trunc();
      return done({type: ft === FrameType.PATH_CHALLENGE ? 'path_challenge' : 'path_response', data});
    }
    case FrameType.CONNECTION_CLOSE:
    case FrameType.CONNECTION_CLOSE_APP: {
      const errorCode = r.varint();
      if (errorCode === null) return trunc();
      let frameType = 0;
      if (ft === FrameType.CONNECTION_CLOSE) {
        const t2 = r.varint();
        if (t2 === null) return trunc();
        frameType = t2;
      }
      const len = r.varint();
      if (len === null) return trunc();
      const reason = r.bytes(len);
      if (reason === null) return trunc();
      return done(
        ft === FrameType.CONNECTION_CLOSE
          ? {type: 'connection_close', application: false, errorCode, frameType, reason}
          : {type: 'connection_close', application: true, errorCode, reason},
      );
    }
    case FrameType.HANDSHAKE_DONE:
      return done({type: 'handshake_done'});
    default:
      break;
  }
  if (ft >= 0x08 && ft <= 0x0f) {
    const streamId = r.varint();
    if (streamId === null) return trunc();
    const hasOffset = (ft & 0x04) !== 0;
    const hasLength = (ft & 0x02) !== 0;
    let offset = 0n;
    if (hasOffset) {
      const o = r.varintBig();
      if (o === null) return trunc();
      offset = o;
    }
    let len = r.remaining;
    if (hasLength) {
      const l = r.varint();
      if (l === null) return trunc();
      len = l;
    }
    if (offset + BigInt(len) > VARINT_MAX_BIG) return enc(ft, 'STREAM data beyond 2^62-1');
    const data = r.bytes(len);
    if (data === null) return trunc();
    return done({type: 'stream', streamId, offset: Number(offset), data, fin: (ft & 0x01) !== 0, hasLength, hasOffset});
  }
  return enc(ft, `unknown frame type 0x${ft.toString(16)}`);
}

/** Decodes every frame of a packet payload; an empty payload is a PROTOCOL_VIOLATION (§12.4). */
export function decodeFrames(payload: Uint8Array): FramesResult {
  if (payload.length === 0) return wireError(TransportError.PROTOCOL_VIOLATION, 'packet without frames');
  const frames: Frame[] = [];
  let off = 0;
  while (off < payload.length) {
    const res = decodeFrame(payload, off);
    if (!res.ok) return res;
    frames.push(res.frame);
    off = res.next;
  }
  return {ok: true, frames};
}

// ---------------------------------------------------------------------------------------------
// Frame properties (§12.4, §13.2)
// ---------------------------------------------------------------------------------------------

export type PacketSpaceType = 'initial' | '0rtt' | 'handshake' | '1rtt';

// §12.4 Table 3 "Pkts" column: I = Initial, H = Handshake, 0 = 0-RTT, 1 = 1-RTT.
const ALLOWED: Record<string, string> = {
  padding: 'IH01',
  ping: 'IH01',
  ack: 'IH1',
  reset_stream: '01',
  stop_sending: '01',
  crypto: 'IH1',
  new_token: '1',
  stream: '01',
  max_data: '01',
  max_stream_data: '01',
  max_streams: '01',
  data_blocked: '01',
  stream_data_blocked: '01',
  streams_blocked: '01',
  new_connection_id: '01',
  retire_connection_id: '01',
  path_challenge: '01',
  path_response: '1',
  connection_close_transport: 'IH01',
  connection_close_app: '01',
  handshake_done: '1',
};

const SPACE_LETTER: Record<PacketSpaceType, string> = {initial: 'I', '0rtt': '0', handshake: 'H', '1rtt': '1'};

/** Whether the frame may appear in a packet of this type (§12.4); otherwise PROTOCOL_VIOLATION. */
export function frameAllowedIn(f: Frame, packet: PacketSpaceType): boolean {
  const key = f.type === 'connection_close' ? (f.application ? 'connection_close_app' : 'connection_close_transport') : f.type;
  return (ALLOWED[key] ?? '').includes(SPACE_LETTER[packet]);
}

/** Checks every frame of a packet against §12.4; the error to close with, or null. */
export function checkFramesAllowed(frames: readonly Frame[], packet: PacketSpaceType): WireError | null {
  for (const f of frames) {
    if (!frameAllowedIn(f, packet)) return wireError(TransportError.PROTOCOL_VIOLATION, `${f.type} frame not allowed in ${packet} packet`);
  }
  return null;
}

/** All frames except ACK, PADDING and CONNECTION_CLOSE are ack-eliciting (§13.2). */
export function isAckEliciting(f: Frame): boolean {
  return f.type !== 'ack' && f.type !== 'padding' && f.type !== 'connection_close';
}

export function isAckElicitingPacket(frames: readonly Frame[]): boolean {
  return frames.some(isAckEliciting);
}

/** Probing frames (§9.1): a packet of only these does not move the connection to a new path. */
export function isProbingFrame(f: Frame): boolean {
  return f.type === 'path_challenge' || f.type === 'path_response' || f.type === 'new_connection_id' || f.type === 'padding';
}

/** Frames counted in bytes in flight for congestion control: all but ACK and CONNECTION_CLOSE (§12.4 "C"). */
export function isCongestionControlled(f: Frame): boolean {
  return f.type !== 'ack' && f.type !== 'connection_close';
}

// ---------------------------------------------------------------------------------------------
// Helpers for the connection layer
// ---------------------------------------------------------------------------------------------

/** ACK Delay field from microseconds and our ack_delay_exponent (RFC 9000 §19.3). */
export function encodeAckDelay(micros: number, exponent: number): number {
  return Math.floor(Math.max(0, micros) / 2 ** exponent);
}

/** Microseconds from a received ACK Delay field and the peer's ack_delay_exponent. */
export function decodeAckDelay(field: number, exponent: number): number {
  return field * 2 ** exponent;
}

/** The CONNECTION_CLOSE (transport) frame that reports a decode error (§10.2, §19.19). */
export function closeFrameFor(err: {code: number; reason: string; frameType?: number}): Frame {
  return {type: 'connection_close', application: false, errorCode: err.code, frameType: err.frameType ?? 0, reason: Buffer.from(err.reason)};
}

/**
 * ACK ranges (descending, as in the frame) from received packet numbers in any order,
 * duplicates allowed; at most `maxRanges` (the newest) are kept.
 */
export function ackRangesFrom(packetNumbers: Iterable<number>, maxRanges = 32): AckRange[] {
  const sorted = [...new Set(packetNumbers)].sort((a, b) => b - a);
  const ranges: AckRange[] = [];
  for (const pn of sorted) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.smallest === pn + 1) last.smallest = pn;
    else {
      if (ranges.length === maxRanges) break;
      ranges.push({smallest: pn, largest: pn});
    }
  }
  return ranges;
}
