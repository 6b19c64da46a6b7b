// SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 and the 3.1 additions): the frame layouts, the
// header blocks (compressed with zlib and the SPDY/3 dictionary, one context per direction) and an
// incremental decoder that checks every length before it reads. What moby/spdystream v0.2.0 (the
// library under client-go's SPDY executor) writes is what this must read, and the other way round.
import zlib from 'node:zlib';

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  FRAME_TOO_LARGE: 11,
} as const;

export const GoAwayStatus = {OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2} as const;

export const SETTINGS_INITIAL_WINDOW_SIZE = 7;
/** SPDY/3.1's initial flow-control window, per stream and for the connection. */
export const DEFAULT_WINDOW = 65536;
/** The 24-bit length field's ceiling. */
export const MAX_FRAME_PAYLOAD = 0xffffff;
/** Control frames carry at most this much (header blocks here are tiny; this bounds inflation work). */
export const MAX_CONTROL_PAYLOAD = 64 * 1024;
/** Largest header block accepted after inflation. */
export const MAX_HEADER_BLOCK = 256 * 1024;

/** Header names and values; a name with several values is sent as one value joined by NUL. */
export type HeaderMap = Record<string, string[]>;

type OtherFrame =
  | {type: 'data'; streamId: number; flags: number; data: Buffer}
  | {type: 'rst_stream'; streamId: number; status: number}
  | {type: 'settings'; flags: number; entries: Array<{flags: number; id: number; value: number}>}
  | {type: 'ping'; id: number}
  | {type: 'goaway'; lastGoodStreamId: number; status: number}
  | {type: 'window_update'; streamId: number; delta: number}
  | {type: 'unknown'; frameType: number; flags: number; payload: Buffer};

type WithHeaders<H> =
  | {type: 'syn_stream'; streamId: number; associatedId: number; priority: number; slot: number; flags: number; headers: H}
  | {type: 'syn_reply'; streamId: number; flags: number; headers: H}
  | {type: 'headers'; streamId: number; flags: number; headers: H};

/** A frame as cut from the wire: header blocks still compressed. */
export type RawFrame = OtherFrame | WithHeaders<Buffer>;
/** A frame with its header block inflated and parsed. */
export type Frame = OtherFrame | WithHeaders<HeaderMap>;

export class SpdyProtocolError extends Error {}

// The SPDY/3 header dictionary (draft 3, section 2.6.10.1): length-prefixed words, then a raw tail.
const DICTIONARY_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language', 'accept-ranges', 'age', 'allow',
  'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5',
  'content-range', 'content-type', 'date', 'etag', 'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer', 'retry-after',
  'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning', 'www-authenticate', 'method', 'get', 'status', '200 OK',
  'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
]; // prettier-ignore
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found' +
  '500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,' +
  'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const HEADER_DICTIONARY: Buffer = (() => {
  const parts: Buffer[] = [];
  for (const w of DICTIONARY_WORDS) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(DICTIONARY_TAIL, 'latin1'));
  return Buffer.concat(parts);
})();

/**
 * One direction's zlib context: every block is written and then flushed with Z_SYNC_FLUSH, so the
 * output ends on a byte boundary and the next block continues the same stream (as SPDY requires).
 * Calls run one after another in call order; a failure poisons the context for good.
 */
class ZContext {
  private chain: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  private pending: ((err: Error) => void) | null = null;
  private out: Buffer[] = [];
  private outBytes = 0;

  constructor(
    private readonly z: zlib.Deflate | zlib.Inflate,
    private readonly maxOutput: number,
  ) {
    // Flowing: output is collected as it comes, so zlib never waits on a reader (an inflated block
    // above the readable high-water mark would otherwise stall the flush forever).
    z.on('data', (c: Buffer) => {
      this.outBytes += c.length;
      if (this.outBytes > this.maxOutput) this.poison(new Error(`output exceeds ${this.maxOutput} bytes`));
      else this.out.push(c);
    });
    // After an error zlib never calls the flush callback: the pending call is rejected from here.
    z.on('error', (err: Error) => this.poison(err));
  }

  private poison(err: Error): void {
    this.failure ??= err;
    this.pending?.(this.failure);
    this.pending = null;
  }

