/**
 * Interop: a mesh whose middle node is the other implementation.
 *
 *     left ──TCP (cost 2.5)── mid ──WebSocket── right
 *                              │                │
 *                             UDP          TCP (cost 5)
 *                              │                │
 *                             side ─────────────┘
 *
 * left, right and side run one implementation, mid the other; every case runs with ours at
 * the ends and Go in the middle, and the reverse, against every Go binary. Go nodes dial and
 * start last, so that Go's first service advertisements (sent 5 s after its services start,
 * and then only every 60 s) find the mesh connected.
 *
 * Across the middle: forwarding, routing tables and known connection costs, service
 * advertisements, ping and traceroute (hops to live), unreachable answers, firewall rules
 * applied by either implementation to the other's traffic, TCP / TLS-over-mesh / UDP / unix
 * service proxies with one end on each implementation, the idle timeout of a frozen middle
 * node (SIGSTOP) and the redial after it is killed (SIGKILL) and restarted. right and side
 * route to each other through mid (cost 2) rather than over their own link (cost 5) while mid
 * is up, and over their link while it is not.
 */
import {expect} from 'chai';
import {randomBytes} from 'node:crypto';
import net from 'node:net';
import {join} from 'node:path';
import {isDeepStrictEqual} from 'node:util';
import {waitFor} from '../support/cli.js';
import {freePorts} from '../support/ports.js';
import {
  CertTool,
  later,
  logOf,
  waitListening,
  pingVia,
  startEchoTargets,
  streamRoundTrip,
  tracerouteVia,
  udpRoundTrips,
  waitAds,
  waitConnection,
  waitLog,
  waitPing,
  type CertPair,
  type EchoTargets,
} from './mesh-support.js';
import {InteropNode, OURS, controlRequest, meshStatus, mixedPairs, ours, requireGo, tempDir, waitRoutes, type Impl, type Item, type MeshStatus} from './support.js';

const IDS = ['left', 'mid', 'right', 'side'] as const;
type Id = (typeof IDS)[number];
const ENDS: Id[] = ['left', 'right', 'side'];
const TCP_COST = 2.5;
const DETOUR_COST = 5;
/** Every link's cost, as each node's KnownConnectionCosts must show it. */
const COSTS = {left: {mid: TCP_COST}, mid: {left: TCP_COST, right: 1, side: 1}, right: {mid: 1, side: DETOUR_COST}, side: {mid: 1, right: DETOUR_COST}};
const MB = 1024 * 1024;

interface Line {
  label: string;
  ends: Impl;
  middle: Impl;
  nodes: Record<Id, InteropNode>;
  /** Local ports of the proxies' listening ends: on left (towards mid) and on mid (towards right). */
  proxy: Record<'left' | 'mid', {tcp: number; tls: number; udp: number; unix: string}>;
  /** Slow checks started as soon as the line is up, awaited by their tests. */
  background: Record<string, Promise<unknown>>;
}

/** Proxy items: servers on `from` forwarding to `to`, clients on `to` reaching the echo targets. */
function proxyServers(to: Id, p: {tcp: number; tls: number; udp: number; unix: string}): Item[] {
  return [
    {'tcp-server': {port: p.tcp, bindaddr: '127.0.0.1', remotenode: to, remoteservice: 'etcp'}},
    {'tcp-server': {port: p.tls, bindaddr: '127.0.0.1', remotenode: to, remoteservice: 'etls', tlsclient: 'mesh-client'}},
    {'udp-server': {port: p.udp, bindaddr: '127.0.0.1', remotenode: to, remoteservice: 'eudp'}},
    {'unix-socket-server': {filename: p.unix, remotenode: to, remoteservice: 'eunix'}},
  ];
}
function proxyClients(echo: EchoTargets): Item[] {
  return [
    {'tcp-client': {service: 'etcp', address: `127.0.0.1:${echo.tcpPort}`}},
    {'tcp-client': {service: 'etls', address: `127.0.0.1:${echo.tcpPort}`, tlsserver: 'mesh-server'}},
    {'udp-client': {service: 'eudp', address: `127.0.0.1:${echo.udpPort}`}},
    {'unix-socket-client': {service: 'eunix', filename: echo.unixPath}},
  ];
}
function tlsItems(ca: CertPair, cert: CertPair): Item[] {
  return [
    {'tls-server': {name: 'mesh-server', cert: cert.cert, key: cert.key, requireclientcert: true, clientcas: ca.cert}},
    {'tls-client': {name: 'mesh-client', cert: cert.cert, key: cert.key, rootcas: ca.cert}},
  ];
}

