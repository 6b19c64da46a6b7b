/** Go's process-state and errno texts (workceptor.md §5.3). */
import {expect} from 'chai';
import {goErrnoString, goErrorText} from '../../../src/core/go-errors.js';
import {goExitCode, goProcessStateString, goSignalName} from '../../../src/core/work/go-exit.js';

describe('work: Go process-state strings', () => {
  it('exit status <n>', () => {
    expect(goProcessStateString(0, null)).to.equal('exit status 0');
    expect(goProcessStateString(3, null)).to.equal('exit status 3');
    expect(goProcessStateString(255, null)).to.equal('exit status 255');
  });

  it('signal: <Go name> for every Linux signal Node reports', () => {
    const want: Record<string, string> = {
      SIGHUP: 'hangup',
      SIGINT: 'interrupt',
      SIGQUIT: 'quit',
      SIGILL: 'illegal instruction',
      SIGTRAP: 'trace/breakpoint trap',
      SIGABRT: 'aborted',
      SIGIOT: 'aborted',
      SIGBUS: 'bus error',
      SIGFPE: 'floating point exception',
      SIGKILL: 'killed',
      SIGUSR1: 'user defined signal 1',
      SIGSEGV: 'segmentation fault',
      SIGUSR2: 'user defined signal 2',
      SIGPIPE: 'broken pipe',
      SIGALRM: 'alarm clock',
      SIGTERM: 'terminated',
      SIGSTKFLT: 'stack fault',
      SIGCHLD: 'child exited',
      SIGCONT: 'continued',
      SIGSTOP: 'stopped (signal)',
      SIGTSTP: 'stopped',
      SIGTTIN: 'stopped (tty input)',
      SIGTTOU: 'stopped (tty output)',
      SIGURG: 'urgent I/O condition',
      SIGXCPU: 'CPU time limit exceeded',
      SIGXFSZ: 'file size limit exceeded',
      SIGVTALRM: 'virtual timer expired',
      SIGPROF: 'profiling timer expired',
      SIGWINCH: 'window changed',
      SIGIO: 'I/O possible',
      SIGPOLL: 'I/O possible',
      SIGPWR: 'power failure',
      SIGSYS: 'bad system call',
    };
    for (const [sig, name] of Object.entries(want)) {
      expect(goProcessStateString(null, sig as NodeJS.Signals), sig).to.equal(`signal: ${name}`);
    }
  });

  it('a signal wins over a code; (core dumped) when the caller knows', () => {
    expect(goProcessStateString(null, 'SIGKILL')).to.equal('signal: killed');
    expect(goProcessStateString(null, 'SIGSEGV', true)).to.equal('signal: segmentation fault (core dumped)');
  });

  it('signals without a Go name are `signal <n>`', () => {
    expect(goSignalName(34)).to.equal('signal 34');
    expect(goSignalName(64)).to.equal('signal 64');
    expect(goSignalName(2)).to.equal('interrupt');
  });

  it('the runner exit code: the child code, 255 after a signal', () => {
    expect(goExitCode(0, null)).to.equal(0);
    expect(goExitCode(3, null)).to.equal(3);
    expect(goExitCode(null, 'SIGINT')).to.equal(255);
  });

  it("errno texts are Go's", () => {
    expect(goErrnoString(2)).to.equal('no such file or directory');
    expect(goErrnoString(8)).to.equal('exec format error');
    expect(goErrnoString(13)).to.equal('permission denied');
    expect(goErrnoString(20)).to.equal('not a directory');
    expect(goErrnoString(26)).to.equal('text file busy');
    expect(goErrnoString(41)).to.equal('errno 41');
    const enoent = Object.assign(new Error('spawn /x ENOENT'), {errno: -2, code: 'ENOENT'});
    expect(goErrorText(enoent)).to.equal('no such file or directory');
    expect(goErrorText(Object.assign(new Error('x'), {code: 'EACCES'}))).to.equal('permission denied');
    expect(goErrorText(new Error('plain'))).to.equal('plain');
  });
});
