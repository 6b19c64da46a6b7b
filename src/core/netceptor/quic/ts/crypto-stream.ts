/**
 * The CRYPTO stream of one packet number space (RFC 9000 §19.6, RFC 9001 §4.1.3): outgoing
 * handshake bytes with retransmission of lost or unacknowledged ranges, and in-order
 * reassembly of received ones, bounded (CRYPTO_BUFFER_EXCEEDED past the limit).
 */
import {TransportError, wireError, type WireError} from './errors.js';

/** How far ahead of the delivered offset received CRYPTO data may reach (RFC 9000 §7.5). */
export const MAX_CRYPTO_BUFFER = 64 * 1024;

export class CryptoSendStream {
  /** Every byte handed over by TLS at this level (handshake flights are small). */
  private data: Buffer = Buffer.alloc(0);
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  /** Next never-sent offset. */
  sent = 0;
  /** Ranges to send again, [offset, end). */
  private retransmit: Array<[number, number]> = [];
  /** One flag per byte: acknowledged. */
  private acked: Uint8Array = new Uint8Array(0);

  push(b: Buffer): void {
    this.chunks.push(b);
    this.chunkBytes += b.length;
  }

  private flatten(): void {
    if (this.chunks.length === 0) return;
    this.data = Buffer.concat([this.data, ...this.chunks]);
    this.chunks = [];
    this.chunkBytes = 0;
    if (this.acked.length < this.data.length) {
      const a = new Uint8Array(this.data.length);
      a.set(this.acked);
      this.acked = a;
    }
  }

  get length(): number {
    return this.data.length + this.chunkBytes;
  }

  hasPending(): boolean {
    return this.retransmit.length > 0 || this.sent < this.length;
  }

  /** The next range to send, at most `max` bytes: retransmissions first. */
  next(max: number): {offset: number; data: Buffer} | null {
    if (max <= 0) return null;
    this.flatten();
    while (this.retransmit.length > 0) {
      const r = this.retransmit[0] as [number, number];
      // Skip bytes acknowledged meanwhile.
      while (r[0] < r[1] && this.acked[r[0]] === 1) r[0]++;
      if (r[0] >= r[1]) {
        this.retransmit.shift();
        continue;
      }
      let end = Math.min(r[1], r[0] + max);
      for (let i = r[0]; i < end; i++) {
        if (this.acked[i] === 1) {
          end = i;
          break;
        }
      }
      const offset = r[0];
      r[0] = end;
      if (r[0] >= r[1]) this.retransmit.shift();
      return {offset, data: this.data.subarray(offset, end)};
    }
    if (this.sent >= this.data.length) return null;
    const offset = this.sent;
    const end = Math.min(this.data.length, offset + max);
    this.sent = end;
    return {offset, data: this.data.subarray(offset, end)};
  }

  onAcked(offset: number, len: number): void {
    this.acked.fill(1, offset, Math.min(offset + len, this.acked.length));
  }

  onLost(offset: number, len: number): void {
    if (len > 0) this.retransmit.push([offset, offset + len]);
  }

  /** PTO with nothing new: send every sent, unacknowledged byte again. */
  requeueUnacked(): boolean {
    let any = false;
    let start = -1;
    for (let i = 0; i <= this.sent; i++) {
      const un = i < this.sent && this.acked[i] !== 1;
      if (un && start < 0) start = i;
      if (!un && start >= 0) {
        this.retransmit.push([start, i]);
        start = -1;
        any = true;
      }
    }
    return any;
  }

  clear(): void {
    this.retransmit = [];
    this.sent = this.length;
  }
}

export class CryptoRecvStream {
  /** Next offset to deliver. */
  offset = 0;
  private pending: Array<{offset: number; data: Buffer}> = [];

  /** Adds a received CRYPTO frame; returns the in-order bytes now deliverable, or an error. */
  receive(offset: number, data: Buffer): Buffer[] | WireError {
    const end = offset + data.length;
    if (end <= this.offset) return [];
    if (end - this.offset > MAX_CRYPTO_BUFFER) return wireError(TransportError.CRYPTO_BUFFER_EXCEEDED, 'too much CRYPTO data buffered', 0x06);
    const out: Buffer[] = [];
    if (offset <= this.offset) {
      out.push(data.subarray(this.offset - offset));
      this.offset = end;
      for (;;) {
        const i = this.pending.findIndex((p) => p.offset <= this.offset);
        if (i < 0) break;
        const p = this.pending[i] as {offset: number; data: Buffer};
        this.pending.splice(i, 1);
        const pend = p.offset + p.data.length;
        if (pend > this.offset) {
          out.push(p.data.subarray(this.offset - p.offset));
          this.offset = pend;
        }
      }
    } else {
      // Bounded: duplicates are skipped, and the fragment count is capped.
      if (this.pending.some((p) => p.offset <= offset && p.offset + p.data.length >= end)) return out;
      if (this.pending.length >= 256) return wireError(TransportError.CRYPTO_BUFFER_EXCEEDED, 'too many CRYPTO fragments', 0x06);
      this.pending.push({offset, data});
    }
    return out;
  }
}