/** Ports each line needs (taken for all lines before any node starts). */
const LINE_PORTS = 10;

async function startLine(ends: Impl, middle: Impl, label: string, ports: number[], echo: EchoTargets, ca: CertPair, cert: CertPair): Promise<Line> {
  const dir = tempDir('receptor-interop-line-');
  const [pTcp, pWs, pUdp, pDetour, lTcp, lTls, lUdp, mTcp, mTls, mUdp] = ports;
  const proxy = {
    left: {tcp: lTcp, tls: lTls, udp: lUdp, unix: join(dir, 'left-proxy.sock')},
    mid: {tcp: mTcp, tls: mTls, udp: mUdp, unix: join(dir, 'mid-proxy.sock')},
  };
  // Whichever implementation is Go dials (see the file comment); the other one listens.
  const midDials = middle.kind === 'go';
  const link = {
    left: midDials ? {'tcp-listener': {port: pTcp, bindaddr: '127.0.0.1', cost: TCP_COST}} : {'tcp-peer': {address: `127.0.0.1:${pTcp}`, cost: TCP_COST}},
    right: midDials ? {'ws-listener': {port: pWs, bindaddr: '127.0.0.1'}} : {'ws-peer': {address: `ws://127.0.0.1:${pWs}/`}},
    side: midDials ? {'udp-listener': {port: pUdp, bindaddr: '127.0.0.1'}} : {'udp-peer': {address: `127.0.0.1:${pUdp}`}},
  };
  const midLinks: Item[] = midDials
    ? [{'tcp-peer': {address: `127.0.0.1:${pTcp}`, cost: TCP_COST}}, {'ws-peer': {address: `ws://127.0.0.1:${pWs}/`}}, {'udp-peer': {address: `127.0.0.1:${pUdp}`}}]
    : [
        {'tcp-listener': {port: pTcp, bindaddr: '127.0.0.1', cost: TCP_COST}},
        {'ws-listener': {port: pWs, bindaddr: '127.0.0.1'}},
        {'udp-listener': {port: pUdp, bindaddr: '127.0.0.1'}},
      ];
  const tls = tlsItems(ca, cert);
  const nodes: Record<Id, InteropNode> = {
    left: new InteropNode(ends, 'left', dir, {items: [link.left, ...tls, ...proxyServers('mid', proxy.left)]}),
    mid: new InteropNode(middle, 'mid', dir, {
      // mid rejects right's pings to side (a regular expression rule) and drops left's
      node: {
        firewallrules: [
          {action: 'reject', fromnode: '/^r.ght$/', tonode: 'side', toservice: 'ping'},
          {action: 'drop', fromnode: 'left', tonode: 'side', toservice: 'ping'},
        ],
      },
      items: [...midLinks, ...tls, ...proxyClients(echo), ...proxyServers('right', proxy.mid)],
    }),
    right: new InteropNode(ends, 'right', dir, {items: [link.right, {'tcp-listener': {port: pDetour, bindaddr: '127.0.0.1', cost: DETOUR_COST}}, ...tls, ...proxyClients(echo)]}),
    // side rejects every ping from mid
    side: new InteropNode(ends, 'side', dir, {
      node: {firewallrules: [{action: 'reject', fromnode: 'mid', toservice: 'ping'}]},
      items: [link.side, {'tcp-peer': {address: `127.0.0.1:${pDetour}`, cost: DETOUR_COST}}],
    }),
  };
  const line: Line = {label, ends, middle, nodes, proxy, background: {}};
  allNodes.push(...Object.values(nodes));
  const ourNodes = IDS.filter((id) => nodes[id].impl.kind === 'ours');
  const goNodes = IDS.filter((id) => nodes[id].impl.kind === 'go');
  await Promise.all(ourNodes.map((id) => nodes[id].start(60_000)));
  // ours listen (see the file comment): wait for the ports before Go dials
  if (midDials) await Promise.all([waitListening(nodes.left, [pTcp]), waitListening(nodes.right, [pWs]), waitListening(nodes.side, [pUdp])]);
  else await waitListening(nodes.mid, [pTcp, pWs, pUdp]);
  await Promise.all(goNodes.map((id) => nodes[id].start(60_000)));
  await Promise.all([
    waitRoutes(nodes.left, ['mid', 'right', 'side'], 60_000),
    waitRoutes(nodes.right, ['mid', 'left', 'side'], 60_000),
    waitRoutes(nodes.side, ['mid', 'left', 'right'], 60_000),
  ]);
  await waitRoutes(nodes.mid, ['left', 'right', 'side'], 60_000);
  // the 10 s ping time-out behind a dropping firewall rule runs while the other cases do
  line.background.dropped = later(() => pingVia(nodes.left, 'side'));
  return line;
}

