/**
 * The container log as the API serves it with `timestamps=true` (sans-IO): each CRI record is
 * `<RFC3339Nano> <content>`. A full record ends with LF; a partial record (containerd splits
 * lines longer than its maximum, 16 KiB by default) has no LF, so the next record's
 * timestamp follows right after its content (kubelet's logWriter: prefix + content, nothing
 * else). We find that boundary by the next fixed-format timestamp (kubelet writes
 * RFC3339NanoFixed, 30 bytes) followed by a space, not earlier than the current one.
 *
 * Then {@link LogResume} decides which records were already written, so a reconnect with
 * `sinceTime` (second precision) neither duplicates nor drops a record.
 */

/** One record: its timestamp as a sortable key (undefined when the line had none) and its bytes. */
export interface LogRecord {
  ts: string | undefined;
  content: Buffer;
}

const TS_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;
const FIXED_LEN = 30; // 2006-01-02T15:04:05.000000000Z
const FIXED_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

/** A timestamp as a key that sorts like time: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn` in UTC; undefined if not RFC 3339. */
export function timestampKey(s: string): string | undefined {
  const m = TS_RE.exec(s);
  if (!m) return undefined;
  let secs = m[1];
  const frac = (m[2] ?? '').padEnd(9, '0');
  if (m[3] !== 'Z') {
    const ms = Date.parse(`${m[1]}${m[3]}`);
    if (Number.isNaN(ms)) return undefined;
    secs = new Date(ms).toISOString().slice(0, 19);
  } else if (Number.isNaN(Date.parse(`${secs}Z`))) return undefined;
  return `${secs}.${frac}`;
}

/** `sinceTime` for a key: RFC 3339 truncated to the second (what metav1.Time carries). */
export function sinceTimeOf(key: string): string {
  return `${key.slice(0, 19)}Z`;
}

/** Splits a timestamped log stream into records. Feed chunks; finish with endClean or endBroken. */
export class TimestampedLogParser {
  private store: Buffer = Buffer.alloc(0);
  private buf: Buffer = Buffer.alloc(0);
  /** Where the current record's content starts (after `<ts> `), or -1 before its timestamp is read. */
  private contentStart = -1;
  private curTs: string | undefined;
  /** How far the current content was searched for LF / a next timestamp. */
  private scanned = 0;

  /** The records completed by this chunk (their content is copied: valid after later feeds). */
  feed(chunk: Buffer): LogRecord[] {
    this.append(chunk);
    const out: LogRecord[] = [];
    let pos = 0;
    for (;;) {
      if (this.contentStart < 0) {
        const sp = this.buf.indexOf(0x20, pos);
        const nl = this.buf.indexOf(0x0a, pos);
        if (nl >= 0 && (sp < 0 || nl < sp)) {
          // A line without a space: no timestamp; keep its bytes.
          out.push({ts: undefined, content: Buffer.from(this.buf.subarray(pos, nl + 1))});
          pos = nl + 1;
          continue;
        }
        if (sp < 0) break;
        const key = timestampKey(this.buf.toString('latin1', pos, sp));
        if (key === undefined) {
          // Not a timestamp: the whole line is content (Go HEAD writes it too).
          this.curTs = undefined;
          this.contentStart = pos;
        } else {
          this.curTs = key;
          this.contentStart = sp + 1;
        }
        this.scanned = this.contentStart;
      }
      const end = this.findEnd();
      if (end === undefined) break;
      out.push({ts: this.curTs, content: Buffer.from(this.buf.subarray(this.contentStart, end.contentEnd))});
      pos = end.next;
      this.contentStart = -1;
    }
    this.compact(pos);
    return out;
  }

  /** The stream ended cleanly: trailing bytes are a complete (partial, LF-less) record. */
  endClean(): LogRecord[] {
    const out: LogRecord[] = [];
    if (this.contentStart >= 0) {
      if (this.buf.length > this.contentStart) out.push({ts: this.curTs, content: Buffer.from(this.buf.subarray(this.contentStart))});
    } else if (this.buf.length > 0) {
      const sp = this.buf.indexOf(0x20);
      const key = sp < 0 ? undefined : timestampKey(this.buf.toString('latin1', 0, sp));
      if (key !== undefined) out.push({ts: key, content: Buffer.from(this.buf.subarray(sp + 1))});
      else out.push({ts: undefined, content: Buffer.from(this.buf)});
    }
    this.reset();
    return out;
  }

  /** The stream broke: an incomplete trailing record is dropped (it is sent again). Returns its size. */
  endBroken(): number {
    const n = this.buf.length;
    this.reset();
    return n;
  }

