/**
 * Monitoring of a started remote unit (workceptor.md §8.4): a status task polls `work status`
 * on B and mirrors State/Detail/StdoutSize; a stdout task keeps a `work results` stream open
 * and appends B's output to the local stdout. Either ending ends both.
 */
import {open} from 'node:fs/promises';
import {errnoText} from '../go/errno.js';
import type {Netceptor} from '../netceptor/node.js';
import {encodeReply} from '../wire/control-codec.js';
import type {RemoteControlConn} from './remote-conn.js';
import type {RemoteExtraData} from './remote-extra.js';
import {Kicker, Pulse} from './remote-jobs.js';
import {remoteTimings} from './remote-timings.js';
import {decodeStatus, isComplete, stdoutSize, STATE_FAILED, type StatusRecord} from './status.js';
import type {WorkUnit} from './unit.js';

/** What the monitor needs from its remote unit. */
export interface MonitorHost {
  /** The local unit whose status and stdout mirror B's. */
  readonly unit: WorkUnit;
  /** The unit was disposed or released, or the node shuts down. */
  readonly stopped: boolean;
  extra(): RemoteExtraData;
  netceptor(): Netceptor;
  /** Connects to B's control service, retrying; undefined when given up. */
  connectRetrying(signal: AbortSignal): Promise<RemoteControlConn | undefined>;
  /** A work-signing token for B. */
  signature(audience: string): Promise<string>;
  /** Runs a status update; false (logged) when it failed or the unit is gone. */
  safely(what: string, fn: () => void): boolean;
}

export class RemoteMonitor {
  /** Open connections of the monitor tasks. */
  private readonly monitorConns = new Set<RemoteControlConn>();
  /** Set when the local copy cannot be kept (a full disk): the unit was marked Failed. */
  private localFailure = false;

  constructor(private readonly host: MonitorHost) {}

  private get unit(): WorkUnit {
    return this.host.unit;
  }

  /** Status + stdout tasks (or the status task alone for release); either ending ends both. */
  async run(parent: AbortSignal, forRelease: boolean): Promise<void> {
    const ac = new AbortController();
    const onParent = () => ac.abort();
    if (parent.aborted) return;
    parent.addEventListener('abort', onParent, {once: true});
    const kick = new Kicker();
    const updated = new Pulse();
    const unwatch = this.dropConnsOnPathLoss(this.host.extra().RemoteNode);
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
      node = this.host.netceptor();
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
    const {RemoteNode: remoteNode, RemoteUnitID: remoteId} = this.host.extra();
    let conn: RemoteControlConn | undefined;
    try {
      for (;;) {
        if (signal.aborted || this.host.stopped) return;
        if (!conn) {
          conn = await this.host.connectRetrying(signal);
          if (!conn) return;
          this.tracked(conn);
        }
        try {
          await conn.write(`work status ${remoteId}\n`);
        } catch (err) {
          this.unit.logger.debug(`Write error sending to ${remoteId}: ${(err as Error).message}`);
          conn.close();
          conn = undefined;
          continue;
        }
        let line: string;
        try {
          line = await conn.readLine(signal);
        } catch (err) {
          if (signal.aborted) return;
          this.unit.logger.debug(`Read error reading from ${remoteNode}: ${(err as Error).message}`);
          conn.close();
          conn = undefined;
          continue;
        }
        if (signal.aborted || this.host.stopped) return;
        if (line.startsWith('ERROR')) {
          if (line.includes('unknown work unit')) {
            if (!forRelease) {
              this.unit.logger.debug(`Work unit ${remoteId} on node ${remoteNode} is gone.`);
              this.host.safely('remote gone', () =>
                this.unit.updateFull((s) => {
                  s.State = STATE_FAILED;
                  s.Detail = 'Remote work unit is gone';
                }),
              );
            }
            return;
          }
          this.unit.logger.error(`Remote error: ${line.slice(6).replace(/\n+$/, '')}`);
          return;
        }
        let si: StatusRecord;
        try {
          si = decodeStatus(line);
        } catch {
          this.unit.logger.error(`Error unmarshalling JSON: ${line.replace(/\n+$/, '')}`);
          return;
        }
        const cur = this.unit.readRaw();
        // Rewrite the file only when B reported something new (a long job polls every second).
        const same = cur.State === si.State && cur.Detail === si.Detail && cur.StdoutSize === si.StdoutSize;
        if (this.localFailure) return;
        if (!same && !this.mirror(si)) return;
        updated.fire();
        await kick.wait(remoteTimings.statusPollMs, signal, this.unit.wc.clock);
      }
    } finally {
      conn?.close();
    }
  }