/** Every node of every line, stopped after the suite even when its line failed to start. */
const allNodes: InteropNode[] = [];

describe('interop mesh: a line through the other implementation', function () {
  this.timeout(120_000);
  const pairs = mixedPairs().map(([a, b]) => ({ends: a, middle: b, label: `${a.label} ends, ${b.label} middle`}));
  const lines = new Map<string, Promise<Line>>();
  let echo: EchoTargets | undefined;
  const line = (label: string) => lines.get(label)!;

  before(async function () {
    requireGo(this);
    this.timeout(240_000);
    const dir = tempDir('receptor-interop-line-pki-');
    echo = await startEchoTargets(dir);
    const tool = new CertTool(OURS);
    const ca = await tool.ca(dir, 'line-ca');
    const cert = await tool.issue(dir, 'line-nodes', ca, {nodeIds: [...IDS], dns: ['localhost'], ips: ['127.0.0.1']});
    const ports = await freePorts(LINE_PORTS * pairs.length);
    pairs.forEach((p, i) =>
      lines.set(
        p.label,
        later(() => startLine(p.ends, p.middle, p.label, ports.slice(i * LINE_PORTS, (i + 1) * LINE_PORTS), echo!, ca, cert)),
      ),
    );
    await Promise.allSettled(lines.values());
  });

  after(async function () {
    this.timeout(60_000);
    for (const n of allNodes) n.signal('SIGCONT');
    await Promise.all(allNodes.map((n) => n.stop()));
    await echo?.close();
  });

  if (pairs.length === 0) it('needs Go receptor', () => {});

  for (const {label} of pairs) {
    describe(label, () => {
      it('routing tables and known connection costs agree across the middle', async () => {
        const l = await line(label);
        // the right–side link may come up after a redial
        const s = await waitStatus(l.nodes.left, (x) => isDeepStrictEqual(x.KnownConnectionCosts, COSTS), 'know every link');
        expect(s.RoutingTable).to.deep.equal({mid: 'mid', right: 'mid', side: 'mid'});
        expect(s.Connections).to.deep.equal([{NodeID: 'mid', Cost: TCP_COST}]);
        const m = await waitStatus(l.nodes.mid, (x) => isDeepStrictEqual(x.KnownConnectionCosts, COSTS), 'know every link');
        expect(m.RoutingTable).to.deep.equal({left: 'left', right: 'right', side: 'side'});
        expect(new Map((m.Connections ?? []).map((c) => [c.NodeID, c.Cost]))).to.deep.equal(
          new Map([
            ['left', TCP_COST],
            ['right', 1],
            ['side', 1],
          ]),
        );
        // right and side: through mid (1 + 1) rather than directly (5)
        const r = await waitStatus(l.nodes.right, (x) => isDeepStrictEqual(x.KnownConnectionCosts, COSTS), 'know every link');
        expect(r.RoutingTable).to.deep.equal({left: 'mid', mid: 'mid', side: 'mid'});
        const sd = await waitStatus(l.nodes.side, (x) => isDeepStrictEqual(x.KnownConnectionCosts, COSTS), 'know every link');
        expect(sd.RoutingTable).to.deep.equal({left: 'mid', mid: 'mid', right: 'mid'});
      });

      it('service advertisements of each node reach the others unchanged', async () => {
        const l = await line(label);
        // a node's own services register after it greets: wait for all of them first
        const own = async (id: Id, services: string[]) =>
          (
            (
              await waitAds(
                l.nodes[id],
                services.map((svc) => [id, svc]),
                30_000,
              )
            ).Advertisements ?? []
          )
            .filter((a) => a.NodeID === id)
            .map((a) => ({...a, Time: undefined}));
        const midOwn = await own('mid', ['control', 'etcp', 'etls', 'eudp', 'eunix']);
        const rightOwn = await own('right', ['control', 'etcp', 'etls', 'eudp', 'eunix']);
        expect(midOwn.map((a) => a.Service).sort()).to.deep.equal(['control', 'etcp', 'etls', 'eudp', 'eunix']);
        expect(rightOwn.map((a) => a.Service).sort()).to.deep.equal(['control', 'etcp', 'etls', 'eudp', 'eunix']);
        const want = [...midOwn, ...rightOwn].map((a) => [a.NodeID, a.Service] as [string, string]);
        const seen = await waitAds(l.nodes.left, want);
        for (const ad of [...midOwn, ...rightOwn]) {
          const got = (seen.Advertisements ?? []).find((a) => a.NodeID === ad.NodeID && a.Service === ad.Service);
          expect({...got, Time: undefined}, `${ad.NodeID}:${ad.Service} as seen by left`).to.deep.equal(ad);
        }
        const tags = Object.fromEntries(midOwn.map((a) => [a.Service, a.Tags?.type]));
        expect(tags).to.deep.equal({control: 'Control Service', etcp: 'TCP Proxy', etls: 'TCP Proxy', eudp: 'UDP Proxy', eunix: 'Unix Proxy'});
        const leftOwn = await own('left', ['control']);
        await waitAds(
          l.nodes.right,
          leftOwn.map((a) => [a.NodeID, a.Service]),
        );
      });

      it('ping crosses the middle both ways and reaches it', async () => {
        const l = await line(label);
        const [lr, rl, sl, lm, ml] = await Promise.all([
          pingVia(l.nodes.left, 'right'),
          pingVia(l.nodes.right, 'left'),
          pingVia(l.nodes.side, 'left'),
          pingVia(l.nodes.left, 'mid'),
          pingVia(l.nodes.mid, 'left'),
        ]);
        expect(lr).to.include({Success: true, From: 'right'});
        expect(rl).to.include({Success: true, From: 'left'});
        // side's rule rejects pings *from* mid; its answers to others pass mid's rules
        expect(sl).to.include({Success: true, From: 'left'});
        expect(lm).to.include({Success: true, From: 'mid'});
        expect(ml).to.include({Success: true, From: 'left'});
        expect(lr.Time).to.be.a('number').above(0);
        expect(lr.TimeStr).to.match(/^[0-9.]+(ns|µs|ms|s)$/);
        // our client commands on mid's control socket, whichever implementation serves it
        const [ping, trace] = await Promise.all([
          ours(['ping', 'right', '--socket', l.nodes.mid.sock, '--count', '2', '--delay', '0.1']),
          ours(['traceroute', 'left', '--socket', l.nodes.right.sock]),
        ]);
        expect(ping.code, ping.stderr).to.equal(0);
        expect(ping.stdout).to.match(/^Reply from right in [0-9.]+(ns|µs|ms|s)\nReply from right in [0-9.]+(ns|µs|ms|s)\n$/);
        expect(trace.code, trace.stderr).to.equal(0);
        expect(trace.stdout).to.match(/^0: right in \S+\n1: mid in \S+\n2: left in \S+\n$/);
      });

      it('traceroute names each hop: hops to live expire at the middle', async () => {
        const l = await line(label);
        const [lr, sl, ml] = await Promise.all([tracerouteVia(l.nodes.left, 'right'), tracerouteVia(l.nodes.side, 'left'), tracerouteVia(l.nodes.mid, 'right')]);
        expect(lr.map((h) => h.From)).to.deep.equal(['left', 'mid', 'right']);
        expect(sl.map((h) => h.From)).to.deep.equal(['side', 'mid', 'left']);
        expect(ml.map((h) => h.From)).to.deep.equal(['mid', 'right']);
        for (const h of [...lr, ...sl, ...ml]) {
          expect(h.Error, JSON.stringify(h)).to.equal(undefined);
          expect(h.TimeStr).to.match(/^[0-9.]+(ns|µs|ms|s)$/);
        }
      });

      it('unreachable answers: unknown node, unknown service on either implementation', async () => {
        const l = await line(label);
        for (const id of ['left', 'mid'] as const) {
          expect(await pingVia(l.nodes[id], 'nosuchnode')).to.deep.equal({Success: false, Error: 'no route to node'});
        }
        // service unknown, answered by mid (other implementation) and by right (across mid)
        for (const [from, to] of [
          ['left', 'mid'],
          ['left', 'right'],
          ['mid', 'left'],
        ] as const) {
          const reply = await controlRequest(l.nodes[from].sock, `connect ${to} nosvc`, {lines: 1, timeoutMs: 60_000});
          expect(reply, `${from}: connect ${to} nosvc`).to.equal('ERROR: context canceled\n');
        }
        // a service name longer than 8 bytes cannot be sent to
        const long = await controlRequest(l.nodes.left.sock, 'connect mid waytoolongname', {lines: 1, timeoutMs: 60_000});
        expect(long).to.equal('ERROR: INTERNAL_ERROR (local): service name too long\n');
      });

      it("firewall rules: the middle rejects and drops the ends' pings, an end rejects the middle's", async () => {
        const l = await line(label);
        // mid's reject rule for right → side: the unreachable comes from mid
        expect(await pingVia(l.nodes.right, 'side')).to.deep.equal({Success: false, Error: 'blocked by firewall'});
        const trace = await tracerouteVia(l.nodes.right, 'side');
        expect(trace.map((h) => [h.From, h.Error])).to.deep.equal([
          ['right', undefined],
          ['mid', 'blocked by firewall'],
        ]);
        // side's reject rule for mid's pings: the unreachable comes from side
        expect(await pingVia(l.nodes.mid, 'side')).to.deep.equal({Success: false, Error: 'blocked by firewall'});
        // mid silently drops left → side (started with the line: the ping time-out is 10 s)
        expect(await l.background.dropped).to.deep.equal({Success: false, Error: 'timeout'});
        // other traffic through mid to side passes
        expect(await pingVia(l.nodes.side, 'right')).to.include({Success: true, From: 'right'});
      });

      it('TCP proxy: 4 MB echoed through the mesh each way, plain and over mesh TLS', async () => {
        const l = await line(label);
        const results = await Promise.all(
          (['left', 'mid'] as const).flatMap((at) => [l.proxy[at].tcp, l.proxy[at].tls].map((port) => streamRoundTrip(() => net.connect(port, '127.0.0.1'), 4 * MB))),
        );
        for (const r of results) {
          expect(r.bytes).to.equal(4 * MB);
          expect(r.received).to.equal(r.sent);
        }
      });

      it('unix-socket proxy: 4 MB echoed through the mesh each way', async () => {
        const l = await line(label);
        const results = await Promise.all((['left', 'mid'] as const).map((at) => streamRoundTrip(() => net.connect(l.proxy[at].unix), 4 * MB)));
        for (const r of results) expect(r.received).to.equal(r.sent);
      });

      it('UDP proxy: datagrams round trip through the mesh each way', async () => {
        const l = await line(label);
        const payloads = [1, 2, 100, 1000, 1500, 9000, 30000, 60000].map((n) => randomBytes(n));
        for (const at of ['left', 'mid'] as const) {
          const echoes = await udpRoundTrips(l.proxy[at].udp, payloads);
          expect(echoes.map((e) => e.toString('hex'))).to.deep.equal(payloads.map((p) => p.toString('hex')));
        }
      });
    });
  }

  describe('a frozen middle node (SIGSTOP)', () => {
    const frozen = new Map<string, Promise<void>>();
    before(function () {
      for (const {label} of pairs)
        frozen.set(
          label,
          later(() => line(label).then(freezeMiddle)),
        );
    });
    for (const {label} of pairs) {
      it(`${label}: the ends time the idle connection out, and the mesh heals after SIGCONT`, async function () {
        this.timeout(180_000);
        await frozen.get(label);
      });
    }
  });

  describe('a killed middle node (SIGKILL, restart)', () => {
    const killed = new Map<string, Promise<void>>();
    before(function () {
      for (const {label} of pairs)
        killed.set(
          label,
          later(() => line(label).then(killMiddle)),
        );
    });
    for (const {label} of pairs) {
      it(`${label}: the connections come back and routes return`, async function () {
        this.timeout(180_000);
        await killed.get(label);
      });
    }
  });
});

