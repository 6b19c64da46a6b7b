/**
 * The built-in `remote` work type (workceptor.md §8, §10): a unit on this node (A) that
 * forwards a submission to another node's (B) control service over the mesh and mirrors the
 * remote unit's status and output locally.
 *
 * Node-to-node traffic keeps Go's wire behaviour exactly (one new `control` connection per
 * operation, greeting check, text status polls, JSON submit/results/cancel/release lines).
 * Where the reference sleeps, this version waits on events instead:
 *  - the results stream is opened at once (it tails B's output) instead of after the next
 *    status poll has shown new bytes;
 *  - when a results stream ends, the status is queried at once, so completion is mirrored
 *    without the 1 s poll lag;
 *  - connection back-off sleeps end early when B becomes reachable (a route to B appears, or
 *    B advertises its control service).
 */
import {open} from 'node:fs/promises';
import type {Duplex} from 'node:stream';
import {parseGoDuration} from '../config/go-values.js';
import {sortedMap} from '../netceptor/go-json.js';
import {Netceptor} from '../netceptor/node.js';
import type {MeshStream} from '../netceptor/streams.js';
import {encodeReply, goMap} from '../control/protocol.js';
import {decodeStatus, isComplete, stdoutSize, STATE_FAILED, type StatusRecord} from './status.js';
import {WorkUnit, type CancelResult, type ReleaseResult, type StartResult} from './unit.js';
import {WorkError, type RemoteSubmitOptions, type WorkTypeDef, type Workceptor} from './workceptor.js';

/** Timings of the remote worker; tests shrink them. */
export const remoteTimings = {
  /** First connection retry delay (Go: SuccessWorkSleep, 1 s). */
  retryFirstMs: 1000,
  /** Retry delay growth factor. */
  retryFactor: 1.5,
  /** Retry delay cap (Go: MaxWorkSleep, 60 s). */
  retryMaxMs: 60_000,
  /** Greeting read limit on a new connection. */
  greetingTimeoutMs: 5000,
  /** Interval between `work status` polls. */
  statusPollMs: 1000,
  /** Pause before re-opening a results stream that ended without the unit being complete. */
  resultsRetryMs: 1000,
};

/** ExtraData of a remote unit, in Go struct order (workceptor.md §4.3). */
export interface RemoteExtraData {
  RemoteNode: string;
  RemoteWorkType: string;
  RemoteParams: Record<string, string>;
  RemoteUnitID: string;
  RemoteStarted: boolean;
  LocalCancelled: boolean;
  LocalReleased: boolean;
  SignWork: boolean;
  TLSClient: string;
  /** Go time.Time JSON (RFC 3339 with nanoseconds); the zero time means "no expiration". */
  Expiration: string;
}

export const GO_ZERO_TIME_TEXT = '0001-01-01T00:00:00Z';

/** Builds the record with keys in struct order and RemoteParams sorted (Go encodes maps sorted). */
function makeExtra(e: RemoteExtraData): RemoteExtraData {
  return {
    RemoteNode: e.RemoteNode,
    RemoteWorkType: e.RemoteWorkType,
    RemoteParams: Object.fromEntries(sortedMap(Object.entries(e.RemoteParams))),
    RemoteUnitID: e.RemoteUnitID,
    RemoteStarted: e.RemoteStarted,
    LocalCancelled: e.LocalCancelled,
    LocalReleased: e.LocalReleased,
    SignWork: e.SignWork,
    TLSClient: e.TLSClient,
    Expiration: e.Expiration,
  };
}

/** Reads ExtraData as found on disk (missing or mistyped fields get Go's zero values). */
export function normalizeExtra(v: unknown): RemoteExtraData {
  const o = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  const params: Record<string, string> = {};
  const rp = o.RemoteParams;
  if (rp !== null && typeof rp === 'object' && !Array.isArray(rp)) {
    for (const [k, x] of Object.entries(rp as Record<string, unknown>)) if (typeof x === 'string') params[k] = x;
  }
  return makeExtra({
    RemoteNode: str(o.RemoteNode),
    RemoteWorkType: str(o.RemoteWorkType),
    RemoteParams: params,
    RemoteUnitID: str(o.RemoteUnitID),
    RemoteStarted: o.RemoteStarted === true,
    LocalCancelled: o.LocalCancelled === true,
    LocalReleased: o.LocalReleased === true,
    SignWork: o.SignWork === true,
    TLSClient: str(o.TLSClient),
    Expiration: typeof o.Expiration === 'string' ? o.Expiration : GO_ZERO_TIME_TEXT,
  });
}

function isSecretKey(k: string): boolean {
  return k.toLowerCase().startsWith('secret_');
}

