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
 *
 * This file is the unit's state machine (start, cancel, release, restart, expiry, connecting
 * with back-off); its parts share one background job and the ExtraData record, so it stays
 * whole. Monitoring is in remote-monitor.ts, allocation in remote-type.ts.
 *
 * Kept whole (over 500 lines): one state machine; monitoring, the connection and the work type
 * live in remote-monitor.ts, remote-conn.ts and remote-type.ts.
 */
import {open} from 'node:fs/promises';
import {errnoText, pathErrorText} from '../go/errno.js';
import {asGoMap} from '../go/json.js';
import {formatLocal, isZeroTime, unixMilli, unmarshalTimeJSON} from '../go/time.js';
import {Netceptor} from '../netceptor/node.js';
import {encodeReply} from '../wire/control-codec.js';
import {RemoteControlConn} from './remote-conn.js';
import {GO_ZERO_TIME_TEXT, isSecretKey, makeExtra, normalizeExtra, type RemoteExtraData} from './remote-extra.js';
import {Job, sleep} from './remote-jobs.js';
import {RemoteMonitor, type MonitorHost} from './remote-monitor.js';
import {remoteTimings} from './remote-timings.js';
import {STATE_FAILED, STATE_PENDING, type StatusRecord} from './status.js';
import {WorkUnit, type CancelResult, type ReleaseResult, type StartResult} from './unit.js';
import {WorkError, type Workceptor} from './workceptor.js';

/** How long the status check after an interrupted start waits for the reply. */
const RECONCILE_REPLY_MS = 10_000;

/**
 * A submit exchange cut short by the link (the stream broke while sending the request or the
 * payload, or before the reply): worth retrying, unlike a refusal or a local problem.
 */
export function isLinkLoss(err: unknown): boolean {
  const msg = (err as Error | undefined)?.message ?? '';
  return /^(write error sending to |read error reading from |error sending stdin file: )/.test(msg);
}

/** A failed open in Go's words (`open <path>: no such file or directory`). */
function fsErrorText(err: unknown, path: string): string {
  return pathErrorText(err, 'open', path);
}

type Action = (conn: RemoteControlConn, signal: AbortSignal) => Promise<void>;

