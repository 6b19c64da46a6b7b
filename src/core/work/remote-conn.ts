/**
 * The client side of the control protocol over a mesh stream, as remote work uses it
 * (workceptor.md §8): one stream to another node's `control` service, request lines out,
 * reply lines in, then raw bytes (the `work results` stream) without losing any byte that
 * arrived after a reply line. Error texts follow Go's (`EOF`, `context deadline exceeded`,
 * `context canceled`), since they end up in unit details and logs.
 */
import type {Duplex} from 'node:stream';
import type {MeshStream} from '../netceptor/streams.js';
import {MAX_REPLY_LINE} from '../wire/control-codec.js';
import {LineReader} from '../wire/line-reader.js';

export function abortError(): Error {
  return new Error('context canceled');
}

export class RemoteControlConn {
  private readonly lines = new LineReader({maxLineLength: MAX_REPLY_LINE, label: 'reply line', cr: 'keep'});
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  readonly stream: Duplex;

  constructor(readonly mesh: MeshStream) {
    this.stream = mesh.conn.stream;
    const poke = () => this.wake?.();
    this.stream.on('readable', poke);
    this.stream.on('end', () => {
      this.ended = true;
      poke();
    });
    this.stream.on('error', (err: Error) => {
      this.failure ??= err;
      poke();
    });
    this.stream.on('close', () => {
      this.ended = true;
      poke();
    });
  }

  /** Waits for readable data, EOF, an error, the timeout or the abort. */
  private waitData(signal: AbortSignal | undefined, deadline: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.wake = undefined;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.wake = done;
      const timer = deadline !== undefined ? setTimeout(done, Math.max(0, deadline - Date.now())) : undefined;
      signal?.addEventListener('abort', done, {once: true});
    });
  }

  private pull(): boolean {
    const chunk = this.stream.read() as Buffer | null;
    if (chunk === null) return false;
    this.lines.push(chunk);
    return true;
  }

  /**
   * The next line including its LF. Errors: `EOF` when the stream ends first,
   * `context deadline exceeded` on timeout, `context canceled` on abort, LineTooLongError
   * (`reply line longer than 1048576 bytes`).
   */
  async readLine(signal?: AbortSignal, timeoutMs?: number): Promise<string> {
    const deadline = timeoutMs !== undefined ? Date.now() + timeoutMs : undefined;
    for (;;) {
      const line = this.lines.nextLine();
      if (line !== undefined) return line + '\n';
      if (this.pull()) continue;
      if (signal?.aborted) throw abortError();
      if (this.failure) throw this.failure;
      if (this.ended || this.stream.readableEnded) throw new Error('EOF');
      if (deadline !== undefined && Date.now() >= deadline) throw new Error('context deadline exceeded');
      await this.waitData(signal, deadline);
    }
  }

  /** The next raw chunk (buffered bytes first); undefined at EOF. Throws on stream errors. */
  async readChunk(signal?: AbortSignal): Promise<Buffer | undefined> {
    for (;;) {
      if (this.lines.size > 0) return this.lines.takeRest();
      const chunk = this.stream.read() as Buffer | null;
      if (chunk !== null) return chunk;
      if (signal?.aborted) throw abortError();
      if (this.failure) throw this.failure;
      if (this.ended || this.stream.readableEnded) return undefined;
      await this.waitData(signal, undefined);
    }
  }

  /** Writes and waits until the stream has taken the data (its flow control applies). */
  write(data: string | Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.stream.destroyed || this.stream.writableEnded) return reject(this.failure ?? new Error('use of closed network connection'));
      let settled = false;
      const fin = (err?: Error | null) => {
        if (settled) return;
        settled = true;
        this.stream.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onClose = () => fin(this.failure ?? new Error('use of closed network connection'));
      this.stream.once('close', onClose);
      this.stream.write(data, (err) => fin(err));
    });
  }

  /** Half-closes our direction (B sees EOF). */
  endWrite(): void {
    if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
  }

  /** Closes the whole connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.mesh.conn.close();
    } catch {
      // already gone
    }
    if (!this.stream.destroyed) this.stream.destroy();
  }
}
