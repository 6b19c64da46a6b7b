/**
 * Chaos: cut and lossy links under remote work, against real daemons (the built CLI).
 *  - a remote unit with a large result (64 MiB full, 8 MiB short) while the TCP link between
 *    submitter and executor is cut (a partition: CutProxy) for 1 s, 30 s (short: 5 s) and 40 s
 *    (full only: longer than the link idle timeout of 21 s, checked every 5 s, and QUIC's 30 s;
 *    `maxidleconnectiontimeout` cannot go below 21 s, so the short run leaves it out);
 *  - the same transfer over UDP with 5 % message loss each way (the chaos item);
 *  - 50 (short: 10) concurrent remote units through a hop whose links flap (chaos item cuts).
 * Results must arrive complete and SHA-256-identical, states be right on both ends and
 * `work results` end.
 */
import {expect} from 'chai';
import {randomBytes} from 'node:crypto';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {waitFor} from '../support/cli.js';
import {CutProxy} from '../support/cut-proxy.js';
import {freePort} from '../support/ports.js';
import {suiteScale, tally} from '../support/tally.js';
import {readResults, submitWork} from '../support/work.js';
import {controlRequest, InteropNode, OURS, ours, tempDir, waitRoutes, type Item} from '../interop/support.js';
import {cleanUp, localStdoutSize, makeWorkFiles, oursResults, sha256, tail, unitIdOf, unitStatus, waitStatus, workItems, type WorkFiles} from '../interop/work-helpers.js';

const SHORT = suiteScale() === 'short';
const SUCCEEDED = 2;
/** Half of the large result (the `halves` work type prints half1, waits for a gate, prints half2). */
const HALF = SHORT ? 4 << 20 : 32 << 20;

/** Submits a gated `halves` unit on S for E; returns its ID and the gate file. */
async function submitHalves(S: InteropNode, dir: string, n: number): Promise<{id: string; gate: string}> {
  const gate = join(dir, `gate-${n}`);
  const r = await ours(['work', 'submit', 'halves', '--node', 'exec', '-l', gate, '--socket', S.sock]);
  expect(r.code, r.stdout + r.stderr).to.equal(0);
  return {id: unitIdOf(r.stdout), gate};
}

/**
 * Checks a finished transfer: Succeeded on both ends with every byte, `work results` (started
 * before the fault) ended with the exact bytes, and a second `work results` too; releases.
 */
async function expectExact(S: InteropNode, E: InteropNode, id: string, files: WorkFiles, streaming: ReturnType<typeof oursResults>): Promise<void> {
  const size = files.halvesSize;
  // The local copy may still be catching up when the state turns Succeeded.
  const st = await waitStatus(S, id, (s) => s.State === SUCCEEDED && s.StdoutSize === size && localStdoutSize(S, id) >= size, 'Succeeded with all output', 240_000).catch(
    (err: Error) => {
      tally('stuck units');
      throw err;
    },
  );
  expect(localStdoutSize(S, id)).to.equal(size);
  const remoteId = typeof st.ExtraData === 'object' && st.ExtraData ? st.ExtraData.RemoteUnitID : undefined;
  expect(remoteId, 'remote unit ID').to.be.a('string');
  const est = await unitStatus(E, remoteId!);
  expect(est?.State, `executor state: ${JSON.stringify(est)}`).to.equal(SUCCEEDED);
  const first = await streaming.done;
  const again = await oursResults(S, id, 120_000).done;
  for (const r of [first, again]) {
    tally('bytes checked', r.size);
    tally('lost bytes', Math.max(0, size - r.size));
    expect(r.code, r.stderr).to.equal(0);
    expect(r.size).to.equal(size);
    expect(r.sha).to.equal(files.halvesSha);
  }
  const rel = await ours(['work', 'release', id, '--socket', S.sock]);
  expect(rel.code, rel.stdout + rel.stderr).to.equal(0);
  await waitFor(
    async () => (await unitStatus(E, remoteId!)) === undefined,
    60_000,
    () => `remote unit ${remoteId} released on the executor`,
  );
}

