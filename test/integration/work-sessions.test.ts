/**
 * Replays the captured receptorctl work sessions (vectors/control.sessions.json, conns 6–23,
 * 26 and 28) against two of our nodes (foo submits, bar executes; work types `echo` = cat and
 * `sleep` = sleep 30 on both, as in the capture). Unit IDs, PIDs and the version are
 * variables; every other byte of the replies must match: texts exactly, JSON by key order,
 * types and the values that do not vary (State, StateName, Detail, StdoutSize, ExtraData).
 */
import {expect} from 'chai';
import net from 'node:net';
import {capturedSessions, type Session} from '../support/control.js';
import {link, until} from '../support/mesh.js';
import {commandType, startWorkNode, type WorkNode} from '../support/work.js';

const sessions = capturedSessions();
const session = (n: number) => sessions.find((s) => s.conn === n)!;

/** Captured ID → our ID (units are mapped as they appear). */
const ids = new Map<string, string>();

function mapIds(text: string): string {
  let out = text;
  for (const [theirs, ours] of ids) out = out.split(theirs).join(ours);
  return out;
}

/** Sends what receptorctl sent (IDs mapped), half-closing where it did; returns the output. */
function play(sock: string, s: Session): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let out = '';
    c.on('data', (d) => (out += d.toString()));
    c.on('error', reject);
    c.on('close', () => resolve(out));
    c.once('connect', async () => {
      for (const e of s.exchange) {
        if (e.dir !== 'receptorctl->foo') continue;
        if (e.event === 'eof') {
          c.end();
          return;
        }
        c.write(mapIds(e.data!));
        // Like receptorctl, wait for each request's reply before sending the next line.
        const want = out.length;
        await until(() => out.length > want || c.destroyed || e.data!.startsWith('work submit') || e.data!.includes('"submit"'), 'reply', 10_000).catch(() => undefined);
      }
    });
  });
}

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Same keys in the same order and types; fixed values equal (Version/PIDs/IDs vary). */
function sameReply(ours: unknown, theirs: unknown, path = '$'): void {
  expect(kind(ours), `type at ${path}`).to.equal(kind(theirs));
  if (kind(ours) === 'object') {
    const a = ours as Record<string, unknown>;
    const b = theirs as Record<string, unknown>;
    expect(Object.keys(a), `keys at ${path}`).to.deep.equal(Object.keys(b));
    for (const k of Object.keys(a)) sameReply(a[k], b[k], `${path}.${k}`);
    return;
  }
  if (path.endsWith('.Version') || path.endsWith('.RemoteUnitID') || path.endsWith('.unitid')) return;
  if (typeof theirs === 'string' && /^Running: PID \d+$/.test(theirs)) {
    expect(ours).to.match(/^Running: PID \d+$/);
    return;
  }
  expect(ours, `value at ${path}`).to.deep.equal(theirs);
}

function compare(ours: string, theirs: string): void {
  const a = ours.split('\n');
  const b = theirs.split('\n');
  expect(a.length, `lines\nours:   ${ours}\ntheirs: ${theirs}`).to.equal(b.length);
  b.forEach((want, i) => {
    const got = a[i];
    if (want.startsWith('{')) {
      // JSON objects keyed by unit ID: compare the values in order.
      sameReply(JSON.parse(got), JSON.parse(mapIds(want)));
    } else expect(got, `line ${i}`).to.equal(mapIds(want));
  });
}

function captured(s: Session): string {
  return s.exchange
    .filter((e) => e.dir === 'foo->receptorctl' && e.data)
    .map((e) => e.data!)
    .join('');
}

/** Learns the ID our node gave a captured submission. */
function learnId(s: Session, ours: string): void {
  const theirs = /with ID (\w+)\./.exec(captured(s))?.[1];
  const mine = /with ID (\w+)\./.exec(ours)?.[1];
  if (theirs && mine) ids.set(theirs, mine);
}

