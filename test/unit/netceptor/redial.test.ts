/** netceptor-wire.md §4.8: the dialer back-off loop, driven by a ManualClock. */
import {expect} from 'chai';
import {ManualClock} from '../../../src/core/clock.js';
import {Backoff, runRedialLoop, sleep, type RedialEvent, type RedialSession} from '../../../src/core/netceptor/redial.js';

const flush = () => new Promise<void>((r) => setImmediate(r));
/** What a TCP or WebSocket dial to a closed port rejects with. */
const refusedError = () => Object.assign(new Error('dial tcp 127.0.0.1:2222: connect: connection refused'), {code: 'ECONNREFUSED'});

class FakeSession implements RedialSession {
  closeCalls = 0;
  closeErr: Error | undefined;
  readonly closed: Promise<void>;
  end!: () => void;
  constructor() {
    this.closed = new Promise<void>((r) => (this.end = r));
  }
  close(err?: Error): void {
    this.closeCalls++;
    this.closeErr = err;
    this.end();
  }
}

/** Advances the clock in 125 ms steps (all back-off delays are multiples), letting the loop run. */
async function runFor(clock: ManualClock, ms: number): Promise<void> {
  await flush();
  for (let t = 0; t < ms; t += 125) {
    clock.advance(125);
    await flush();
  }
}

/** Runs a redial loop whose every dial fails with `err()` for `ms` of clock time: the dial times and events. */
async function failingDials(err: () => Error, ms: number): Promise<{times: number[]; events: RedialEvent[]}> {
  const clock = new ManualClock(0);
  const ac = new AbortController();
  const times: number[] = [];
  const events: RedialEvent[] = [];
  const loop = runRedialLoop<FakeSession>({
    dial: async () => {
      times.push(clock.now());
      throw err();
    },
    onSession: () => expect.fail('no session expected'),
    redial: true,
    signal: ac.signal,
    clock,
    onEvent: (e) => events.push(e),
  });
  await runFor(clock, ms);
  ac.abort();
  await loop;
  return {times, events};
}

