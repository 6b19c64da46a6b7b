/**
 * Chaos: kill -9 of each role of a remote unit (submitter — hop — executor, real daemons of
 * ours on a line) at seeded points of the transfer, then a restart. Every scenario checks:
 * the results arrive complete and byte-identical (SHA-256) on the submitter, the unit is
 * Succeeded on both ends, it reaches that state within a deadline (else a stuck unit), `work
 * list` shows exactly one unit per submission on each end, and `work results` ends (also a
 * stream that was running through the kill of another node).
 *
 * Short (CI): one kill per role, 8 MiB. Full: several seeded points per role, 64 MiB.
 * RECEPTOR_CHAOS_SEED repeats a run (the seed is printed).
 */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import {existsSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {waitFor} from '../support/cli.js';
import {freePorts} from '../support/ports.js';
import {mulberry32} from '../support/prng.js';
import {suiteScale, tally} from '../support/tally.js';
import {controlRequest, InteropNode, OURS, ours, tempDir, waitRoutes, type Item} from '../interop/support.js';
import {cleanUp, kill9, localStdoutSize, oursResults, tail, unitDirExists, unitIdOf, unitStatus, type HashedProcess} from '../interop/work-helpers.js';

const SUCCEEDED = 2;
const SHORT = suiteScale() === 'short';
const SIZE = SHORT ? 8 << 20 : 64 << 20;
const SEED = Number(process.env.RECEPTOR_CHAOS_SEED ?? 0x5eed16) >>> 0;
/** How long a unit may take to reach its final state after the restart before it counts as stuck. */
const FINAL_DEADLINE_MS = SHORT ? 90_000 : 180_000;

type Role = 'submitter' | 'hop' | 'executor';
type Phase = 'before-output' | 'mid-job' | 'while-writing' | 'mid-results';
interface Scenario {
  role: Role;
  phase: Phase;
  /** Mid-job: the job prints this fraction, then waits for its gate; mid-results: unused. */
  split: number;
  /** The kill comes once the submitter holds this fraction of the output (of the split part mid-job). */
  at: number;
}

function scenarios(): Scenario[] {
  const rnd = mulberry32(SEED);
  const roles: Role[] = ['submitter', 'hop', 'executor'];
  const perRole = SHORT ? 1 : 4;
  const out: Scenario[] = [];
  for (const role of roles) {
    for (let i = 0; i < perRole; i++) {
      // Short: the executor mid-job (the reported bug), the others mid-results and mid-job.
      const phase: Phase = SHORT ? (role === 'hop' ? 'mid-results' : 'mid-job') : (['mid-job', 'mid-results', 'while-writing', 'before-output'] as const)[i % 4]!;
      out.push({role, phase, split: 0.2 + 0.6 * rnd(), at: 0.05 + 0.9 * rnd()});
    }
  }
  return out;
}

describe(`chaos: kill -9 of submitter, hop and executor during a ${SIZE >> 20} MiB remote unit (seed ${SEED})`, function () {
  this.timeout(0);
  let dir: string;
  let big: string;
  let bigSha: string;
  let S: InteropNode;
  let H: InteropNode;
  let E: InteropNode;
  const submitted: string[] = [];
  const remote: string[] = [];
  let gates = 0;

  before(async function () {
    this.timeout(120_000);
    // The counts that must stay 0 show on the last line too.
    tally('lost bytes', 0);
    tally('stuck units', 0);
    dir = tempDir('receptor-chaos-kill-');
    big = join(dir, 'big.bin');
    const hash = createHash('sha256');
    writeFileSync(big, '');
    for (let done = 0; done < SIZE; done += 4 << 20) {
      const b = randomBytes(Math.min(4 << 20, SIZE - done));
      hash.update(b);
      writeFileSync(big, b, {flag: 'a'});
    }
    bigSha = hash.digest('hex');
    // `paced`: the payload line is "<gate file> <bytes>": prints that many bytes of big.bin,
    // waits for the gate file, prints the rest.
    const paced: Item = {
      'work-command': {
        worktype: 'paced',
        command: 'sh',
        params: `-c 'read g n; head -c $n ${big}; while [ ! -e "$g" ]; do sleep 0.05; done; tail -c +$((n+1)) ${big}'`,
      },
    };
    // `trickle`: prints big.bin in 32 blocks of the payload's size, 0.1 s apart (the job is
    // writing while a node dies).
    const trickle: Item = {
      'work-command': {
        worktype: 'trickle',
        command: 'sh',
        params: `-c 'read n; i=0; while [ $i -lt 32 ]; do dd if=${big} bs=$n skip=$i count=1 iflag=fullblock status=none; sleep 0.1; i=$((i+1)); done'`,
      },
    };
    const [p1, p2] = await freePorts(2);
    const listen = (port: number): Item => ({'tcp-listener': {port, bindaddr: '127.0.0.1'}});
    const peer = (port: number): Item => ({'tcp-peer': {address: `127.0.0.1:${port}`, redial: true}});
    S = new InteropNode(OURS, 'sub', dir, {items: [listen(p1!), paced, trickle]});
    H = new InteropNode(OURS, 'hop', dir, {items: [peer(p1!), listen(p2!)]});
    E = new InteropNode(OURS, 'exec', dir, {items: [peer(p2!), paced, trickle]});
    await Promise.all([S.start(), H.start(), E.start()]);
    await converged();
  });

  after(async () => {
    for (let i = 1; i <= gates; i++) writeFileSync(join(dir, `gate-${i}`), '');
    await cleanUp([S, H, E]);
  });

  async function converged(): Promise<void> {
    await waitRoutes(S, ['hop', 'exec'], 60_000);
    await waitRoutes(E, ['hop', 'sub'], 60_000);
  }

  const node = (r: Role) => (r === 'submitter' ? S : r === 'hop' ? H : E);

  async function workList(n: InteropNode): Promise<Record<string, {State: number}>> {
    return JSON.parse(await controlRequest(n.sock, 'work list', {lines: 1})) as Record<string, {State: number}>;
  }

  /** Final checks of one unit; the counts go to the tally. */
  async function verify(id: string, streams: HashedProcess[]): Promise<void> {
    let last: Awaited<ReturnType<typeof unitStatus>>;
    const final = await waitFor(
      async () => {
        last = await unitStatus(S, id).catch(() => undefined);
        return last && last.State === SUCCEEDED && last.StdoutSize === SIZE && localStdoutSize(S, id) >= SIZE ? last : undefined;
      },
      FINAL_DEADLINE_MS,
      () => `unit ${id} Succeeded with ${SIZE} bytes on sub (last: ${JSON.stringify(last)}, local ${localStdoutSize(S, id)})\n${tail(S)}\n${tail(E)}`,
    ).catch((err: Error) => {
      tally('stuck units');
      throw err;
    });
    const remoteId = (final.ExtraData as {RemoteUnitID: string}).RemoteUnitID;
    remote.push(remoteId);
    expect(await unitStatus(E, remoteId)).to.include({State: SUCCEEDED, StdoutSize: SIZE});
    // Every stream ends; each one that ran to its end is complete and exact.
    const fresh = oursResults(S, id, 120_000);
    for (const r of await Promise.all([...streams, fresh].map((s) => s.done))) {
      tally('bytes checked', r.size);
      if (r.code === 0 && r.sha !== bigSha) tally('lost bytes', Math.max(SIZE - r.size, 1));
      expect(r.code, r.stderr).to.equal(0);
      expect({size: r.size, sha: r.sha}).to.deep.equal({size: SIZE, sha: bigSha});
    }
    // No unit duplicated: the submitter holds exactly what was submitted, the executor one
    // unit per submission.
    expect(Object.keys(await workList(S)).sort()).to.deep.equal([...submitted].sort());
    expect(Object.keys(await workList(E)).sort()).to.deep.equal([...remote].sort());
  }

  /** Releases the unit on the submitter; both unit directories go (keeps the disk small). */
  async function release(id: string): Promise<void> {
    const remoteId = remote.at(-1)!;
    const rel = await ours(['work', 'release', id, '--socket', S.sock]);
    expect(rel.stdout, rel.stderr).to.contain(`(${id}, released)`);
    await waitFor(
      () => !unitDirExists(S, id) && !unitDirExists(E, remoteId),
      60_000,
      () => `unit dirs of ${id}/${remoteId} removed\n${tail(S)}\n${tail(E)}`,
    );
    submitted.splice(submitted.indexOf(id), 1);
    remote.splice(remote.indexOf(remoteId), 1);
  }

  for (const sc of scenarios()) {
    it(`${sc.role} killed ${sc.phase} (split ${sc.split.toFixed(3)}, at ${sc.at.toFixed(3)})`, async function () {
      const gate = join(dir, `gate-${++gates}`);
      const head = sc.phase === 'mid-job' ? Math.floor(SIZE * sc.split) : 0;
      if (sc.phase === 'mid-results') writeFileSync(gate, '');
      const [type, payload] = sc.phase === 'while-writing' ? ['trickle', `${SIZE / 32}`] : ['paced', `${gate} ${head}`];
      const sub = await ours(['work', 'submit', type, '--node', 'exec', '-l', payload, '--socket', S.sock]);
      expect(sub.code, sub.stdout + sub.stderr).to.equal(0);
      const id = unitIdOf(sub.stdout);
      submitted.push(id);
      // A results stream on the submitter that should run through the kill of another node.
      const streams = sc.role === 'submitter' ? [] : [oursResults(S, id, FINAL_DEADLINE_MS + 60_000)];
      if (sc.phase === 'before-output') {
        // The job runs on the executor and has printed nothing yet.
        await waitFor(
          async () => (await unitStatus(S, id).catch(() => undefined))?.StateName === 'Running',
          60_000,
          () => `unit ${id} Running on sub\n${tail(S)}`,
        );
      } else {
        const target = Math.max(1, Math.floor((sc.phase === 'mid-job' ? head : SIZE) * sc.at));
        await waitFor(
          () => localStdoutSize(S, id) >= target,
          60_000,
          () => `${target} bytes of ${id} on sub (have ${localStdoutSize(S, id)})\n${tail(S)}`,
        );
      }
      const victim = node(sc.role);
      await kill9(victim);
      tally('kills');
      // Half of the points let the job end while the node is down.
      if (sc.split > 0.5) writeFileSync(gate, '');
      await victim.start(60_000);
      await converged();
      if (!existsSync(gate)) writeFileSync(gate, '');
      await verify(id, streams);
      await release(id);
      tally('scenarios');
    });
  }
});
