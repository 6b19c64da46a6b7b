/**
 * A container's log as containerd writes it (CRI records: timestamp, stream, P/F tag, content)
 * and as kubelet serves it (pkg/kubelet/kuberuntime/logs/logs.go, v1.29).
 *
 * Modelled:
 * - containerd cuts each stream into lines; a line longer than the max line size is written as
 *   P (partial) records of that size and a final F record. Output left without a newline when
 *   the stream closes is written as an F record (so kubelet adds the newline).
 * - kubelet's reader: an F record's content gets "\n" back; a record older than `since` is
 *   skipped; with `timestamps` the prefix `<RFC3339NanoFixed> ` is written only when the previous
 *   record ended a line (kubelet >= 1.27 "addPrefix"; older kubelets prefixed every record, set
 *   `prefixEveryRecord` to model them); `tailLines` counts records; `limitBytes` cuts the output.
 * - follow: waits for more, ends once the container has terminated and everything is written.
 * - rotation: a follow stream ends cleanly after the records it could still read; later readers
 *   see only records written after the rotation.
 */
import type {ServerResponse} from 'node:http';
import {formatNs} from './time.js';

export interface LogRecord {
  ts: bigint;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  /** Content as kubelet hands it on: an F record ends with "\n". */
  data: Buffer;
}

/** Lines longer than this are cut into partial records even without `logLineMax` (bounds memory). */
export const HARD_LINE_MAX = 8 * 1024 * 1024;

export class ContainerLog {
  /** Replaced (not cleared) on rotation, so readers of the old file finish it. */
  records: LogRecord[] = [];
  terminated = false;
  private readonly pending = {stdout: [] as Buffer[], stderr: [] as Buffer[]};
  private readonly pendingLen = {stdout: 0, stderr: 0};
  private readonly waiters = new Set<() => void>();

  /** Bytes in the current file (records). */
  private bytes = 0;

  constructor(
    private readonly clock: () => bigint,
    private readonly lineMax: number,
    /** kubelet's containerLogMaxSize: the file is rotated once it grows past this. */
    private readonly maxBytes: number = Number.POSITIVE_INFINITY,
  ) {}

  get size(): number {
    return this.records.length;
  }

  append(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      this.pending[stream].push(chunk.subarray(start, nl));
      this.pendingLen[stream] += nl - start;
      this.flushLine(stream, true);
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.pending[stream].push(chunk.subarray(start));
      this.pendingLen[stream] += chunk.length - start;
      if (this.pendingLen[stream] >= this.lineMax) this.flushLine(stream, false);
    }
    this.wake();
  }

  /** The container's streams closed: what is left becomes a full line. */
  finish(): void {
    for (const s of ['stdout', 'stderr'] as const) if (this.pendingLen[s] > 0) this.flushLine(s, true);
    this.terminated = true;
    this.wake();
  }

  rotate(): void {
    this.records = [];
    this.bytes = 0;
    this.wake();
  }

  /** Resolves at the next append, finish or rotation. */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  private wake(): void {
    const w = [...this.waiters];
    this.waiters.clear();
    for (const f of w) f();
  }

  /** full: the pending bytes end a line. Otherwise only whole lineMax pieces are cut off. */
  private flushLine(stream: 'stdout' | 'stderr', full: boolean): void {
    const buf = Buffer.concat(this.pending[stream]);
    let off = 0;
    while (buf.length - off > this.lineMax || (!full && buf.length - off >= this.lineMax)) {
      this.push(stream, true, buf.subarray(off, off + this.lineMax));
      off += this.lineMax;
    }
    const rest = buf.subarray(off);
    if (full) {
      this.push(stream, false, Buffer.concat([rest, Buffer.from('\n')]));
      this.pending[stream] = [];
      this.pendingLen[stream] = 0;
    } else {
      this.pending[stream] = rest.length ? [Buffer.from(rest)] : [];
      this.pendingLen[stream] = rest.length;
    }
  }

  private push(stream: 'stdout' | 'stderr', partial: boolean, data: Buffer): void {
    if (this.bytes + data.length > this.maxBytes && this.records.length > 0) this.rotate();
    this.records.push({ts: this.clock(), stream, partial, data: Buffer.from(data)});
    this.bytes += data.length;
  }
}

export interface LogOptions {
  follow: boolean;
  timestamps: boolean;
  /** Nanoseconds; records older are skipped. */
  since: bigint | null;
  tailLines: number | null;
  limitBytes: number | null;
  prefixEveryRecord: boolean;
}

/** Hooks the server uses to break a stream on purpose. */
export interface LogStreamControl {
  res: ServerResponse;
  sent: number;
  /** Destroy the socket once `sent` reaches this (bytes of log payload). */
  breakAt: number | null;
}

const CHUNK = 64 * 1024;

/** Writes the log to `res` (headers already sent) and ends it; returns when done or broken. */
export async function serveLog(log: ContainerLog, opts: LogOptions, ctl: LogStreamControl): Promise<void> {
  const {res} = ctl;
  const file = log.records;
  let i = opts.tailLines !== null ? Math.max(0, file.length - opts.tailLines) : 0;
  let remain = opts.limitBytes ?? Number.POSITIVE_INFINITY;
  let isNewLine = true;
  let out: Buffer[] = [];
  let outLen = 0;
  const gone = (): boolean => res.destroyed || res.writableEnded;
  const closed = new Promise<void>((resolve) => res.once('close', resolve));

  // false: the stream was broken (or the client left); stop.
  const flush = async (): Promise<boolean> => {
    if (outLen === 0) return !gone();
    let data = Buffer.concat(out, outLen);
    out = [];
    outLen = 0;
    let breakNow = false;
    if (ctl.breakAt !== null && ctl.sent + data.length >= ctl.breakAt) {
      data = data.subarray(0, Math.max(0, ctl.breakAt - ctl.sent));
      breakNow = true;
    }
    if (gone()) return false;
    ctl.sent += data.length;
    if (breakNow) {
      await new Promise<void>((resolve) => {
        res.write(data, () => resolve());
        res.once('close', () => resolve());
      });
      res.socket?.destroy();
      res.destroy();
      return false;
    }
    if (!res.write(data)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    return !gone();
  };

  for (;;) {
    while (i < file.length) {
      const r = file[i++];
      if (opts.since !== null && r.ts < opts.since) {
        isNewLine = !r.partial;
        continue;
      }
      let line = r.data;
      if (opts.timestamps && (isNewLine || opts.prefixEveryRecord)) line = Buffer.concat([Buffer.from(formatNs(r.ts) + ' '), line]);
      isNewLine = !r.partial;
      if (line.length > remain) line = line.subarray(0, remain);
      out.push(line);
      outLen += line.length;
      remain -= line.length;
      if (remain <= 0) {
        if (await flush()) res.end();
        return;
      }
      if (outLen >= CHUNK && !(await flush())) return;
    }
    if (!(await flush())) return;
    if (!opts.follow) break;
    if (i >= file.length && (file !== log.records || log.terminated)) break; // rotated, or all written
    if (i < file.length || file !== log.records) continue;
    await Promise.race([log.changed(), closed]);
    if (gone()) return;
  }
  res.end();
}