describe('redial back-off (netceptor-wire.md §4.8)', () => {
  it('Backoff hands out 5, 7.5, 11.25, 16.875, 20, 20 s and resets to 5 s', () => {
    const b = new Backoff();
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).to.deep.equal([5000, 7500, 11250, 16875, 20000, 20000]);
    b.reset();
    expect(b.peek()).to.equal(5000);
    expect(b.next()).to.equal(5000);
  });

  it('Backoff accepts overrides and rejects nonsense', () => {
    const b = new Backoff({initialMs: 10, maxMs: 40, factor: 2});
    expect([b.next(), b.next(), b.next(), b.next()]).to.deep.equal([10, 20, 40, 40]);
    expect(() => new Backoff({initialMs: 50, maxMs: 10})).to.throw(RangeError);
    expect(() => new Backoff({factor: 0.5})).to.throw(RangeError);
  });

  it("Backoff: refused dials before the first connection get 10 waits of 0.5 s, then Go's schedule", () => {
    const b = new Backoff();
    const refused = refusedError();
    const waits = Array.from({length: 13}, () => b.afterDialFailure(refused));
    expect(waits).to.deep.equal([...Array(10).fill(500), 5000, 7500, 11250]);
  });

  it("Backoff: other failures, and refused dials after a connection, get Go's schedule", () => {
    const b = new Backoff();
    expect(b.afterDialFailure(new Error('i/o timeout'))).to.equal(5000);
    expect(b.afterDialFailure(Object.assign(new Error('lookup nowhere: no such host'), {code: 'ENOTFOUND'}))).to.equal(7500);
    expect(b.afterDialFailure(refusedError()), 'still never connected: short wait').to.equal(500);
    b.reset(); // a dial succeeded
    expect([b.afterDialFailure(refusedError()), b.afterDialFailure(refusedError())]).to.deep.equal([5000, 7500]);
  });

  it('Backoff: the start-up wait is never longer than initialMs; startupRetries 0 turns it off; nonsense is refused', () => {
    const fast = new Backoff({initialMs: 10, maxMs: 50});
    expect(fast.startupMs).to.equal(10);
    const off = new Backoff({startupRetries: 0});
    expect(off.afterDialFailure(refusedError())).to.equal(5000);
    expect(() => new Backoff({startupRetries: 1.5})).to.throw(RangeError);
    expect(() => new Backoff({startupMs: -1})).to.throw(RangeError);
  });

  it("refused dials at start-up: t = 0, 0.5, …, 5 s, then 10, 17.5 s (Go's schedule)", async () => {
    const {times, events} = await failingDials(refusedError, 17_500);
    expect(times).to.deep.equal([0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 10_000, 17_500]);
    expect(events[0]).to.deep.include({type: 'dial-failed', retryInMs: 500});
  });

  it("a listener that opens late is reached within 0.5 s; after that session ends, refused redials follow Go's schedule", async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const times: number[] = [];
    let listening = false;
    const loop = runRedialLoop<FakeSession>({
      dial: async () => {
        times.push(clock.now());
        if (!listening) throw refusedError();
        listening = false; // accepted, then the listener goes away again
        const s = new FakeSession();
        s.end();
        return s;
      },
      onSession: () => undefined,
      redial: true,
      signal: ac.signal,
      clock,
    });
    await runFor(clock, 1_250);
    listening = true;
    // 0, 0.5, 1.0 refused; 1.5 connects and ends; then 5 s, 7.5 s waits (not 0.5 s)
    await runFor(clock, 13_750);
    expect(times).to.deep.equal([0, 500, 1000, 1500, 6500, 14_000]);
    ac.abort();
    await loop;
  });

  it("other dial failures happen at t = 0, 5, 12.5, 23.75, 40.625, 60.625 s (Go's schedule)", async () => {
    const {times, events} = await failingDials(() => new Error('i/o timeout'), 61_000);
    expect(times).to.deep.equal([0, 5000, 12500, 23750, 40625, 60625]);
    expect(events.slice(0, 3).map((e) => (e.type === 'dial-failed' ? e.retryInMs : -1))).to.deep.equal([5000, 7500, 11250]);
  });

  it('redials every 5 s when each dial succeeds and the session then ends', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const times: number[] = [];
    const loop = runRedialLoop<FakeSession>({
      dial: async () => {
        times.push(clock.now());
        const s = new FakeSession();
        s.end(); // accepted, then closed at once (e.g. rejected by the peer)
        return s;
      },
      onSession: () => undefined,
      redial: true,
      signal: ac.signal,
      clock,
    });
    await runFor(clock, 20_000);
    expect(times).to.deep.equal([0, 5000, 10000, 15000, 20000]);
    ac.abort();
    await loop;
  });

  it('a successful dial resets the delay', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const times: number[] = [];
    let n = 0;
    const loop = runRedialLoop<FakeSession>({
      dial: async () => {
        times.push(clock.now());
        n++;
        if (n === 3) {
          const s = new FakeSession();
          s.end();
          return s;
        }
        throw new Error('refused');
      },
      onSession: () => undefined,
      redial: true,
      signal: ac.signal,
      clock,
    });
    // 0 fail, wait 5 → 5000 fail, wait 7.5 → 12500 success (reset) + end, wait 5 →
    // 17500 fail, wait 7.5 → 25000 fail, wait 11.25 → 36250
    await runFor(clock, 36_250);
    expect(times).to.deep.equal([0, 5000, 12500, 17500, 25000, 36250]);
    ac.abort();
    await loop;
  });

  it('waits for the session to end before redialling', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const sessions: FakeSession[] = [];
    const loop = runRedialLoop<FakeSession>({
      dial: async () => {
        const s = new FakeSession();
        sessions.push(s);
        return s;
      },
      onSession: () => undefined,
      redial: true,
      signal: ac.signal,
      clock,
    });
    await runFor(clock, 60_000);
    expect(sessions).to.have.length(1);
    sessions[0].end();
    await runFor(clock, 4_875);
    expect(sessions).to.have.length(1);
    await runFor(clock, 125);
    expect(sessions).to.have.length(2);
    ac.abort();
    await loop;
    expect(sessions[1].closeCalls, 'abort closes the live session').to.equal(1);
  });

  it('redial off: one failed dial ends the loop', async () => {
    const clock = new ManualClock(0);
    let dials = 0;
    const events: RedialEvent[] = [];
    await runRedialLoop<FakeSession>({
      dial: async () => {
        dials++;
        throw new Error('refused');
      },
      onSession: () => undefined,
      redial: false,
      signal: new AbortController().signal,
      clock,
      onEvent: (e) => events.push(e),
    });
    expect(dials).to.equal(1);
    expect(events).to.have.length(1);
    expect(events[0]).to.deep.include({type: 'dial-failed', retryInMs: undefined});
  });

  it('redial off: the loop ends when the one session ends', async () => {
    const clock = new ManualClock(0);
    let dials = 0;
    let session: FakeSession | undefined;
    const loop = runRedialLoop<FakeSession>({
      dial: async () => {
        dials++;
        return (session = new FakeSession());
      },
      onSession: () => undefined,
      redial: false,
      signal: new AbortController().signal,
      clock,
    });
    await flush();
    session!.end();
    await loop;
    expect(dials).to.equal(1);
  });

  it('abort during the back-off wait stops the loop without another dial', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    let dials = 0;
    const loop = runRedialLoop<FakeSession>({
      dial: async () => {
        dials++;
        throw new Error('refused');
      },
      onSession: () => undefined,
      redial: true,
      signal: ac.signal,
      clock,
    });
    await runFor(clock, 1000);
    ac.abort();
    await loop;
    clock.advance(60_000);
    await flush();
    expect(dials).to.equal(1);
  });

  it('a session that arrives after abort is closed, not handed on', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const s = new FakeSession();
    let handed = 0;
    let release!: () => void;
    const loop = runRedialLoop<FakeSession>({
      dial: () => new Promise<FakeSession>((r) => (release = () => r(s))),
      onSession: () => handed++,
      redial: true,
      signal: ac.signal,
      clock,
    });
    await flush();
    ac.abort();
    release();
    await loop;
    expect(handed).to.equal(0);
    expect(s.closeCalls).to.equal(1);
  });

  it('a throwing onSession closes the session with that error', async () => {
    const clock = new ManualClock(0);
    const ac = new AbortController();
    const s = new FakeSession();
    const loop = runRedialLoop<FakeSession>({
      dial: async () => s,
      onSession: () => {
        throw new Error('node refused it');
      },
      redial: false,
      signal: ac.signal,
      clock,
    });
    await loop;
    expect(s.closeCalls).to.equal(1);
    expect(s.closeErr?.message).to.equal('node refused it');
  });

  it('sleep resolves on its timer or on abort', async () => {
    const clock = new ManualClock(0);
    let done = false;
    void sleep(clock, 1000).then(() => (done = true));
    clock.advance(999);
    await flush();
    expect(done).to.equal(false);
    clock.advance(1);
    await flush();
    expect(done).to.equal(true);
    const ac = new AbortController();
    let aborted = false;
    void sleep(clock, 1000, ac.signal).then(() => (aborted = true));
    ac.abort();
    await flush();
    expect(aborted).to.equal(true);
    await sleep(clock, 5, ac.signal); // already aborted: resolves at once
  });
});
