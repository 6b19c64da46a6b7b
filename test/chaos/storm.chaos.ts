/**
 * Restart storm: a mesh of 32 daemons (short: 12), each listening and dialing two others (a
 * ring plus chords), has many of its processes killed at once (SIGKILL and SIGTERM mixed,
 * seeded) and restarted at once. After the last restarted node is up, the mesh must agree
 * again within two route-update periods: every node's `status` lists exactly its neighbours
 * as connections, routes to every other node, and knows every node's connections.
 *
 * The period is 10 s (Go's defaultRouteUpdateTime, our DEFAULT_TIMINGS.routeUpdatePeriodMs);
 * neither Go nor we have a config field for it, so the test runs with the default.
 */
import {expect} from 'chai';
import {mkdtempSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {DEFAULT_TIMINGS} from '../../src/core/netceptor/node.js';
import {Daemon} from '../support/cli.js';
import {freePorts} from '../support/ports.js';
import {mulberry32} from '../support/prng.js';
import {suiteScale, tally} from '../support/tally.js';

const SHORT = suiteScale() === 'short';
const N = SHORT ? 12 : 32;
const SEED = Number(process.env.RECEPTOR_STORM_SEED ?? 1607);
const BUDGET_MS = 2 * DEFAULT_TIMINGS.routeUpdatePeriodMs;

const name = (i: number) => `n${String(i).padStart(2, '0')}`;
/** Node i dials i+1 and i+5 (mod N): every node has four links, and no link is listed twice. */
const dials = (i: number) => [(i + 1) % N, (i + 5) % N];

interface Status {
  NodeID: string;
  Connections: Array<{NodeID: string; Cost: number}> | null;
  RoutingTable: Record<string, string> | null;
  KnownConnectionCosts: Record<string, Record<string, number>> | null;
}

function status(sock: string, timeoutMs = 5000): Promise<Status> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no status from ${sock} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (d) => {
      buf += d.toString();
      const lines = buf.split('\n');
      if (lines.length >= 3) {
        clearTimeout(timer);
        s.destroy();
        try {
          resolve(JSON.parse(lines[1]) as Status);
        } catch (e) {
          reject(e as Error);
        }
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.once('connect', () => s.write('status\n'));
  });
}

