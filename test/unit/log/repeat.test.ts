/** One log line per cause: RepeatFilter and logOncePerCause on a manual clock. */
import {expect} from 'chai';
import {pino} from 'pino';
import {ManualClock} from '../../../src/core/clock.js';
import {logOncePerCause, REPEAT_SUMMARY_MS, RepeatFilter} from '../../../src/core/repeat-log.js';
import {logRedialEvent} from '../../../src/plugins/backend-common/items.js';
import {STABLE_LINK_MS} from '../../../src/core/netceptor/redial.js';

interface Rec {
  level: string;
  msg: string;
  [k: string]: unknown;
}

function capture(): {logger: pino.Logger; lines: Rec[]} {
  const lines: Rec[] = [];
  const logger = pino({level: 'debug', formatters: {level: (label) => ({level: label})}}, {write: (s: string) => lines.push(JSON.parse(s) as Rec)});
  return {logger, lines};
}

describe('RepeatFilter', () => {
  it('first occurrence loud, identical repeats quiet, a summary once per interval', () => {
    const clock = new ManualClock();
    const f = new RepeatFilter(clock, 1000);
    expect(f.check('k', 'a')).to.deep.equal({kind: 'first'});
    expect(f.check('k', 'a')).to.deep.equal({kind: 'repeat', count: 2});
    clock.advance(999);
    expect(f.check('k', 'a')).to.deep.equal({kind: 'repeat', count: 3});
    clock.advance(1);
    expect(f.check('k', 'a')).to.deep.equal({kind: 'summary', repeats: 3, sinceMs: 1000});
    expect(f.check('k', 'a')).to.deep.equal({kind: 'repeat', count: 5});
  });

  it('a different cause for the key is logged at once; keys are independent; forget makes it news again', () => {
    const f = new RepeatFilter(new ManualClock(), 1000);
    f.check('k', 'a');
    expect(f.check('k', 'b').kind).to.equal('first');
    expect(f.check('k', 'a').kind).to.equal('first');
    expect(f.check('other', 'a').kind).to.equal('first');
    expect(f.check('k', 'a').kind).to.equal('repeat');
    f.forget('k');
    expect(f.has('k')).to.equal(false);
    expect(f.check('k', 'a').kind).to.equal('first');
  });

  it('logOncePerCause: the level for the first line and the summary, debug with repeat=N in between', () => {
    const clock = new ManualClock();
    const f = new RepeatFilter(clock);
    const {logger, lines} = capture();
    for (let i = 0; i < 4; i++) {
      logOncePerCause(logger, f, 'warn', 'peer', 'refused', {peer: 'bar'}, 'Backend connection failed (will retry): refused');
      clock.advance(5000);
    }
    clock.advance(REPEAT_SUMMARY_MS);
    logOncePerCause(logger, f, 'warn', 'peer', 'refused', {peer: 'bar'}, 'Backend connection failed (will retry): refused');
    expect(lines.map((l) => [l.level, l.repeat ?? l.repeats ?? null])).to.deep.equal([
      ['warn', null],
      ['debug', 2],
      ['debug', 3],
      ['debug', 4],
      ['warn', 4],
    ]);
    expect(lines[4].msg).to.equal('Backend connection failed (will retry): refused (repeated 4 times in the last 5 min)');
  });
});

describe('dialer log lines (logRedialEvent): one per cause, not one per retry', () => {
  it('a dial failing the same way N times gives one warning; a new cause gives another', () => {
    const {logger, lines} = capture();
    const f = new RepeatFilter(new ManualClock());
    const fail = (m: string) => logRedialEvent(logger, '127.0.0.1:1', {type: 'dial-failed', attempt: 1, err: new Error(m), retryInMs: 5000}, f);
    for (let i = 0; i < 6; i++) fail('dial tcp 127.0.0.1:1: connect: connection refused');
    fail('dial tcp 127.0.0.1:1: i/o timeout');
    const warns = lines.filter((l) => l.level === 'warn').map((l) => l.msg);
    expect(warns).to.deep.equal([
      'Backend connection failed (will retry): dial tcp 127.0.0.1:1: connect: connection refused',
      'Backend connection failed (will retry): dial tcp 127.0.0.1:1: i/o timeout',
    ]);
    expect(lines.filter((l) => l.level === 'debug')).to.have.length(5);
  });

  it('sessions that end at once on every redial give one warning; after a long-lived session the next end is news', () => {
    const {logger, lines} = capture();
    const f = new RepeatFilter(new ManualClock());
    const ended = (lastedMs: number) => logRedialEvent(logger, 'x', {type: 'session-ended', attempt: 1, lastedMs, retryInMs: 5000}, f);
    for (let i = 0; i < 5; i++) ended(10);
    ended(STABLE_LINK_MS);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.msg)).to.deep.equal(['Backend connection exited (will retry)', 'Backend connection exited (will retry)']);
  });

  it('giving up (no redial) is always an error line', () => {
    const {logger, lines} = capture();
    const f = new RepeatFilter(new ManualClock());
    logRedialEvent(logger, 'x', {type: 'dial-failed', attempt: 1, err: new Error('refused')}, f);
    logRedialEvent(logger, 'x', {type: 'dial-failed', attempt: 1, err: new Error('refused')}, f);
    expect(lines.map((l) => l.level)).to.deep.equal(['error', 'error']);
  });
});
