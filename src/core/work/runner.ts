/**
 * The command runner (workceptor.md §7.1 "The runner"): the process the node spawns, in a
 * session of its own, for each started `work-command` unit. It runs one job and keeps the
 * unit's status file up to date, so the job outlives restarts of the node.
 *
 *  1. Basic update Pending `Not started yet`, size 0.
 *  2. Split `params` (google/shlex rules); resolve `command` like Go's exec.Command.
 *  3. Job stdin = `<unitdir>/stdin`; job stdout and stderr = one descriptor of
 *     `<unitdir>/stdout` (created 0600), so both streams interleave in one file. Go opens it
 *     O_SYNC (every write of the job waits for the disk, ~6 MB/s); we fsync once when the
 *     job ends, before the final status, which keeps results durable at page-cache speed.
 *  4. Running `Running: PID <job pid>` with the current stdout size: right after the spawn,
 *     then every 250 ms. More than 3 consecutive failed writes: give up, exit 255.
 *  5. Job exit: Succeeded (`exit status 0`) or Failed (`exit status 3`, `signal: killed`)
 *     with the final stdout size, written at once; the runner exits with the job's code
 *     (255 after a signal, as Go's `os.Exit(-1)`).
 *  6. SIGINT/SIGTERM to the runner: SIGINT to the job, SIGKILL after 10 s if it is still
 *     there, Failed `Killed`, exit 255.
 *  7. Errors before the job runs (bad params, exec failure, …): Failed with Go's error text
 *     as Detail, exit 255.
 *
 * Only State, Detail and StdoutSize are ever changed; WorkType and ExtraData stay as on disk.
 * This module must stay light: it is loaded by one runner process per running unit.
 */
import {spawn, type ChildProcess, type StdioOptions} from 'node:child_process';
import {accessSync, closeSync, constants as fsConstants, fsyncSync, openSync, readdirSync, readSync, statSync} from 'node:fs';
import {join} from 'node:path';
import {errnoText, pathErrorText} from '../go/errno.js';
import {execLookPath, processExitCode, processStateString} from '../go/exec.js';
import {settings} from '../settings.js';
import {shlexSplit} from './shlex.js';
import {STATE_FAILED, STATE_PENDING, STATE_RUNNING, STATE_SUCCEEDED, stdoutSize, updateBasicStatus} from './status.js';

export type RunnerLogLevel = 'error' | 'warning' | 'info' | 'debug';

export interface CommandRunnerOptions {
  command: string;
  /** Effective params, one string; split with google/shlex rules. Empty: no arguments. */
  params: string;
  unitdir: string;
  /** Log sink (Go's runner texts). Level defaults to `error` for one-argument sinks. */
  log?: (msg: string, level?: RunnerLogLevel) => void;
  /** Wait between SIGINT and SIGKILL to the job when the runner is told to stop. Default:
   * env RECEPTOR_RUNNER_KILL_DELAY_MS, else 10 000. */
  killDelayMs?: number;
  /** Interval of the Running updates (default 250 ms). */
  tickMs?: number;
}

/** An error whose text is the unit's Detail (Go's `err.Error()`). */
class RunnerError extends Error {}

const DEFAULT_KILL_DELAY_MS = 10_000;
const DEFAULT_TICK_MS = 250;
const MAX_STATUS_FAILURES = 3;

function killDelayFromEnv(): number {
  return settings().runnerKillDelayMs ?? DEFAULT_KILL_DELAY_MS;
}

/** Go-style text of an error thrown by a status-file write. */
function statusErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.syscall === 'string' && typeof e.path === 'string') return pathErrorText(e, e.syscall, e.path);
  return e instanceof Error ? e.message : String(err);
}

let binfmtCache: boolean | undefined;
/** Whether the kernel has binfmt_misc handlers (they can run files of other formats). */
function hasBinfmtHandlers(): boolean {
  if (binfmtCache === undefined) {
    try {
      binfmtCache = readdirSync('/proc/sys/fs/binfmt_misc').some((n) => n !== 'register' && n !== 'status');
    } catch {
      binfmtCache = false;
    }
  }
  return binfmtCache;
}

