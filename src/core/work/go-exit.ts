/**
 * Go's texts for process outcomes and system errors on Linux, so that command units show
 * the Details Go receptor shows (workceptor.md §5.3): `(*os.ProcessState).String()`
 * (`exit status 3`, `signal: killed`) and `syscall.Errno.Error()` (`no such file or
 * directory`), both taken from Go's syscall tables for Linux (zerrors_linux_amd64.go).
 */
import {constants} from 'node:os';

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
export function goSignalName(signal: string | number): string {
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
export function goProcessStateString(code: number | null, signal: NodeJS.Signals | null, coreDumped = false): string {
  let res: string;
  if (signal !== null && signal !== undefined) res = `signal: ${goSignalName(signal)}`;
  else if (code !== null && code !== undefined) res = `exit status ${code}`;
  else res = '';
  return coreDumped ? `${res} (core dumped)` : res;
}

/** The exit code Go's runner passes on: the child's code, or -1 (255) after a signal. */
export function goExitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal !== null && signal !== undefined) return 255;
  return code === null || code === undefined ? 255 : code & 0xff;
}

/** Go's `errors` table for Linux (`syscall.Errno.Error()`), indexed by errno. */
const GO_ERRNO: Readonly<Record<number, string>> = {
  1: 'operation not permitted',
  2: 'no such file or directory',
  3: 'no such process',
  4: 'interrupted system call',
  5: 'input/output error',
  6: 'no such device or address',
  7: 'argument list too long',
  8: 'exec format error',
  9: 'bad file descriptor',
  10: 'no child processes',
  11: 'resource temporarily unavailable',
  12: 'cannot allocate memory',
  13: 'permission denied',
  14: 'bad address',
  15: 'block device required',
  16: 'device or resource busy',
  17: 'file exists',
  18: 'invalid cross-device link',
  19: 'no such device',
  20: 'not a directory',
  21: 'is a directory',
  22: 'invalid argument',
  23: 'too many open files in system',
  24: 'too many open files',
  25: 'inappropriate ioctl for device',
  26: 'text file busy',
  27: 'file too large',
  28: 'no space left on device',
  29: 'illegal seek',
  30: 'read-only file system',
  31: 'too many links',
  32: 'broken pipe',
  33: 'numerical argument out of domain',
  34: 'numerical result out of range',
  35: 'resource deadlock avoided',
  36: 'file name too long',
  37: 'no locks available',
  38: 'function not implemented',
  39: 'directory not empty',
  40: 'too many levels of symbolic links',
  42: 'no message of desired type',
  43: 'identifier removed',
  44: 'channel number out of range',
  45: 'level 2 not synchronized',
  46: 'level 3 halted',
  47: 'level 3 reset',
  48: 'link number out of range',
  49: 'protocol driver not attached',
  50: 'no CSI structure available',
  51: 'level 2 halted',
  52: 'invalid exchange',
  53: 'invalid request descriptor',
  54: 'exchange full',
  55: 'no anode',
  56: 'invalid request code',
  57: 'invalid slot',
  59: 'bad font file format',
  60: 'device not a stream',
  61: 'no data available',
  62: 'timer expired',
  63: 'out of streams resources',
  64: 'machine is not on the network',
  65: 'package not installed',
  66: 'object is remote',
  67: 'link has been severed',
  68: 'advertise error',
  69: 'srmount error',
  70: 'communication error on send',
  71: 'protocol error',
  72: 'multihop attempted',
  73: 'RFS specific error',
  74: 'bad message',
  75: 'value too large for defined data type',
  76: 'name not unique on network',
  77: 'file descriptor in bad state',
  78: 'remote address changed',
  79: 'can not access a needed shared library',
  80: 'accessing a corrupted shared library',
  81: '.lib section in a.out corrupted',
  82: 'attempting to link in too many shared libraries',
  83: 'cannot exec a shared library directly',
  84: 'invalid or incomplete multibyte or wide character',
  85: 'interrupted system call should be restarted',
  86: 'streams pipe error',
  87: 'too many users',
  88: 'socket operation on non-socket',
  89: 'destination address required',
  90: 'message too long',
  91: 'protocol wrong type for socket',
  92: 'protocol not available',
  93: 'protocol not supported',
  94: 'socket type not supported',
  95: 'operation not supported',
  96: 'protocol family not supported',
  97: 'address family not supported by protocol',
  98: 'address already in use',
  99: 'cannot assign requested address',
  100: 'network is down',
  101: 'network is unreachable',
  102: 'network dropped connection on reset',
  103: 'software caused connection abort',
  104: 'connection reset by peer',
  105: 'no buffer space available',
  106: 'transport endpoint is already connected',
  107: 'transport endpoint is not connected',
  108: 'cannot send after transport endpoint shutdown',
  109: 'too many references: cannot splice',
  110: 'connection timed out',
  111: 'connection refused',
  112: 'host is down',
  113: 'no route to host',
  114: 'operation already in progress',
  115: 'operation now in progress',
  116: 'stale NFS file handle',
  117: 'structure needs cleaning',
  118: 'not a XENIX named type file',
  119: 'no XENIX semaphores available',
  120: 'is a named type file',
  121: 'remote I/O error',
  122: 'disk quota exceeded',
  123: 'no medium found',
  124: 'wrong medium type',
  125: 'operation canceled',
  126: 'required key not available',
  127: 'key has expired',
  128: 'key has been revoked',
  129: 'key was rejected by service',
  130: 'owner died',
  131: 'state not recoverable',
  132: 'operation not possible due to RF-kill',
};

/** Go's `syscall.Errno(n).Error()`: the table text, else `errno <n>`. */
export function goErrnoString(errno: number): string {
  return GO_ERRNO[errno] ?? `errno ${errno}`;
}

/**
 * Go's text for the system error behind a Node error (`ENOENT` → `no such file or
 * directory`), from its `errno` (Node reports it negated) or its `code`; falls back to
 * Node's message when neither is known.
 */
export function goErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException | null | undefined;
  if (e && typeof e.errno === 'number' && e.errno !== 0) return goErrnoString(Math.abs(e.errno));
  if (e && typeof e.code === 'string') {
    const n = (constants.errno as Record<string, number | undefined>)[e.code];
    if (n !== undefined) return goErrnoString(n);
  }
  return e instanceof Error ? e.message : String(err);
}