describe('integration: captured receptorctl work sessions', function () {
  this.timeout(60_000);
  let foo: WorkNode;
  let bar: WorkNode;

  // Fresh nodes for every test: each replays the sessions its own session builds on, so it
  // passes alone (--grep) as well as in file order.
  beforeEach(async () => {
    ids.clear();
    const types = [commandType('echo', 'cat'), commandType('sleep', 'sleep', '30')];
    foo = await startWorkNode('foo', {types});
    bar = await startWorkNode('bar', {types});
    link(foo.node, bar.node);
    await until(() => foo.node.statusRoutingTable().bar === 'bar' && foo.node.statusAdvertisements().some((a) => a.NodeID === 'bar' && a.Service === 'control'), 'mesh ready');
  });
  afterEach(async () => {
    await foo?.close();
    await bar?.close();
  });

  /** Replays session n (retrying idempotent ones until the unit reached the captured state). */
  async function replay(n: number, opts: {retry?: boolean} = {}): Promise<string> {
    const s = session(n);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const out = await play(foo.sock, s);
      learnId(s, out);
      try {
        compare(out, captured(s));
        return out;
      } catch (err) {
        if (!opts.retry || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** The first unit's sessions in capture order (8 retried until the unit has finished). */
  const FIRST_UNIT: Array<[number, {retry?: boolean}?]> = [[7], [8, {retry: true}], [9], [10], [11], [12]];
  /** Replays the first unit's sessions that come before `n`. */
  async function firstUnitBefore(n: number): Promise<void> {
    for (const [k, opts] of FIRST_UNIT) if (k < n) await replay(k, opts);
  }

  it('conn 6: work list on a fresh node is {}', async () => {
    await replay(6);
  });
  it('conn 7: remote submit to bar with a payload → Job Started', async () => {
    await replay(7);
  });
  it('conn 8: work status of the finished remote unit mirrors bar (Succeeded, exit status 0)', async () => {
    await firstUnitBefore(8);
    await replay(8, {retry: true});
  });
  it('conns 9, 10: results stream then status', async () => {
    await firstUnitBefore(9);
    await replay(9);
    await replay(10);
  });
  it('conn 11: work list with one remote unit', async () => {
    await firstUnitBefore(11);
    await replay(11);
  });
  it('conn 12: release → released, and the unit disappears on both nodes', async () => {
    await firstUnitBefore(12);
    const remoteId = foo.wc.list()[0].status().ExtraData as {RemoteUnitID: string};
    await replay(12);
    await until(() => foo.wc.list().length === 0 && !bar.wc.list().some((u) => u.id === remoteId.RemoteUnitID), 'released everywhere');
  });
  async function submitFollow(): Promise<void> {
    await replay(13);
    await replay(14);
    await replay(15);
  }
  it('conns 13–15: submit -f (submit, results stream, status)', async () => {
    await submitFollow();
  });
  it('conns 16–18: local submit -f --rm', async () => {
    await replay(16);
    await replay(17);
    await replay(18);
    expect(foo.wc.list()).to.have.length(0); // --rm: nothing left
  });
  it('conns 19–23: remote sleep without payload, running, cancel, canceled, release', async () => {
    await replay(19);
    await replay(20, {retry: true});
    await replay(21);
    await replay(22, {retry: true});
    await replay(23);
    await until(() => foo.wc.list().length === 0, 'released sleep unit gone');
  });
  it('conn 26: the work lines of the bogus-request session', async () => {
    const out = await new Promise<string>((resolve) => {
      const c = net.connect(foo.sock);
      let text = '';
      c.on('data', (d) => (text += d.toString()));
      c.on('close', () => resolve(text));
      c.end('work\nwork status nosuchunit\n');
    });
    expect(out.split('\n').slice(1)).to.deep.equal(['ERROR: bad command', 'ERROR: unknown work unit nosuchunit', '']);
  });
  it('conn 28: the final work list', async () => {
    // By conn 28 the first unit, the --rm unit and the sleep unit are gone (the tests above
    // check that); the unit of conns 13–15 is the one left.
    await submitFollow();
    await replay(28);
  });
});