/**
 * Go execs with execve(2), which refuses a file that is neither ELF nor `#!` (ENOEXEC).
 * libuv uses execvp(3), which runs such a file with /bin/sh instead. Detect the case up front
 * so the unit fails like Go's (`fork/exec ./job: exec format error`).
 */
function wouldBeExecFormatError(path: string): boolean {
  let fd: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return false;
    accessSync(path, fsConstants.X_OK);
    fd = openSync(path, 'r');
  } catch {
    return false; // execve reports its own error (EACCES, ENOENT, …)
  }
  try {
    const buf = Buffer.alloc(4);
    const n = readSync(fd, buf, 0, 4, 0);
    if (n >= 2 && buf[0] === 0x23 && buf[1] === 0x21) return false; // #!
    if (n === 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46) return false; // ELF
    return !hasBinfmtHandlers();
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Go's texts for spawn failures: `fork/exec <path>: <errno text>`. */
function spawnErrorText(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_INVALID_ARG')) return `fork/exec ${path}: invalid argument`;
  return `fork/exec ${path}: ${errnoText(err)}`;
}

/** Spawns the job; resolves once it runs, rejects with RunnerError if exec failed. */
function startJob(path: string, argv0: string, args: string[], stdio: StdioOptions): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(path, args, {argv0, stdio, windowsHide: true});
    } catch (err) {
      reject(new RunnerError(spawnErrorText(path, err)));
      return;
    }
    const onError = (err: Error): void => {
      child.off('spawn', onSpawn);
      reject(new RunnerError(spawnErrorText(path, err)));
    };
    const onSpawn = (): void => {
      child.off('error', onError);
      child.on('error', () => {}); // later kill() errors are not fatal
      resolve(child);
    };
    child.once('error', onError);
    child.once('spawn', onSpawn);
  });
}

