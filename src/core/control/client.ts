/**
 * Client side of the control-service protocol (control-service.md §3, §8): connect over a unix
 * socket, TCP or TLS, check the greeting, send one request line at a time and read one reply
 * line each, and hand the raw connection to streaming commands (connect, work submit/results)
 * without losing any byte that arrived after a reply line.
 *
 * Independent of the server implementation: only the wire format is shared.
 */
import {existsSync} from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import {systemClock, type Clock, type TimerHandle} from '../clock.js';
import {ReceptorError, type ErrorCode} from '../errors.js';
import {LineReader} from '../wire/line-reader.js';
import {parseControlAddress, type ControlAddress} from './address.js';
import {tlsConnectOptions, type ControlTlsSettings} from './client-tls.js';

export {resolveControlTls, tlsConnectOptions, type ControlTlsOptions, type ControlTlsSettings} from './client-tls.js';

export interface ControlConnectOptions {
  tls?: ControlTlsSettings;
  /** Limit for connecting plus reading the greeting (default: none, like receptorctl). */
  timeoutMs?: number;
  /** Home directory for `~` in unix socket paths (tests). */
  home?: string;
}

export interface ReadOptions {
  /** Give up after this many ms (the buffered bytes stay available). */
  timeoutMs?: number;
  /** Time source for the timeout (tests). */
  clock?: Clock;
}

/** The connection could not be made, was lost, or timed out (exit 1). */
export class ControlConnectError extends ReceptorError {
  constructor(message: string, cause?: unknown) {
    super('E_CONNECT', message, {cause});
    this.name = 'ControlConnectError';
  }
}

/** The node answered `ERROR: <message>` (message = `remoteMessage`), or sent something unparseable. */
export class ControlRemoteError extends ReceptorError {
  /** The text after `ERROR: ` (or the whole unexpected line). */
  readonly remoteMessage: string;
  /** The reply line as received. */
  readonly line: string;
  constructor(message: string, line: string, remoteMessage = message, code: ErrorCode = remoteErrorCode(line, remoteMessage)) {
    super(code, message);
    this.name = 'ControlRemoteError';
    this.line = line;
    this.remoteMessage = remoteMessage;
  }
}

/** Go's reply texts that name a kind of error, and the kind's code (the text itself is Go's and unchanged). */
const REMOTE_KINDS: Array<[RegExp, ErrorCode]> = [
  [/unknown work unit/, 'E_UNKNOWN_UNIT'],
  [/unknown work type/, 'E_UNKNOWN_WORK_TYPE'],
  [/no route to node/, 'E_NO_ROUTE'],
  [/service unknown/, 'E_UNKNOWN_SERVICE'],
  [/^Unknown command$/, 'E_UNKNOWN_COMMAND'],
  [/could not verify signature|could not sign/, 'E_SIGNATURE'],
];

/** The catalogue code of a node's reply: a line that is not `ERROR…` is one the client does not understand. */
export function remoteErrorCode(line: string, remoteMessage: string): ErrorCode {
  if (!line.trimStart().startsWith('ERROR')) return 'E_CONTROL_REPLY';
  return REMOTE_KINDS.find(([re]) => re.test(remoteMessage))?.[1] ?? 'E_REMOTE';
}

/** The socket handed over to a streaming command, with the bytes already read past the last line. */
export interface DetachedConnection {
  socket: net.Socket;
  /** Bytes received but not consumed; they come before anything the socket emits later. */
  head: Buffer;
  /** The node had already closed its sending side (no 'end' event will follow). */
  ended: boolean;
}

const GREETING_RE = /^Receptor Control, node ([^\n]+)$/;

/** Text after `ERROR:` (receptorctl drops the first 7 characters of `ERROR: <msg>`). */
function errorText(line: string): string {
  const rest = line.slice('ERROR:'.length);
  return rest.startsWith(' ') ? rest.slice(1) : rest;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  // OpenSSL messages look like "…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert
  // certificate required:../deps/…:SSL alert number 116"; keep the reason.
  const ssl = /SSL routines:[^:]*:([^:\n]+)/.exec(err.message);
  if (ssl) return `TLS error: ${ssl[1]!.trim()}`;
  if (code && !err.message.includes(code)) return `${err.message} (${code})`;
  return err.message;
}

/** Connection errors in words, with the code (Node's own message repeats the address). */
const CONNECT_PROBLEMS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTSOCK: 'not a socket',
  EACCES: 'permission denied',
  ENOTFOUND: 'unknown host',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
};

/** Why a connection attempt failed; for a unix socket that refuses, that no node listens on it. */
function connectProblem(err: Error, unix: boolean): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words = code ? CONNECT_PROBLEMS[code] : undefined;
  if (!words) return describe(err);
  return unix && code === 'ECONNREFUSED' ? `${words} (${code}): no node is listening on it` : `${words} (${code})`;
}

