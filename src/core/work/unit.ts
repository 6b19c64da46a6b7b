/**
 * A work unit (workceptor.md §1, §4–§6): its directory, its status file and the operations
 * every work type implements. Subclasses: command units (command.ts), remote units
 * (remote.ts) and units of unknown type.
 */
import {EventEmitter} from 'node:events';
import {existsSync, watch, type FSWatcher} from 'node:fs';
import {rm} from 'node:fs/promises';
import {join} from 'node:path';
import type {Logger} from 'pino';
import {errnoText} from '../go/errno.js';
import {readStatus, stdoutSize, writeStatus, STATE_FAILED, type StatusRecord} from './status.js';
import type {Workceptor} from './workceptor.js';

export type StartResult = 'started' | 'pending';
export type CancelResult = 'cancelled' | 'cancel pending';
export type ReleaseResult = 'released' | 'release pending';

export abstract class WorkUnit extends EventEmitter {
  readonly dir: string;
  readonly logger: Logger;
  /** Last status read (kept when the file is briefly unreadable). */
  protected last: StatusRecord;
  /** Set once the unit was released / forgotten. */
  released = false;
  private watcher: FSWatcher | undefined;
  /** A Failed record that could not be written yet (see markFailed). */
  private unsaved: StatusRecord | undefined;
  private watchers = 0;

  constructor(
    readonly wc: Workceptor,
    readonly id: string,
    readonly workType: string,
  ) {
    super();
    this.setMaxListeners(0);
    this.dir = join(wc.unitsDir, id);
    this.logger = wc.logger.child({unit: id});
    this.last = {State: 0, Detail: '', StdoutSize: 0, WorkType: workType, ExtraData: null};
  }

  get stdinPath(): string {
    return join(this.dir, 'stdin');
  }

  get stdoutPath(): string {
    return join(this.dir, 'stdout');
  }

  /** The current status, read from disk. */
  status(): StatusRecord {
    return this.readRaw();
  }

  /** The record on disk (or the last good copy). */
  readRaw(): StatusRecord {
    const unsaved = this.unsaved;
    if (unsaved) {
      // A failure mark the disk refused (full): shown as is, written once the disk allows.
      try {
        writeStatus(this.dir, unsaved);
        this.unsaved = undefined;
      } catch {
        return unsaved;
      }
    }
    try {
      this.last = readStatus(this.dir);
    } catch {
      // keep the last good copy
    }
    return this.last;
  }

  /** The status as control replies show it (secrets redacted). */
  publicStatus(): StatusRecord {
    return this.status();
  }

  /** Writes a whole record and tells waiters. */
  save(s: StatusRecord): void {
    writeStatus(this.dir, s);
    this.last = s;
    this.changed();
  }

  /** Basic update: State, Detail and (unless -1) StdoutSize; WorkType and ExtraData kept. */
  updateBasic(state: number, detail: string, size: number): void {
    const cur = this.readRaw();
    this.save({...cur, State: state, Detail: detail, StdoutSize: size === -1 ? cur.StdoutSize : size});
  }

  /** Full update: arbitrary change of the loaded record. */
  updateFull(change: (s: StatusRecord) => void): void {
    const cur = {...this.readRaw()};
    change(cur);
    this.save(cur);
  }

  /** Tells waiters (result streams, followers) that status or output may have changed. */
  changed(): void {
    this.emit('change');
  }

  /** Runtime parameters at allocation (throw to refuse the submission). */
  setParams(_params: Record<string, string>): void {}

  /** ExtraData of a newly allocated unit. */
  initialExtraData(): unknown {
    return null;
  }

  /** For signature checks on cancel/release/results (remote units: ExtraData.SignWork). */
  signFlag(): boolean {
    return false;
  }

  abstract start(): Promise<StartResult>;
  /** Called when the unit is found on disk at start-up. */
  abstract restart(): Promise<void>;
  abstract cancel(): Promise<CancelResult>;
  abstract release(force: boolean): Promise<ReleaseResult>;

  /** Stops background activity (node shutdown). */
  dispose(): void {
    this.closeWatch();
  }

  /**
   * Resolves when the unit reports a change, a file in its directory changes, the timeout
   * passes or the signal aborts — whichever comes first.
   */
  waitChange(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || this.released) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.off('change', done);
        this.off('fschange', done);
        signal?.removeEventListener('abort', done);
        this.unwatch();
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.on('change', done);
      this.on('fschange', done);
      signal?.addEventListener('abort', done, {once: true});
      this.watchDir();
    });
  }

  private watchDir(): void {
    this.watchers++;
    if (this.watcher || !existsSync(this.dir)) return;
    try {
      this.watcher = watch(this.dir, {persistent: false}, () => this.emit('fschange'));
      this.watcher.on('error', () => this.closeWatch());
    } catch {
      this.watcher = undefined;
    }
  }

  private unwatch(): void {
    this.watchers--;
    if (this.watchers <= 0) {
      this.watchers = 0;
      // Keep the watcher a moment: result streams wait again right away.
      setImmediate(() => {
        if (this.watchers === 0) this.closeWatch();
      });
    }
  }

  private closeWatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Deletes the unit directory (non-force: up to 3 attempts 1 s apart) and forgets the unit. */
  protected async deleteUnit(force: boolean): Promise<void> {
    const attempts = force ? 1 : 3;
    for (let i = 1; ; i++) {
      try {
        await rm(this.dir, {recursive: true, force: true});
        break;
      } catch (err) {
        if (force) break;
        if (i >= attempts) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    this.wc.forget(this.id);
  }

  /**
   * Release of a unit that runs on this node (workceptor.md §6.5): cancel first (a cancel error
   * aborts a release, not a force-release), then delete the directory and forget the unit.
   */
  protected async releaseLocal(force: boolean): Promise<ReleaseResult> {
    try {
      await this.cancel();
    } catch (err) {
      if (!force) throw err;
    }
    await this.deleteUnit(force);
    return 'released';
  }

  /**
   * Marks a unit Failed even when its status file cannot be written (a full disk): the record
   * is then kept in memory, served to readers and written as soon as a write succeeds.
   */
  markFailed(detail: string, clearExtra = false): void {
    const next: StatusRecord = {...this.readRaw(), State: STATE_FAILED, Detail: detail, StdoutSize: stdoutSize(this.dir)};
    if (clearExtra) next.ExtraData = null;
    try {
      this.save(next);
    } catch (err) {
      const why = errnoText(err);
      next.Detail = `${detail} (status file not written: ${why})`;
      this.logger.error(`Could not write the status of unit ${this.id}: ${why}`);
      this.unsaved = next;
      this.last = next;
      this.changed();
    }
  }
}

/** A unit whose work type is not registered (workceptor.md §7.4). */
export class UnknownTypeUnit extends WorkUnit {
  override status(): StatusRecord {
    return {...super.status(), ExtraData: 'Unknown WorkType'};
  }

  override publicStatus(): StatusRecord {
    return this.status();
  }

  async start(): Promise<StartResult> {
    return 'started';
  }

  async restart(): Promise<void> {}

  async cancel(): Promise<CancelResult> {
    return 'cancelled';
  }

  async release(force: boolean): Promise<ReleaseResult> {
    await this.deleteUnit(force);
    return 'released';
  }
}