  /**
   * Writes B's State/Detail/StdoutSize into the local status. A write that fails (a full disk)
   * fails the unit (kept in memory until the disk allows) and stops monitoring: a mirrored
   * state the node cannot save would otherwise stay behind for ever, and results streams of a
   * unit that never completes never end.
   */
  private mirror(si: StatusRecord): boolean {
    if (this.host.stopped) return false;
    try {
      this.unit.updateBasic(si.State, si.Detail, si.StdoutSize);
      return true;
    } catch (err) {
      if (this.host.stopped) return false;
      this.failLocally(`Could not save the status of remote unit ${this.host.extra().RemoteUnitID}: ${errnoText(err)}`);
      return false;
    }
  }

  /** Fails the unit with what was copied so far (StdoutSize = the local size: streams end). */
  private failLocally(detail: string): void {
    if (this.localFailure || this.host.stopped) return;
    this.localFailure = true;
    this.unit.logger.error(detail);
    this.unit.markFailed(detail);
  }

  /**
   * Keeps a results stream open from the local stdout size, appending everything to the local
   * `stdout` (0600, append). Ends when the mirrored state is complete and the local file holds
   * the remote StdoutSize.
   */
  private async stdoutTask(signal: AbortSignal, kick: Kicker, updated: Pulse): Promise<void> {
    const path = this.unit.stdoutPath;
    try {
      await (await open(path, 'a', 0o600)).close();
    } catch (err) {
      this.unit.logger.error(`Could not open stdout file ${path}: ${(err as Error).message}`);
      return;
    }
    let first = true;
    for (;;) {
      if (!first) {
        // Ask for a fresh status right away and wait for it (fallback: the usual poll interval).
        const next = updated.next(remoteTimings.statusPollMs, signal, this.unit.wc.clock);
        kick.kick();
        await next;
      }
      if (signal.aborted || this.host.stopped || this.localFailure) return;
      const s = this.unit.readRaw();
      const disk = stdoutSize(this.unit.dir);
      if (isComplete(s.State) && disk >= s.StdoutSize) return;
      if (!first) {
        // A stream ended while the unit is not complete (canceled, B restarted, refused …):
        // do not hammer B; wait a moment or for a status change.
        await updated.next(remoteTimings.resultsRetryMs, signal, this.unit.wc.clock);
        if (signal.aborted || this.host.stopped) return;
        const again = this.unit.readRaw();
        if (isComplete(again.State) && stdoutSize(this.unit.dir) >= again.StdoutSize) return;
      }
      first = false;
      await this.fetchResults(signal);
    }
  }

  /** One results stream: request, header check, copy to the local stdout until B closes. */
  private async fetchResults(signal: AbortSignal): Promise<void> {
    const conn = await this.host.connectRetrying(signal);
    if (!conn) return;
    this.tracked(conn);
    const e = this.host.extra();
    const node = e.RemoteNode;
    try {
      const req: Record<string, unknown> = {command: 'work', subcommand: 'results', unitid: e.RemoteUnitID, startpos: stdoutSize(this.unit.dir)};
      if (e.SignWork) {
        try {
          req.signature = await this.host.signature(node);
        } catch (err) {
          this.unit.logger.error(`could not create signature to get results: ${(err as Error).message}`);
          return;
        }
      }
      try {
        await conn.write(encodeReply(req));
      } catch (err) {
        this.unit.logger.warn(`Write error sending to ${node}: ${(err as Error).message}`);
        return;
      }
      let header: string;
      try {
        header = await conn.readLine(signal);
      } catch (err) {
        if (!signal.aborted) this.unit.logger.warn(`Read error reading from ${node}: ${(err as Error).message}`);
        return;
      }
      if (!header.includes('Streaming results')) {
        this.unit.logger.warn(`Remote node ${node} did not stream results: ${header.replace(/\n+$/, '')}`);
        return;
      }
      let fh;
      try {
        fh = await open(this.unit.stdoutPath, 'a', 0o600);
      } catch (err) {
        this.unit.logger.error(`Could not open stdout file ${this.unit.stdoutPath}: ${(err as Error).message}`);
        return;
      }
      try {
        for (;;) {
          let chunk: Buffer | undefined;
          try {
            chunk = await conn.readChunk(signal);
          } catch (err) {
            if (!signal.aborted) this.unit.logger.warn(`Error reading the results of ${e.RemoteUnitID} from ${node}: ${(err as Error).message}`);
            break;
          }
          if (!chunk) break;
          if (this.host.stopped) break;
          try {
            // A full disk may take part of a chunk: write the rest (or fail on it).
            for (let off = 0; off < chunk.length;) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
          } catch (err) {
            // The local disk refuses the output (full, read-only): retrying cannot help.
            if (!this.host.stopped) this.failLocally(`Could not write the results of remote unit ${e.RemoteUnitID} to ${this.unit.stdoutPath}: ${errnoText(err)}`);
            break;
          }
          this.unit.changed();
        }
      } finally {
        await fh.close().catch(() => {});
      }
    } finally {
      conn.close();
    }
  }
}