describe(`chaos: cut links under a large remote result (${SHORT ? 'short' : 'full'})`, function () {
  this.timeout(0);
  let dir: string;
  let files: WorkFiles;
  let S: InteropNode;
  let E: InteropNode;
  let proxy: CutProxy;
  let n = 0;

  before(async () => {
    dir = tempDir('receptor-chaos-links-');
    files = makeWorkFiles(dir, {halfBytes: HALF});
    const port = await freePort();
    proxy = await new CutProxy(port).start();
    // The executor listens; the submitter dials it through the proxy.
    S = new InteropNode(OURS, 'sub', dir, {items: [{'tcp-peer': {address: `127.0.0.1:${proxy.port}`, redial: true}}, ...workItems(files)]});
    E = new InteropNode(OURS, 'exec', dir, {items: [{'tcp-listener': {port, bindaddr: '127.0.0.1'}}, ...workItems(files)]});
    await Promise.all([S.start(), E.start()]);
    await waitRoutes(S, ['exec']);
  });
  after(async () => {
    for (let i = 1; i <= n; i++) writeFileSync(join(dir, `gate-${i}`), '');
    proxy?.restore();
    await cleanUp([S, E]);
    await proxy?.stop();
  });

  const cuts: Array<[string, number]> = SHORT
    ? [
        ['1 s', 1000],
        ['5 s', 5000],
      ]
    : [
        ['1 s', 1000],
        ['30 s', 30_000],
        ['40 s (longer than the link and QUIC idle timeouts)', 40_000],
      ];
  for (const [label, ms] of cuts) {
    it(`cut for ${label} mid-transfer: complete, exact, right states, results end`, async () => {
      tally('scenarios');
      const {id, gate} = await submitHalves(S, dir, ++n);
      const streaming = oursResults(S, id, 300_000);
      // Cut once the first bytes are here: the rest (half2 at least: the job waits for the gate) is in flight.
      await waitFor(
        () => localStdoutSize(S, id) > 0,
        120_000,
        () => `first result bytes of ${id}\n${tail(S)}`,
      );
      proxy.cutNow();
      tally('link cuts');
      const atCut = localStdoutSize(S, id);
      expect(atCut).to.be.below(files.halvesSize);
      writeFileSync(gate, ''); // the job ends while the link is down
      await new Promise((r) => setTimeout(r, ms)); // the cut's length is the scenario itself
      proxy.restore();
      await expectExact(S, E, id, files, streaming);
    });
  }
});

describe(`chaos: a large remote result over UDP with 5 % loss (${SHORT ? 'short' : 'full'})`, function () {
  this.timeout(0);
  let dir: string;
  let files: WorkFiles;
  let S: InteropNode;
  let E: InteropNode;

  before(async () => {
    dir = tempDir('receptor-chaos-udp-');
    files = makeWorkFiles(dir, {halfBytes: HALF});
    const port = await freePort();
    // The chaos item on the executor: 5 % of messages lost each way on its UDP link.
    const chaos: Item = {chaos: {seed: 16, drop: 0.05, backends: ['udp']}};
    S = new InteropNode(OURS, 'sub', dir, {items: [{'udp-peer': {address: `127.0.0.1:${port}`, redial: true}}, ...workItems(files)]});
    E = new InteropNode(OURS, 'exec', dir, {items: [chaos, {'udp-listener': {port, bindaddr: '127.0.0.1'}}, ...workItems(files)]});
    await Promise.all([S.start(), E.start()]);
    await waitRoutes(S, ['exec'], 60_000);
  });
  after(async () => {
    writeFileSync(join(dir, 'gate-1'), '');
    await cleanUp([S, E]);
  });

  it('complete and exact; the executor warned about the chaos item and counted drops', async () => {
    tally('scenarios');
    expect(E.stderr).to.include('CHAOS LAYER ACTIVE');
    const {id, gate} = await submitHalves(S, dir, 1);
    const streaming = oursResults(S, id, 600_000);
    await waitFor(
      () => localStdoutSize(S, id) > 0,
      120_000,
      () => `first result bytes of ${id}\n${tail(S)}`,
    );
    writeFileSync(gate, '');
    await expectExact(S, E, id, files, streaming);
    await E.stop();
    // 'exit' may come before the last of stderr has been read
    const line = await waitFor(
      () => E.stderr.split('\n').find((l) => l.includes('"msg":"chaos: fault counts"')),
      10_000,
      () => `the fault counts in\n${tail(E)}`,
    );
    const stats = (JSON.parse(line) as {stats: {messages: number; dropped: number}}).stats;
    expect(stats.dropped, 'messages the chaos layer dropped').to.be.greaterThan(0);
    // 5 % of the messages of this run, with the tolerance of the unit test's rates (±15 %)
    expect(Math.abs(stats.dropped / stats.messages - 0.05), JSON.stringify(stats)).to.be.below(0.05 * 0.15);
  });
});