  run(input: Buffer): Promise<Buffer> {
    const step = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          this.pending = reject;
          this.out = [];
          this.outBytes = 0;
          this.z.write(input);
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            // Anything still buffered is emitted (to the 'data' listener) by read().
            while (this.z.read() !== null);
            if (this.failure) return reject(this.failure);
            this.pending = null;
            resolve(Buffer.concat(this.out));
          });
        }),
    );
    this.chain = step.catch(() => undefined);
    return step;
  }

  close(): void {
    this.poison(new Error('closed'));
    this.z.destroy();
  }
}

/** Compresses header blocks for one direction (one shared deflate context). */
export class HeaderCompressor {
  private readonly ctx = new ZContext(zlib.createDeflate({level: zlib.constants.Z_BEST_COMPRESSION, dictionary: HEADER_DICTIONARY}), MAX_FRAME_PAYLOAD);

  compress(headers: HeaderMap): Promise<Buffer> {
    return this.ctx.run(encodeHeaderBlock(headers));
  }

  close(): void {
    this.ctx.close();
  }
}

/** Inflates header blocks for one direction (one shared inflate context); a failure leaves it unusable. */
export class HeaderDecompressor {
  private readonly ctx = new ZContext(zlib.createInflate({dictionary: HEADER_DICTIONARY}), MAX_HEADER_BLOCK);

  async decompress(block: Buffer, streamId: number): Promise<HeaderMap> {
    let raw: Buffer;
    try {
      raw = await this.ctx.run(block);
    } catch (err) {
      throw new SpdyProtocolError(`header block of stream ${streamId} does not inflate: ${(err as Error).message}`);
    }
    return decodeHeaderBlock(raw, streamId);
  }

  close(): void {
    this.ctx.close();
  }
}

/** The uncompressed name/value block: u32 count, then u32 length + bytes for each name and value. */
export function encodeHeaderBlock(headers: HeaderMap): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(raw: Buffer, streamId: number): HeaderMap {
  const bad = (why: string): never => {
    throw new SpdyProtocolError(`stream ${streamId}: malformed header block: ${why}`);
  };
  if (raw.length < 4) bad('no count');
  const count = raw.readUInt32BE(0);
  // Each pair takes at least 8 bytes, so a count beyond that is a lie.
  if (count > (raw.length - 4) / 8) bad(`count ${count} exceeds the block`);
  const headers: HeaderMap = Object.create(null) as HeaderMap;
  let off = 4;
  const field = (what: string): string => {
    if (off + 4 > raw.length) bad(`${what} length truncated`);
    const len = raw.readUInt32BE(off);
    off += 4;
    if (len > raw.length - off) bad(`${what} length ${len} exceeds the block`);
    const s = raw.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const name = field('name');
    if (name.length === 0) bad('empty header name');
    if (name !== name.toLowerCase()) bad(`header name ${JSON.stringify(name)} is not lower case`);
    if (Object.prototype.hasOwnProperty.call(headers, name)) bad(`duplicate header ${JSON.stringify(name)}`);
    headers[name] = field('value').split('\0');
  }
  if (off !== raw.length) bad(`${raw.length - off} bytes after the last header`);
  return headers;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function checkStreamId(id: number): void {
  if (!Number.isInteger(id) || id <= 0 || id > 0x7fffffff) throw new RangeError(`bad stream id ${id}`);
}

export function encodeData(streamId: number, data: Buffer, flags = 0): Buffer {
  checkStreamId(streamId);
  if (data.length > MAX_FRAME_PAYLOAD) throw new RangeError(`data frame payload ${data.length} exceeds 24 bits`);
  const b = Buffer.alloc(8 + data.length);
  b.writeUInt32BE(streamId, 0);
  b.writeUInt32BE((((flags & 0xff) << 24) >>> 0) + data.length, 4);
  data.copy(b, 8);
  return b;
}

export async function encodeSynStream(
  c: HeaderCompressor,
  f: {streamId: number; associatedId?: number; priority?: number; slot?: number; flags?: number; headers: HeaderMap},
): Promise<Buffer> {
  checkStreamId(f.streamId);
  const block = await c.compress(f.headers);
  const head = Buffer.alloc(10);
  head.writeUInt32BE(f.streamId, 0);
  head.writeUInt32BE((f.associatedId ?? 0) & 0x7fffffff, 4);
  head.writeUInt8(((f.priority ?? 0) & 7) << 5, 8);
  head.writeUInt8(f.slot ?? 0, 9);
  return Buffer.concat([controlHeader(FrameType.SYN_STREAM, f.flags ?? 0, 10 + block.length), head, block]);
}

export async function encodeSynReply(c: HeaderCompressor, streamId: number, headers: HeaderMap, flags = 0): Promise<Buffer> {
  checkStreamId(streamId);
  const block = await c.compress(headers);
  return Buffer.concat([controlHeader(FrameType.SYN_REPLY, flags, 4 + block.length), u32(streamId), block]);
}

export async function encodeHeaders(c: HeaderCompressor, streamId: number, headers: HeaderMap, flags = 0): Promise<Buffer> {
  checkStreamId(streamId);
  const block = await c.compress(headers);
  return Buffer.concat([controlHeader(FrameType.HEADERS, flags, 4 + block.length), u32(streamId), block]);
}

export function encodeRstStream(streamId: number, status: number): Buffer {
  checkStreamId(streamId);
  return Buffer.concat([controlHeader(FrameType.RST_STREAM, 0, 8), u32(streamId), u32(status)]);
}

export function encodeSettings(entries: Array<{flags?: number; id: number; value: number}>, flags = 0): Buffer {
  const parts = [controlHeader(FrameType.SETTINGS, flags, 4 + 8 * entries.length), u32(entries.length)];
  for (const e of entries) parts.push(u32((((e.flags ?? 0) & 0xff) << 24) + (e.id & 0xffffff)), u32(e.value));
  return Buffer.concat(parts);
}

export function encodePing(id: number): Buffer {
  return Buffer.concat([controlHeader(FrameType.PING, 0, 4), u32(id)]);
}

export function encodeGoAway(lastGoodStreamId: number, status: number = GoAwayStatus.OK): Buffer {
  return Buffer.concat([controlHeader(FrameType.GOAWAY, 0, 8), u32(lastGoodStreamId & 0x7fffffff), u32(status)]);
}

export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  if (!Number.isInteger(delta) || delta <= 0 || delta > 0x7fffffff) throw new RangeError(`bad window delta ${delta}`);
  return Buffer.concat([controlHeader(FrameType.WINDOW_UPDATE, 0, 8), u32(streamId & 0x7fffffff), u32(delta)]);
}

