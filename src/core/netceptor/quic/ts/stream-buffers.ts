/**
 * Byte containers of the stream layer (./streams.ts): a set of disjoint half-open ranges, the
 * send buffer (bytes queued by the application, kept until acknowledged) and the receive
 * reassembly buffer. Bytes are kept as chunks; frames and reads take subarrays, never per-byte
 * loops.
 */

/** Disjoint, sorted, half-open ranges [start, end) of stream offsets; adjacent ranges merge. */
export class RangeSet {
  private starts: number[] = [];
  private ends: number[] = [];

  get size(): number {
    return this.starts.length;
  }

  isEmpty(): boolean {
    return this.starts.length === 0;
  }

  clear(): void {
    this.starts = [];
    this.ends = [];
  }

  /** First range, or null. */
  first(): [number, number] | null {
    return this.starts.length === 0 ? null : [this.starts[0]!, this.ends[0]!];
  }

  /** Index of the first range whose end is >= x (ranges touching x merge). */
  private lowerEnd(x: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    const n = this.starts.length;
    // fast path: append after the last range
    if (n === 0 || this.ends[n - 1]! < start) {
      this.starts.push(start);
      this.ends.push(end);
      return;
    }
    const i = this.lowerEnd(start);
    let j = i;
    let s = start;
    let e = end;
    while (j < n && this.starts[j]! <= e) {
      if (this.starts[j]! < s) s = this.starts[j]!;
      if (this.ends[j]! > e) e = this.ends[j]!;
      j++;
    }
    this.starts.splice(i, j - i, s);
    this.ends.splice(i, j - i, e);
  }

  remove(start: number, end: number): void {
    if (end <= start || this.starts.length === 0) return;
    let i = this.lowerEnd(start);
    if (i < this.starts.length && this.ends[i] === start) i++;
    while (i < this.starts.length && this.starts[i]! < end) {
      const s = this.starts[i]!;
      const e = this.ends[i]!;
      if (s < start && e > end) {
        // split in two
        this.starts.splice(i + 1, 0, end);
        this.ends.splice(i + 1, 0, e);
        this.ends[i] = start;
        return;
      }
      if (s < start) {
        this.ends[i] = start;
        i++;
      } else if (e > end) {
        this.starts[i] = end;
        return;
      } else {
        this.starts.splice(i, 1);
        this.ends.splice(i, 1);
      }
    }
  }

  /** Drops everything below x. */
  removeBelow(x: number): void {
    if (this.starts.length === 0 || this.starts[0]! >= x) return;
    this.remove(0, x);
  }

  /** Whether [start, end) is entirely covered. */
  covers(start: number, end: number): boolean {
    const i = this.lowerEnd(start + 1);
    return i < this.starts.length && this.starts[i]! <= start && this.ends[i]! >= end;
  }

  /** Calls fn for each sub-range of [start, end) that is NOT in the set. */
  forEachGap(start: number, end: number, fn: (s: number, e: number) => void): void {
    let cur = start;
    let i = this.lowerEnd(start + 1);
    while (cur < end) {
      if (i >= this.starts.length || this.starts[i]! >= end) {
        fn(cur, end);
        return;
      }
      const s = this.starts[i]!;
      if (s > cur) fn(cur, s);
      cur = Math.max(cur, this.ends[i]!);
      i++;
    }
  }

  /** The ranges as [start, end] pairs (tests, debugging). */
  toArray(): Array<[number, number]> {
    return this.starts.map((s, i) => [s, this.ends[i]!]);
  }
}

const SEND_SLAB = 64 * 1024;

/**
 * Bytes queued for sending, from the first unacknowledged offset to the write offset. Writes
 * are copied once (the caller may reuse its buffer) into slabs; small writes share a slab so
 * that frames stay large. `get` returns zero-copy subarrays that may stop at a slab boundary.
 */
export class SendBuffer {
  private chunks: Buffer[] = [];
  private bases: number[] = [];
  private lens: number[] = [];
  private head = 0;
  /** Offset of the first byte still held. */
  start = 0;
  /** Offset after the last byte queued. */
  end = 0;

