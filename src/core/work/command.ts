/**
 * `work-command` units (workceptor.md §7.1): the node spawns a detached command runner
 * (this CLI re-executed with `--command-runner`) which runs the job and writes the status
 * file; the node records the runner's PID, learns of its exit, and cancels with SIGINT.
 */
import type {ChildProcess} from 'node:child_process';
import {readFileSync, statSync} from 'node:fs';
import {processStateString} from '../go/exec.js';
import {spawnCommandRunner} from './spawn-runner.js';
import {isComplete, STATE_CANCELED, STATE_FAILED, STATE_PENDING, statusPath, type StatusRecord} from './status.js';
import {WorkUnit, type CancelResult, type ReleaseResult, type StartResult} from './unit.js';
import {WorkError, type WorkTypeDef, type Workceptor} from './workceptor.js';

export interface CommandTypeConfig {
  workType: string;
  command: string;
  params: string;
  allowRuntimeParams: boolean;
  verifySignature: boolean;
}

/** Go receptor log-level names for the runner's `--log-level`. */
function runnerLogLevel(pinoLevel: string): string {
  switch (pinoLevel) {
    case 'debug':
    case 'trace':
      return 'debug';
    case 'info':
      return 'info';
    case 'warn':
      return 'warning';
    default:
      return 'error';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A live runner rewrites the status file every 250 ms; this much silence means it is gone. */
const STALE_STATUS_MS = 3000;
/** How often a node that did not spawn a runner (it restarted) checks that it is alive. */
const RUNNER_CHECK_MS = 1000;

export class CommandUnit extends WorkUnit {
  private params: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  /**
   * While a cancel is in progress readers see the status from before it: the runner's own
   * `Killed` (Failed, complete) must not end result streams of a unit about to be Canceled.
   */
  private frozen: StatusRecord | undefined;
  private runnerCheck: NodeJS.Timeout | undefined;

  constructor(
    wc: Workceptor,
    id: string,
    private readonly cfg: CommandTypeConfig,
  ) {
    super(wc, id, cfg.workType);
    this.params = cfg.params;
  }

  override setParams(p: Record<string, string>): void {
    const extra = p.params ?? '';
    if (extra !== '') {
      if (!this.cfg.allowRuntimeParams) throw new WorkError('extra params provided but not allowed', 'E_WORK_PARAMS');
      this.params = this.cfg.params === '' ? extra : `${this.cfg.params} ${extra}`;
    }
  }

  override status(): StatusRecord {
    if (this.frozen) return this.frozen;
    const s = super.status();
    // The runner writes its final status and exits a moment later; readers already see the
    // ExtraData the node is about to write (null), so "complete" always looks the same.
    if (this.child && isComplete(s.State) && s.ExtraData !== null) return {...s, ExtraData: null};
    return s;
  }

  override initialExtraData(): unknown {
    return {Pid: 0, Params: this.params};
  }

  private extra(): {Pid: number; Params: string} | null {
    const e = this.readRaw().ExtraData as {Pid?: unknown; Params?: unknown} | null;
    if (e && typeof e === 'object') return {Pid: typeof e.Pid === 'number' ? e.Pid : 0, Params: typeof e.Params === 'string' ? e.Params : ''};
    return null;
  }

  async start(): Promise<StartResult> {
    const params = this.extra()?.Params ?? this.params;
    // Go writes this before spawning; afterwards only ExtraData.Pid changes, so nothing the
    // runner writes (it takes ~80 ms to start) is overwritten.
    this.updateBasic(STATE_PENDING, 'Launching command runner', -1);
    let child: ChildProcess;
    try {
      child = spawnCommandRunner({
        selfCommand: this.wc.selfCommand,
        logLevel: runnerLogLevel((this.wc.rt?.logger ?? this.wc.logger).level),
        command: this.cfg.command,
        params,
        unitdir: this.dir,
      });
      if (child.pid === undefined) {
        const err = await new Promise<Error>((resolve) => child.once('error', resolve));
        throw err;
      }
    } catch (err) {
      const msg = `Failed to start command runner: ${(err as Error).message}`;
      this.updateBasic(STATE_FAILED, msg, 0);
      throw new WorkError(msg);
    }
    this.child = child;
    child.on('error', () => {});
    child.unref();
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.child = undefined;
        try {
          // The process that spawned the runner resets ExtraData once it is gone (quirk W2).
          if (!this.released) {
            const s = this.readRaw();
            // A runner that died without its final status (kill -9, a full disk) leaves a
            // unit nothing would ever complete: fail it.
            if (!this.frozen && !isComplete(s.State) && s.State !== STATE_CANCELED) {
              this.markFailed(`Command runner exited unexpectedly: ${processStateString(code, signal)}`, true);
            } else this.updateFull((st) => (st.ExtraData = null));
          }
        } catch {
          // released meanwhile
        }
        resolve();
      });
    });
    this.updateFull((s) => (s.ExtraData = {Pid: child.pid, Params: params}));
    return 'started';
  }

  async restart(): Promise<void> {
    const s = this.readRaw();
    if (isComplete(s.State)) return;
    if (s.State === STATE_PENDING) {
      this.markFailed('Pending at restart');
      return;
    }
    // Running: the detached runner (if alive) keeps writing the file. Improvement on Go
    // (quirk W9): a runner that is gone leaves a unit that can never complete — fail it,
    // now or when it dies later.
    if (s.State === STATE_CANCELED) return;
    const pid = this.extra()?.Pid ?? 0;
    if (!this.runnerAlive(pid)) {
      const again = this.readRaw();
      if (!isComplete(again.State) && again.State !== STATE_CANCELED) this.markFailed('Failed to restart: command runner is gone');
      return;
    }
    this.runnerCheck = setInterval(() => this.checkRunner(pid), RUNNER_CHECK_MS);
    this.runnerCheck.unref();
  }

  /**
   * Whether the unit's runner still runs: PID `pid` exists and (where /proc tells) is a
   * command runner of this unit, not a process that reused the PID. Without a PID (lost, or
   * reset by an older node) the status file's age decides.
   */
  private runnerAlive(pid: number): boolean {
    if (pid <= 0) {
      try {
        return Date.now() - statSync(statusPath(this.dir)).mtimeMs < STALE_STATUS_MS;
      } catch {
        return false;
      }
    }
    if (!pidAlive(pid)) return false;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      return true; // no /proc: the PID is all we know
    }
    return argv.includes('--command-runner') && argv.some((a) => a.startsWith('unitdir=') && a.endsWith(`/${this.id}`));
  }

  private checkRunner(pid: number): void {
    if (this.released || this.frozen) return;
    const s = this.readRaw();
    if (isComplete(s.State) || s.State === STATE_CANCELED) return this.stopRunnerCheck();
    if (this.runnerAlive(pid)) return;
    // The runner may have written its final status just before exiting.
    const again = this.readRaw();
    if (!isComplete(again.State) && again.State !== STATE_CANCELED) this.markFailed(`Command runner is gone (PID ${pid})`);
    this.stopRunnerCheck();
  }

  private stopRunnerCheck(): void {
    clearInterval(this.runnerCheck);
    this.runnerCheck = undefined;
  }

  override dispose(): void {
    this.stopRunnerCheck();
    super.dispose();
  }

  async cancel(): Promise<CancelResult> {
    const pid = this.extra()?.Pid ?? 0;
    if (pid <= 0) return 'cancelled';
    // The job ended by itself and its runner is only exiting (its PID still recorded): a
    // Succeeded or Failed unit stays so (a release in that moment answered Canceled to readers).
    if (isComplete(this.readRaw().State)) return 'cancelled';
    this.frozen = this.readRaw();
    try {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        return 'cancelled'; // os: process already finished
      }
      if (this.exited && this.child) await this.exited;
      else {
        while (pidAlive(pid)) await new Promise((r) => setTimeout(r, 20));
      }
      this.frozen = undefined;
      if (!this.released) this.updateBasic(STATE_CANCELED, 'Canceled', -1);
    } finally {
      this.frozen = undefined;
    }
    return 'cancelled';
  }

  async release(force: boolean): Promise<ReleaseResult> {
    return this.releaseLocal(force);
  }
}

/** The work type of a `work-command` item. */
export function commandTypeDef(cfg: CommandTypeConfig): WorkTypeDef {
  return {
    name: cfg.workType,
    verifySignature: cfg.verifySignature,
    advertise: true,
    create: (wc, id) => new CommandUnit(wc, id, cfg),
  };
}
