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
import {DEFAULT_CONTROL_IDLE_MS} from './idle.js';

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

/** Node-wide cap on bytes held for unfinished request lines, all sessions together. */
export const DEFAULT_PENDING_LINE_BYTES = 64 << 20;
/** Default cap of concurrent sessions per listener (ours: Go has none). */
export const DEFAULT_MAX_CONTROL_SESSIONS = 1024;

/**
 * The bytes every session of a node holds for unfinished request lines: 30 sessions with a
 * 15 MiB line each would otherwise cost 450 MiB.
 */
export class LineBudget {
  private used = 0;
  private warned = false;
  constructor(readonly max = DEFAULT_PENDING_LINE_BYTES) {}

  get total(): number {
    return this.used;
  }

  /** Changes a session's share; false (and nothing taken) when growing would pass the cap. */
  adjust(delta: number): boolean {
    if (delta > 0 && this.used + delta > this.max) return false;
    this.used += delta;
    if (this.used <= this.max / 2) this.warned = false; // pressure over: the next one is a new cause
    return true;
  }

  /** True once per episode of pressure, so a flood logs one warning, not one per session. */
  firstWarning(): boolean {
    if (this.warned) return false;
    this.warned = true;
    return true;
  }
}

const budgets = new WeakMap<Runtime, LineBudget>();

/** The node's line budget (one per runtime, shared by all its listeners). */
export function lineBudgetOf(rt: Runtime): LineBudget {
  let b = budgets.get(rt);
  if (!b) budgets.set(rt, (b = new LineBudget()));
  return b;
}

/** Gives the node a budget of `max` bytes (tests; set it before sessions start). */
export function setLineBudget(rt: Runtime, max: number): LineBudget {
  const b = new LineBudget(max);
  budgets.set(rt, b);
  return b;
}

/**
 * Caps concurrent sessions on one listener. Refusals are logged once per burst: a warning at
 * the first, a count when a slot frees again.
 */
export class SessionGate {
  private active = 0;
  private refused = 0;
  constructor(
    readonly max: number,
    private readonly logger: Logger,
    private readonly listener: string,
  ) {}

  get count(): number {
    return this.active;
  }

  /** Admits one session (call the returned release when it ends), or undefined when full. */
  admit(): (() => void) | undefined {
    if (this.active >= this.max) {
      if (this.refused++ === 0) this.logger.warn({listener: this.listener, max: this.max}, `control listener ${this.listener} has ${this.max} sessions; refusing new ones`);
      return undefined;
    }
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      if (this.refused > 0) {
        this.logger.warn({listener: this.listener, refused: this.refused}, `control listener ${this.listener} refused ${this.refused} connection(s) while full`);
        this.refused = 0;
      }
    };
  }
}

export interface SessionOptions {
  /** Closes a session waiting this long for a request line; 0 never. Default 10 min. */
  idleMs?: number;
  /** Default: the node's (lineBudgetOf). */
  budget?: LineBudget;
}

/** Runs one session on a connected stream until the client goes away. */
export function runControlSession(stream: Duplex, conn: ControlConnection, rt: Runtime, logger: Logger, opts: SessionOptions = {}): Promise<void> {
  return new Session(stream, conn, rt, logger, opts.idleMs ?? DEFAULT_CONTROL_IDLE_MS, opts.budget ?? lineBudgetOf(rt)).run();
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
  /** Bytes of this session charged to the budget. */
  private held = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly onData = (chunk: Buffer) => {
    this.clearIdle();
    this.lines.push(chunk);
    if (!this.charge()) {
      if (this.budget.firstWarning()) {
        this.logger.warn({remote: this.conn.remote, max: this.budget.max}, 'control sessions hold too many unfinished request lines; closing the sessions that add more');
      }
      this.refuse(`control service is holding too much unfinished request data (limit ${this.budget.max} bytes for all sessions)`);
      return;
    }
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
    private readonly idleMs: number,
    private readonly budget: LineBudget,
  ) {}

  /** Brings the budget charge to what the line reader holds; false when the cap refuses growth. */
  private charge(): boolean {
    const size = this.taken || this.finished ? 0 : this.lines.size;
    if (!this.budget.adjust(size - this.held)) return false;
    this.held = size;
    return true;
  }

  /** Ends the session with an error line, dropping what the client still sends. */
  private refuse(message: string): void {
    this.write(`ERROR: ${message}\n`);
    this.lines.takeRest();
    this.finish(true);
    this.stream.resume();
  }

  private armIdle(): void {
    this.clearIdle();
    if (this.idleMs <= 0 || this.finished || this.taken) return;
    this.idleTimer = setTimeout(() => {
      this.logger.debug({remote: this.conn.remote, idleMs: this.idleMs}, 'control session idle; closing it');
      this.write(`ERROR: no request for ${this.idleMs} ms, closing the session\n`);
      this.finish(false);
      // Nothing unread is pending, so the socket can go at once after the line.
      this.stream.end(() => this.stream.destroy());
    }, this.idleMs);
    this.idleTimer.unref?.();
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  run(): Promise<void> {
    this.stream.on('error', (err) => {
      this.logger.debug({err, remote: this.conn.remote}, 'control session error');
      this.finish(false);
    });
    this.stream.on('data', this.onData);
    this.stream.on('end', this.onEnd);
    this.stream.on('close', this.onClose);
    this.write(`Receptor Control, node ${this.rt.node.id}\n`);
    this.armIdle();
    return this.done;
  }

  private write(text: string): void {
    if (this.finished || this.stream.destroyed || this.stream.writableEnded) return;
    this.stream.write(text);
  }

  private finish(endStream: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.clearIdle();
    this.charge(); // releases this session's share
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
        this.charge(); // the line is out of the reader now
        await this.execute(line);
        if (this.taken || this.finished) return;
        if (last) {
          this.finish(true);
          return;
        }
      }
    } finally {
      this.busy = false;
      if (!this.taken && !this.finished) {
        this.charge();
        this.stream.resume();
        this.armIdle();
      }
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
        this.clearIdle();
        this.stream.off('data', this.onData);
        this.stream.off('end', this.onEnd);
        this.stream.pause();
        const rest = this.lines.takeRest();
        this.charge(); // the raw channel owns those bytes now
        return rawChannel(this.stream, rest, this.ended);
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
