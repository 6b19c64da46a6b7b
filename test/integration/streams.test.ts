/** Mesh streams (QUIC over netceptor datagrams) between in-memory mesh nodes. */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import type {Netceptor} from '../../src/core/netceptor/node.js';
import {dialStream, listenStream, type MeshStream} from '../../src/core/netceptor/streams.js';
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

  it('a dial to a service nobody listens on fails promptly', async () => {
    const t0 = Date.now();
    let err: Error | undefined;
    await dialStream(nodes[0], 'c', 'nothing').catch((e: Error) => (err = e));
    expect(err?.message).to.equal('context canceled');
    expect(Date.now() - t0).to.be.below(5000);
  });

  it('a dial to an unknown node fails with no route', async () => {
    let err: Error | undefined;
    await dialStream(nodes[0], 'nosuch', 'x').catch((e: Error) => (err = e));
    expect(err?.message).to.match(/no route to node/);
  });
});
