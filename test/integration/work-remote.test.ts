/**
 * Remote work (workceptor.md §8): units submitted on node A to node B over the mesh control
 * service, through A's unix control socket. B runs real command work types (echo, drip, sleep)
 * through detached command runners of the built CLI (needs `npm run build`).
 */
import {expect} from 'chai';
import {createHash, generateKeyPairSync, randomBytes} from 'node:crypto';
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ManualClock, systemClock, type TimerHandle} from '../../src/core/clock.js';
import {createCa, createCsr, signCsr} from '../../src/core/pki/x509.js';
import {buildTlsClientConfig, buildTlsServerConfig, loadCaBundle, loadKeyPair} from '../../src/core/tls/config.js';
import {formatLocal, unixMilli, unmarshalTimeJSON} from '../../src/core/go/time.js';
import {RemoteUnit} from '../../src/core/work/remote.js';
import {readStatus, STATE_CANCELED, STATE_FAILED, STATE_RUNNING, STATE_SUCCEEDED} from '../../src/core/work/status.js';
import {ask, commandType, readResults, startWorkNode, submitWork, type WorkNode, type WorkNodeOptions} from '../support/work.js';
import type {CommandTypeConfig} from '../../src/core/work/command.js';
import {BIN} from '../support/cli.js';
import {link, until} from '../support/mesh.js';

// ---------------------------------------------------------------------------------------------
// Work types for node B: real command runners (the built CLI re-executed as `receptor` worker)
// ---------------------------------------------------------------------------------------------

/** `echo` copies stdin (runtime params are accepted and land in `$0` of the shell, unused). */
const ECHO = commandType('echo', 'sh', '-c cat', {allowRuntimeParams: true});
/** `drip` writes `line <i>\n` every `<seconds>`, `<count>` times (params `count seconds`). */
const DRIP = commandType('drip', 'sh', `-c 'i=0; while [ "$i" -lt "$0" ]; do sleep "$1"; echo "line $i"; i=$((i+1)); done'`, {allowRuntimeParams: true});
/** `sleep` runs until canceled. */
const SLEEP = commandType('sleep', 'sh', `-c 'echo sleeping; exec sleep 120'`);
const B_TYPES: CommandTypeConfig[] = [ECHO, DRIP, SLEEP];
/** `secure`: `echo` that needs signed work (only on a node with a verification key). */
const SECURE = commandType('secure', 'cat', '', {verifySignature: true});

const DIST_RUNNER = join(BIN, '..', '..', 'dist', 'work-runner-main.js');

// ---------------------------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------------------------

type TNode = WorkNode;

function startNode(id: string, opts: {types?: CommandTypeConfig[]; dataDir?: string; controlTls?: string; prepare?: WorkNodeOptions['prepare']} = {}): Promise<TNode> {
  return startWorkNode(id, {types: opts.types, dataDir: opts.dataDir, controlTls: opts.controlTls, prepare: opts.prepare});
}

async function linked(a: TNode, b: TNode): Promise<void> {
  link(a.node, b.node);
  await until(
    () =>
      a.node.statusAdvertisements().some((x) => x.NodeID === b.id && x.Service === 'control') &&
      b.node.statusAdvertisements().some((x) => x.NodeID === a.id && x.Service === 'control'),
    `${a.id} and ${b.id} see each other's control service`,
  );
}

// ---------------------------------------------------------------------------------------------
// Control client helpers (A's unix socket)
// ---------------------------------------------------------------------------------------------

const submit = submitWork;
const results = (sock: string, id: string) => readResults(sock, id);

interface Status {
  State: number;
  StateName: string;
  Detail: string;
  StdoutSize: number;
  WorkType: string;
  ExtraData: Record<string, unknown>;
}

async function statusOf(sock: string, id: string): Promise<Status> {
  const line = await ask(sock, `work status ${id}`);
  if (line.startsWith('ERROR')) throw new Error(line);
  return JSON.parse(line) as Status;
}