/** Runs one job for a unit (see the module comment). Resolves to the runner's exit code. */
export async function runCommandRunner(opts: CommandRunnerOptions): Promise<number> {
  const {command, params, unitdir} = opts;
  const log = (msg: string, level: RunnerLogLevel = 'error'): void => {
    try {
      opts.log?.(msg, level);
    } catch {
      // a broken log sink must not stop the job's bookkeeping
    }
  };
  const killDelayMs = opts.killDelayMs ?? killDelayFromEnv();
  const tickMs = opts.tickMs ?? DEFAULT_TICK_MS;
  const statusFilename = join(unitdir, 'status');

  /** Basic update; returns false (and logs Go's line) when the write failed. */
  const update = (state: number, detail: string, size: number): boolean => {
    try {
      updateBasicStatus(unitdir, state, detail, size);
      return true;
    } catch (err) {
      log(`Error updating status file ${statusFilename}: ${statusErrorText(err)}`);
      return false;
    }
  };
  const fail = (detail: string): number => {
    update(STATE_FAILED, detail, stdoutSize(unitdir));
    log(`Command runner exited with error: ${detail}`);
    return 255;
  };

  // SIGINT/SIGTERM handling starts at once, so that a stop request that arrives before the
  // job exists is not lost (and does not kill the runner with the default action).
  let stopRequested = false;
  let onStop: (() => void) | undefined;
  const stopHandler = (): void => {
    if (stopRequested) return;
    stopRequested = true;
    onStop?.();
  };
  process.on('SIGINT', stopHandler);
  process.on('SIGTERM', stopHandler);
  const openFds: number[] = [];
  try {
    update(STATE_PENDING, 'Not started yet', 0);

    let args: string[];
    try {
      args = params === '' ? [] : shlexSplit(params);
    } catch (err) {
      return fail((err as Error).message);
    }

    // Job stdin: the unit's payload; a missing file means an empty payload.
    const stdinPath = join(unitdir, 'stdin');
    let stdin: number | 'ignore';
    try {
      stdin = openSync(stdinPath, 'r');
      openFds.push(stdin);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return fail(pathErrorText(err, 'open', stdinPath));
      stdin = 'ignore';
    }
    const stdoutPath = join(unitdir, 'stdout');
    let stdout: number;
    try {
      stdout = openSync(stdoutPath, fsConstants.O_CREAT | fsConstants.O_WRONLY, 0o600);
      openFds.push(stdout);
    } catch (err) {
      return fail(pathErrorText(err, 'open', stdoutPath));
    }

    let child: ChildProcess;
    try {
      const path = execLookPath(command, settings().path);
      if (wouldBeExecFormatError(path)) throw new RunnerError(`fork/exec ${path}: exec format error`);
      if (stopRequested) {
        update(STATE_FAILED, 'Killed', stdoutSize(unitdir));
        return 255;
      }
      child = await startJob(path, command, args, [stdin, stdout, stdout]);
    } catch (err) {
      return fail(err instanceof RunnerError ? err.message : String((err as Error)?.message ?? err));
    }
    // The job holds its own copies of the descriptors.
    for (const fd of openFds.splice(0)) closeSync(fd);
    const pid = child.pid!;
    log(`Started ${command} as PID ${pid}`, 'debug');

    return await new Promise<number>((resolve) => {
      let settled = false;
      let stopping = false;
      let failures = 0;
      const running = `Running: PID ${pid}`;
      const done = (code: number): void => {
        if (settled) return;
        settled = true;
        clearInterval(timer);
        resolve(code);
      };
      const tick = (): void => {
        if (settled || stopping) return;
        if (update(STATE_RUNNING, running, stdoutSize(unitdir))) {
          failures = 0;
          return;
        }
        failures++;
        if (failures > MAX_STATUS_FAILURES) {
          log(`Exceeded retries for updating status file ${statusFilename}`);
          done(255);
        }
      };
      const timer = setInterval(tick, tickMs);

      child.once('exit', (code, signal) => {
        if (settled || stopping) return; // a stop in progress writes `Killed`
        clearInterval(timer);
        const detail = processStateString(code, signal);
        syncFile(stdoutPath);
        update(code === 0 ? STATE_SUCCEEDED : STATE_FAILED, detail, stdoutSize(unitdir));
        log(`PID ${pid} finished: ${detail}`, 'debug');
        done(processExitCode(code, signal));
      });

      onStop = (): void => {
        if (settled || stopping) return;
        stopping = true;
        clearInterval(timer);
        void (async () => {
          const exited = child.exitCode !== null || child.signalCode !== null;
          if (!exited) {
            const gone = new Promise<boolean>((r) => {
              const t = setTimeout(() => r(false), killDelayMs);
              child.once('exit', () => {
                clearTimeout(t);
                r(true);
              });
            });
            try {
              process.kill(pid, 'SIGINT');
            } catch (err) {
              log(`Error processing Interrupt Signal: ${(err as Error).message}`, 'warning');
            }
            if (!(await gone)) {
              log(`timed out waiting for pid ${pid} to terminate with SIGINT`, 'warning');
              log(`sending SIGKILL to pid ${pid}`, 'info');
              try {
                process.kill(pid, 'SIGKILL');
              } catch (err) {
                log(`Error killing pid ${pid}: ${(err as Error).message}`, 'warning');
              }
            }
          }
          update(STATE_FAILED, 'Killed', stdoutSize(unitdir));
          done(255);
        })();
      };

      // First Running status at once, so that short jobs are visible too.
      tick();
      if (stopRequested) onStop();
    });
  } finally {
    process.off('SIGINT', stopHandler);
    process.off('SIGTERM', stopHandler);
    for (const fd of openFds) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
}

/** Flushes a file to disk (best effort). */
function syncFile(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // nothing to flush
  }
}
