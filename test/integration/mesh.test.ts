/**
 * A 5-node mesh over real sockets on 127.0.0.1, mixing TCP, UDP and WebSocket links:
 *
 *   a ─tcp─ b ─udp─ c ─ws─ d ─tcp+TLS─ e
 *
 * Convergence, ping and traceroute across 3 hops, route withdrawal when the middle node
 * dies and recovery when it comes back, firewall reject and drop.
 */
import {expect} from 'chai';
import type {MeshBackend} from '../../src/core/netceptor/backend.js';
import {parseFirewallRules} from '../../src/core/netceptor/firewall.js';
import type {Netceptor} from '../../src/core/netceptor/node.js';
import {ping, traceroute} from '../../src/core/netceptor/ping.js';
import {TcpDialerBackend, TcpListenerBackend} from '../../src/plugins/backend-tcp/backend.js';
import {UdpDialerBackend, UdpListenerBackend} from '../../src/plugins/backend-udp/backend.js';
import {WsDialerBackend, WsListenerBackend} from '../../src/plugins/backend-ws/backend.js';
import {buildTlsClientConfig, buildTlsServerConfig, loadCaBundle, loadKeyPair} from '../../src/core/tls/config.js';
import {createCa, createCsr, signCsr} from '../../src/core/pki/x509.js';

/** A CA and certificates for d (server) and e (client), as the tls items would load them. */
async function tlsPair() {
  const ca = await createCa({commonName: 'mesh CA', bits: 2048});
  const issue = async (id: string) => {
    const r = await createCsr({commonName: id, bits: 2048, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: [id]});
    return loadKeyPair(signCsr({csrPem: r.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem}).certPem, r.keyPem!);
  };
  const cas = loadCaBundle(ca.certPem);
  const server = buildTlsServerConfig({name: 'srv', keyPair: await issue('d'), clientCas: cas, requireClientCert: true});
  const client = buildTlsClientConfig({name: 'cli', keyPair: await issue('e'), rootCas: cas});
  return {server: server.nodeOptions, client: client.nodeOptions};
}
import {FAST, makeNode, until} from '../support/mesh.js';

const fastRedial = {initialMs: 50, maxMs: 200};
type Kind = 'tcp' | 'udp' | 'ws';

function listener(kind: Kind, port = 0): MeshBackend {
  if (kind === 'tcp') return new TcpListenerBackend({port, bindAddr: '127.0.0.1'});
  if (kind === 'udp') return new UdpListenerBackend({port, bindAddr: '127.0.0.1'});
  return new WsListenerBackend({port, bindAddr: '127.0.0.1'});
}

function dialer(kind: Kind, address: string): MeshBackend {
  if (kind === 'tcp') return new TcpDialerBackend({address, backoff: fastRedial});
  if (kind === 'udp') return new UdpDialerBackend({address, backoff: fastRedial});
  return new WsDialerBackend({address: `ws://${address}/`, backoff: fastRedial});
}