  append(data: Buffer): void {
    let src = 0;
    const total = data.length;
    while (src < total) {
      const last = this.chunks.length - 1;
      if (last >= this.head) {
        const buf = this.chunks[last]!;
        const used = this.lens[last]!;
        const room = buf.length - used;
        if (room > 0) {
          const n = Math.min(room, total - src);
          data.copy(buf, used, src, src + n);
          this.lens[last] = used + n;
          src += n;
          this.end += n;
          continue;
        }
      }
      const remaining = total - src;
      const buf = Buffer.allocUnsafe(remaining >= SEND_SLAB ? remaining : SEND_SLAB);
      this.chunks.push(buf);
      this.bases.push(this.end);
      this.lens.push(0);
    }
  }

  /** Up to `max` bytes at `off` (start <= off < end), as a subarray of one chunk. */
  get(off: number, max: number): Buffer {
    let lo = this.head;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.bases[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    const rel = off - this.bases[lo]!;
    const n = Math.min(max, this.lens[lo]! - rel);
    return this.chunks[lo]!.subarray(rel, rel + n);
  }

  /** Frees bytes below `off` (acknowledged); the slab being filled is kept. */
  release(off: number): void {
    if (off > this.start) this.start = Math.min(off, this.end);
    const last = this.chunks.length - 1;
    while (this.head < last && this.bases[this.head]! + this.lens[this.head]! <= this.start) {
      this.chunks[this.head] = EMPTY;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.bases = this.bases.slice(this.head);
      this.lens = this.lens.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops everything (stream reset). */
  clear(): void {
    this.chunks = [];
    this.bases = [];
    this.lens = [];
    this.head = 0;
    this.start = this.end;
  }

  get buffered(): number {
    return this.end - this.start;
  }
}

const EMPTY = Buffer.alloc(0);
/** Pieces shorter than this are copied into owned chunks (and merged with neighbours). */
const SMALL_PIECE = 1024;
const OWNED_CHUNK = 4096;

export type InsertResult = 'ok' | 'too-many-gaps';

/**
 * Receive reassembly: non-overlapping chunks sorted by offset, from the read offset on.
 * Large pieces are kept as subarrays of the frame data (no copy) unless they would pin a much
 * larger buffer; small ones are copied into owned chunks so that a peer sending tiny frames
 * cannot make the chunk list grow per byte. The number of holes is bounded (`maxGaps`).
 */
export class RecvBuffer {
  private offs: number[] = [];
  private bufs: Buffer[] = [];
  private lens: number[] = [];
  /** Owned chunks may be appended to in place (buf.length is the capacity). */
  private owned: boolean[] = [];
  private head = 0;
  /** Next offset the application reads. */
  readOffset = 0;
  /** Holes between readOffset and the end of the last chunk. */
  gaps = 0;

  constructor(private readonly maxGaps = 1000) {}

  /** Whether bytes are readable at readOffset. */
  hasReadable(): boolean {
    return this.head < this.offs.length && this.offs[this.head] === this.readOffset;
  }

  /** Bytes buffered (in order or not). */
  get buffered(): number {
    let n = 0;
    for (let i = this.head; i < this.lens.length; i++) n += this.lens[i]!;
    return n;
  }

  private endOf(i: number): number {
    return this.offs[i]! + this.lens[i]!;
  }

  /** Stores [off, off + data.length); bytes already held or read are ignored. */
  insert(off: number, data: Buffer): InsertResult {
    let s = off;
    const e = off + data.length;
    if (s < this.readOffset) s = this.readOffset;
    if (e <= s) return 'ok';
    const n = this.offs.length;
    // fast path: at or after the end
    if (this.head === n || this.endOf(n - 1) <= s) {
      const prevEnd = this.head === n ? this.readOffset : this.endOf(n - 1);
      if (prevEnd !== s) {
        if (this.gaps >= this.maxGaps) return 'too-many-gaps';
        this.gaps++;
      }
      this.place(n, s, data.subarray(s - off), prevEnd === s);
      return 'ok';
    }
    // general case: fill the holes of [s, e) between existing chunks
    let lo = this.head;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.endOf(mid) <= s) lo = mid + 1;
      else hi = mid;
    }
    let i = lo;
    let cur = s;
    while (cur < e) {
      if (i < this.offs.length && this.offs[i]! <= cur) {
        cur = Math.max(cur, this.endOf(i));
        i++;
        continue;
      }
      const holeEnd = i < this.offs.length ? Math.min(e, this.offs[i]!) : e;
      const prevEnd = i > this.head ? this.endOf(i - 1) : this.readOffset;
      const touchesPrev = prevEnd === cur;
      const hasNext = i < this.offs.length;
      const touchesNext = hasNext && holeEnd === this.offs[i];
      const delta = touchesPrev && touchesNext ? -1 : !touchesPrev && (!hasNext || !touchesNext) ? 1 : 0;
      if (delta > 0 && this.gaps >= this.maxGaps) return 'too-many-gaps';
      this.gaps += delta;
      const before = this.offs.length;
      this.place(i, cur, data.subarray(cur - off, holeEnd - off), touchesPrev);
      i += this.offs.length - before;
      cur = holeEnd;
    }
    return 'ok';
  }

  /** Puts a piece at index i (before chunk i), merging small pieces into the previous owned chunk. */
  private place(i: number, off: number, piece: Buffer, touchesPrev: boolean): void {
    const len = piece.length;
    if (len < SMALL_PIECE) {
      const p = i - 1;
      if (touchesPrev && p >= this.head && this.owned[p] && this.bufs[p]!.length - this.lens[p]! >= len) {
        piece.copy(this.bufs[p]!, this.lens[p]!);
        this.lens[p]! += len;
        return;
      }
      const buf = Buffer.allocUnsafe(Math.max(OWNED_CHUNK, len));
      piece.copy(buf, 0);
      this.insertAt(i, off, buf, len, true);
      return;
    }
    // Keep a reference unless the piece is a small part of a large buffer.
    const keep = len * 8 >= piece.buffer.byteLength;
    const buf = keep ? piece : Buffer.from(piece);
    this.insertAt(i, off, buf, len, false);
  }

  private insertAt(i: number, off: number, buf: Buffer, len: number, owned: boolean): void {
    if (i === this.offs.length) {
      this.offs.push(off);
      this.bufs.push(buf);
      this.lens.push(len);
      this.owned.push(owned);
    } else {
      this.offs.splice(i, 0, off);
      this.bufs.splice(i, 0, buf);
      this.lens.splice(i, 0, len);
      this.owned.splice(i, 0, owned);
    }
  }

  /** Copies in-order bytes into out; returns the count. */
  read(out: Buffer): number {
    let pos = 0;
    const cap = out.length;
    while (pos < cap && this.head < this.offs.length && this.offs[this.head] === this.readOffset) {
      const buf = this.bufs[this.head]!;
      const len = this.lens[this.head]!;
      const n = Math.min(len, cap - pos);
      buf.copy(out, pos, 0, n);
      pos += n;
      this.readOffset += n;
      if (n === len) {
        this.bufs[this.head] = EMPTY;
        this.head++;
      } else {
        this.bufs[this.head] = buf.subarray(n);
        this.lens[this.head] = len - n;
        this.offs[this.head] = this.readOffset;
      }
    }
    this.compact();
    return pos;
  }

  private compact(): void {
    if (this.head === this.offs.length) {
      this.offs = [];
      this.bufs = [];
      this.lens = [];
      this.owned = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.offs.length) {
      this.offs = this.offs.slice(this.head);
      this.bufs = this.bufs.slice(this.head);
      this.lens = this.lens.slice(this.head);
      this.owned = this.owned.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops everything and moves the read offset (reset, or reading shut down). */
  discard(newReadOffset: number): void {
    this.offs = [];
    this.bufs = [];
    this.lens = [];
    this.owned = [];
    this.head = 0;
    this.gaps = 0;
    if (newReadOffset > this.readOffset) this.readOffset = newReadOffset;
  }
}
