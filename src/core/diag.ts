/**
 * Opt-in self-diagnostics for soak tests (RECEPTOR_DIAG_FILE): the daemon rewrites one JSON
 * file with its memory, open file descriptors and active handles and timers every few seconds.
 * `process.getActiveResourcesInfo()` only answers inside the process, so a test watching a
 * real daemon for leaks reads it here. Nothing else of the node changes (no control-service
 * field: Go's `status` reply keeps its shape).
 */
import {readdirSync, renameSync, writeFileSync} from 'node:fs';
import type {Logger} from 'pino';

export interface DiagSample {
  pid: number;
  /** Milliseconds since the epoch. */
  time: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** Entries of /proc/self/fd (null where there is no /proc). */
  fds: number | null;
  /** `process.getActiveResourcesInfo()` counted by type (ref'd timers show as `Timeout`). */
  resources: Record<string, number>;
  /** Ref'd timers (`Timeout` entries) and everything else (handles and requests). */
  timers: number;
  handles: number;
}

function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the descriptor of the listing itself
  } catch {
    return null;
  }
}

/** One sample of this process. */
export function diagSample(): DiagSample {
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  const timers = resources.Timeout ?? 0;
  const total = Object.values(resources).reduce((a, b) => a + b, 0);
  const mem = process.memoryUsage();
  return {
    pid: process.pid,
    time: Date.now(),
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    heapTotalBytes: mem.heapTotal,
    externalBytes: mem.external,
    arrayBuffersBytes: mem.arrayBuffers,
    fds: openFds(),
    resources,
    timers,
    handles: total - timers,
  };
}

/**
 * Writes a sample to `file` now and every `intervalMs` (write to a temporary name, then
 * rename, so a reader never sees half a file). The timer is unref'd, so it neither keeps the
 * process up nor counts among the timers it reports. Returns the stop function.
 */
export function startDiagnostics(file: string, intervalMs: number, logger: Logger): () => void {
  let failed = false;
  const write = () => {
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(diagSample()) + '\n');
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      if (!failed) logger.warn({err, file}, 'Cannot write the diagnostics file (RECEPTOR_DIAG_FILE)');
      failed = true;
    }
  };
  write();
  const timer = setInterval(write, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