describe('integration: 5-node mixed mesh over real sockets', function () {
  this.timeout(60_000);
  const nodes = new Map<string, Netceptor>();
  const ports = new Map<string, number>();

  async function addNode(id: string, opts: Parameters<typeof makeNode>[1] = {}): Promise<Netceptor> {
    // Fast timers so UDP's only failure detector (the idle timeout) fires within seconds.
    const n = makeNode(id, {timings: {...FAST, routeUpdatePeriodMs: 300, idleCheckMs: 250}, maxIdleMs: 1500, ...opts});
    nodes.set(id, n);
    return n;
  }
  async function listen(id: string, kind: Kind, port = 0): Promise<number> {
    const run = await nodes.get(id)!.addMeshBackend(listener(kind, port), {cost: 1});
    const p = Number(run.localAddress!.split(':').at(-1));
    ports.set(`${id}/${kind}`, p);
    return p;
  }
  async function dial(id: string, kind: Kind, to: string): Promise<void> {
    await nodes.get(id)!.addMeshBackend(dialer(kind, `127.0.0.1:${ports.get(`${to}/${kind}`)}`), {cost: 1});
  }

  before(async () => {
    for (const id of ['a', 'b', 'c', 'd']) await addNode(id);
    await addNode('e', {
      firewallRules: parseFirewallRules([
        {action: 'reject', toservice: 'secret'},
        {action: 'drop', fromnode: 'a', toservice: 'quiet'},
      ]),
    });
    await listen('a', 'tcp');
    await dial('b', 'tcp', 'a');
    await listen('b', 'udp');
    await dial('c', 'udp', 'b');
    await listen('c', 'ws');
    await dial('d', 'ws', 'c');
    const tls = await tlsPair();
    const run = await nodes.get('d')!.addMeshBackend(new TcpListenerBackend({port: 0, bindAddr: '127.0.0.1', tls: tls.server}), {cost: 1});
    const dPort = Number(run.localAddress!.split(':').at(-1));
    await nodes.get('e')!.addMeshBackend(new TcpDialerBackend({address: `127.0.0.1:${dPort}`, tls: tls.client, backoff: fastRedial}), {cost: 1});
    // Every test starts from a converged mesh (also when run alone with --grep).
    await converged();
  });

  async function converged(): Promise<void> {
    const ids = [...nodes.keys()];
    await until(() => ids.every((x) => ids.every((y) => x === y || nodes.get(x)!.statusRoutingTable()[y] !== undefined)), 'full convergence', 20_000);
  }
  after(async () => {
    await Promise.all([...nodes.values()].map((n) => n.shutdown()));
  });

  it('converges: every node routes to every other', async () => {
    await converged();
    expect(nodes.get('a')!.statusRoutingTable()).to.deep.equal({b: 'b', c: 'b', d: 'b', e: 'b'});
    expect(nodes.get('e')!.statusRoutingTable()).to.deep.equal({a: 'd', b: 'd', c: 'd', d: 'd'});
  });

  it('pings across 3 hops (TCP, UDP, WebSocket links) and traces 4 hops (plus TLS)', async () => {
    const a = nodes.get('a')!;
    const r = await ping(a, 'd');
    expect(r.error).to.equal(undefined);
    expect(r.from).to.equal('d');
    const hops = await traceroute(a, 'e');
    expect(hops.map((h) => h.from)).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
  });

  it('firewall: reject answers "blocked by firewall" from the far end; drop stays silent', async () => {
    const a = nodes.get('a')!;
    nodes.get('e')!.listenPacket('secret');
    nodes.get('e')!.listenPacket('quiet');
    const pc = a.listenPacket();
    const notices: string[] = [];
    pc.onUnreachable((n) => notices.push(`${n.reporter}:${n.problem}:${n.toService}`));
    pc.writeTo(Buffer.from('x'), 'e', 'secret');
    await until(() => notices.length === 1, 'reject notice');
    expect(notices).to.deep.equal(['e:blocked by firewall:secret']);
    pc.writeTo(Buffer.from('x'), 'e', 'quiet');
    expect((await ping(a, 'e')).from).to.equal('e'); // the drop, sent first, produced nothing
    expect(notices).to.have.length(1);
    pc.close();
  });

  it('killing the middle node withdraws routes through it; restarting it restores them', async () => {
    const a = nodes.get('a')!;
    const e = nodes.get('e')!;
    const cPorts = {ws: ports.get('c/ws')!};
    await nodes.get('c')!.shutdown();
    // d notices at once (WebSocket close); b only by the idle timeout (UDP has no close).
    await until(() => a.statusRoutingTable().e === undefined && e.statusRoutingTable().a === undefined, 'routes withdrawn', 40_000);
    await until(() => !nodes.get('b')!.connectedPeers().includes('c'), 'b times out the UDP link', 40_000);
    expect((await ping(a, 'e')).error).to.equal('no route to node');

    // A restarted node must come back with a larger epoch (§6.2); Go's seconds×2^24 + random
    // only guarantees that across different seconds, so pin it here.
    const c2 = await addNode('c', {epoch: nodes.get('c')!.epoch + (1n << 24n)});
    await listen('c', 'ws', cPorts.ws); // d redials the same address
    await dial('c', 'udp', 'b');
    await until(() => c2.connectedPeers().length === 2 && e.statusRoutingTable().a === 'd' && a.statusRoutingTable().e === 'b', 'routes restored', 40_000);
    const deadline = Date.now() + 20_000;
    let r = await ping(a, 'e', {timeoutMs: 2000});
    while (r.error !== undefined && Date.now() < deadline) r = await ping(a, 'e', {timeoutMs: 2000});
    expect(r.error).to.equal(undefined);
    expect(r.from).to.equal('e');
    expect(c2.connectedPeers().sort()).to.deep.equal(['b', 'd']);
  });
});