describe(`chaos: concurrent remote units through a hop while links flap (${SHORT ? 'short' : 'full'})`, function () {
  this.timeout(0);
  const UNITS = SHORT ? 10 : 50;
  let dir: string;
  let files: WorkFiles;
  let S: InteropNode;
  let H: InteropNode;
  let E: InteropNode;

  before(async () => {
    dir = tempDir('receptor-chaos-flap-');
    files = makeWorkFiles(dir, {halfBytes: 1024});
    const [p1, p2] = [await freePort(), await freePort()];
    // Every 10 s the hop closes its links and refuses traffic for 1 s; the peers redial 5 s
    // later. Units are submitted right after a cut (no route yet) and take 6 s or more
    // (slowecho), so the next cut finds them running or sending results.
    const flap: Item = {chaos: {seed: 50, cutevery: '10s', cutfor: '1s', cutmode: 'close'}};
    S = new InteropNode(OURS, 'sub', dir, {items: [{'tcp-peer': {address: `127.0.0.1:${p1}`, redial: true}}, ...workItems(files)]});
    H = new InteropNode(OURS, 'hop', dir, {items: [flap, {'tcp-listener': {port: p1, bindaddr: '127.0.0.1'}}, {'tcp-listener': {port: p2, bindaddr: '127.0.0.1'}}]});
    const slow: Item = {'work-command': {worktype: 'slowecho', command: 'sh', params: "-c 'sleep 6; cat'"}};
    E = new InteropNode(OURS, 'exec', dir, {items: [{'tcp-peer': {address: `127.0.0.1:${p2}`, redial: true}}, ...workItems(files), slow]});
    await H.start();
    await Promise.all([S.start(), E.start()]);
    await waitRoutes(S, ['exec'], 60_000);
  });
  after(async () => {
    await cleanUp([S, H, E]);
  });

  it(`every one of the units completes with exact results`, async () => {
    tally('scenarios');
    const cutsSoFar = () => H.stderr.split('\n').filter((l) => l.includes('"msg":"chaos: links cut"')).length;
    const before = cutsSoFar();
    await waitFor(
      () => cutsSoFar() > before,
      30_000,
      () => `a cut on the hop\n${tail(H, 10)}`,
    );
    const atSubmit = cutsSoFar();
    const payloads = Array.from({length: UNITS}, () => randomBytes(64 << 10));
    const ids = await Promise.all(
      payloads.map(async (p) => {
        const r = await submitWork(S.sock, {node: 'exec', worktype: 'slowecho'}, p);
        expect(r.id, r.reply).to.match(/^\w+$/);
        return r.id;
      }),
    );
    const deadline = Date.now() + (SHORT ? 180_000 : 600_000);
    const done = new Set<string>();
    while (done.size < ids.length && Date.now() < deadline) {
      for (const id of ids) {
        if (done.has(id)) continue;
        const st = await unitStatus(S, id).catch(() => undefined);
        if (st?.State === SUCCEEDED && st.StdoutSize === 64 << 10) done.add(id);
        else expect(st?.State, `unit ${id}: ${JSON.stringify(st)}`).to.not.equal(3);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    tally('stuck units', ids.length - done.size);
    expect(done.size, `units complete (hop: ${tail(H, 10)})`).to.equal(ids.length);
    for (const [i, id] of ids.entries()) {
      const out = await readResults(S.sock, id);
      tally('bytes checked', out.length);
      tally('lost bytes', Math.max(0, payloads[i]!.length - out.length));
      expect(sha256(out), `results of ${id}`).to.equal(sha256(payloads[i]!));
    }
    const during = cutsSoFar() - atSubmit + 1; // the one just before the submissions counts
    tally('link cuts', during);
    expect(during, 'cuts while the units were in flight').to.be.at.least(2);
    for (const id of ids) {
      const r = await controlRequest(S.sock, `work release ${id}`, {lines: 1});
      expect(r, `release ${id}`).to.not.match(/^ERROR/);
    }
  });
});
