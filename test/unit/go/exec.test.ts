/** Go's process-state texts (workceptor.md §5.3) and exec.LookPath. */
import {expect} from 'chai';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {execLookPath, processExitCode, processStateString, signalString} from '../../../src/core/go/exec.js';

describe('go/exec: process states and LookPath', () => {
  it('exit status <n>', () => {
    expect(processStateString(0, null)).to.equal('exit status 0');
    expect(processStateString(3, null)).to.equal('exit status 3');
    expect(processStateString(255, null)).to.equal('exit status 255');
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
      expect(processStateString(null, sig as NodeJS.Signals), sig).to.equal(`signal: ${name}`);
    }
  });

  it('a signal wins over a code; (core dumped) when the caller knows', () => {
    expect(processStateString(null, 'SIGKILL')).to.equal('signal: killed');
    expect(processStateString(null, 'SIGSEGV', true)).to.equal('signal: segmentation fault (core dumped)');
  });

  it('signals without a Go name are `signal <n>`', () => {
    expect(signalString(34)).to.equal('signal 34');
    expect(signalString(64)).to.equal('signal 64');
    expect(signalString(2)).to.equal('interrupt');
  });

  it('the runner exit code: the child code, 255 after a signal', () => {
    expect(processExitCode(0, null)).to.equal(0);
    expect(processExitCode(3, null)).to.equal(3);
    expect(processExitCode(null, 'SIGINT')).to.equal(255);
  });

  it("resolves commands like Go's exec.Command", () => {
    const dir = mkdtempSync(join(tmpdir(), 'receptor-lp-'));
    try {
      writeFileSync(join(dir, 'tool'), '#!/bin/sh\n', {mode: 0o755});
      writeFileSync(join(dir, 'noexec'), '#!/bin/sh\n', {mode: 0o644});
      mkdirSync(join(dir, 'adir'));
      expect(execLookPath('tool', `/nonexistent:${dir}`)).to.equal(join(dir, 'tool'));
      expect(() => execLookPath('noexec', dir)).to.throw('exec: "noexec": executable file not found in $PATH');
      expect(() => execLookPath('adir', dir)).to.throw('exec: "adir": executable file not found in $PATH');
      expect(() => execLookPath('tool', '')).to.throw('exec: "tool": executable file not found in $PATH');
      expect(execLookPath('./rel/x', '')).to.equal('./rel/x');
      expect(execLookPath('/abs/x', '')).to.equal('/abs/x');
      expect(() => execLookPath('', dir)).to.throw('exec: no command');
      const cwd = process.cwd();
      process.chdir(dir);
      try {
        expect(() => execLookPath('tool', `:/nonexistent`)).to.throw('exec: "tool": cannot run executable found relative to current directory');
      } finally {
        process.chdir(cwd);
      }
    } finally {
      rmSync(dir, {recursive: true, force: true});
    }
  });
});
