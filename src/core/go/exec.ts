/**
 * Go's texts for process outcomes on Linux, so that command units show the Details Go
 * receptor shows (workceptor.md §5.3): `(*os.ProcessState).String()` (`exit status 3`,
 * `signal: killed`), from Go's signal table for Linux (zerrors_linux_amd64.go); and what
 * `exec.LookPath` resolves a command to. Errno texts are in errno.ts.
 * Layer rule (see README.md): core/go imports nothing from other src/core folders.
 */
import {accessSync, constants as fsConstants, statSync} from 'node:fs';
import {constants} from 'node:os';
import {isAbsolute, join} from 'node:path';
import {strconvQuote} from './strconv.js';

/** Go's `signals` table for Linux, indexed by signal number. */
const GO_SIGNALS: readonly string[] = [
  '',
  'hangup',
  'interrupt',
  'quit',
  'illegal instruction',
  'trace/breakpoint trap',
  'aborted',
  'bus error',
  'floating point exception',
  'killed',
  'user defined signal 1',
  'segmentation fault',
  'user defined signal 2',
  'broken pipe',
  'alarm clock',
  'terminated',
  'stack fault',
  'child exited',
  'continued',
  'stopped (signal)',
  'stopped',
  'stopped (tty input)',
  'stopped (tty output)',
  'urgent I/O condition',
  'CPU time limit exceeded',
  'file size limit exceeded',
  'virtual timer expired',
  'profiling timer expired',
  'window changed',
  'I/O possible',
  'power failure',
  'bad system call',
];

/** Linux signal numbers of the names Node reports (generic layout: x86, arm, arm64, …). */
const LINUX_SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
  SIGUNUSED: 31,
};

/** Linux number of a signal given by Node name (`SIGINT`) or number; undefined if unknown. */
export function linuxSignalNumber(signal: string | number): number | undefined {
  if (typeof signal === 'number') return Number.isInteger(signal) && signal > 0 ? signal : undefined;
  const n = LINUX_SIGNALS[signal] ?? (constants.signals as Record<string, number | undefined>)[signal];
  if (n !== undefined) return n;
  return /^\d+$/.test(signal) ? Number(signal) : undefined;
}

/** Go's `syscall.Signal.String()` on Linux: `interrupt`, `killed`, …, `signal 34`. */
export function signalString(signal: string | number): string {
  const n = linuxSignalNumber(signal);
  if (n === undefined) return `signal ${signal}`;
  const name = GO_SIGNALS[n];
  return name ? name : `signal ${n}`;
}

/**
 * Go's `(*os.ProcessState).String()` for a child that has exited (`code`) or was killed by a
 * signal (`signal`), as Node's `exit` event reports them. Node cannot tell whether a core
 * was dumped; a caller that knows passes `coreDumped` to get Go's ` (core dumped)` suffix.
 */
export function processStateString(code: number | null, signal: NodeJS.Signals | null, coreDumped = false): string {
  let res: string;
  if (signal !== null && signal !== undefined) res = `signal: ${signalString(signal)}`;
  else if (code !== null && code !== undefined) res = `exit status ${code}`;
  else res = '';
  return coreDumped ? `${res} (core dumped)` : res;
}

/** The exit code Go's runner passes on: the child's code, or -1 (255) after a signal. */
export function processExitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal !== null && signal !== undefined) return 255;
  return code === null || code === undefined ? 255 : code & 0xff;
}

/** An `*exec.Error`: its message is Go's text (`exec: "x": executable file not found in $PATH`). */
export class ExecError extends Error {}

/** Go's findExecutable: a regular file (after symlinks) with an execute bit for us. */
function isExecutable(path: string): boolean {
  try {
    if (statSync(path).isDirectory()) return false;
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * What Go's `exec.Command(name)` + `Start` resolve `name` to (`exec.LookPath`): bare names
 * (no `/`) are looked up in PATH (empty entries mean `.`); anything with a `/` is used as
 * given. Returns the path to execute or throws ExecError with Go's text.
 */
export function execLookPath(name: string, pathEnv: string): string {
  if (name === '') throw new ExecError('exec: no command');
  if (name.includes('/')) return name;
  const dirs = pathEnv === '' ? [] : pathEnv.split(':');
  for (let dir of dirs) {
    if (dir === '') dir = '.';
    const candidate = join(dir, name);
    if (isExecutable(candidate)) {
      if (!isAbsolute(candidate)) {
        throw new ExecError(`exec: ${strconvQuote(name)}: cannot run executable found relative to current directory`);
      }
      return candidate;
    }
  }
  throw new ExecError(`exec: ${strconvQuote(name)}: executable file not found in $PATH`);
}