// Flags in the top byte make the word exceed int32: compose it unsigned.
function controlHeader(type: number, flags: number, length: number): Buffer {
  if (length > MAX_FRAME_PAYLOAD) throw new RangeError(`control frame payload ${length} exceeds 24 bits`);
  const b = Buffer.alloc(8);
  b.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  b.writeUInt16BE(type, 2);
  b.writeUInt32BE((flags & 0xff) * 0x1000000 + length, 4);
  return b;
}

export interface DecoderLimits {
  /** Largest control frame payload accepted (default MAX_CONTROL_PAYLOAD). */
  maxControlPayload?: number;
  /** Largest data frame payload accepted (default the 24-bit maximum). */
  maxDataPayload?: number;
}

/**
 * Cuts a byte stream into frames. next() returns a whole frame or null; the caller stops feeding
 * push() while frames wait (so at most one frame plus one socket read is buffered). Any malformed
 * frame throws SpdyProtocolError: the connection is then unusable (header contexts are shared), so
 * the caller closes it.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly maxControl: number;
  private readonly maxData: number;

  constructor(limits: DecoderLimits = {}) {
    this.maxControl = limits.maxControlPayload ?? MAX_CONTROL_PAYLOAD;
    this.maxData = limits.maxDataPayload ?? MAX_FRAME_PAYLOAD;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks.length > 1 && this.chunks[0].length < n) {
      const all = Buffer.concat(this.chunks);
      this.chunks = [all];
    }
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const head = this.peek(n);
    const first = this.chunks[0];
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    // Copy so a kept frame does not pin a large socket buffer.
    return Buffer.from(head);
  }

  /** The next whole frame, or null when more bytes are needed. */
  next(): RawFrame | null {
    if (this.buffered < 8) return null;
    const head = this.peek(8);
    const word0 = head.readUInt32BE(0);
    const word1 = head.readUInt32BE(4);
    const flags = word1 >>> 24;
    const length = word1 & 0xffffff;
    const control = (word0 & 0x80000000) !== 0;
    if (control) {
      const version = (word0 >>> 16) & 0x7fff;
      if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
      if (length > this.maxControl) throw new SpdyProtocolError(`control frame of ${length} bytes exceeds ${this.maxControl}`);
    } else {
      if (length > this.maxData) throw new SpdyProtocolError(`data frame of ${length} bytes exceeds ${this.maxData}`);
    }
    if (this.buffered < 8 + length) return null;
    this.take(8);
    const payload = this.take(length);
    if (!control) {
      const streamId = word0 & 0x7fffffff;
      if (streamId === 0) throw new SpdyProtocolError('data frame on stream 0');
      return {type: 'data', streamId, flags, data: payload};
    }
    return this.parseControl(word0 & 0xffff, flags, payload);
  }

  private parseControl(type: number, flags: number, p: Buffer): RawFrame {
    const need = (n: number, exact: boolean, name: string): void => {
      if (exact ? p.length !== n : p.length < n) throw new SpdyProtocolError(`${name} frame has ${p.length} bytes, ${exact ? 'needs exactly' : 'needs at least'} ${n}`);
    };
    const streamIdAt = (off: number, name: string): number => {
      const id = p.readUInt32BE(off) & 0x7fffffff;
      if (id === 0) throw new SpdyProtocolError(`${name} frame on stream 0`);
      return id;
    };
    switch (type) {
      case FrameType.SYN_STREAM: {
        need(10, false, 'SYN_STREAM');
        const streamId = streamIdAt(0, 'SYN_STREAM');
        const associatedId = p.readUInt32BE(4) & 0x7fffffff;
        const priority = p.readUInt8(8) >>> 5;
        const slot = p.readUInt8(9);
        return {type: 'syn_stream', streamId, associatedId, priority, slot, flags, headers: p.subarray(10)};
      }
      case FrameType.SYN_REPLY: {
        need(4, false, 'SYN_REPLY');
        const streamId = streamIdAt(0, 'SYN_REPLY');
        return {type: 'syn_reply', streamId, flags, headers: p.subarray(4)};
      }
      case FrameType.HEADERS: {
        need(4, false, 'HEADERS');
        const streamId = streamIdAt(0, 'HEADERS');
        return {type: 'headers', streamId, flags, headers: p.subarray(4)};
      }
      case FrameType.RST_STREAM: {
        need(8, true, 'RST_STREAM');
        const streamId = streamIdAt(0, 'RST_STREAM');
        const status = p.readUInt32BE(4);
        if (status === 0) throw new SpdyProtocolError('RST_STREAM with status 0');
        return {type: 'rst_stream', streamId, status};
      }
      case FrameType.SETTINGS: {
        need(4, false, 'SETTINGS');
        const n = p.readUInt32BE(0);
        if (p.length !== 4 + 8 * n) throw new SpdyProtocolError(`SETTINGS frame claims ${n} entries in ${p.length} bytes`);
        const entries = [];
        for (let i = 0; i < n; i++) {
          const w = p.readUInt32BE(4 + 8 * i);
          entries.push({flags: w >>> 24, id: w & 0xffffff, value: p.readUInt32BE(8 + 8 * i)});
        }
        return {type: 'settings', flags, entries};
      }
      case FrameType.PING:
        need(4, true, 'PING');
        return {type: 'ping', id: p.readUInt32BE(0)};
      case FrameType.GOAWAY:
        need(8, true, 'GOAWAY');
        return {type: 'goaway', lastGoodStreamId: p.readUInt32BE(0) & 0x7fffffff, status: p.readUInt32BE(4)};
      case FrameType.WINDOW_UPDATE: {
        need(8, true, 'WINDOW_UPDATE');
        const delta = p.readUInt32BE(4) & 0x7fffffff;
        if (delta === 0) throw new SpdyProtocolError('WINDOW_UPDATE with delta 0');
        return {type: 'window_update', streamId: p.readUInt32BE(0) & 0x7fffffff, delta};
      }
      default:
        // The draft: unknown control frames are ignored (CREDENTIAL, type 10, included).
        return {type: 'unknown', frameType: type, flags, payload: p};
    }
  }
}

/** Inflates the header block of a raw frame (in wire order: the context is shared). */
export async function inflateFrame(inflater: HeaderDecompressor, f: RawFrame): Promise<Frame> {
  if (f.type === 'syn_stream' || f.type === 'syn_reply' || f.type === 'headers') {
    return {...f, headers: await inflater.decompress(f.headers, f.streamId)};
  }
  return f;
}