function openSocket(addr: ControlAddress, opts: ControlConnectOptions): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    let sock: net.Socket;
    let where: string;
    let readyEvent: 'connect' | 'secureConnect';
    try {
      if (addr.kind === 'unix') {
        if (!existsSync(addr.path)) throw new ControlConnectError(`Socket path does not exist: ${addr.path}`);
        where = `socket ${addr.path}`;
        sock = net.createConnection({path: addr.path, allowHalfOpen: true});
        readyEvent = 'connect';
      } else if (addr.kind === 'tcp') {
        where = `host ${addr.host} port ${addr.port}`;
        sock = net.createConnection({host: addr.host, port: addr.port, allowHalfOpen: true});
        readyEvent = 'connect';
      } else {
        where = `host ${addr.host} port ${addr.port}`;
        sock = tls.connect(tlsConnectOptions(addr.host, addr.port, opts.tls));
        readyEvent = 'secureConnect';
      }
    } catch (err) {
      reject(err);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      sock.removeListener(readyEvent, onReady);
      sock.removeListener('error', onError);
    };
    const onReady = () => {
      cleanup();
      resolve(sock);
    };
    const onError = (err: Error) => {
      cleanup();
      sock.destroy();
      reject(new ControlConnectError(`Could not connect to ${where}: ${connectProblem(err, addr.kind === 'unix')}`, err));
    };
    sock.once(readyEvent, onReady);
    sock.once('error', onError);
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => onError(new Error(`timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
    }
  });
}

/**
 * One control-service connection. Replies are read from an internal buffer fed by the socket,
 * so lines may arrive split or coalesced in any way; bytes after a line are never dropped.
 */
export class ControlClient {
  readonly address: ControlAddress;
  readonly socket: net.Socket;
  /** Node ID from the greeting (updated by {@link handshake}). */
  nodeId = '';

  /** Replies may be any length (a `work list` of many units); no limit. */
  private readonly lines = new LineReader({cr: 'trailing'});
  private eof = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private reading = false;
  private detached = false;
  private lock: Promise<unknown> = Promise.resolve();

  private readonly onData = (chunk: Buffer) => {
    this.lines.push(chunk);
    this.notify();
  };
  private readonly onEnd = () => {
    this.eof = true;
    this.notify();
  };
  private readonly onError = (err: Error) => {
    this.failure ??= err;
    this.notify();
  };
  private readonly onClose = () => {
    this.eof = true;
    this.notify();
  };

  /** Wraps a connected socket (no greeting is read; see {@link ControlClient.connect}). */
  constructor(socket: net.Socket, address: ControlAddress) {
    this.socket = socket;
    this.address = address;
    if (address.kind === 'tcp') socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /**
   * Connects, reads the greeting and checks it (`Receptor Control, node <id>`); otherwise
   * `Failed to connect to Receptor socket`. Errors are ControlConnectError (E_CONNECT) or
   * ReceptorError E_USAGE (bad address, unreadable TLS files).
   */
  static async connect(address: string | ControlAddress, opts: ControlConnectOptions = {}): Promise<ControlClient> {
    const addr = typeof address === 'string' ? parseControlAddress(address, {home: opts.home}) : address;
    const started = Date.now();
    const sock = await openSocket(addr, opts);
    const client = new ControlClient(sock, addr);
    try {
      const left = opts.timeoutMs === undefined ? undefined : Math.max(1, opts.timeoutMs - (Date.now() - started));
      await client.handshake({timeoutMs: left});
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** Reads and checks a greeting line; returns the node ID (also used after `connect <node> control`). */
  async handshake(opts: ReadOptions = {}): Promise<string> {
    let line: string | null;
    try {
      line = await this.readLine(opts);
    } catch (err) {
      const why = err instanceof ControlConnectError ? err.message : describe(err);
      throw new ControlConnectError(`Failed to connect to Receptor socket: ${why}`, err);
    }
    if (line === null) throw new ControlConnectError('Failed to connect to Receptor socket: the connection was closed before the greeting');
    const m = GREETING_RE.exec(line.trim());
    if (!m) throw new ControlConnectError(`Failed to connect to Receptor socket: unexpected greeting ${JSON.stringify(line)}`);
    this.nodeId = m[1]!; // the pattern's one group
    return this.nodeId;
  }

  /** True once the node has closed its sending side and every buffered byte was consumed. */
  get ended(): boolean {
    return this.eof && this.lines.size === 0;
  }

  /**
   * Sends one request line and returns the parsed JSON reply. An `ERROR: <msg>` reply throws
   * ControlRemoteError with `msg`; a reply that is not JSON throws ControlRemoteError too.
   * Commands on one client run one after another.
   */
  command(line: string, opts: ReadOptions = {}): Promise<unknown> {
    return this.exclusive(async () => {
      const reply = await this.requestUnlocked(line, opts);
      return parseReply(reply);
    });
  }

  /** Sends the JSON form of a command (`{"command": …, …}`) and returns the parsed reply. */
  jsonCommand(request: Record<string, unknown>, opts: ReadOptions = {}): Promise<unknown> {
    return this.command(JSON.stringify(request), opts);
  }

  /**
   * Sends one request line and returns the raw reply line (ERROR lines are returned, not
   * thrown). Empty lines before the reply are skipped.
   */
  request(line: string, opts: ReadOptions = {}): Promise<string> {
    return this.exclusive(() => this.requestUnlocked(line, opts));
  }

  private async requestUnlocked(line: string, opts: ReadOptions): Promise<string> {
    await this.sendLine(line);
    for (;;) {
      const reply = await this.readLine(opts);
      if (reply === null) throw new ControlConnectError('The node closed the connection without replying');
      if (reply.trim() !== '') return reply;
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Writes `line` + LF. The line must not contain LF. */
  async sendLine(line: string): Promise<void> {
    if (line.includes('\n')) throw new ReceptorError('E_USAGE', 'a control request must be a single line');
    await this.write(line + '\n');
  }

  /** Writes raw bytes (resolves when they were handed to the OS). */
  write(data: string | Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.socket.destroyed || this.socket.writableEnded) {
        reject(new ControlConnectError('Cannot send to the node: the connection is closed'));
        return;
      }
      this.socket.write(data, (err) => {
        if (err) reject(new ControlConnectError(`Cannot send to the node: ${describe(err)}`, err));
        else resolve();
      });
    });
  }

  /** Half-closes: the node sees EOF, replies can still be read. */
  end(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.socket.destroyed || this.socket.writableEnded) {
        resolve();
        return;
      }
      this.socket.end(() => resolve());
    });
  }

  /** Closes the connection at once. */
  close(): void {
    this.socket.destroy();
  }

  /**
   * Next line without its LF (and without a trailing CR). `null` at a clean end of stream.
   * Throws ControlConnectError if the stream ends in the middle of a line (the partial bytes
   * stay buffered), on a socket error, or on timeout.
   */
  async readLine(opts: ReadOptions = {}): Promise<string | null> {
    return this.waitFor(opts, 'a reply line', () => {
      const line = this.lines.nextLine();
      if (line !== undefined) return {value: line};
      if (this.failure) throw this.lostError();
      if (this.eof) {
        if (this.lines.size === 0) return {value: null};
        const partial = this.lines.peek().toString('utf8');
        throw new ControlConnectError(
          `The connection was closed in the middle of a reply (received ${JSON.stringify(partial.length > 200 ? partial.slice(0, 200) + '…' : partial)})`,
        );
      }
      return undefined;
    });
  }

  /** Next chunk of raw bytes (buffered bytes first); `null` at end of stream. */
  async readChunk(opts: ReadOptions = {}): Promise<Buffer | null> {
    return this.waitFor(opts, 'data', () => {
      if (this.lines.size > 0) return {value: this.takeBuffered()};
      if (this.failure) throw this.lostError();
      if (this.eof) return {value: null};
      return undefined;
    });
  }

  /** Removes and returns every buffered byte. */
  takeBuffered(): Buffer {
    return this.lines.takeRest();
  }

  /**
   * Hands the socket over for raw streaming: stops this client's reading (the socket is left
   * paused) and returns the bytes already received. The client must not be used afterwards.
   */
  detach(): DetachedConnection {
    if (this.reading) throw new Error('detach() while a read is in progress');
    this.socket.pause();
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('end', this.onEnd);
    this.socket.removeListener('close', this.onClose);
    // The error listener stays, so a late error can't crash the process before the new owner listens.
    this.detached = true;
    return {socket: this.socket, head: this.takeBuffered(), ended: this.eof};
  }

  private lostError(): ControlConnectError {
    const err = this.failure;
    return new ControlConnectError(`The connection to the node was lost: ${describe(err)}`, err);
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async waitFor<T>(opts: ReadOptions, what: string, probe: () => {value: T} | undefined): Promise<T> {
    if (this.detached) throw new Error('the connection was detached from this client');
    if (this.reading) throw new Error('only one read at a time');
    this.reading = true;
    const clock = opts.clock ?? systemClock;
    const deadline = opts.timeoutMs === undefined ? undefined : clock.now() + opts.timeoutMs;
    try {
      for (;;) {
        const r = probe();
        if (r) return r.value;
        await new Promise<void>((resolve, reject) => {
          let timer: TimerHandle | undefined;
          this.wake = () => {
            if (timer) clock.clearTimeout(timer);
            resolve();
          };
          if (deadline !== undefined) {
            const left = deadline - clock.now();
            const fail = () => {
              this.wake = undefined;
              reject(new ControlConnectError(`Timed out after ${opts.timeoutMs} ms waiting for ${what} from the node`));
            };
            if (left <= 0) fail();
            else timer = clock.setTimeout(fail, left);
          }
        });
      }
    } finally {
      this.reading = false;
    }
  }
}

/** Parses one reply line the way receptorctl does: `ERROR:` → error, else JSON. */
export function parseReply(line: string): unknown {
  const text = line.trim();
  if (text.startsWith('ERROR:')) {
    const msg = errorText(text);
    throw new ControlRemoteError(msg, line, msg);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const shown = text.length > 200 ? text.slice(0, 200) + '…' : text;
    throw new ControlRemoteError(`Unexpected reply from the node: ${JSON.stringify(shown)}`, line, text);
  }
}
