/**
 * The pod's output into the unit's stdout file. With reconnect support (Go's default) the
 * log is read with timestamps and every break is resumed from the last record written, with
 * no line lost or repeated (log-records.ts); a clean end while the container still runs is
 * log rotation, so we reconnect too, and after the container has ended we read once more to
 * pick up what a rotation may have cut. The position is checkpointed next to stdout so a
 * restarted node continues where the file ends.
 */
import {closeSync, fstatSync, ftruncateSync, openSync, readFileSync, renameSync, writeFileSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import type {IncomingMessage} from 'node:http';
import type {Logger} from 'pino';
import type {KubeConnection} from './client.js';
import {apiErrorCode, apiErrorText, streamGet} from './client.js';
import {LogResume, TimestampedLogParser, type LogPosition} from './log-records.js';
import {workerTerminated} from './pod-watch.js';
import {sleep} from '../remote-jobs.js';

/** A failure whose text is the unit's Detail as is (Go sets these directly). */
export class DetailError extends Error {}

export const CHECKPOINT_FILE = 'kube-log-position';

/** What the checkpoint file holds: the log position and the stdout size it corresponds to. */
export interface LogCheckpoint {
  namespace: string;
  pod: string;
  position: LogPosition | null;
  offset: number;
}

export function readCheckpoint(unitDir: string): LogCheckpoint | undefined {
  try {
    const v = JSON.parse(readFileSync(join(unitDir, CHECKPOINT_FILE), 'utf8')) as LogCheckpoint;
    if (typeof v.offset === 'number' && typeof v.pod === 'string') return v;
  } catch {
    // none yet
  }
  return undefined;
}

function writeCheckpoint(unitDir: string, cp: LogCheckpoint): void {
  const tmp = join(unitDir, `${CHECKPOINT_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(cp), {mode: 0o600});
  renameSync(tmp, join(unitDir, CHECKPOINT_FILE));
}

export interface LogStreamOptions {
  conn: KubeConnection;
  namespace: string;
  pod: string;
  unitDir: string;
  logger: Logger;
  signal: AbortSignal;
  /** Timestamps + resume (Go's reconnect support); false: one plain stream copied as is. */
  reconnect: boolean;
  retryDelayMs: number;
  /** How long reconnects may go on without a new record before the unit fails. */
  giveUpMs: number;
  /** Called after bytes were appended, with the new stdout size. */
  onOutput(size: number): void;
}

/** Opens stdout for appending at the checkpoint (a node restart truncates what came after it). */
function openStdout(unitDir: string, cp: LogCheckpoint | undefined): {fd: number; size: number; skip: number} {
  const fd = openSync(join(unitDir, 'stdout'), 'a+', 0o600);
  let size = fstatSync(fd).size;
  let skip = 0;
  if (cp && size > cp.offset) {
    // Bytes past the checkpoint are sent again: drop them so they are not doubled.
    ftruncateSync(fd, cp.offset);
    size = cp.offset;
  } else if (!cp && size > 0) {
    // Output without a position (a unit from before checkpoints): skip that many bytes of the log.
    skip = size;
  }
  return {fd, size, skip};
}

/** Streams the log until the container has ended. Throws with Go's texts on failure. */
export async function streamLogs(o: LogStreamOptions): Promise<number> {
  const cp = readCheckpoint(o.unitDir);
  const usable = cp && cp.pod === o.pod && cp.namespace === o.namespace ? cp : undefined;
  const out = openStdout(o.unitDir, usable);
  let size = out.size;
  let skip = out.skip;
  const resume = new LogResume(usable?.position ?? undefined);
  const write = (b: Buffer) => {
    if (skip > 0) {
      const n = Math.min(skip, b.length);
      skip -= n;
      b = b.subarray(n);
      if (b.length === 0) return;
    }
    let off = 0;
    while (off < b.length) off += writeSync(out.fd, b, off);
    size += b.length;
  };
  const checkpoint = () => writeCheckpoint(o.unitDir, {namespace: o.namespace, pod: o.pod, position: resume.position() ?? null, offset: size});
  try {
    if (!o.reconnect) {
      const res = await openLog(o, false, undefined);
      await pump(res, (chunk) => {
        write(chunk);
        o.onOutput(size);
      });
      return size;
    }
    let failures = 0;
    let finalRead = false;
    let lastErr: Error | undefined;
    let first = true;
    let lastProgress = Date.now();
    // Unlike Go (5 attempts, then the unit fails), a reconnect keeps trying while the pod
    // exists, for up to giveUpMs without progress: a kubelet restart must not cost the output.
    const backoff = () => sleep(Math.min(o.retryDelayMs * 2 ** Math.min(failures, 10), 5000), o.signal);
    for (;;) {
      if (o.signal.aborted) return size;
      let res: IncomingMessage;
      try {
        res = await openLog(o, true, resume.sinceTime(), first ? 5 : 1);
      } catch (err) {
        if (first || o.signal.aborted) throw err;
        if (await podGone(o)) return size;
        failures++;
        if (Date.now() - lastProgress > o.giveUpMs) throw err;
        await backoff();
        continue;
      }
      first = false;
      resume.reconnect();
      const parser = new TimestampedLogParser();
      let progressed = false;
      const take = (recs: ReturnType<TimestampedLogParser['feed']>) => {
        let wrote = false;
        for (const r of recs) {
          if (resume.accept(r.ts)) {
            write(r.content);
            wrote = true;
          }
        }
        if (wrote) {
          progressed = true;
          lastProgress = Date.now();
          checkpoint();
          o.onOutput(size);
        }
      };
      let clean: boolean;
      try {
        await pump(res, (chunk) => take(parser.feed(chunk)));
        clean = true;
      } catch (err) {
        clean = false;
        lastErr = err as Error;
      }
      if (o.signal.aborted) return size;
      if (clean) {
        take(parser.endClean());
        const state = await containerEnded(o);
        if (state === 'running') {
          o.logger.debug({pod: o.pod}, 'log stream ended while the container runs (log rotation): reconnecting');
          failures = progressed ? 0 : failures + 1;
          if (!progressed) await backoff();
          continue;
        }
        if (state === 'gone' || finalRead) return size;
        // The container has ended: one more read catches what a rotation may have cut.
        finalRead = true;
        continue;
      }
      const dropped = parser.endBroken();
      o.logger.info({pod: o.pod, dropped, err: lastErr?.message}, `Detected Error: ${lastErr?.message} for pod ${o.namespace}/${o.pod}. Reconnecting.`);
      failures = progressed ? 0 : failures + 1;
      if (failures > 5 && Date.now() - lastProgress > o.giveUpMs) throw lastErr ?? new Error('log stream failed');
      if (failures > 0) await backoff();
    }
  } finally {
    try {
      closeSync(out.fd);
    } catch {
      // closed
    }
  }
}

/** Whether the worker container still runs. */
async function containerEnded(o: LogStreamOptions): Promise<'running' | 'ended' | 'gone'> {
  for (let i = 0; ; i++) {
    try {
      const pod = await o.conn.core.readNamespacedPod({namespace: o.namespace, name: o.pod});
      if (workerTerminated(pod) || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return 'ended';
      return 'running';
    } catch (err) {
      if (apiErrorCode(err) === 404) return 'gone';
      if (i >= 4 || o.signal.aborted) throw new DetailError(`Error getting pod ${o.namespace}/${o.pod}. Error: ${apiErrorText(err)}`);
      await sleep(o.retryDelayMs, o.signal);
    }
  }
}

/** Whether the pod is gone (404); any other answer or failure counts as still there. */
async function podGone(o: LogStreamOptions): Promise<boolean> {
  try {
    await o.conn.core.readNamespacedPod({namespace: o.namespace, name: o.pod});
    return false;
  } catch (err) {
    return apiErrorCode(err) === 404;
  }
}

/** Opens the log stream, with Go's attempts (5, a second apart) at first. */
async function openLog(o: LogStreamOptions, timestamps: boolean, sinceTime: string | undefined, attempts = 5): Promise<IncomingMessage> {
  const q = new URLSearchParams({container: 'worker', follow: 'true'});
  if (timestamps) q.set('timestamps', 'true');
  if (sinceTime) q.set('sinceTime', sinceTime);
  const path = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}/log?${q}`;
  let lastErr: unknown;
  for (let retries = attempts; retries > 0; retries--) {
    try {
      return await streamGet(o.conn.kc, path, o.signal);
    } catch (err) {
      lastErr = err;
      if (o.signal.aborted) break;
      o.logger.warn(`Error opening log stream for pod ${o.namespace}/${o.pod}. Will retry ${retries} more times. Error: ${apiErrorText(err)}`);
      if (retries > 1) await sleep(Math.max(o.retryDelayMs, Math.min(1000, o.retryDelayMs * 5)), o.signal);
    }
  }
  throw new DetailError(`Error opening log stream for pod ${o.namespace}/${o.pod}. Error: ${apiErrorText(lastErr)}`);
}

/** Feeds the body to `onChunk`; resolves on a clean end, rejects when the connection breaks. */
function pump(res: IncomingMessage, onChunk: (b: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      res.destroy();
      reject(err);
    };
    res.on('data', (c: Buffer) => {
      try {
        onChunk(c);
      } catch (err) {
        fail(err as Error);
      }
    });
    res.on('aborted', () => fail(new Error('unexpected EOF')));
    res.on('error', (err) => fail(err));
    res.on('end', () => {
      if (!failed && res.complete) resolve();
      else fail(new Error('unexpected EOF'));
    });
    res.on('close', () => {
      if (!res.complete) fail(new Error('unexpected EOF'));
    });
  });
}