/** SIGSTOP mid: every end drops it after the idle timeout (21 s, Go's minimum); SIGCONT heals. */
async function freezeMiddle(l: Line): Promise<void> {
  const {mid} = l.nodes;
  const before = Object.fromEntries(ENDS.map((id) => [id, countIdle(l.nodes[id])]));
  mid.signal('SIGSTOP');
  try {
    await Promise.all(ENDS.map((id) => waitConnection(l.nodes[id], 'mid', false, 90_000)));
    for (const id of ENDS) await waitLog(l.nodes[id], IDLE_LOG, 30_000, before[id] + 1);
    await cutOff(l);
  } finally {
    mid.signal('SIGCONT');
  }
  await healed(l);
}

/** SIGKILL mid, then start it again with the same configuration. */
async function killMiddle(l: Line): Promise<void> {
  const {mid} = l.nodes;
  await mid.stop('SIGKILL');
  await Promise.all(ENDS.map((id) => waitConnection(l.nodes[id], 'mid', false, 60_000)));
  await cutOff(l);
  await mid.start(60_000);
  await healed(l);
}

async function healed(l: Line): Promise<void> {
  const {left, mid, right, side} = l.nodes;
  await Promise.all([
    waitRoutes(left, ['mid', 'right', 'side'], 90_000),
    waitRoutes(right, ['mid', 'left', 'side'], 90_000),
    waitRoutes(side, ['left', 'right'], 90_000),
    waitRoutes(mid, ['left', 'right', 'side'], 90_000),
  ]);
  await waitPing(left, 'right', 60_000);
  await waitPing(side, 'right', 60_000);
  // back through mid, and every link known again
  await Promise.all(ENDS.map((id) => waitStatus(l.nodes[id], (x) => isDeepStrictEqual(x.KnownConnectionCosts, COSTS), 'know every link again', 60_000)));
  await waitRoutingTable(right, {left: 'mid', mid: 'mid', side: 'mid'});
}

