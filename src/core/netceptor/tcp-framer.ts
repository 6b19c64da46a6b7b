/**
 * TCP (and other byte-stream) framing for netceptor messages (netceptor-wire.md §2.2):
 * each message is preceded by its length as an unsigned 16-bit LITTLE-endian integer.
 * Frames may arrive split across reads or several to a read; `TcpFramer` reassembles them.
 *
 * A zero-length frame is a protocol error (it crashes Go, §2.1): the framer refuses it and
 * stays failed. Messages are returned as views into the pushed chunk when they lie wholly
 * inside it (no copy); a message spread over several chunks is assembled in its own Buffer.
 */

/** Largest message a 16-bit length prefix can describe. */
export const MAX_TCP_MESSAGE = 0xffff;

export type TcpFrameErrorCode = 'zero-length' | 'too-large' | 'empty';

export class TcpFrameError extends Error {
  readonly code: TcpFrameErrorCode;
  /** Whole messages that preceded the bad frame in the same push (deliver them first). */
  readonly messages: Buffer[];
  constructor(code: TcpFrameErrorCode, message: string, messages: Buffer[] = []) {
    super(message);
    this.name = 'TcpFrameError';
    this.code = code;
    this.messages = messages;
  }
}

/** `u16le length | msg` as one Buffer. Refuses empty messages and messages over 65535 bytes. */
export function encodeTcpFrame(msg: Uint8Array): Buffer {
  if (msg.length === 0) throw new TcpFrameError('empty', 'refusing to frame an empty message');
  if (msg.length > MAX_TCP_MESSAGE) throw new TcpFrameError('too-large', `a ${msg.length}-byte message does not fit a TCP frame (max ${MAX_TCP_MESSAGE})`);
  const out = Buffer.allocUnsafe(2 + msg.length);
  out.writeUInt16LE(msg.length, 0);
  out.set(msg, 2);
  return out;
}

export class TcpFramer {
  /** First byte of a length prefix split across chunks, or -1. */
  private lengthLow = -1;
  /** A message being assembled across chunks, and how much of it is filled. */
  private partial: Buffer | null = null;
  private filled = 0;
  private failure = false;

  /** Bytes received that do not yet form a whole message. */
  get buffered(): number {
    return (this.lengthLow >= 0 ? 1 : 0) + (this.partial === null ? 0 : 2 + this.filled);
  }

  /** True after a zero-length frame; every later push throws (with no messages). */
  get failed(): boolean {
    return this.failure;
  }

  /**
   * Feeds one chunk of the byte stream; returns the messages it completes, in order.
   * Throws TcpFrameError on a zero-length frame (its `messages` holds the whole messages
   * before it in this chunk).
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw new TcpFrameError('zero-length', 'the stream already carried a zero-length frame');
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Buffer[] = [];
    let off = 0;
    if (this.lengthLow >= 0 && data.length > 0) {
      const len = this.lengthLow | (data[0]! << 8);
      this.lengthLow = -1;
      off = 1;
      this.startPartial(len, out);
    }
    if (this.partial !== null) {
      const n = Math.min(this.partial.length - this.filled, data.length - off);
      data.copy(this.partial, this.filled, off, off + n);
      this.filled += n;
      off += n;
      if (this.filled < this.partial.length) return out;
      out.push(this.partial);
      this.partial = null;
    }
    while (data.length - off >= 2) {
      const len = data.readUInt16LE(off);
      if (len === 0) this.fail(out);
      off += 2;
      if (data.length - off >= len) {
        out.push(data.subarray(off, off + len));
        off += len;
      } else {
        this.partial = Buffer.allocUnsafe(len);
        this.filled = data.copy(this.partial, 0, off);
        off = data.length;
      }
    }
    if (off < data.length) this.lengthLow = data[off]!;
    return out;
  }

  private startPartial(len: number, out: Buffer[]): void {
    if (len === 0) this.fail(out);
    this.partial = Buffer.allocUnsafe(len);
    this.filled = 0;
  }

  private fail(out: Buffer[]): never {
    this.failure = true;
    throw new TcpFrameError('zero-length', 'received a zero-length frame', out);
  }
}
