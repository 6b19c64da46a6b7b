/**
 * Control-service sessions (control-service.md §3): greeting, one request line at a time,
 * one reply line per command, raw mode for streaming commands. The same session code runs
 * on unix sockets, TCP/TLS and mesh streams.
 */
import type {Duplex} from 'node:stream';
import type {Logger} from 'pino';
import type {Runtime} from '../config/types.js';
import {LineReader, LineTooLongError} from '../wire/line-reader.js';
import {ControlError, encodeReply, MAX_REQUEST_LINE, parseRequestLine, type Request} from './protocol.js';
import {rawChannel} from './raw.js';

export interface ControlConnection {
  /** Unix-socket peers skip work-signature verification (workceptor.md §9). */
  readonly isUnix: boolean;
  /** Describes the peer for logs. */
  readonly remote: string;
  /** Transport: `unix`, `tcp`, `tls`, `mesh`. */
  readonly transport: string;
}

export interface CommandContext {
  readonly conn: ControlConnection;
  readonly rt: Runtime;
  readonly logger: Logger;
  /** Aborted when the session ends. */
  readonly signal: AbortSignal;
  /** Writes one line (a streaming preamble such as `Connecting`). */
  writeLine(text: string): void;
  /** Writes a JSON reply line immediately (e.g. one line per traceroute hop). */
  writeReply(reply: Record<string, unknown>): void;
  /**
   * Takes over the connection for raw streaming: the bytes already read past the request
   * line are put back into the stream, which the handler then owns. The session reads no
   * further commands.
   */
  takeRaw(): Duplex;
}

/** A control command (the node's command table; plugins add their own). */
export interface ControlCommand {
  readonly name: string;
  /**
   * Runs one request. Returns the reply object, or undefined when the handler has written
   * everything itself (streaming). Throws ControlError for `ERROR: <message>` replies.
   */
  execute(req: Request, ctx: CommandContext): Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;
}

export const CONTROL_COMMANDS = 'control-command';

declare module '../config/types.js' {
  interface RegistryKinds {
    'control-command': ControlCommand;
  }
}

/** Runs one session on a connected stream until the client goes away. */
export function runControlSession(stream: Duplex, conn: ControlConnection, rt: Runtime, logger: Logger): Promise<void> {
  return new Session(stream, conn, rt, logger).run();
}

class Session {
  private readonly lines = new LineReader({maxLineLength: MAX_REQUEST_LINE, label: 'request line', cr: 'all'});
  private readonly abort = new AbortController();
  private busy = false;
  private ended = false;
  private taken = false;
  private finished = false;
  private resolveDone!: () => void;
  private readonly done = new Promise<void>((r) => (this.resolveDone = r));
  private readonly onData = (chunk: Buffer) => {
    this.lines.push(chunk);
    void this.pump();
  };
  private readonly onEnd = () => {
    this.ended = true;
    void this.pump();
  };
  private readonly onClose = () => this.finish(false);

  constructor(
    private readonly stream: Duplex,
    private readonly conn: ControlConnection,
    private readonly rt: Runtime,
    private readonly logger: Logger,
  ) {}

  run(): Promise<void> {
    this.stream.on('error', (err) => {
      this.logger.debug({err, remote: this.conn.remote}, 'control session error');
      this.finish(false);
    });
    this.stream.on('data', this.onData);
    this.stream.on('end', this.onEnd);
    this.stream.on('close', this.onClose);
    this.write(`Receptor Control, node ${this.rt.node.id}\n`);
    return this.done;
  }

  private write(text: string): void {
    if (this.finished || this.stream.destroyed || this.stream.writableEnded) return;
    this.stream.write(text);
  }

  private finish(endStream: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.abort.abort();
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onClose);
    if (endStream && !this.stream.destroyed) this.stream.end();
    this.resolveDone();
  }

  private async pump(): Promise<void> {
    if (this.busy || this.taken || this.finished) return;
    this.busy = true;
    this.stream.pause();
    try {
      for (;;) {
        let line: string | undefined;
        let last = false;
        try {
          line = this.lines.nextLine();
          if (line === undefined && this.ended) {
            line = this.lines.takePartial();
            last = true;
          }
        } catch (err) {
          if (!(err instanceof LineTooLongError)) throw err;
          this.logger.warn({remote: this.conn.remote}, 'control request line too long; closing the session');
          this.write(`ERROR: ${err.message}\n`);
          this.finish(true);
          // Read and drop the rest, so a client still sending can finish and see the close.
          this.stream.resume();
          return;
        }
        if (line === undefined) {
          if (this.ended) this.finish(true);
          break;
        }
        await this.execute(line);
        if (this.taken || this.finished) return;
        if (last) {
          this.finish(true);
          return;
        }
      }
    } finally {
      this.busy = false;
      if (!this.taken && !this.finished) this.stream.resume();
    }
  }

  private async execute(line: string): Promise<void> {
    const parsed = parseRequestLine(line);
    if ('empty' in parsed) return;
    if ('errors' in parsed) {
      for (const e of parsed.errors) this.write(`ERROR: ${e}\n`);
      return;
    }
    const req = parsed.request;
    const cmd = this.rt.registry(CONTROL_COMMANDS).get(req.command);
    if (!cmd) {
      this.write('ERROR: Unknown command\n');
      return;
    }
    const ctx: CommandContext = {
      conn: this.conn,
      rt: this.rt,
      logger: this.logger,
      signal: this.abort.signal,
      writeLine: (text) => this.write(`${text}\n`),
      writeReply: (reply) => this.write(encodeReply(reply)),
      takeRaw: () => {
        this.taken = true;
        this.stream.off('data', this.onData);
        this.stream.off('end', this.onEnd);
        this.stream.pause();
        return rawChannel(this.stream, this.lines.takeRest(), this.ended);
      },
    };
    try {
      const reply = await cmd.execute(req, ctx);
      if (reply !== undefined) this.write(encodeReply(reply));
    } catch (err) {
      if (err instanceof ControlError) {
        this.write(`ERROR: ${err.message.replace(/\n/g, ' ')}\n`);
      } else {
        this.logger.error({err, command: req.command}, 'control command failed');
        this.write(`ERROR: ${(err as Error)?.message ?? String(err)}\n`.replace(/\n(?!$)/g, ' '));
      }
    }
  }
}
