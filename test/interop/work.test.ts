/**
 * Interop: remote work between our nodes and Go receptor, both ways, over 1 hop and 3 hops.
 *
 * Each suite runs a line of four nodes s — m1 — m2 — e whose implementations alternate, so
 * the submitter s reaches m1 (1 hop, the other implementation) and e (3 hops, the other
 * implementation, through one node of each). Every node offers the work types of
 * work-helpers.ts and has work-signing and work-verification with one RSA key pair (openssl).
 * Clients: our CLI, receptorctl and the raw control protocol, on s.
 */
import {expect} from 'chai';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {waitFor} from '../support/cli.js';
import {freePort} from '../support/ports.js';
import {controlRequest, goRefs, InteropNode, manifest, mixedPairs, ours, requireGo, run, tempDir, waitRoutes, type Impl, type Item} from './support.js';
import {
  cleanUp,
  kill9,
  localStdoutSize,
  makeWorkFiles,
  oursResults,
  receptorctlResults,
  tail,
  unitDirExists,
  unitIdOf,
  unitStatus,
  waitStatus,
  workItems,
  type UnitStatus,
  type WorkFiles,
} from './work-helpers.js';

const RUNNING = 1;
const SUCCEEDED = 2;
const CANCELED = 4;

/** Starts a line of nodes (each dials the previous one), one after another. */
async function startLine(ids: string[], impls: Impl[], dir: string, extra: Item[]): Promise<InteropNode[]> {
  const ports = await Promise.all(ids.map(() => freePort()));
  const nodes: InteropNode[] = [];
  try {
    for (let i = 0; i < ids.length; i++) {
      const items: Item[] = [];
      if (i > 0) items.push({'tcp-peer': {address: `127.0.0.1:${ports[i - 1]}`, redial: true}});
      if (i < ids.length - 1) items.push({'tcp-listener': {port: ports[i], bindaddr: '127.0.0.1'}});
      const n = new InteropNode(impls[i], ids[i], dir, {items: [...items, ...extra]});
      nodes.push(n);
      await n.start();
    }
    await waitRoutes(nodes[0], ids.slice(1), 60_000);
    await waitRoutes(nodes[ids.length - 1], ids.slice(0, -1), 60_000);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return nodes;
}

/** A submitter's `work status` reply line for a remote unit, as both implementations write it. */
function remoteStatusLine(o: {
  node: string;
  workType: string;
  remoteId: string;
  size: number;
  signWork?: boolean;
  started?: boolean;
  state?: [number, string];
  detail?: string;
}): string {
  const [state, name] = o.state ?? [SUCCEEDED, 'Succeeded'];
  const extra =
    `{"RemoteNode":"${o.node}","RemoteWorkType":"${o.workType}","RemoteParams":{},"RemoteUnitID":"${o.remoteId}","RemoteStarted":${o.started ?? true},` +
    `"LocalCancelled":false,"LocalReleased":false,"SignWork":${o.signWork ?? false},"TLSClient":"","Expiration":"0001-01-01T00:00:00Z"}`;
  return `{"Detail":"${o.detail ?? 'exit status 0'}","ExtraData":${extra},"State":${state},"StateName":"${name}","StdoutSize":${o.size},"WorkType":"remote"}\n`;
}

/** The remote unit's ID on the executor, from the submitter's mirror. */
function remoteIdOf(s: UnitStatus): string {
  const e = s.ExtraData as {RemoteUnitID?: string} | null;
  if (!e?.RemoteUnitID) throw new Error(`no RemoteUnitID in ${JSON.stringify(s)}`);
  return e.RemoteUnitID;
}

/** RECEPTOR_INTEROP_WORK_FULL=1 runs every case with every Go binary (default: the first one). */
const FULL = process.env.RECEPTOR_INTEROP_WORK_FULL === '1';
const primaryGo = goRefs()[0]?.bin;

for (const [a, b] of mixedPairs().length ? mixedPairs() : [[undefined, undefined] as const]) {
  const title = a && b ? `${a.label} submits, ${b.label} executes` : 'Go pairs';
  // Other Go binaries run a subset: 1 hop unsigned, 3 hops signed, cancel, release.
  const goBin = [a, b].find((x) => x?.kind === 'go') as {bin: string} | undefined;
  const full = FULL || !goBin || goBin.bin === primaryGo;
  const maybe = (on: boolean, name: string, fn: () => Promise<void>) => {
    if (on) it(name, fn);
  };
  describe(`interop work: ${title}`, function () {
    this.timeout(120_000);
    let dir: string;
    let files: WorkFiles;
    let S: InteropNode;
    let nodes: InteropNode[] = [];
    let receptorctl: string;
    const byId = (id: string) => nodes.find((n) => n.id === id)!;

    before(async function () {
      requireGo(this);
      const rc = manifest().receptorctl.at(-1);
      if (!rc) this.skip();
      receptorctl = rc.bin;
      dir = tempDir('receptor-interop-work-');
      files = makeWorkFiles(dir, {halfBytes: 1024, bigBytes: 64 << 20});
      nodes = await startLine(['s', 'm1', 'm2', 'e'], [a!, b!, a!, b!], dir, workItems(files));
      S = nodes[0];
    });
    after(async () => {
      await cleanUp(nodes);
    });

    /** Waits until unit `id` on S is Succeeded with `size` bytes; checks the executor's unit too. */
    async function succeeded(id: string, target: string, size: number): Promise<string> {
      const st = await waitStatus(S, id, (s) => s.State === SUCCEEDED && s.StdoutSize === size, 'Succeeded');
      const remoteId = remoteIdOf(st);
      expect(await unitStatus(byId(target), remoteId)).to.include({
        State: SUCCEEDED,
        StdoutSize: size,
        WorkType: st.ExtraData && (st.ExtraData as {RemoteWorkType?: string}).RemoteWorkType,
      });
      return remoteId;
    }

    /** Releases unit `id` on S (our CLI) and waits until both unit directories are gone. */
    async function releaseBoth(id: string, target: string, remoteId: string): Promise<void> {
      const r = await ours(['work', 'release', id, '--socket', S.sock]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.contain(`(${id}, released)`);
      await waitGone(S, id);
      await waitGone(byId(target), remoteId);
    }

    /** Waits until unit `id` is gone from `node`: no directory, `work status` refused. */
    async function waitGone(node: InteropNode, id: string): Promise<void> {
      let last = '';
      await waitFor(
        async () => {
          last = await controlRequest(node.sock, `work status ${id}`, {lines: 1});
          return !unitDirExists(node, id) && last === `ERROR: unknown work unit ${id}\n`;
        },
        30_000,
        () => `unit ${id} gone from ${node.describe()} (dir exists: ${unitDirExists(node, id)}, status: ${last})\n${tail(node)}`,
      );
    }

    for (const [target, hops] of [
      ['m1', 1],
      ['e', 3],
    ] as const) {
      maybe(full || hops === 1, `unsigned work over ${hops} hop${hops > 1 ? 's' : ''}: our CLI submits and follows, receptorctl reads the results`, async () => {
        const payload = `hello ${target}\n${'x'.repeat(100_000)}\n`;
        const pf = join(dir, `payload-${target}.txt`);
        writeFileSync(pf, payload);
        const r = await ours(['work', 'submit', 'echo', '--node', target, '--payload', pf, '-f', '--socket', S.sock]);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.equal(payload);
        const list = JSON.parse(await controlRequest(S.sock, 'work list', {lines: 1})) as Record<string, UnitStatus>;
        const [id] = Object.entries(list).find(
          ([, s]) => (s.ExtraData as {RemoteNode?: string})?.RemoteNode === target && s.StdoutSize === payload.length && s.State === SUCCEEDED,
        )!;
        const remoteId = await succeeded(id, target, payload.length);
        // Both implementations reply with the same bytes (Go's key orders, Go's zero time).
        expect(await controlRequest(S.sock, `work status ${id}`, {lines: 1})).to.equal(remoteStatusLine({node: target, workType: 'echo', remoteId, size: payload.length}));
        expect(await controlRequest(byId(target).sock, `work status ${remoteId}`, {lines: 1})).to.equal(
          `{"Detail":"exit status 0","ExtraData":null,"State":2,"StateName":"Succeeded","StdoutSize":${payload.length},"WorkType":"echo"}\n`,
        );
        const res = await run(receptorctl, ['--socket', S.sock, 'work', 'results', id]);
        expect(res.code, res.stderr).to.equal(0);
        expect(res.stdout).to.equal(payload);
        await releaseBoth(id, target, remoteId);
      });

      maybe(full || hops === 3, `signed work over ${hops} hop${hops > 1 ? 's' : ''}: accepted with --signwork (receptorctl), refused without`, async () => {
        const ok = await run(receptorctl, ['--socket', S.sock, 'work', 'submit', '--node', target, '--signwork', '-l', `signed for ${target}`, 'secure']);
        expect(ok.code, ok.stderr).to.equal(0);
        const id = unitIdOf(ok.stdout);
        const text = `signed for ${target}\n`; // receptorctl -l adds the newline
        const remoteId = await succeeded(id, target, text.length);
        expect(await controlRequest(S.sock, `work status ${id}`, {lines: 1})).to.equal(
          remoteStatusLine({node: target, workType: 'secure', remoteId, size: text.length, signWork: true}),
        );
        const res = await ours(['work', 'results', id, '--socket', S.sock]);
        expect(res.stdout).to.equal(text);
        await releaseBoth(id, target, remoteId);

        // Without a signature the executor refuses; the submitter says so (same text from both).
        const bad = await ours(['work', 'submit', 'secure', '--node', target, '-l', 'x', '--socket', S.sock]);
        expect(bad.code).to.equal(101);
        const why = 'could not parse response: ERROR: could not verify signature: signature is empty';
        expect(bad.stderr).to.match(new RegExp(`^Error: unit [A-Za-z0-9]{8}: node ${target} refused it: could not verify signature: signature is empty$`, 'm'));
        const list = JSON.parse(await controlRequest(S.sock, 'work list', {lines: 1})) as Record<string, UnitStatus>;
        const failed = Object.entries(list).filter(([, s]) => (s.ExtraData as {RemoteWorkType?: string})?.RemoteWorkType === 'secure' && s.State !== SUCCEEDED);
        expect(failed).to.have.length(1);
        const [badId] = failed[0];
        expect(await controlRequest(S.sock, `work status ${badId}`, {lines: 1})).to.equal(
          remoteStatusLine({node: target, workType: 'secure', remoteId: '', size: 0, started: false, state: [3, 'Failed'], detail: `Error starting worker: ${why}`}),
        );
        const rel = await ours(['work', 'release', badId, '--socket', S.sock]);
        expect(rel.stdout).to.contain(`(${badId}, released)`);
        await waitGone(S, badId);
      });
    }

    it('cancel over 3 hops: the job stops on the executor, the submitter mirrors it; release removes both unit dirs', async () => {
      const sub = await run(receptorctl, ['--socket', S.sock, 'work', 'submit', '--node', 'e', '--no-payload', 'forever']);
      expect(sub.code, sub.stderr).to.equal(0);
      const id = unitIdOf(sub.stdout);
      const running = await waitStatus(S, id, (s) => s.State === RUNNING && s.StdoutSize === 8, 'Running with its first line');
      const remoteId = remoteIdOf(running);
      const E = byId('e');
      const c = await ours(['work', 'cancel', id, '--socket', S.sock]);
      expect(c.code, c.stderr).to.equal(0);
      expect(c.stdout).to.contain(`(${id}, cancelled)`);
      // The executor's job ends; the submitter's mirror shows the executor's final state.
      const remote = await waitStatus(E, remoteId, (s) => s.State !== RUNNING && s.State !== 0, 'stopped on the executor');
      expect(remote).to.include({State: CANCELED, StateName: 'Canceled', Detail: 'Canceled', StdoutSize: 8});
      const mirror = await waitStatus(S, id, (s) => s.State === CANCELED, 'Canceled on the submitter');
      expect(mirror).to.include({StateName: 'Canceled', Detail: 'Canceled', StdoutSize: 8});
      expect(mirror.ExtraData).to.include({LocalCancelled: true, LocalReleased: false});
      await releaseBoth(id, 'e', remoteId);
    });

    it('release over 3 hops of a running unit (raw control protocol) removes both unit dirs', async () => {
      const sub = await run(receptorctl, ['--socket', S.sock, 'work', 'submit', '--node', 'e', '--no-payload', 'forever']);
      const id = unitIdOf(sub.stdout);
      const running = await waitStatus(S, id, (s) => s.State === RUNNING, 'Running');
      const remoteId = remoteIdOf(running);
      const reply = await controlRequest(S.sock, JSON.stringify({command: 'work', subcommand: 'release', unitid: id}), {lines: 1});
      expect(JSON.parse(reply)).to.deep.equal({released: id});
      await waitGone(S, id);
      await waitGone(byId('e'), remoteId);
    });

    maybe(full, '64 MiB of results over 3 hops arrive byte for byte (SHA-256), through our CLI and receptorctl', async () => {
      const sub = await ours(['work', 'submit', 'big', '--node', 'e', '--no-payload', '--socket', S.sock]);
      expect(sub.code, sub.stderr).to.equal(0);
      const id = unitIdOf(sub.stdout);
      const clients = [oursResults(S, id, 110_000), receptorctlResults(receptorctl, S, id, 110_000)];
      for (const r of await Promise.all(clients.map((c) => c.done))) {
        expect(r.code, r.stderr).to.equal(0);
        expect({size: r.size, sha: r.sha}).to.deep.equal({size: files.bigSize, sha: files.bigSha});
      }
      const remoteId = await succeeded(id, 'e', files.bigSize!);
      await releaseBoth(id, 'e', remoteId);
    });

    // Last: it restarts e. Only for our submitter (a Go one waits 30-45 s for the QUIC idle
    // timeout of its idle results stream, see work-kill.test.ts), unless FULL.
    maybe(a?.kind === 'ours' ? full : FULL, 'the executor 3 hops away is killed -9 mid-job and restarted: the unit completes with exact results', async () => {
      const g = join(dir, 'gate-3hops');
      const sub = await ours(['work', 'submit', 'gated', '--node', 'e', '-l', g, '--socket', S.sock]);
      expect(sub.code, sub.stderr).to.equal(0);
      const id = unitIdOf(sub.stdout);
      // `first` is copied and the copy is idle (a status poll has seen it since).
      await waitStatus(S, id, (s) => s.StdoutSize === 6 && localStdoutSize(S, id) === 6, 'first line copied');
      const E = byId('e');
      await kill9(E);
      await E.start();
      await waitRoutes(S, ['e'], 60_000);
      writeFileSync(g, '');
      const st = await waitStatus(S, id, (s) => s.State === SUCCEEDED && s.StdoutSize === 13 && localStdoutSize(S, id) === 13, 'Succeeded with all output');
      const res = await ours(['work', 'results', id, '--socket', S.sock]);
      expect(res.code, res.stderr).to.equal(0);
      expect(res.stdout).to.equal('first\nsecond\n');
      if (a?.kind === 'ours') expect(S.stderr).not.to.contain('no recent network activity');
      await releaseBoth(id, 'e', remoteIdOf(st));
    });
  });
}