export class RemoteUnit extends WorkUnit {
  private params: Record<string, string> = {};
  private job: Job | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** The release in progress (see release). */
  private releasing: Promise<ReleaseResult> | undefined;
  private releaseSent = false;

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
    return {...s, ExtraData: {...e, RemoteParams: asGoMap(shown)}};
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
        await sleep(delay, signal, this.reachabilityWake(remoteNode), this.wc.clock);
        delay = Math.min(delay * remoteTimings.retryFactor, remoteTimings.retryMaxMs);
      }
    }
  }

  /** A fresh work-signing token for B (throws `cannot sign work: …`). */
  private async signature(audience: string): Promise<string> {
    const [{signWork}, {workSigningOf}] = await Promise.all([import('./signing.js'), import('./signing-registry.js')]);
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
      const remoteId = m[1]!; // the pattern's one group
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
      if (!forRelease && !job.signal.aborted && isLinkLoss(err)) {
        this.logger.warn({err: (err as Error).message}, `Remote start interrupted by the link (${(err as Error).message}); retrying`);
        void this.background(job, forRelease, action, true);
        return 'pending';
      }
      job.finish();
      throw err;
    }
    void this.monitorThenFinish(job, forRelease);
    return 'done';
  }

  private async background(job: Job, forRelease: boolean, action: Action, interrupted = false): Promise<void> {
    try {
      let delay = remoteTimings.retryFirstMs;
      for (let again = interrupted; ; again = true) {
        if (again) {
          // A start cut short by the link: find out what the remote side got before trying again.
          await sleep(delay, job.signal);
          delay = Math.min(delay * remoteTimings.retryFactor, remoteTimings.retryMaxMs);
          const seen = forRelease ? 'again' : await this.reconcileStart(job.signal);
          if (seen === 'started') break;
          if (seen === 'unknown') {
            if (job.signal.aborted) return;
            continue; // ask again rather than risk running the unit twice
          }
        }
        const conn = await this.connectRetrying(job.signal);
        if (!conn) return;
        try {
          await action(conn, job.signal);
          break;
        } catch (err) {
          if (job.signal.aborted) return;
          // Go only logs this and the unit keeps its state (quirk W3); ours retries a start the
          // link cut short, so a flapping link does not leave the unit Pending for ever.
          if (!forRelease && isLinkLoss(err)) {
            this.logger.warn({err: (err as Error).message}, `Remote start interrupted by the link (${(err as Error).message}); retrying`);
            continue;
          }
          this.logger.error({err: (err as Error).message}, `Remote ${forRelease ? 'cancel/release' : 'start'} failed: ${(err as Error).message}`);
          return;
        }
      }
      if (job.signal.aborted) return;
      await new RemoteMonitor(this.monitorHost()).run(job.signal, forRelease);
      if (forRelease && !job.signal.aborted && !this.stopped) await this.localDelete();
    } catch (err) {
      this.logger.error({err: (err as Error).message}, 'remote work background task failed');
    } finally {
      job.finish();
    }
  }

  /**
   * After a start the link cut short: when the remote unit was created, asks for its status.
   * One that runs or ran (it had all its input) counts as started, so it is not run twice; one
   * that failed reading its input, or is unknown, is released there and the start is redone.
   * 'unknown' when B could not be asked (the caller asks again).
   */
  private async reconcileStart(signal: AbortSignal): Promise<'started' | 'again' | 'unknown'> {
    const remoteId = this.extra().RemoteUnitID;
    if (remoteId === '') return 'again';
    const conn = await this.connectRetrying(signal);
    if (!conn) return 'unknown';
    try {
      await conn.write(encodeReply({command: 'work', subcommand: 'status', unitid: remoteId}));
      const reply = await conn.readLine(signal, RECONCILE_REPLY_MS);
      if (!reply.startsWith('ERROR')) {
        const st = JSON.parse(reply) as {State?: number; Detail?: string};
        // Still waiting for the input the broken stream carried, or failed reading it: it never ran.
        const detail = st.Detail ?? '';
        const inputLost = (st.State === STATE_FAILED && detail.startsWith('Error reading input data')) || (st.State === STATE_PENDING && detail === 'Waiting for Input Data');
        if (!inputLost) {
          this.updateExtra((x) => (x.RemoteStarted = true));
          this.clearExpiry();
          return 'started';
        }
        await this.request(conn, {command: 'work', subcommand: 'release', unitid: remoteId}, signal);
      }
    } catch (err) {
      this.logger.debug({err: (err as Error).message}, 'checking the interrupted remote start failed; asking again');
      return 'unknown';
    } finally {
      conn.close();
    }
    this.updateExtra((x) => (x.RemoteUnitID = ''));
    return 'again';
  }

  private async monitorThenFinish(job: Job, forRelease: boolean): Promise<void> {
    try {
      await new RemoteMonitor(this.monitorHost()).run(job.signal, forRelease);
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

  /** What the monitor needs from this unit (the parts stay private to everyone else). */
  private monitorHost(): MonitorHost {
    const stopped = () => this.stopped;
    return {
      unit: this,
      get stopped() {
        return stopped();
      },
      extra: () => this.extra(),
      netceptor: () => this.netceptor(),
      connectRetrying: (signal) => this.connectRetrying(signal),
      signature: (audience) => this.signature(audience),
      safely: (what, fn) => this.safely(what, fn),
    };
  }

  // -- lifecycle -------------------------------------------------------------------------------

  async start(): Promise<StartResult> {
    const e = this.extra();
    if (e.RemoteStarted) throw new WorkError('unit was already started');
    if (this.job) throw new WorkError('start or monitor process already running');
    const job = this.newJob();
    const expTime = unmarshalTimeJSON(e.Expiration);
    const exp = expTime === undefined || isZeroTime(expTime) ? undefined : unixMilli(expTime);
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
          s.Detail = `Work unit expired on ${formatLocal(expMs, 'Mon Jan 2 15:04:05')}`;
          s.State = STATE_FAILED;
        }),
      );
      job.ac.abort();
    };
    const delay = expMs - Date.now();
    // setTimeout caps at 2^31-1 ms; longer TTLs re-arm.
    const arm = (ms: number) => {
      this.expiryTimer = setTimeout(
        () => {
          const left = expMs - Date.now();
          if (left > 0) arm(left);
          else fire();
        },
        Math.min(Math.max(ms, 0), 2_147_483_647),
      );
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
    // Releases that overlap share one outcome: a second one would stop the first one's
    // connection (which then answered `release pending`) or find the remote unit gone.
    if (!force && this.releasing) return this.releasing;
    // B took the release and the unit waits for B to drop its unit: nothing to send again (B
    // would answer `unknown work unit`).
    if (!force && this.releaseSent && this.job) return 'released';
    const p = this.cancelOrRelease(true, force).then((r): ReleaseResult => (r === 'pending' ? 'release pending' : 'released'));
    if (force) return p;
    void p.then((r) => (this.releaseSent = r === 'released')).catch(() => {});
    this.releasing = p;
    try {
      return await p;
    } finally {
      if (this.releasing === p) this.releasing = undefined;
    }
  }

  private async cancelOrRelease(release: boolean, force: boolean): Promise<'done' | 'pending'> {
    const mark = (x: RemoteExtraData) => {
      x.LocalCancelled = true;
      if (release) x.LocalReleased = true;
    };
    let e: RemoteExtraData;
    try {
      e = this.updateExtra(mark);
    } catch (err) {
      // A full disk must not keep a unit (and its output) from being released: go on with
      // the marks in memory (a restart before the end would not resume the release).
      if (!release) throw err;
      this.logger.warn(`Could not save the release mark of unit ${this.id}: ${errnoText(err)}`);
      e = this.extra();
      mark(e);
    }
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
