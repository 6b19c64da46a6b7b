/**
 * Chaos: `work release` racing `work status`, `work results` and `work list` (the upstream
 * "unknown work unit" race), on local units and on remote units (two real daemons of ours).
 * Each round finishes a small unit, then sends a release and a seeded mix of probes with
 * seeded jitter, each on its own control session. Every answer must be either the unit's real
 * state (Succeeded, its exact output) or the documented `ERROR: unknown work unit <id>`; the
 * release itself answers `released`; the node never crashes; afterwards the unit is gone.
 */
import {expect} from 'chai';
import net from 'node:net';
import {waitFor} from '../support/cli.js';
import {freePorts} from '../support/ports.js';
import {mulberry32} from '../support/prng.js';
import {suiteScale, tally} from '../support/tally.js';
import {controlRequest, InteropNode, OURS, ours, tempDir, waitRoutes, type Item} from '../interop/support.js';
import {cleanUp, tail, unitDirExists, unitIdOf, unitStatus} from '../interop/work-helpers.js';

const SUCCEEDED = 2;
const OUTPUT = 'hello race\n';
const ROUNDS = suiteScale() === 'short' ? 20 : 200;
const SEED = Number(process.env.RECEPTOR_CHAOS_SEED ?? 0x7e1ea5e) >>> 0;

type Probe = 'status' | 'results' | 'list' | 'release';
const PROBES: Probe[] = ['status', 'results', 'list', 'release'];

describe(`chaos: work release racing status/results/list (${ROUNDS} rounds, seed ${SEED})`, function () {
  this.timeout(0);
  let S: InteropNode;
  let E: InteropNode;
  const rnd = mulberry32(SEED);

  before(async function () {
    this.timeout(60_000);
    const dir = tempDir('receptor-chaos-release-');
    const [port] = await freePorts(1);
    const echo: Item = {'work-command': {worktype: 'say', command: 'printf', params: `'${OUTPUT.replace('\n', '\\n')}'`}};
    S = new InteropNode(OURS, 'sub', dir, {items: [{'tcp-listener': {port, bindaddr: '127.0.0.1'}}, echo]});
    E = new InteropNode(OURS, 'exec', dir, {items: [{'tcp-peer': {address: `127.0.0.1:${port}`, redial: true}}, echo]});
    await Promise.all([S.start(), E.start()]);
    await waitRoutes(S, ['exec']);
  });
  after(() => cleanUp([S, E]));

  /** A finished unit of `say` on S (run on S itself, or on E). */
  async function finishedUnit(remote: boolean): Promise<string> {
    const r = await ours(['work', 'submit', 'say', '--node', remote ? 'exec' : 'sub', '--no-payload', '--socket', S.sock]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const id = unitIdOf(r.stdout);
    await waitFor(
      async () => {
        const s = await unitStatus(S, id).catch(() => undefined);
        return s?.State === SUCCEEDED && s.StdoutSize === OUTPUT.length;
      },
      30_000,
      () => `unit ${id} Succeeded\n${tail(S)}`,
    );
    return id;
  }

  /** `work results <id>`: the error line (the session stays open after it), or all to EOF. */
  function resultsReply(sock: string, id: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const c = net.connect(sock);
      let all = '';
      const reply = () => all.slice(all.indexOf('\n') + 1);
      const timer = setTimeout(() => {
        c.destroy();
        reject(new Error(`no end of the results of ${id}: ${JSON.stringify(all)}`));
      }, 30_000);
      const done = () => {
        clearTimeout(timer);
        c.destroy();
        resolve(reply());
      };
      c.on('data', (d: Buffer) => {
        all += d.toString('latin1');
        if (all.includes('\n') && reply().startsWith('ERROR') && reply().endsWith('\n')) done();
      });
      c.on('error', reject);
      c.on('close', done);
      c.once('connect', () => c.write(`work results ${id}\n`));
    });
  }

  const unknown = (id: string) => `ERROR: unknown work unit ${id}\n`;

  /** Sends one probe; throws when the answer is wrong. */
  async function probe(kind: Probe, id: string): Promise<void> {
    switch (kind) {
      case 'status': {
        const line = await controlRequest(S.sock, `work status ${id}`, {lines: 1});
        if (line === unknown(id)) return;
        const s = JSON.parse(line) as {State: number; StdoutSize: number};
        expect({State: s.State, StdoutSize: s.StdoutSize}, line).to.deep.equal({State: SUCCEEDED, StdoutSize: OUTPUT.length});
        return;
      }
      case 'list': {
        const all = JSON.parse(await controlRequest(S.sock, 'work list', {lines: 1})) as Record<string, {State: number}>;
        if (id in all) expect(all[id]!.State, JSON.stringify(all[id])).to.equal(SUCCEEDED);
        return;
      }
      case 'results': {
        const out = await resultsReply(S.sock, id);
        if (out === unknown(id)) return;
        const header = `Streaming results for work unit ${id}\n`;
        expect(out.startsWith(header), JSON.stringify(out)).to.equal(true);
        // All of it, or nothing when the release deleted the file before the first read.
        expect(['', OUTPUT]).to.include(out.slice(header.length));
        return;
      }
      case 'release': {
        const line = await controlRequest(S.sock, `work release ${id}`, {lines: 1});
        if (line === unknown(id)) return;
        expect(line).to.equal(`{"released":"${id}"}\n`);
        return;
      }
    }
  }

  for (let round = 1; round <= ROUNDS; round++) {
    const remote = round % 2 === 0;
    it(`round ${round}: ${remote ? 'remote' : 'local'} unit`, async () => {
      const id = await finishedUnit(remote);
      const n = 3 + Math.floor(rnd() * 6);
      const plan = Array.from({length: n}, () => ({kind: PROBES[Math.floor(rnd() * PROBES.length)]!, delay: Math.floor(rnd() * 30)}));
      const jitter = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const release = controlRequest(S.sock, `work release ${id}`, {lines: 1});
      await Promise.all(plan.map(async (p) => jitter(p.delay).then(() => probe(p.kind, id))));
      expect(await release).to.equal(`{"released":"${id}"}\n`);
      tally('answers checked', n + 1);
      tally('cases');
      // Released for good: the unit and its directories go, the nodes still run.
      await waitFor(
        async () => (await controlRequest(S.sock, `work status ${id}`, {lines: 1})) === unknown(id) && !unitDirExists(S, id),
        30_000,
        () => `unit ${id} gone\n${tail(S)}`,
      );
      expect(S.running && E.running, 'nodes still running').to.equal(true);
    });
  }

  it('the executor holds no unit afterwards (remote releases reached it)', async () => {
    const left = await controlRequest(E.sock, 'work list', {lines: 1});
    await waitFor(
      async () => Object.keys(JSON.parse(await controlRequest(E.sock, 'work list', {lines: 1})) as object).length === 0,
      30_000,
      () => `no units on exec (left: ${JSON.stringify(left)})\n${tail(E)}`,
    );
  });
});