describe('chaos: restart storm', function () {
  const neighbours: Array<Set<string>> = Array.from({length: N}, () => new Set<string>());
  for (let i = 0; i < N; i++)
    for (const j of dials(i)) {
      neighbours[i].add(name(j));
      neighbours[j].add(name(i));
    }
  const daemons: Daemon[] = [];
  const configs: string[] = [];
  const socks: string[] = [];
  // One seeded stream per scenario, so a scenario run alone (--grep) kills the same nodes.
  let rand = mulberry32(SEED);
  const times: Array<{scenario: string; restarted: number; ms: number; linksMs: number}> = [];

  const start = (i: number) => (daemons[i] = new Daemon(['-c', configs[i]], {env: {RECEPTOR_LOG_LEVEL: 'info'}}));

  /** What node i's status says that it should not (empty: it agrees with the whole mesh). */
  async function disagreement(i: number): Promise<string> {
    let st: Status;
    try {
      st = await status(socks[i]);
    } catch {
      return `${name(i)}: no status`;
    }
    const conns = new Set((st.Connections ?? []).map((c) => c.NodeID));
    if (conns.size !== neighbours[i].size || [...neighbours[i]].some((p) => !conns.has(p))) return `${name(i)} connections ${[...conns].sort().join(',')}`;
    const routes = Object.keys(st.RoutingTable ?? {});
    if (routes.length !== N - 1) return `${name(i)} routes to ${routes.length} nodes`;
    const known = st.KnownConnectionCosts ?? {};
    for (let j = 0; j < N; j++) {
      const k = Object.keys(known[name(j)] ?? {});
      if (k.length !== neighbours[j].size || k.some((p) => !neighbours[j].has(p))) return `${name(i)} knows ${name(j)}'s connections as ${k.sort().join(',')}`;
    }
    return '';
  }

  /** Polls every node until all agree; the time that took from `since`, or a failure after `timeoutMs`. */
  async function converge(since: number, timeoutMs: number): Promise<number> {
    let last: string[] = [];
    let reported = false;
    for (;;) {
      last = (await Promise.all(Array.from({length: N}, (_, i) => disagreement(i)))).filter(Boolean);
      if (last.length === 0) return Date.now() - since;
      if (!reported && Date.now() - since > BUDGET_MS) {
        reported = true;
        process.stderr.write(`storm: still disagreeing ${BUDGET_MS / 1000} s after the last restart: ${last.slice(0, 8).join('; ')}\n`);
      }
      if (Date.now() - since > timeoutMs) throw new Error(`not converged ${Math.round(timeoutMs / 1000)} s after the last restart: ${last.slice(0, 6).join('; ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Kills `victims` at once (seeded SIGKILL or SIGTERM each) and waits until they are gone. */
  async function kill(victims: number[]): Promise<void> {
    await Promise.all(
      victims.map(async (i) => {
        const sig: NodeJS.Signals = rand() < 0.5 ? 'SIGKILL' : 'SIGTERM';
        const res = await daemons[i].stop(sig, 15_000);
        // A graceful stop must really be one (not the SIGKILL fallback of stop()).
        if (sig === 'SIGTERM') expect(res.code, `${name(i)} after SIGTERM: ${res.stderr.slice(-2000)}`).to.equal(0);
      }),
    );
  }

  /** Restarts `victims` at once; resolves when the last one is up (its Date.now(), comparable with log times). */
  async function restart(victims: number[]): Promise<number> {
    let lastUp = 0;
    await Promise.all(
      victims.map(async (i) => {
        await start(i).waitForLog('Initialization complete', 120_000);
        lastUp = Math.max(lastUp, Date.now());
      }),
    );
    tally('restarts', victims.length);
    return lastUp;
  }

  function pick(k: number, from: number[] = Array.from({length: N}, (_, i) => i)): number[] {
    const pool = [...from];
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, k).sort((a, b) => a - b);
  }

  before(async function () {
    this.timeout(300_000);
    const dir = mkdtempSync(join(tmpdir(), 'receptor-storm-'));
    const ports = await freePorts(N);
    for (let i = 0; i < N; i++) {
      socks[i] = join(dir, `${name(i)}.sock`);
      configs[i] = join(dir, `${name(i)}.yml`);
      writeFileSync(
        configs[i],
        [
          `- node:\n    id: ${name(i)}\n    datadir: ${join(dir, `${name(i)}-data`)}`,
          `- control-service:\n    service: control\n    filename: ${socks[i]}`,
          `- tcp-listener:\n    port: ${ports[i]}\n    bindaddr: 127.0.0.1`,
          ...dials(i).map((j) => `- tcp-peer:\n    address: 127.0.0.1:${ports[j]}`),
        ].join('\n') + '\n',
      );
    }
    // Four at a time: 32 cold starts at once only measure how busy the machine is.
    for (let i = 0; i < N; i += 4) await Promise.all([i, i + 1, i + 2, i + 3].filter((j) => j < N).map((j) => start(j).waitForLog('Initialization complete', 120_000)));
    await converge(Date.now(), 180_000);
  });

  after(async () => {
    await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
    if (times.length > 0)
      process.stderr.write(
        `storm (${N} nodes, seed ${SEED}): reconverged ${times.map((t) => `${t.scenario} (${t.restarted} restarted) ${(t.ms / 1000).toFixed(1)} s (last link up at ${(t.linksMs / 1000).toFixed(1)} s)`).join(', ')}; budget ${BUDGET_MS / 1000} s\n`,
      );
  });

  const scenarios: Array<{title: string; run: () => Promise<{lastUp: number; restarted: number}>}> = [
    {
      title: 'half of the nodes killed at once, restarted at once',
      run: async () => {
        const v = pick(Math.floor(N / 2));
        await kill(v);
        return {lastUp: await restart(v), restarted: v.length};
      },
    },
    {
      title: 'overlapping waves: a third restarting while another third is killed',
      run: async () => {
        const v = pick(Math.floor((2 * N) / 3));
        const [w1, w2] = [v.slice(0, v.length / 2), v.slice(v.length / 2)];
        await kill(w1);
        const first = restart(w1);
        await kill(w2);
        const second = restart(w2);
        return {lastUp: Math.max(await first, await second), restarted: v.length};
      },
    },
    {
      title: 'every node killed at once, restarted at once',
      run: async () => {
        const v = pick(N);
        await kill(v);
        return {lastUp: await restart(v), restarted: v.length};
      },
    },
    {
      title: 'three quarters killed at once, restarted at once',
      run: async () => {
        const v = pick(Math.floor((3 * N) / 4));
        await kill(v);
        return {lastUp: await restart(v), restarted: v.length};
      },
    },
  ];

  for (const [k, s] of (SHORT ? scenarios.slice(0, 2) : scenarios).entries()) {
    it(`${s.title}: reconverges within 2 route-update periods`, async function () {
      this.timeout(400_000);
      rand = mulberry32(SEED + k);
      const {lastUp, restarted} = await s.run();
      // Waits past the budget, so a failure still reports how long it took.
      const ms = await converge(lastUp, 120_000);
      // When the last link of the storm came up (the redial back-off decides most of the time).
      const linkUp = Math.max(
        ...daemons.flatMap((d) =>
          d
            .logs()
            .filter((l) => l.msg === 'Connection established' && Date.parse(String(l.time)) >= lastUp - 60_000)
            .map((l) => Date.parse(String(l.time))),
        ),
      );
      times.push({scenario: s.title.split(':')[0].split(',')[0], restarted, ms, linksMs: linkUp - lastUp});
      tally('scenarios');
      expect(ms).to.be.at.most(BUDGET_MS);
    });
  }
});