  /**
   * Appends to a buffer that grows by doubling (a long line arriving in many chunks is copied
   * O(n) times in total, not once per chunk); `buf` is the unread part of it.
   */
  private append(chunk: Buffer): void {
    const used = this.buf.length;
    const startInStore = this.buf.byteOffset - this.store.byteOffset;
    if (this.buf.buffer === this.store.buffer && startInStore + used + chunk.length <= this.store.length) {
      chunk.copy(this.store, startInStore + used);
      this.buf = this.store.subarray(startInStore, startInStore + used + chunk.length);
      return;
    }
    const need = used + chunk.length;
    if (need > this.store.length || this.buf.buffer !== this.store.buffer) {
      const next = Buffer.allocUnsafe(Math.max(need * 2, 64 * 1024));
      this.buf.copy(next, 0);
      this.store = next;
    } else {
      this.store.copyWithin(0, startInStore, startInStore + used);
    }
    chunk.copy(this.store, used);
    this.buf = this.store.subarray(0, need);
  }

  private reset(): void {
    this.buf = Buffer.alloc(0);
    this.contentStart = -1;
    this.curTs = undefined;
    this.scanned = 0;
  }

  private compact(pos: number): void {
    if (pos === 0) return;
    this.buf = this.buf.subarray(pos);
    if (this.contentStart >= 0) {
      this.contentStart -= pos;
      this.scanned -= pos;
    }
  }

  /** End of the current record: LF, or the start of the next record's fixed timestamp. */
  private findEnd(): {contentEnd: number; next: number} | undefined {
    const nl = this.buf.indexOf(0x0a, this.scanned);
    const limit = nl >= 0 ? nl : this.buf.length;
    if (this.curTs !== undefined) {
      // Candidates: "Z " with a fixed timestamp ending at the Z.
      let from = Math.max(this.scanned, this.contentStart + FIXED_LEN - 1);
      for (;;) {
        const z = this.buf.indexOf('Z ', from, 'latin1');
        if (z < 0 || z >= limit) break;
        const start = z - (FIXED_LEN - 1);
        const cand = this.buf.toString('latin1', start, z + 1);
        if (FIXED_RE.test(cand)) {
          const key = timestampKey(cand);
          if (key !== undefined && key >= this.curTs) return {contentEnd: start, next: start};
        }
        from = z + 1;
      }
    }
    if (nl >= 0) return {contentEnd: nl + 1, next: nl + 1};
    // Keep the tail that could still become a candidate once more bytes arrive.
    this.scanned = Math.max(this.contentStart, this.buf.length - (FIXED_LEN + 1));
    return undefined;
  }
}

/** Where the output stands: the last timestamp written and how many records with it were written. */
export interface LogPosition {
  ts: string;
  count: number;
}

/**
 * Which records to write. After a reconnect from `sinceTime` the server resends everything of
 * that second: records before the last written timestamp are skipped, and of those at exactly
 * that timestamp as many as were already written. Once a record passes, the rest of the
 * stream is new.
 */
export class LogResume {
  private pos: LogPosition | undefined;
  private resuming = false;
  private seenAtLast = 0;

  constructor(pos?: LogPosition) {
    this.pos = pos ? {...pos} : undefined;
    this.resuming = pos !== undefined;
  }

  /** The position after what was accepted so far. */
  position(): LogPosition | undefined {
    return this.pos ? {...this.pos} : undefined;
  }

  /** `sinceTime` for the next connection, or undefined to read from the start. */
  sinceTime(): string | undefined {
    return this.pos ? sinceTimeOf(this.pos.ts) : undefined;
  }

  /** A new connection starts (it resends from sinceTime). */
  reconnect(): void {
    this.resuming = this.pos !== undefined;
    this.seenAtLast = 0;
  }

  /** Whether the record is new (to be written); updates the position. */
  accept(ts: string | undefined): boolean {
    if (ts === undefined) return !this.resuming;
    const p = this.pos;
    if (!p) {
      this.pos = {ts, count: 1};
      return true;
    }
    if (this.resuming) {
      if (ts < p.ts) return false;
      if (ts === p.ts) {
        this.seenAtLast++;
        if (this.seenAtLast <= p.count) return false;
        p.count = this.seenAtLast;
        this.resuming = false;
        return true;
      }
      this.resuming = false;
    }
    if (ts > p.ts) this.pos = {ts, count: 1};
    else if (ts === p.ts) p.count++;
    return true;
  }
}