// ---------------------------------------------------------------------------------------------
// Time formatting
// ---------------------------------------------------------------------------------------------

/** Go's time.Time JSON form of an instant (UTC, fraction to the nanosecond, zeros trimmed). */
export function formatRfc3339Nano(epochMs: number): string {
  const whole = Math.floor(epochMs / 1000);
  const nanos = Math.round((epochMs - whole * 1000) * 1e6);
  const base = new Date(whole * 1000).toISOString().slice(0, 19);
  const frac = nanos > 0 ? '.' + String(Math.min(nanos, 999_999_999)).padStart(9, '0').replace(/0+$/, '') : '';
  return `${base}${frac}Z`;
}

/** Parses Go's RFC 3339 time text to epoch milliseconds; undefined for the zero time or junk. */
export function parseRfc3339(text: string): number | undefined {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|([+-])(\d\d):(\d\d))$/.exec(text);
  if (!m) return undefined;
  if (m[1] === '0001' && m[2] === '01' && m[3] === '01' && m[4] === '00' && m[5] === '00' && m[6] === '00' && !m[7]) return undefined;
  let ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (m[7]) ms += Number(`0.${m[7]}`) * 1000;
  if (m[9]) ms -= (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) * 60_000;
  return ms;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go layout `Mon Jan 2 15:04:05` in local time. */
export function formatGoStamp(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${d.getDate()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// ---------------------------------------------------------------------------------------------
// Small async helpers
// ---------------------------------------------------------------------------------------------

function abortError(): Error {
  return new Error('context canceled');
}

/** Resolves after `ms` or when the signal aborts (never rejects). */
function sleep(ms: number, signal: AbortSignal, wake?: (fire: () => void) => () => void): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let unwake: (() => void) | undefined;
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      unwake?.();
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, {once: true});
    unwake = wake?.(done);
  });
}

/** A one-shot "do it now" flag with a timed wait (kicks during work are not lost). */
class Kicker {
  private pending = false;
  private waiter: (() => void) | undefined;

  kick(): void {
    this.pending = true;
    this.waiter?.();
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return;
    }
    await sleep(ms, signal, (fire) => {
      this.waiter = fire;
      return () => (this.waiter = undefined);
    });
    this.pending = false;
  }
}

/** Something that happens repeatedly and can be awaited once (next occurrence). */
class Pulse {
  private waiters: Array<() => void> = [];

  fire(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  next(ms: number, signal: AbortSignal): Promise<void> {
    return sleep(ms, signal, (fire) => {
      this.waiters.push(fire);
      return () => {
        const i = this.waiters.indexOf(fire);
        if (i >= 0) this.waiters.splice(i, 1);
      };
    });
  }
}

/** Node-style fs errors in Go's words where it matters (`open <path>: no such file or directory`). */
function fsErrorText(err: unknown, path: string): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return `open ${path}: no such file or directory`;
  if (e?.code === 'EACCES') return `open ${path}: permission denied`;
  return e instanceof Error ? e.message : String(err);
}

// ---------------------------------------------------------------------------------------------
// A control-service connection to the remote node
// ---------------------------------------------------------------------------------------------

/**
 * One mesh stream to B's `control` service with a line reader that never loses the bytes after
 * a line: whatever was read past the LF stays buffered for the next line or for raw reading.
 */
/** Longest reply line accepted from a remote control service (a status line is ~400 bytes). */
const MAX_REPLY_LINE = 1 << 20;

