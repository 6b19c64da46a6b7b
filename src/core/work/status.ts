/**
 * The unit status file (workceptor.md §4): one JSON object + LF, written in Go struct order
 * (`State, Detail, StdoutSize, WorkType, ExtraData`), files 0600.
 *
 * Writes are atomic (a temporary file renamed over `status`), so a reader never sees a torn
 * record even without taking `status.lock`. The lock file is still created (empty, 0600) to
 * keep Go's layout. Writers never race in practice: the node writes before it spawns a
 * command runner and after the runner has exited; the runner writes in between.
 */
import {closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync} from 'node:fs';
import {join} from 'node:path';
import {settings} from '../settings.js';
import {jsonQuote, toGoJsonOut, writeGoJson} from '../go/json.js';

export const STATE_PENDING = 0;
export const STATE_RUNNING = 1;
export const STATE_SUCCEEDED = 2;
export const STATE_FAILED = 3;
export const STATE_CANCELED = 4;

/** A status record exactly as stored (and mirrored between nodes). */
export interface StatusRecord {
  State: number;
  Detail: string;
  StdoutSize: number;
  WorkType: string;
  /** Type specific: an object (key order kept), a string (`Unknown WorkType`) or null. */
  ExtraData: unknown;
}

/** `StateName` of a state code (workceptor.md §5.1). */
export function stateName(state: number): string {
  switch (state) {
    case STATE_PENDING:
      return 'Pending';
    case STATE_RUNNING:
      return 'Running';
    case STATE_SUCCEEDED:
      return 'Succeeded';
    case STATE_FAILED:
      return 'Failed';
    case STATE_CANCELED:
      return 'Canceled';
    default:
      return `Unknown: ${state}`;
  }
}

/** Complete = Succeeded or Failed. Canceled is deliberately not complete (quirk W1). */
export function isComplete(state: number): boolean {
  return state === STATE_SUCCEEDED || state === STATE_FAILED;
}

/** The exact bytes Go writes for a record (struct order, compact, trailing LF). */
export function encodeStatus(s: StatusRecord): string {
  return (
    `{"State":${Math.trunc(s.State)},"Detail":${jsonQuote(s.Detail)},"StdoutSize":${Math.trunc(s.StdoutSize)},` +
    `"WorkType":${jsonQuote(s.WorkType)},"ExtraData":${writeGoJson(toGoJsonOut(s.ExtraData))}}\n`
  );
}

/** Thrown when a status file is missing or unreadable. */
import {StatusFileError} from '../errors.js';
export {StatusFileError};

/**
 * Parses a status file's text. Any valid JSON object is accepted (the Python worker writes
 * with spaces); unknown keys are ignored; missing keys get zero values.
 */
export function decodeStatus(text: string): StatusRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new StatusFileError(`invalid status file: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new StatusFileError('invalid status file: not a JSON object');
  const o = v as Record<string, unknown>;
  return {
    State: typeof o.State === 'number' ? Math.trunc(o.State) : 0,
    Detail: typeof o.Detail === 'string' ? o.Detail : '',
    StdoutSize: typeof o.StdoutSize === 'number' ? Math.trunc(o.StdoutSize) : 0,
    WorkType: typeof o.WorkType === 'string' ? o.WorkType : '',
    ExtraData: o.ExtraData === undefined ? null : o.ExtraData,
  };
}

export function statusPath(unitDir: string): string {
  return join(unitDir, 'status');
}

/** Reads `<unitDir>/status`. Throws StatusFileError when it is missing or malformed. */
export function readStatus(unitDir: string): StatusRecord {
  let text: string;
  try {
    text = readFileSync(statusPath(unitDir), 'utf8');
  } catch (err) {
    throw new StatusFileError((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'status file does not exist' : (err as Error).message);
  }
  return decodeStatus(text);
}

let tmpCounter = 0;

/** Atomically replaces `<unitDir>/status` with `s` (0600). */
export function writeStatus(unitDir: string, s: StatusRecord): void {
  const final = statusPath(unitDir);
  const tmp = `${final}.${process.pid}.${++tmpCounter}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    try {
      writeSync(fd, encodeStatus(s));
      if (settings().statusFsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, final);
  } catch (err) {
    // A full disk must not leave temporary files behind (nor touch `status`).
    try {
      unlinkSync(tmp);
    } catch {
      // not created or already gone
    }
    throw err;
  }
}

/**
 * Basic update (workceptor.md §4.2): sets State, Detail and (unless `size` is -1) StdoutSize,
 * keeping WorkType and ExtraData as they are on disk. A missing file starts from zero values.
 */
export function updateBasicStatus(unitDir: string, state: number, detail: string, size: number): StatusRecord {
  let cur: StatusRecord;
  try {
    cur = readStatus(unitDir);
  } catch {
    cur = {State: 0, Detail: '', StdoutSize: 0, WorkType: '', ExtraData: null};
  }
  const next: StatusRecord = {...cur, State: state, Detail: detail, StdoutSize: size === -1 ? cur.StdoutSize : size};
  writeStatus(unitDir, next);
  return next;
}

/** Size of `<unitDir>/stdout`, or 0 when it does not exist. */
export function stdoutSize(unitDir: string): number {
  try {
    return statSync(join(unitDir, 'stdout')).size;
  } catch {
    return 0;
  }
}
