/**
 * The control protocol's line reader, sans IO: the owner pushes the bytes it received and takes
 * complete lines. Bytes after a line are never lost: they stay buffered for the next line or,
 * when a command switches the connection to raw bytes (`work submit`, `work results`,
 * `connect`), for {@link LineReader.takeRest}. Shared by the control server, the CLI client and
 * remote work.
 */

const LF = 0x0a;
const CR = 0x0d;

/** A line (complete or still arriving) is longer than the reader's limit. */
export class LineTooLongError extends Error {
  constructor(
    /** The limit in bytes (without the LF). */
    readonly limit: number,
    label: string,
  ) {
    super(`${label} longer than ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}

export interface LineReaderOptions {
  /** Longest line in bytes, LF excluded (default: no limit). */
  maxLineLength?: number;
  /** Names the line in the LineTooLongError message (`<label> longer than N bytes`). */
  label?: string;
  /**
   * CR handling: `all` removes every CR byte of the line (the control server, like Go),
   * `trailing` removes one CR before the LF (CRLF replies), `keep` leaves the bytes alone.
   */
  cr?: 'all' | 'trailing' | 'keep';
}

export class LineReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** chunks[0..scanned) are known to hold no LF; they hold scannedBytes bytes. */
  private scanned = 0;
  private scannedBytes = 0;
  private readonly max: number;
  private readonly label: string;
  private readonly cr: 'all' | 'trailing' | 'keep';

  constructor(opts: LineReaderOptions = {}) {
    this.max = opts.maxLineLength ?? Infinity;
    this.label = opts.label ?? 'line';
    this.cr = opts.cr ?? 'keep';
  }

  /** Bytes buffered (unfinished line and anything after it). */
  get size(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.buffered += chunk.length;
  }

  /**
   * The next complete line without its LF, or undefined when none has arrived yet.
   * Throws LineTooLongError when the next line (complete or not) exceeds the limit; the
   * buffer is left as it was.
   */
  nextLine(): string | undefined {
    for (let i = this.scanned; i < this.chunks.length; i++) {
      const chunk = this.chunks[i]!; // i < length
      const idx = chunk.indexOf(LF);
      if (idx < 0) {
        this.scanned = i + 1;
        this.scannedBytes += chunk.length;
        continue;
      }
      const length = this.scannedBytes + idx;
      if (length > this.max) throw new LineTooLongError(this.max, this.label);
      const parts = this.chunks.slice(0, i);
      parts.push(chunk.subarray(0, idx));
      const rest = chunk.subarray(idx + 1);
      this.chunks = rest.length > 0 ? [rest, ...this.chunks.slice(i + 1)] : this.chunks.slice(i + 1);
      this.buffered -= length + 1;
      this.scanned = 0;
      this.scannedBytes = 0;
      return this.decode(parts.length === 1 ? chunk.subarray(0, idx) : Buffer.concat(parts, length));
    }
    if (this.buffered > this.max) throw new LineTooLongError(this.max, this.label);
    return undefined;
  }

  /** At end of input: the unterminated last line, if any (consumed). */
  takePartial(): string | undefined {
    if (this.buffered === 0) return undefined;
    if (this.buffered > this.max) throw new LineTooLongError(this.max, this.label);
    return this.decode(this.takeRest());
  }

  /** Every buffered byte, consumed (the raw-stream phase starts with these). */
  takeRest(): Buffer {
    const all = this.peek();
    this.chunks = [];
    this.buffered = 0;
    this.scanned = 0;
    this.scannedBytes = 0;
    return all;
  }

  /** Every buffered byte, left in place. */
  peek(): Buffer {
    const [only] = this.chunks;
    if (only && this.chunks.length === 1) return only;
    const all = Buffer.concat(this.chunks, this.buffered);
    // Keep the joined copy: the scan restarts, and a later peek costs nothing.
    this.chunks = this.buffered > 0 ? [all] : [];
    this.scanned = 0;
    this.scannedBytes = 0;
    return all;
  }

  private decode(line: Buffer): string {
    if (this.cr === 'all' && line.includes(CR)) return Buffer.from(line.filter((x) => x !== CR)).toString('utf8');
    if (this.cr === 'trailing' && line.length > 0 && line[line.length - 1] === CR) return line.toString('utf8', 0, line.length - 1);
    return line.toString('utf8');
  }
}
