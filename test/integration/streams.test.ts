/** Mesh streams (QUIC over netceptor datagrams) between in-memory mesh nodes. */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import type {Netceptor} from '../../src/core/netceptor/node.js';
import {dialStream, listenStream, type MeshStream} from '../../src/core/netceptor/streams.js';
import {createCa, createCsr, signCsr} from '../../src/core/pki/x509.js';
import {buildTlsClientConfig, buildTlsServerConfig, loadCaBundle, loadKeyPair, type TlsClientConfig, type TlsServerConfig} from '../../src/core/tls/config.js';
import {FAST, link, makeNode, until} from '../support/mesh.js';

function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

describe('integration: mesh streams', function () {
  this.timeout(60_000);
  const nodes: Netceptor[] = [];
  before(async () => {
    for (const id of ['a', 'b', 'c', 'd']) nodes.push(makeNode(id, {timings: FAST}));
    for (let i = 0; i < 3; i++) link(nodes[i], nodes[i + 1]);
    await until(() => nodes[0].statusRoutingTable().d === 'b' && nodes[3].statusRoutingTable().a === 'c', 'line converged');
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.shutdown()));
  });

  it('carries data both ways with half-close across 3 hops (SHA-256 checked)', async () => {
    const [a, , , d] = nodes;
    const listener = await listenStream(d, 'echo', {tags: {type: 'test'}});
    listener.on('stream', (s: MeshStream) => {
      // Upper-case echo service: reads to EOF, then answers and closes its side.
      void readAll(s.conn.stream).then((data) => s.conn.stream.end(createHash('sha256').update(data).digest('hex')));
    });
    const payload = randomBytes(5 * 1024 * 1024);
    const s = await dialStream(a, 'd', 'echo');
    const reply = readAll(s.conn.stream);
    s.conn.stream.end(payload);
    expect((await reply).toString()).to.equal(createHash('sha256').update(payload).digest('hex'));
    listener.close();
  });

  it('many concurrent streams to one listener', async () => {
    const [a, b] = nodes;
    const listener = await listenStream(b, 'multi');
    listener.on('stream', (s: MeshStream) => s.conn.stream.pipe(s.conn.stream));
    const results = await Promise.all(
      Array.from({length: 20}, async (_, i) => {
        const s = await dialStream(a, 'b', 'multi');
        const back = readAll(s.conn.stream);
        s.conn.stream.end(`hello ${i}`);
        return (await back).toString();
      }),
    );
    expect(results).to.deep.equal(Array.from({length: 20}, (_, i) => `hello ${i}`));
    listener.close();
  });

  it('a dial to a service nobody listens on fails on the unreachable notice (not a handshake timeout)', async () => {
    let err: Error | undefined;
    await dialStream(nodes[0], 'c', 'nothing').catch((e: Error) => (err = e));
    expect(err?.message).to.equal('context canceled');
  });

  it('a dial to an unknown node fails with no route', async () => {
    let err: Error | undefined;
    await dialStream(nodes[0], 'nosuch', 'x').catch((e: Error) => (err = e));
    expect(err?.message).to.match(/no route to node/);
  });
});

describe('integration: TLS mesh streams (node IDs in certificates)', function () {
  this.timeout(60_000);
  const nodes: Netceptor[] = [];
  let mk: (id: string, ca?: 'main' | 'other') => Promise<{server: TlsServerConfig; client: TlsClientConfig}>;

  before(async () => {
    const main = await createCa({commonName: 'main CA', bits: 2048});
    const other = await createCa({commonName: 'other CA', bits: 2048});
    const cas = loadCaBundle(main.certPem);
    mk = async (id, which = 'main') => {
      const issuer = which === 'main' ? main : other;
      const r = await createCsr({commonName: id, bits: 2048, nodeIds: [id]});
      const kp = loadKeyPair(signCsr({csrPem: r.csrPem, caCertPem: issuer.certPem, caKeyPem: issuer.keyPem}).certPem, r.keyPem!);
      return {
        server: buildTlsServerConfig({name: 's', keyPair: kp, clientCas: cas, requireClientCert: true}),
        client: buildTlsClientConfig({name: 'c', keyPair: kp, rootCas: cas}),
      };
    };
    for (const id of ['a', 'b']) nodes.push(makeNode(id, {timings: FAST}));
    link(nodes[0], nodes[1]);
    await until(() => nodes[0].statusRoutingTable().b === 'b' && nodes[1].statusRoutingTable().a === 'a', 'linked');
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.shutdown()));
  });

  it('a verified TLS stream carries data; the advertisement says ConnType 2', async () => {
    const [a, b] = nodes;
    const bCerts = await mk('b');
    const aCerts = await mk('a');
    const listener = await listenStream(b, 'sec', {tls: bCerts.server});
    listener.on('stream', (s: MeshStream) => s.conn.stream.pipe(s.conn.stream));
    const s = await dialStream(a, 'b', 'sec', {tls: aCerts.client});
    const back = readAll(s.conn.stream);
    s.conn.stream.end('secret');
    expect((await back).toString()).to.equal('secret');
    await until(() => a.statusAdvertisements().find((x) => x.NodeID === 'b' && x.Service === 'sec'), 'ad');
    expect(a.statusAdvertisements().find((x) => x.Service === 'sec')!.ConnType).to.equal(2);
    listener.close();
  });

  it('refuses a server certificate naming another node, one from another CA, and a plain dial to a TLS service', async () => {
    const [a, b] = nodes;
    const wrongId = await mk('x');
    const wrongCa = await mk('b', 'other');
    const aCerts = await mk('a');
    const l1 = await listenStream(b, 'wid', {tls: wrongId.server});
    let e1: Error | undefined;
    await dialStream(a, 'b', 'wid', {tls: aCerts.client}).catch((e: Error) => (e1 = e));
    expect(e1?.message).to.equal('CRYPTO_ERROR 0x12a (local): x509: certificate is valid for Receptor node ID x, not b');
    const l2 = await listenStream(b, 'wca', {tls: wrongCa.server});
    let e2: Error | undefined;
    await dialStream(a, 'b', 'wca', {tls: aCerts.client}).catch((e: Error) => (e2 = e));
    expect(e2?.message).to.equal('CRYPTO_ERROR 0x12a (local): x509: certificate signed by unknown authority');
    let e3: Error | undefined;
    await dialStream(a, 'b', 'wid').catch((e: Error) => (e3 = e));
    expect(e3?.message).to.equal('CRYPTO_ERROR 0x12a (local): insecure connection to secure service');
    l1.close();
    l2.close();
  });

  it('checks the server certificate against the node name as given: `localhost` fails, like Go', async () => {
    const [a] = nodes;
    const aCerts = await mk('a');
    const l = await listenStream(a, 'self', {tls: aCerts.server});
    l.on('stream', (s: MeshStream) => s.conn.stream.pipe(s.conn.stream));
    let err: Error | undefined;
    await dialStream(a, 'localhost', 'self', {tls: aCerts.client}).catch((e: Error) => (err = e));
    expect(err?.message).to.equal('CRYPTO_ERROR 0x12a (local): x509: certificate is valid for Receptor node ID a, not localhost');
    const s = await dialStream(a, 'a', 'self', {tls: aCerts.client});
    const back = readAll(s.conn.stream);
    s.conn.stream.end('to myself');
    expect((await back).toString()).to.equal('to myself');
    l.close();
  });
});