export class RemoteControlConn {
  private buf: Buffer = Buffer.alloc(0);
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
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  /**
   * The next line including its LF. Errors: `EOF` when the stream ends first,
   * `context deadline exceeded` on timeout, `context canceled` on abort.
   */
  async readLine(signal?: AbortSignal, timeoutMs?: number): Promise<string> {
    const deadline = timeoutMs !== undefined ? Date.now() + timeoutMs : undefined;
    for (;;) {
      const i = this.buf.indexOf(0x0a);
      if (i >= 0) {
        const line = this.buf.subarray(0, i + 1).toString('utf8');
        this.buf = this.buf.subarray(i + 1);
        return line;
      }
      if (this.buf.length > MAX_REPLY_LINE) throw new Error(`reply line longer than ${MAX_REPLY_LINE} bytes`);
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
      if (this.buf.length > 0) {
        const b = this.buf;
        this.buf = Buffer.alloc(0);
        return b;
      }
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

// ---------------------------------------------------------------------------------------------
// Jobs: background activity that cancel/release/dispose can stop and wait for
// ---------------------------------------------------------------------------------------------

class Job {
  readonly ac = new AbortController();
  private resolveDone!: () => void;
  readonly done = new Promise<void>((r) => (this.resolveDone = r));
  finished = false;

  constructor(private readonly onFinish: (j: Job) => void) {}

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onFinish(this);
    this.resolveDone();
  }
}

type Action = (conn: RemoteControlConn, signal: AbortSignal) => Promise<void>;

// ---------------------------------------------------------------------------------------------
// The unit
// ---------------------------------------------------------------------------------------------

export class RemoteUnit extends WorkUnit {
  private params: Record<string, string> = {};
  private job: Job | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Open connections of the monitor tasks. */
  private readonly monitorConns = new Set<RemoteControlConn>();

  constructor(wc: Workceptor, id: string) {
    super(wc, id, 'remote');
  }

  // -- status ----------------------------------------------------------------------------------

  override setParams(params: Record<string, string>): void {
    this.params = {...params};
  }

  override initialExtraData(): unknown {
    return makeExtra({
      RemoteNode: '',
      RemoteWorkType: '',
      RemoteParams: this.params,
      RemoteUnitID: '',
      RemoteStarted: false,
      LocalCancelled: false,
      LocalReleased: false,
      SignWork: false,
      TLSClient: '',
      Expiration: GO_ZERO_TIME_TEXT,
    });
  }

  /** ExtraData as on disk. */
  extra(): RemoteExtraData {
    return normalizeExtra(this.readRaw().ExtraData);
  }

  /** Full update of ExtraData (persisted). */
  updateExtra(change: (e: RemoteExtraData, s: StatusRecord) => void): RemoteExtraData {
    let out!: RemoteExtraData;
    this.updateFull((s) => {
      const e = normalizeExtra(s.ExtraData);
      change(e, s);
      out = makeExtra(e);
      s.ExtraData = out;
    });
    return out;
  }

  /** Secrets (`secret_*` params, any case) are left out of control replies. */
  override publicStatus(): StatusRecord {
    const s = this.status();
    const raw = s.ExtraData;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return s;
    const e = normalizeExtra(raw);
    const shown: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.RemoteParams)) if (!isSecretKey(k)) shown[k] = v;
    return {...s, ExtraData: {...e, RemoteParams: goMap(shown)}};
  }

  override signFlag(): boolean {
    return this.extra().SignWork;
  }

  /** Saves unless the unit is gone; status write errors are logged, never thrown. */
  private safely(what: string, fn: () => void): boolean {
    if (this.released) return false;
    try {
      fn();
      return true;
    } catch (err) {
      if (!this.released) this.logger.error({err: (err as Error).message}, `Error saving local status file (${what})`);
      return false;
    }
  }

  // -- jobs ------------------------------------------------------------------------------------

  private newJob(): Job {
    const job = new Job((j) => {
      if (this.job === j) this.job = undefined;
    });
    this.job = job;
    if (this.disposed || this.wc.isShutDown) job.ac.abort();
    return job;
  }

  /** Stops the current background activity and waits for it. */
  private async stopJob(): Promise<void> {
    this.clearExpiry();
    const j = this.job;
    if (!j) return;
    j.ac.abort();
    await j.done;
  }

  private clearExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  override dispose(): void {
    this.disposed = true;
    this.clearExpiry();
    this.job?.ac.abort();
    super.dispose();
  }

  private get stopped(): boolean {
    return this.disposed || this.released || this.wc.isShutDown;
  }

  // -- connections -----------------------------------------------------------------------------

  /** The mesh node. */
  private netceptor(): Netceptor {
    const node = this.wc.rt?.hasNode ? this.wc.rt.node : undefined;
    if (!(node instanceof Netceptor)) throw new Error('this node has no mesh layer');
    return node;
  }