async function waitStatus(sock: string, id: string, pred: (s: Status) => boolean, what: string, timeoutMs = 10_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  let last: Status | undefined;
  for (;;) {
    last = await statusOf(sock, id);
    if (pred(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A manual clock (never advanced here) that counts the waits armed on it. */
class WatchedClock extends ManualClock {
  armed = 0;
  override setTimeout(fn: () => void, ms: number): TimerHandle {
    this.armed++;
    return super.setTimeout(fn, ms);
  }
}

// ---------------------------------------------------------------------------------------------

describe('integration: remote work units', function () {
  this.timeout(60_000);
  let a: TNode;
  let b: TNode;
  const extra: TNode[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);

  before(async () => {
    // Every unit on B runs in a real runner process: without dist/ nothing here can run.
    if (!existsSync(DIST_RUNNER)) throw new Error(`${DIST_RUNNER} is missing: run \`npm run build\` before these tests`);
    process.on('unhandledRejection', onUnhandled);
    a = await startNode('a');
    b = await startNode('b', {types: B_TYPES});
    await linked(a, b);
  });
  after(async () => {
    for (const n of [...extra, a, b]) await n?.close().catch(() => {});
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled, 'unhandled rejections').to.deep.equal([]);
  });

  it('echo round trip: exact bytes, ExtraData, status file and the remote unit on B', async () => {
    const r = await submit(a.sock, {node: 'b', worktype: 'echo', params: 'p1', other: 'v'}, 'hello\n');
    expect(r.reply).to.equal(`{"result":"Job Started","unitid":"${r.id}"}`);
    const out = await results(a.sock, r.id);
    expect(out.toString()).to.equal('hello\n');
    const s = await statusOf(a.sock, r.id);
    expect(s).to.include({State: 2, StateName: 'Succeeded', Detail: 'exit status 0', StdoutSize: 6, WorkType: 'remote'});
    const remoteId = s.ExtraData.RemoteUnitID as string;
    expect(remoteId).to.match(/^[a-zA-Z0-9]{8}$/);
    const line = await ask(a.sock, `work status ${r.id}`);
    expect(line).to.equal(
      `{"Detail":"exit status 0","ExtraData":{"RemoteNode":"b","RemoteWorkType":"echo","RemoteParams":{"other":"v","params":"p1"},"RemoteUnitID":"${remoteId}","RemoteStarted":true,"LocalCancelled":false,"LocalReleased":false,"SignWork":false,"TLSClient":"","Expiration":"0001-01-01T00:00:00Z"},"State":2,"StateName":"Succeeded","StdoutSize":6,"WorkType":"remote"}`,
    );
    const dir = join(a.dataDir, 'a', r.id);
    expect(readFileSync(join(dir, 'status'), 'utf8')).to.equal(
      `{"State":2,"Detail":"exit status 0","StdoutSize":6,"WorkType":"remote","ExtraData":{"RemoteNode":"b","RemoteWorkType":"echo","RemoteParams":{"other":"v","params":"p1"},"RemoteUnitID":"${remoteId}","RemoteStarted":true,"LocalCancelled":false,"LocalReleased":false,"SignWork":false,"TLSClient":"","Expiration":"0001-01-01T00:00:00Z"}}\n`,
    );
    expect(readFileSync(join(dir, 'stdin'), 'utf8')).to.equal('hello\n');
    // B got an ordinary local unit with the forwarded runtime params.
    const bs = await statusOf(b.sock, remoteId);
    expect(bs).to.include({State: 2, WorkType: 'echo', StdoutSize: 6});
    expect(readFileSync(join(b.dataDir, 'b', remoteId, 'stdin'), 'utf8')).to.equal('hello\n');
    // Monitoring is over: no background job is left on the unit.
    await until(() => (a.wc.unit(r.id) as unknown as {job?: unknown}).job === undefined, 'monitor finished', 5000);
  });

  it('mirrors completion without waiting for a status poll (event-driven between our nodes)', async () => {
    // A's waits run on a clock that never moves: completion can only come from the results
    // stream ending and the immediate status query it triggers, never from a status poll.
    a.wc.clock = new ManualClock();
    try {
      for (let i = 0; i < 3; i++) {
        const r = await submit(a.sock, {node: 'b', worktype: 'echo'}, `run ${i}\n`);
        expect(r.reply).to.contain('Job Started');
        const u = a.wc.unit(r.id);
        await until(() => u.status().State === STATE_SUCCEEDED && u.status().StdoutSize === `run ${i}\n`.length, 'succeeded', 15_000);
        expect((await results(a.sock, r.id)).toString()).to.equal(`run ${i}\n`);
        expect(await ask(a.sock, `work release ${r.id}`)).to.match(/released/);
      }
    } finally {
      a.wc.clock = systemClock;
    }
  });

  it('5 MB payload goes out and comes back byte-exact (SHA-256)', async () => {
    const payload = randomBytes(5 * 1024 * 1024);
    const r = await submit(a.sock, {node: 'b', worktype: 'echo'}, payload);
    expect(r.reply).to.contain('Job Started');
    const out = await results(a.sock, r.id);
    expect(out.length).to.equal(payload.length);
    expect(sha(out)).to.equal(sha(payload));
    expect(sha(readFileSync(join(a.dataDir, 'a', r.id, 'stdout')))).to.equal(sha(payload));
  });

  it('streams output live while the remote unit runs, and the local stdout is 0600', async () => {
    const r = await submit(a.sock, {node: 'b', worktype: 'drip', params: '5 0.1'});
    expect(r.reply).to.contain('Job Started');
    const u = a.wc.unit(r.id);
    await until(() => {
      try {
        return readFileSync(u.stdoutPath, 'utf8').startsWith('line 0\n');
      } catch {
        return false;
      }
    }, 'first line mirrored');
    expect(u.status().State).to.not.equal(STATE_SUCCEEDED);
    const out = await results(a.sock, r.id);
    expect(out.toString()).to.equal('line 0\nline 1\nline 2\nline 3\nline 4\n');
    const {statSync} = await import('node:fs');
    expect(statSync(u.stdoutPath).mode & 0o777).to.equal(0o600);
  });

  it('unknown work type on B surfaces as could not parse response', async () => {
    const r = await submit(a.sock, {node: 'b', worktype: 'x'});
    expect(r.reply).to.equal('ERROR: could not parse response: ERROR: unknown work type x');
    const s = await statusOf(a.sock, r.id);
    expect(s).to.include({State: 3, Detail: 'Error starting worker: could not parse response: ERROR: unknown work type x'});
    expect(s.ExtraData).to.include({RemoteStarted: false, RemoteUnitID: ''});
    expect(await ask(a.sock, `work release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
  });

  it('secrets need TLS (any case, nothing left behind); with a tlsclient they are hidden from replies only', async () => {
    const before = await ask(a.sock, 'work list');
    for (const key of ['secret_foo', 'SECRET_foo']) {
      const r = await submit(a.sock, {node: 'b', worktype: 'echo', [key]: 'x'});
      expect(r.reply).to.equal('ERROR: cannot send secrets over a non-TLS connection');
    }
    expect(await ask(a.sock, 'work list')).to.equal(before);
    expect((await submit(a.sock, {node: 'b', worktype: 'echo', tlsclient: 'nope'})).reply).to.equal('ERROR: unknown TLS config nope');
    // A registered tls-client name passes allocation; the unit is never started here.
    a.rt.registry('tls-client').register('dummy', {} as never);
    const u = await a.wc.allocateRemote({node: 'b', workType: 'echo', params: {Secret_Key: 's3', params: 'p', zz: 'z'}, tlsClient: 'dummy', ttl: '', signWork: false});
    const s = await statusOf(a.sock, u.id);
    expect(JSON.stringify(s.ExtraData.RemoteParams)).to.equal('{"params":"p","zz":"z"}');
    expect(await ask(a.sock, `work list ${u.id}`)).to.contain('"RemoteParams":{"params":"p","zz":"z"}');
    expect(readStatus(u.dir).ExtraData).to.deep.include({RemoteParams: {Secret_Key: 's3', params: 'p', zz: 'z'}, TLSClient: 'dummy'});
    expect(await ask(a.sock, `work release ${u.id}`)).to.equal(`{"released":"${u.id}"}`);
    expect(existsSync(u.dir)).to.equal(false);
  });

  it('a bad ttl is refused with Go text and leaves no unit', async () => {
    const before = await ask(a.sock, 'work list');
    const r = await submit(a.sock, {node: 'b', worktype: 'echo', ttl: 'abc'});
    expect(r.reply).to.equal('ERROR: time: invalid duration "abc"');
    expect(await ask(a.sock, 'work list')).to.equal(before);
  });

  it('ttl: an unreachable target gives Job Submitted, then Failed "Work unit expired on …"', async () => {
    const t0 = Date.now();
    const r = await submit(a.sock, {node: 'nowhere', worktype: 'echo', ttl: '400ms'}, 'x');
    const t1 = Date.now();
    expect(r.reply).to.equal(`{"result":"Job Submitted","unitid":"${r.id}"}`);
    const pending = await statusOf(a.sock, r.id);
    expect(pending).to.include({State: 0, Detail: 'Starting Worker'});
    const exp = pending.ExtraData.Expiration as string;
    expect(exp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    const expMs = unixMilli(unmarshalTimeJSON(exp)!);
    // now + ttl, taken while the submission was being handled.
    expect(expMs).to.be.within(t0 + 400 - 50, t1 + 400 + 50); // slack: performance vs Date clocks
    const s = await waitStatus(a.sock, r.id, (x) => x.State === STATE_FAILED, 'expiry');
    expect(s.Detail).to.equal(`Work unit expired on ${formatLocal(expMs, 'Mon Jan 2 15:04:05')}`);
    expect(s.Detail).to.match(/^Work unit expired on (Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} \d{1,2} \d\d:\d\d:\d\d$/);
    expect(s.ExtraData).to.include({RemoteStarted: false});
    expect(await ask(a.sock, `work release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
  });

  it('Job Submitted for a node that is not there yet, delivered when it appears', async () => {
    // A's back-off runs on a clock that never moves: delivery must come from the
    // route/advertisement wake-up.
    const clock = new WatchedClock();
    a.wc.clock = clock;
    try {
      const r = await submit(a.sock, {node: 'c', worktype: 'echo', params: 'late'}, 'late payload\n');
      expect(r.reply).to.equal(`{"result":"Job Submitted","unitid":"${r.id}"}`);
      await until(() => clock.armed > 0, 'the unit waiting in its back-off');
      const c = await startNode('c', {types: B_TYPES});
      extra.push(c);
      link(b.node, c.node);
      const out = await results(a.sock, r.id);
      expect(out.toString()).to.equal('late payload\n');
      const s = await statusOf(a.sock, r.id);
      expect(s).to.include({State: 2, Detail: 'exit status 0'});
      expect(s.ExtraData).to.include({RemoteNode: 'c', RemoteStarted: true});
    } finally {
      a.wc.clock = systemClock;
    }
  });

  it('cancel of a running remote unit: cancelled, B Canceled, mirrored on A (state 4, not complete)', async () => {
    const r = await submit(a.sock, {node: 'b', worktype: 'sleep'});
    expect(r.reply).to.contain('Job Started');
    const running = await waitStatus(a.sock, r.id, (x) => x.State === STATE_RUNNING, 'running mirrored');
    const remoteId = running.ExtraData.RemoteUnitID as string;
    expect(await ask(a.sock, `work cancel ${r.id}`)).to.equal(`{"cancelled":"${r.id}"}`);
    expect((await statusOf(b.sock, remoteId)).State).to.equal(STATE_CANCELED);
    const s = await waitStatus(a.sock, r.id, (x) => x.State === STATE_CANCELED, 'canceled mirrored');
    expect(s.Detail).to.equal('Canceled');
    expect(s.ExtraData).to.include({LocalCancelled: true, LocalReleased: false});
    // The unit stays (Canceled is not complete); release clears both sides.
    expect(await ask(a.sock, `work release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
    await until(() => !existsSync(join(b.dataDir, 'b', remoteId)) && !existsSync(join(a.dataDir, 'a', r.id)), 'released on both sides');
  });

  it('cancel before the remote start: Failed "Locally Cancelled"', async () => {
    const r = await submit(a.sock, {node: 'ghost', worktype: 'echo'});
    expect(r.reply).to.contain('Job Submitted');
    expect(await ask(a.sock, `work cancel ${r.id}`)).to.equal(`{"cancelled":"${r.id}"}`);
    const s = await statusOf(a.sock, r.id);
    expect(s).to.include({State: 3, Detail: 'Locally Cancelled', StdoutSize: 0});
    expect(s.ExtraData).to.include({LocalCancelled: true, RemoteStarted: false});
    expect(await ask(a.sock, `work release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
    expect(existsSync(join(a.dataDir, 'a', r.id))).to.equal(false);
  });

  it('release: B unit gone first, then the local unit', async () => {
    const r = await submit(a.sock, {node: 'b', worktype: 'echo'}, 'bye\n');
    await results(a.sock, r.id);
    const remoteId = (await statusOf(a.sock, r.id)).ExtraData.RemoteUnitID as string;
    expect(existsSync(join(b.dataDir, 'b', remoteId))).to.equal(true);
    expect(await ask(a.sock, `work release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
    expect(existsSync(join(b.dataDir, 'b', remoteId))).to.equal(false);
    await until(() => !existsSync(join(a.dataDir, 'a', r.id)), 'local unit deleted');
    expect(await ask(a.sock, `work status ${r.id}`)).to.equal(`ERROR: unknown work unit ${r.id}`);
  });

  it('release of a unit B no longer has: error returned, local unit kept; force-release deletes it', async () => {
    const r = await submit(a.sock, {node: 'b', worktype: 'echo'}, 'x\n');
    await results(a.sock, r.id);
    const remoteId = (await statusOf(a.sock, r.id)).ExtraData.RemoteUnitID as string;
    expect(await ask(b.sock, `work release ${remoteId}`)).to.equal(`{"released":"${remoteId}"}`);
    expect(await ask(a.sock, `work release ${r.id}`)).to.equal(`ERROR: error cancelling remote unit:  unknown work unit ${remoteId}`);
    expect(existsSync(join(a.dataDir, 'a', r.id))).to.equal(true);
    expect(await ask(a.sock, `work force-release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
    expect(existsSync(join(a.dataDir, 'a', r.id))).to.equal(false);
  });

  it('force-release of a running unit releases B and deletes locally at once', async () => {
    const r = await submit(a.sock, {node: 'b', worktype: 'sleep'});
    const running = await waitStatus(a.sock, r.id, (x) => x.State === STATE_RUNNING, 'running');
    const remoteId = running.ExtraData.RemoteUnitID as string;
    expect(await ask(a.sock, `work force-release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
    expect(existsSync(join(a.dataDir, 'a', r.id))).to.equal(false);
    expect(existsSync(join(b.dataDir, 'b', remoteId))).to.equal(false);
  });

  it('a remote unit released behind our back: Failed "Remote work unit is gone"', async () => {
    const r = await submit(a.sock, {node: 'b', worktype: 'sleep'});
    const running = await waitStatus(a.sock, r.id, (x) => x.State === STATE_RUNNING, 'running');
    const remoteId = running.ExtraData.RemoteUnitID as string;
    expect(await ask(b.sock, `work release ${remoteId}`)).to.equal(`{"released":"${remoteId}"}`);
    const s = await waitStatus(a.sock, r.id, (x) => x.State === STATE_FAILED, 'gone');
    expect(s.Detail).to.equal('Remote work unit is gone');
    expect(await ask(a.sock, `work force-release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
  });

  it('release while B is unreachable: release pending, then done when B is back', async () => {
    const c = await startNode('d', {types: B_TYPES});
    extra.push(c);
    const [sa] = link(b.node, c.node);
    await until(() => a.node.statusAdvertisements().some((x) => x.NodeID === 'd' && x.Service === 'control'), 'a sees d');
    const r = await submit(a.sock, {node: 'd', worktype: 'sleep'});
    expect(r.reply).to.contain('Job Started');
    const running = await waitStatus(a.sock, r.id, (x) => x.State === STATE_RUNNING, 'running');
    const remoteId = running.ExtraData.RemoteUnitID as string;
    sa.close();
    await until(() => a.node.statusRoutingTable().d === undefined, 'd unreachable');
    expect(await ask(a.sock, `work release ${r.id}`)).to.equal(`{"release pending":"${r.id}"}`);
    expect(existsSync(join(a.dataDir, 'a', r.id))).to.equal(true);
    expect(readStatus(join(a.dataDir, 'a', r.id)).ExtraData).to.include({LocalReleased: true, LocalCancelled: true});
    link(b.node, c.node);
    await until(() => !existsSync(join(c.dataDir, 'd', remoteId)) && !existsSync(join(a.dataDir, 'a', r.id)), 'released on both sides', 15_000);
  });

  it('signed work: submit, results and release carry tokens B verifies; a wrong key is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'receptor-rw-keys-'));
    const mkKeys = (name: string) => {
      const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048});
      writeFileSync(join(dir, `${name}.priv`), privateKey.export({type: 'pkcs8', format: 'pem'}));
      writeFileSync(join(dir, `${name}.pub`), publicKey.export({type: 'spki', format: 'pem'}));
    };
    mkKeys('good');
    mkKeys('bad');
    const s1 = await startNode('s1', {prepare: (rt) => rt.registry('work-signing').register('default', {privateKeyPath: join(dir, 'good.priv'), lifetimeMs: 60_000})});
    const s2 = await startNode('s2', {types: [...B_TYPES, SECURE], prepare: (rt) => rt.registry('work-verification').register('default', {publicKeyPath: join(dir, 'good.pub')})});
    const s3 = await startNode('s3', {prepare: (rt) => rt.registry('work-signing').register('default', {privateKeyPath: join(dir, 'bad.priv'), lifetimeMs: 60_000})});
    extra.push(s1, s2, s3);
    await linked(s1, s2);
    link(s3.node, s2.node);
    await until(() => s3.node.statusAdvertisements().some((x) => x.NodeID === 's2' && x.Service === 'control'), 's3 sees s2');

    const r = await submit(s1.sock, {node: 's2', worktype: 'secure', signwork: 'true'}, 'signed\n');
    expect(r.reply).to.equal(`{"result":"Job Started","unitid":"${r.id}"}`);
    expect((await results(s1.sock, r.id)).toString()).to.equal('signed\n');
    const st = await statusOf(s1.sock, r.id);
    expect(st.ExtraData).to.include({SignWork: true});
    const remoteId = st.ExtraData.RemoteUnitID as string;
    // Unsigned requests over the mesh are refused by s2 (results/release need a token).
    expect(await ask(s1.sock, `work release ${r.id}`)).to.equal(`{"released":"${r.id}"}`);
    await until(() => !existsSync(join(s2.dataDir, 's2', remoteId)) && !existsSync(join(s1.dataDir, 's1', r.id)), 'signed release');

    const bad = await submit(s3.sock, {node: 's2', worktype: 'secure', signwork: 'true'}, 'x');
    expect(bad.reply).to.equal('ERROR: could not parse response: ERROR: could not verify signature: crypto/rsa: verification error');
    link(a.node, s2.node);
    await until(() => a.node.statusAdvertisements().some((x) => x.NodeID === 's2' && x.Service === 'control'), 'a sees s2');
    const noKey = await submit(a.sock, {node: 's2', worktype: 'secure', signwork: 'true'}, 'x');
    expect(noKey.reply).to.match(/^ERROR: cannot sign work: /);
    const unsigned = await submit(s1.sock, {node: 's2', worktype: 'secure'}, 'x');
    expect(unsigned.reply).to.equal('ERROR: could not parse response: ERROR: could not verify signature: signature is empty');
  });

  it('TLS: a good tlsclient works; a plain unit to a TLS control service fails with the CRYPTO_ERROR detail', async () => {
    const ca = await createCa({commonName: 'rw CA', bits: 2048});
    const cas = loadCaBundle(ca.certPem);
    const kp = async (id: string) => {
      const csr = await createCsr({commonName: id, bits: 2048, nodeIds: [id]});
      return loadKeyPair(signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem}).certPem, csr.keyPem!);
    };
    const tb = await startNode('tb', {
      types: B_TYPES,
      controlTls: 'srv',
      prepare: async (rt) => rt.registry('tls-server').register('srv', buildTlsServerConfig({name: 'srv', keyPair: await kp('tb')}).nodeOptions),
    });
    extra.push(tb);
    const tclient = buildTlsClientConfig({name: 'cli', keyPair: await kp('a'), rootCas: cas});
    a.rt.registry('tls-client').register('cli', tclient.nodeOptions);
    link(b.node, tb.node);
    await until(() => a.node.statusAdvertisements().some((x) => x.NodeID === 'tb' && x.Service === 'control'), 'a sees tb');

    const ok = await submit(a.sock, {node: 'tb', worktype: 'echo', tlsclient: 'cli', secret_token: 'hidden'}, 'over tls\n');
    expect(ok.reply).to.equal(`{"result":"Job Started","unitid":"${ok.id}"}`);
    expect((await results(a.sock, ok.id)).toString()).to.equal('over tls\n');
    const s = await statusOf(a.sock, ok.id);
    expect(s.ExtraData).to.include({TLSClient: 'cli'});
    expect(s.ExtraData.RemoteParams).to.deep.equal({});
    const remoteStatus = readStatus(join(tb.dataDir, 'tb', s.ExtraData.RemoteUnitID as string));
    expect(remoteStatus.WorkType).to.equal('echo');

    const plain = await submit(a.sock, {node: 'tb', worktype: 'echo'}, 'x');
    expect(plain.reply).to.equal(`{"result":"Job Submitted","unitid":"${plain.id}"}`);
    const f = await waitStatus(a.sock, plain.id, (x) => x.State === STATE_FAILED, 'TLS failure');
    expect(f.Detail).to.equal('TLS error connecting to remote service: CRYPTO_ERROR 0x12a (local): insecure connection to secure service');
    expect(f.ExtraData).to.include({RemoteStarted: false, RemoteUnitID: ''});
  });

  it('restart of A: a started unit resumes and completes; a never-started one fails', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'receptor-rw-e-'));
    let e = await startNode('e', {dataDir});
    await linked(e, b);
    const r = await submit(e.sock, {node: 'b', worktype: 'drip', params: '10 0.1'});
    expect(r.reply).to.contain('Job Started');
    const pend = await submit(e.sock, {node: 'ghost', worktype: 'echo'});
    expect(pend.reply).to.contain('Job Submitted');
    await until(() => readFileSync(join(dataDir, 'e', r.id, 'stdout'), 'utf8').includes('line 1\n'), 'some output before restart');
    await e.close();
    e = await startNode('e', {dataDir});
    extra.push(e);
    link(e.node, b.node);
    const out = await results(e.sock, r.id);
    expect(out.toString()).to.equal(Array.from({length: 10}, (_, i) => `line ${i}\n`).join(''));
    const s = await statusOf(e.sock, r.id);
    expect(s).to.include({State: 2, Detail: 'exit status 0'});
    const p = await statusOf(e.sock, pend.id);
    expect(p).to.include({State: 3, Detail: 'Failed to restart: remote work had not previously started'});
    expect(e.wc.unit(r.id)).to.be.instanceOf(RemoteUnit);
  });

  it('restart of A with a release pending: the release is re-sent and both sides are cleaned up', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'receptor-rw-f-'));
    let f = await startNode('f', {dataDir});
    const g = await startNode('g', {types: B_TYPES});
    extra.push(g);
    const [sf] = link(f.node, g.node);
    await until(() => f.node.statusAdvertisements().some((x) => x.NodeID === 'g' && x.Service === 'control'), 'f sees g');
    const r = await submit(f.sock, {node: 'g', worktype: 'sleep'});
    expect(r.reply).to.contain('Job Started');
    const remoteId = (await waitStatus(f.sock, r.id, (x) => x.State === STATE_RUNNING, 'running')).ExtraData.RemoteUnitID as string;
    sf.close();
    await until(() => f.node.statusRoutingTable().g === undefined, 'g unreachable');
    expect(await ask(f.sock, `work release ${r.id}`)).to.equal(`{"release pending":"${r.id}"}`);
    await f.close();
    expect(readStatus(join(dataDir, 'f', r.id)).ExtraData).to.include({LocalReleased: true, RemoteStarted: true});
    f = await startNode('f', {dataDir});
    extra.push(f);
    expect(existsSync(join(dataDir, 'f', r.id))).to.equal(true);
    link(f.node, g.node);
    await until(() => !existsSync(join(g.dataDir, 'g', remoteId)) && !existsSync(join(dataDir, 'f', r.id)), 'released on both sides after restart', 15_000);
  });

  it('real command units on B (detached runners; needs a built dist): cat round trip, then cancel of sleep', async function () {
    const h = await startNode('h', {types: [commandType('cat', 'cat'), commandType('sleep', 'sleep', '30')]});
    extra.push(h);
    link(b.node, h.node);
    await until(() => a.node.statusAdvertisements().some((x) => x.NodeID === 'h' && x.Service === 'control'), 'a sees h');
    const r = await submit(a.sock, {node: 'h', worktype: 'cat'}, 'through a runner\n');
    expect(r.reply).to.equal(`{"result":"Job Started","unitid":"${r.id}"}`);
    expect((await results(a.sock, r.id)).toString()).to.equal('through a runner\n');
    expect(await statusOf(a.sock, r.id)).to.include({State: 2, Detail: 'exit status 0', StdoutSize: 17});

    const z = await submit(a.sock, {node: 'h', worktype: 'sleep'});
    expect(z.reply).to.contain('Job Started');
    const running = await waitStatus(a.sock, z.id, (x) => x.State === STATE_RUNNING && x.Detail.startsWith('Running: PID '), 'runner running');
    expect(await ask(a.sock, `work cancel ${z.id}`)).to.equal(`{"cancelled":"${z.id}"}`);
    const c = await waitStatus(a.sock, z.id, (x) => x.State === STATE_CANCELED, 'canceled mirrored');
    expect(c.Detail).to.equal('Canceled');
    expect(await ask(h.sock, `work status ${running.ExtraData.RemoteUnitID as string}`)).to.contain('"StateName":"Canceled"');
    expect(await ask(a.sock, `work release ${z.id}`)).to.equal(`{"released":"${z.id}"}`);
    await until(() => !existsSync(join(a.dataDir, 'a', z.id)), 'released');
  });
});