/** With mid gone: left has no routes, right and side reach each other over their own link. */
async function cutOff(l: Line): Promise<void> {
  const {left, right, side} = l.nodes;
  await Promise.all([waitRoutingTable(left, {}), waitRoutingTable(right, {side: 'side'}), waitRoutingTable(side, {right: 'right'})]);
  // mid's firewall no longer stands between right and side
  expect(await waitPing(right, 'side')).to.include({Success: true, From: 'side'});
  expect((await tracerouteVia(right, 'side')).map((h) => h.From)).to.deep.equal(['right', 'side']);
}

/** Waits until `node`'s status satisfies `ok`. */
async function waitStatus(node: InteropNode, ok: (s: MeshStatus) => boolean, what: string, timeoutMs = 45_000): Promise<MeshStatus> {
  let last: MeshStatus | undefined;
  return waitFor(
    async () => {
      last = await meshStatus(node.sock).catch(() => undefined);
      return last && ok(last) ? last : undefined;
    },
    timeoutMs,
    () => `${node.describe()} to ${what} (routing table ${JSON.stringify(last?.RoutingTable)}, known costs ${JSON.stringify(last?.KnownConnectionCosts)})`,
  );
}

function waitRoutingTable(node: InteropNode, want: Record<string, string>, timeoutMs = 45_000): Promise<MeshStatus> {
  return waitStatus(node, (s) => isDeepStrictEqual(s.RoutingTable ?? {}, want), `have the routing table ${JSON.stringify(want)}`, timeoutMs);
}

const IDLE_LOG = /Timing out connection/g;
function countIdle(n: InteropNode): number {
  return (logOf(n).match(IDLE_LOG) ?? []).length;
}