  /** Single attempt: dial B's `control` (TLS per unit), read the greeting (5 s), check B's ID. */
  private async connectOnce(signal: AbortSignal): Promise<RemoteControlConn> {
    const e = this.extra();
    const node = this.netceptor();
    let tls;
    if (e.TLSClient !== '') {
      const {tlsClientConfigOf} = await import('../tls/config.js');
      tls = tlsClientConfigOf(this.wc.rt?.registry('tls-client').get(e.TLSClient));
      if (!tls) throw new Error(`unknown TLS config ${e.TLSClient}`);
    }
    const {dialStream} = await import('../netceptor/streams.js');
    const ms = await dialStream(node, e.RemoteNode, 'control', {tls, signal});
    const conn = new RemoteControlConn(ms);
    try {
      const hello = await conn.readLine(signal, remoteTimings.greetingTimeoutMs);
      if (!hello.includes(e.RemoteNode)) {
        throw new Error(`while expecting node ID ${e.RemoteNode}, got message: ${hello.replace(/\n+$/, '')}`);
      }
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /** Wakes a back-off sleep when B becomes reachable (a route appears, B advertises `control`). */
  private reachabilityWake(remoteNode: string): (fire: () => void) => () => void {
    return (fire) => {
      let node: Netceptor;
      try {
        node = this.netceptor();
      } catch {
        return () => {};
      }
      const hadRoute = node.statusRoutingTable()[remoteNode] !== undefined;
      const onRoutes = (routes: Map<string, string>) => {
        if (!hadRoute && routes.has(remoteNode)) fire();
      };
      const onAd = (ad: {nodeId?: string; service?: string}) => {
        if (ad.nodeId === remoteNode && ad.service === 'control') fire();
      };
      node.on('routes', onRoutes);
      node.on('advertisement', onAd);
      return () => {
        node.off('routes', onRoutes);
        node.off('advertisement', onAd);
      };
    };
  }

  /**
   * Retrying attempt: delays 1 s, ×1.5, capped at 60 s, until connected or aborted. A TLS
   * failure (`CRYPTO_ERROR`) sets Detail `TLS error connecting to remote service: <err>`; before
   * the remote unit started it also fails the unit and stops. Undefined when given up.
   */
  private async connectRetrying(signal: AbortSignal): Promise<RemoteControlConn | undefined> {
    let delay = remoteTimings.retryFirstMs;
    for (;;) {
      if (signal.aborted || this.stopped) return undefined;
      try {
        return await this.connectOnce(signal);
      } catch (err) {
        if (signal.aborted || this.stopped) return undefined;
        const msg = (err as Error).message;
        const remoteNode = this.extra().RemoteNode;
        this.logger.warn(`Connection to ${remoteNode} failed with error: ${msg}`);
        if (msg.includes('CRYPTO_ERROR')) {
          let giveUp = false;
          this.safely('tls error', () =>
            this.updateExtra((e, s) => {
              s.Detail = `TLS error connecting to remote service: ${msg}`;
              if (!e.RemoteStarted) {
                giveUp = true;
                s.State = STATE_FAILED;
              }
            }),
          );
          if (giveUp) return undefined;
        }
        await sleep(delay, signal, this.reachabilityWake(remoteNode));
        delay = Math.min(delay * remoteTimings.retryFactor, remoteTimings.retryMaxMs);
      }
    }
  }

  /** A fresh work-signing token for B (throws `cannot sign work: …`). */
  private async signature(audience: string): Promise<string> {
    const [{signWork}, {workSigningOf}] = await Promise.all([import('./signing.js'), import('../../plugins/work-signing/index.js')]);
    const rt = this.wc.rt;
    return signWork(rt ? workSigningOf(rt) : undefined, audience);
  }

  // -- exchanges -------------------------------------------------------------------------------

  /** Sends one JSON request line (signed when the unit signs its work) and reads B's reply line. */
  private async request(conn: RemoteControlConn, req: Record<string, unknown>, signal: AbortSignal): Promise<string> {
    const e = this.extra();
    const node = e.RemoteNode;
    if (e.SignWork) req.signature = await this.signature(node);
    try {
      await conn.write(encodeReply(req));
    } catch (err) {
      throw new Error(`write error sending to ${node}: ${(err as Error).message}`);
    }
    try {
      return await conn.readLine(signal);
    } catch (err) {
      throw new Error(`read error reading from ${node}: ${(err as Error).message}`);
    }
  }

  /** §8.3: the submit line, the payload with a half-close, and B's reply. */
  private async submitExchange(conn: RemoteControlConn, signal: AbortSignal): Promise<void> {
    try {
      const e = this.extra();
      const node = e.RemoteNode;
      const req: Record<string, unknown> = {...e.RemoteParams};
      req.command = 'work';
      req.subcommand = 'submit';
      req.node = node;
      req.worktype = e.RemoteWorkType;
      req.tlsclient = e.TLSClient;
      const response = await this.request(conn, req, signal);
      const m = /with ID ([a-zA-Z0-9]+)\./.exec(response);
      if (!m) throw new Error(`could not parse response: ${response.replace(/\n+$/, '')}`);
      const remoteId = m[1];
      this.updateExtra((x) => (x.RemoteUnitID = remoteId));
      let fh;
      try {
        fh = await open(this.stdinPath, 'r');
      } catch (err) {
        throw new Error(`error opening stdin file: ${fsErrorText(err, this.stdinPath)}`);
      }
      try {
        const buf = Buffer.allocUnsafe(256 * 1024);
        for (;;) {
          const {bytesRead} = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) break;
          await conn.write(Buffer.from(buf.subarray(0, bytesRead)));
        }
      } catch (err) {
        throw new Error(`error sending stdin file: ${(err as Error).message}`);
      } finally {
        await fh.close();
      }
      conn.endWrite();
      let result: string;
      try {
        result = await conn.readLine(signal);
      } catch (err) {
        throw new Error(`read error reading from ${node}: ${(err as Error).message}`);
      }
      const em = /ERROR: (.*)/.exec(result);
      if (em) throw new Error(`error from remote: ${em[1]}`);
      this.updateExtra((x) => (x.RemoteStarted = true));
      this.clearExpiry();
    } finally {
      conn.close();
    }
  }

  /** §8.6/§8.7: one cancel or release request. */
  private async cancelOrReleaseExchange(conn: RemoteControlConn, signal: AbortSignal, release: boolean): Promise<void> {
    try {
      const e = this.extra();
      const node = e.RemoteNode;
      const req: Record<string, unknown> = {command: 'work', subcommand: release ? 'release' : 'cancel', unitid: e.RemoteUnitID};
      const response = await this.request(conn, req, signal);
      // Go keeps everything after `ERROR` (so two spaces) and the LF (quirk W7); we drop the LF.
      if (response.startsWith('ERROR')) throw new WorkError(`error cancelling remote unit: ${response.slice(6).replace(/\r?\n$/, '')}`);
    } finally {
      conn.close();
    }
  }

  /**
   * One synchronous connect + action; when the connect fails, retries in the background and
   * runs the action once connected ('pending'). After a successful action, monitoring runs in
   * the background (status+stdout, or the release monitor). Other errors are thrown.
   */
  private async runAndMonitor(job: Job, forRelease: boolean, action: Action): Promise<'done' | 'pending'> {
    let conn: RemoteControlConn;
    try {
      conn = await this.connectOnce(job.signal);
    } catch (err) {
      if (job.signal.aborted) {
        // Stopped meanwhile (TTL expiry, a local cancel, shutdown): like Go, the caller hears
        // "pending" and the unit keeps the state the stopper gave it.
        job.finish();
        return 'pending';
      }
      this.logger.debug({err: (err as Error).message}, 'first connection attempt failed; retrying in the background');
      void this.background(job, forRelease, action);
      return 'pending';
    }
    try {
      await action(conn, job.signal);
    } catch (err) {
      job.finish();
      throw err;
    }
    void this.monitorThenFinish(job, forRelease);
    return 'done';
  }

  private async background(job: Job, forRelease: boolean, action: Action): Promise<void> {
    try {
      const conn = await this.connectRetrying(job.signal);
      if (!conn) return;
      try {
        await action(conn, job.signal);
      } catch (err) {
        // Go only logs this; the unit keeps its state (quirk W3).
        if (!job.signal.aborted) this.logger.error({err: (err as Error).message}, `Remote ${forRelease ? 'cancel/release' : 'start'} failed: ${(err as Error).message}`);
        return;
      }
      await this.monitor(job.signal, forRelease);
      if (forRelease && !job.signal.aborted && !this.stopped) await this.localDelete();
    } catch (err) {
      this.logger.error({err: (err as Error).message}, 'remote work background task failed');
    } finally {
      job.finish();
    }
  }

  private async monitorThenFinish(job: Job, forRelease: boolean): Promise<void> {
    try {
      await this.monitor(job.signal, forRelease);
      if (forRelease && !job.signal.aborted && !this.stopped) await this.localDelete();
    } catch (err) {
      this.logger.error({err: (err as Error).message}, 'remote work monitor failed');
    } finally {
      job.finish();
    }
  }

  private async localDelete(): Promise<void> {
    try {
      await this.deleteUnit(false);
    } catch (err) {
      this.logger.error({err: (err as Error).message}, `Error releasing unit ${this.dir}: ${(err as Error).message}`);
    }
  }

  // -- monitoring (§8.4) -----------------------------------------------------------------------

  /** Status + stdout tasks (or the status task alone for release); either ending ends both. */
  private async monitor(parent: AbortSignal, forRelease: boolean): Promise<void> {
    const ac = new AbortController();
    const onParent = () => ac.abort();
    if (parent.aborted) return;
    parent.addEventListener('abort', onParent, {once: true});
    const kick = new Kicker();
    const updated = new Pulse();
    const unwatch = this.dropConnsOnPathLoss(this.extra().RemoteNode);
    try {
      const tasks = [this.statusTask(ac.signal, forRelease, kick, updated).finally(() => ac.abort())];
      if (!forRelease) tasks.push(this.stdoutTask(ac.signal, kick, updated).finally(() => ac.abort()));
      await Promise.all(tasks);
    } finally {
      unwatch();
      parent.removeEventListener('abort', onParent);
      ac.abort();
    }
  }

  /**
   * The monitor's open connections to B (status poll, results stream) are closed when B may
   * have restarted: our link to B closes, B leaves the routing table, or B's routing updates
   * carry a new epoch (a restart so quick that the route never went away). A new process of B
   * (kill -9 and restart) knows nothing of those connections, and one that only waits to read
   * — the results stream, or the status poll after its request — would otherwise notice only at
   * the QUIC idle timeout (30–45 s), leaving the local copy short of the StdoutSize B reports.
   * The tasks reconnect once B is reachable and the results stream resumes from the local size.
   */
  private dropConnsOnPathLoss(remoteNode: string): () => void {
    let node: Netceptor;
    try {
      node = this.netceptor();
    } catch {
      return () => {};
    }
    const dropAll = () => {
      for (const c of this.monitorConns) c.close();
      this.monitorConns.clear();
    };
    const onNode = (id: string) => {
      if (id === remoteNode) dropAll();
    };
    const onRoutes = (routes: Map<string, string>) => {
      if (!routes.has(remoteNode)) dropAll();
    };
    node.on('disconnection', onNode);
    node.on('restarted', onNode);
    node.on('routes', onRoutes);
    return () => {
      node.off('disconnection', onNode);
      node.off('restarted', onNode);
      node.off('routes', onRoutes);
    };
  }

  /** Registers a monitor connection (see dropConnsOnPathLoss) until it is closed. */
  private tracked(conn: RemoteControlConn): RemoteControlConn {
    this.monitorConns.add(conn);
    conn.stream.once('close', () => this.monitorConns.delete(conn));
    return conn;
  }

  /** Polls `work status <id>` on one connection; mirrors State/Detail/StdoutSize. */
  private async statusTask(signal: AbortSignal, forRelease: boolean, kick: Kicker, updated: Pulse): Promise<void> {
    const {RemoteNode: remoteNode, RemoteUnitID: remoteId} = this.extra();
    let conn: RemoteControlConn | undefined;
    try {
      for (;;) {
        if (signal.aborted || this.stopped) return;
        if (!conn) {
          conn = await this.connectRetrying(signal);
          if (!conn) return;
          this.tracked(conn);
        }
        try {
          await conn.write(`work status ${remoteId}\n`);
        } catch (err) {
          this.logger.debug(`Write error sending to ${remoteId}: ${(err as Error).message}`);
          conn.close();
          conn = undefined;
          continue;
        }
        let line: string;
        try {
          line = await conn.readLine(signal);
        } catch (err) {
          if (signal.aborted) return;
          this.logger.debug(`Read error reading from ${remoteNode}: ${(err as Error).message}`);
          conn.close();
          conn = undefined;
          continue;
        }
        if (signal.aborted || this.stopped) return;
        if (line.startsWith('ERROR')) {
          if (line.includes('unknown work unit')) {
            if (!forRelease) {
              this.logger.debug(`Work unit ${remoteId} on node ${remoteNode} is gone.`);
              this.safely('remote gone', () =>
                this.updateFull((s) => {
                  s.State = STATE_FAILED;
                  s.Detail = 'Remote work unit is gone';
                }),
              );
            }
            return;
          }
          this.logger.error(`Remote error: ${line.slice(6).replace(/\n+$/, '')}`);
          return;
        }
        let si: StatusRecord;
        try {
          si = decodeStatus(line);
        } catch {
          this.logger.error(`Error unmarshalling JSON: ${line.replace(/\n+$/, '')}`);
          return;
        }
        const cur = this.readRaw();
        // Rewrite the file only when B reported something new (a long job polls every second).
        const same = cur.State === si.State && cur.Detail === si.Detail && cur.StdoutSize === si.StdoutSize;
        if (!same && !this.safely('status', () => this.updateBasic(si.State, si.Detail, si.StdoutSize))) return;
        updated.fire();
        await kick.wait(remoteTimings.statusPollMs, signal);
      }
    } finally {
      conn?.close();
    }
  }

  /**
   * Keeps a results stream open from the local stdout size, appending everything to the local
   * `stdout` (0600, append). Ends when the mirrored state is complete and the local file holds
   * the remote StdoutSize.
   */
  private async stdoutTask(signal: AbortSignal, kick: Kicker, updated: Pulse): Promise<void> {
    const path = this.stdoutPath;
    try {
      await (await open(path, 'a', 0o600)).close();
    } catch (err) {
      this.logger.error(`Could not open stdout file ${path}: ${(err as Error).message}`);
      return;
    }
    let first = true;
    for (;;) {
      if (!first) {
        // Ask for a fresh status right away and wait for it (fallback: the usual poll interval).
        const next = updated.next(remoteTimings.statusPollMs, signal);
        kick.kick();
        await next;
      }
      if (signal.aborted || this.stopped) return;
      const s = this.readRaw();
      const disk = stdoutSize(this.dir);
      if (isComplete(s.State) && disk >= s.StdoutSize) return;
      if (!first) {
        // A stream ended while the unit is not complete (canceled, B restarted, refused …):
        // do not hammer B; wait a moment or for a status change.
        await updated.next(remoteTimings.resultsRetryMs, signal);
        if (signal.aborted || this.stopped) return;
        const again = this.readRaw();
        if (isComplete(again.State) && stdoutSize(this.dir) >= again.StdoutSize) return;
      }
      first = false;
      await this.fetchResults(signal);
    }
  }

  /** One results stream: request, header check, copy to the local stdout until B closes. */
  private async fetchResults(signal: AbortSignal): Promise<void> {
    const conn = await this.connectRetrying(signal);
    if (!conn) return;
    this.tracked(conn);
    const e = this.extra();
    const node = e.RemoteNode;
    try {
      const req: Record<string, unknown> = {command: 'work', subcommand: 'results', unitid: e.RemoteUnitID, startpos: stdoutSize(this.dir)};
      if (e.SignWork) {
        try {
          req.signature = await this.signature(node);
        } catch (err) {
          this.logger.error(`could not create signature to get results: ${(err as Error).message}`);
          return;
        }
      }
      try {
        await conn.write(encodeReply(req));
      } catch (err) {
        this.logger.warn(`Write error sending to ${node}: ${(err as Error).message}`);
        return;
      }
      let header: string;
      try {
        header = await conn.readLine(signal);
      } catch (err) {
        if (!signal.aborted) this.logger.warn(`Read error reading from ${node}: ${(err as Error).message}`);
        return;
      }
      if (!header.includes('Streaming results')) {
        this.logger.warn(`Remote node ${node} did not stream results: ${header.replace(/\n+$/, '')}`);
        return;
      }
      let fh;
      try {
        fh = await open(this.stdoutPath, 'a', 0o600);
      } catch (err) {
        this.logger.error(`Could not open stdout file ${this.stdoutPath}: ${(err as Error).message}`);
        return;
      }
      try {
        for (;;) {
          const chunk = await conn.readChunk(signal);
          if (!chunk) break;
          if (this.stopped) break;
          await fh.write(chunk);
          this.changed();
        }
      } catch (err) {
        if (!signal.aborted) this.logger.warn(`Error copying to stdout file ${this.stdoutPath}: ${(err as Error).message}`);
      } finally {
        await fh.close();
      }
    } finally {
      conn.close();
    }
  }

  // -- lifecycle -------------------------------------------------------------------------------

  async start(): Promise<StartResult> {
    const e = this.extra();
    if (e.RemoteStarted) throw new WorkError('unit was already started');
    if (this.job) throw new WorkError('start or monitor process already running');
    const job = this.newJob();
    const exp = parseRfc3339(e.Expiration);
    if (exp !== undefined) this.armExpiry(job, exp);
    const r = await this.runAndMonitor(job, false, (conn, signal) => this.submitExchange(conn, signal));
    return r === 'done' ? 'started' : 'pending';
  }

  /** §8.5: a not-yet-started unit fails when its TTL passes; the start attempts stop. */
  private armExpiry(job: Job, expMs: number): void {
    this.clearExpiry();
    const fire = () => {
      this.expiryTimer = undefined;
      const e = this.extra();
      if (e.RemoteStarted || this.stopped) return;
      this.safely('expiry', () =>
        this.updateFull((s) => {
          s.Detail = `Work unit expired on ${formatGoStamp(expMs)}`;
          s.State = STATE_FAILED;
        }),
      );
      job.ac.abort();
    };
    const delay = expMs - Date.now();
    // setTimeout caps at 2^31-1 ms; longer TTLs re-arm.
    const arm = (ms: number) => {
      this.expiryTimer = setTimeout(() => {
        const left = expMs - Date.now();
        if (left > 0) arm(left);
        else fire();
      }, Math.min(Math.max(ms, 0), 2_147_483_647));
      this.expiryTimer.unref?.();
    };
    arm(delay);
  }

  /** §8.8: resume after a restart of this node. */
  async restart(): Promise<void> {
    const e = this.extra();
    if (!e.RemoteStarted) throw new WorkError('remote work had not previously started');
    if (this.job) throw new WorkError('start or monitor process already running');
    const job = this.newJob();
    if (e.LocalReleased || e.LocalCancelled) {
      const release = e.LocalReleased;
      await this.runAndMonitor(job, true, (conn, signal) => this.cancelOrReleaseExchange(conn, signal, release));
      return;
    }
    void this.monitorThenFinish(job, false);
  }

  async cancel(): Promise<CancelResult> {
    return (await this.cancelOrRelease(false, false)) === 'pending' ? 'cancel pending' : 'cancelled';
  }

  async release(force: boolean): Promise<ReleaseResult> {
    return (await this.cancelOrRelease(true, force)) === 'pending' ? 'release pending' : 'released';
  }

  private async cancelOrRelease(release: boolean, force: boolean): Promise<'done' | 'pending'> {
    const e = this.updateExtra((x) => {
      x.LocalCancelled = true;
      if (release) x.LocalReleased = true;
    });
    if (!e.RemoteStarted) {
      await this.stopJob();
    }
    // A background start may have got through while it was being stopped.
    if (!e.RemoteStarted && !this.extra().RemoteStarted) {
      if (release) {
        await this.deleteUnit(true);
        return 'done';
      }
      this.updateBasic(STATE_FAILED, 'Locally Cancelled', 0);
      return 'done';
    }
    if (release && force) {
      await this.stopJob();
      const ac = new AbortController();
      const onDispose = () => ac.abort();
      this.wc.rt?.signal.addEventListener('abort', onDispose, {once: true});
      try {
        const conn = await this.connectOnce(ac.signal);
        await this.cancelOrReleaseExchange(conn, ac.signal, true);
      } catch (err) {
        this.logger.warn({err: (err as Error).message}, `force-release: could not release remote unit: ${(err as Error).message}`);
      } finally {
        this.wc.rt?.signal.removeEventListener('abort', onDispose);
      }
      await this.deleteUnit(true);
      return 'done';
    }
    await this.stopJob();
    const job = this.newJob();
    return this.runAndMonitor(job, true, (conn, signal) => this.cancelOrReleaseExchange(conn, signal, release));
  }
}

// ---------------------------------------------------------------------------------------------
// Type and allocation (§8.1)
// ---------------------------------------------------------------------------------------------

export const remoteTypeDef: WorkTypeDef = {
  name: 'remote',
  verifySignature: false,
  advertise: false,
  create: (wc, id) => new RemoteUnit(wc, id),
  allocateRemote: (wc, opts) => allocateRemoteUnit(wc, opts),
};

/** Allocates a `remote` unit for a submission to another node (workceptor.md §8.1). */
export async function allocateRemoteUnit(wc: Workceptor, opts: RemoteSubmitOptions): Promise<WorkUnit> {
  if (opts.tlsClient !== '' && wc.rt?.registry('tls-client').get(opts.tlsClient) === undefined) {
    throw new WorkError(`unknown TLS config ${opts.tlsClient}`, 'E_TLS_CONFIG_UNKNOWN');
  }
  if (opts.tlsClient === '' && Object.keys(opts.params).some(isSecretKey)) {
    throw new WorkError('cannot send secrets over a non-TLS connection', 'E_WORK_PARAMS');
  }
  // Go allocates first and leaves an orphan unit on a bad ttl (quirk W4); checking the ttl
  // first gives the same reply without the orphan.
  let ttlMs: number | undefined;
  if (opts.ttl !== '') {
    try {
      ttlMs = parseGoDuration(opts.ttl);
    } catch (err) {
      throw new WorkError((err as Error).message);
    }
  }
  const unit = wc.allocate(remoteTypeDef, opts.params) as RemoteUnit;
  const expiration = ttlMs === undefined ? GO_ZERO_TIME_TEXT : formatRfc3339Nano(performance.timeOrigin + performance.now() + ttlMs);
  try {
    unit.updateExtra((e) => {
      e.RemoteNode = opts.node;
      e.RemoteWorkType = opts.workType;
      e.TLSClient = opts.tlsClient;
      e.Expiration = expiration;
      e.SignWork = opts.signWork;
    });
  } catch (err) {
    wc.forget(unit.id);
    throw err;
  }
  if (ttlMs !== undefined && opts.signWork) warnTokenLifetime(wc, ttlMs);
  return unit;
}

/** Go logs a warning when the TTL outlives the signing token (the token may expire before use). */
function warnTokenLifetime(wc: Workceptor, ttlMs: number): void {
  void (async () => {
    try {
      const {workSigningOf} = await import('../../plugins/work-signing/index.js');
      const cfg = wc.rt ? workSigningOf(wc.rt) : undefined;
      if (cfg && ttlMs > cfg.lifetimeMs) wc.logger.warn('Work unit TTL is longer than the work signing token expiration; the token may expire before the work starts');
    } catch {
      // no signing plugin: nothing to compare with
    }
  })();
}
