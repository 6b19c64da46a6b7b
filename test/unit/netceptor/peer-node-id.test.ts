/** Peer node IDs: which ones a node accepts on a real TCP link, and what it says about the rest. */
import {expect} from 'chai';
import * as net from 'node:net';
import {pino} from 'pino';
import {decodeMessage, encodeRoutingUpdate, MSG_TYPE_REJECT, type NetceptorMessage} from '../../../src/core/netceptor/codec.js';
import type {Netceptor} from '../../../src/core/netceptor/node.js';
import {MAX_NODE_ID_BYTES, nodeIdProblem, printableNodeId} from '../../../src/core/netceptor/node-id.js';
import {encodeTcpFrame, TcpFramer} from '../../../src/core/netceptor/tcp-framer.js';
import {TcpListenerBackend} from '../../../src/plugins/backend-tcp/backend.js';
import {FAST, makeNode, until} from '../../support/mesh.js';

interface Rec {
  level: string;
  msg: string;
  [k: string]: unknown;
}

const nodes: Netceptor[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.shutdown()));
});

async function listeningNode(id: string): Promise<{n: Netceptor; lines: Rec[]; port: number}> {
  const lines: Rec[] = [];
  const logger = pino({level: 'debug', formatters: {level: (label) => ({level: label})}}, {write: (s: string) => lines.push(JSON.parse(s) as Rec)});
  const n = makeNode(id, {timings: FAST, logger});
  nodes.push(n);
  const run = await n.addMeshBackend(new TcpListenerBackend({port: 0, bindAddr: '127.0.0.1'}), {cost: 1});
  const port = Number(run.localAddress!.slice(run.localAddress!.lastIndexOf(':') + 1));
  return {n, lines, port};
}

/** A raw TCP peer speaking netceptor frames. */
async function rawPeer(port: number): Promise<{sock: net.Socket; got: NetceptorMessage[]; closed: () => boolean; send: (m: Uint8Array) => void}> {
  const sock = net.connect({host: '127.0.0.1', port});
  sockets.push(sock);
  const framer = new TcpFramer();
  const got: NetceptorMessage[] = [];
  let closed = false;
  sock.on('data', (d: Buffer) => {
    for (const m of framer.push(d)) got.push(decodeMessage(m));
  });
  sock.on('error', () => undefined);
  sock.on('close', () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return {sock, got, closed: () => closed, send: (m) => sock.write(encodeTcpFrame(m))};
}

const hello = (id: string, connections = new Map<string, number>()) =>
  encodeRoutingUpdate({nodeId: id, forwardingNode: id, updateId: 'abcdefgh', updateEpoch: 1n, updateSequence: 1n, connections, suspectedDuplicate: 0n});

describe('peer node IDs', () => {
  it('nodeIdProblem refuses empty, localhost in any case, control characters and over-long IDs; accepts the rest', () => {
    expect(nodeIdProblem('')).to.equal('its node ID is empty');
    expect(nodeIdProblem('LocalHost')).to.equal('its node ID "localhost" is reserved');
    expect(nodeIdProblem('a\nb')).to.equal('its node ID contains control characters');
    expect(nodeIdProblem('a\u0085b')).to.equal('its node ID contains control characters');
    expect(nodeIdProblem('x'.repeat(20_000))).to.equal(`its node ID is 20000 bytes long (at most ${MAX_NODE_ID_BYTES})`);
    expect(nodeIdProblem('é'.repeat(128))).to.match(/256 bytes long/);
    for (const ok of ['bar', 'x'.repeat(MAX_NODE_ID_BYTES), 'host.example.com', 'nöde-1', 'a b', 'localhost.x']) expect(nodeIdProblem(ok), ok).to.equal(undefined);
    expect(printableNodeId('a\u0001b')).to.equal('a\\x01b');
  });

  const bad: Array<[string, string, RegExp]> = [
    ['empty', '', /its node ID is empty/],
    ['localhost', 'LOCALHOST', /"localhost" is reserved/],
    ['control characters', 'bar\u001b[31m', /control characters/],
    ['20,000 characters', 'y'.repeat(20_000), /20000 bytes long/],
  ];
  for (const [name, id, re] of bad) {
    it(`a peer whose node ID is ${name} is sent a reject with the reason, closed, and logged`, async () => {
      const {n, lines, port} = await listeningNode('foo');
      const p = await rawPeer(port);
      p.send(hello(id));
      const rej = await until(() => p.got.find((m) => m.type === MSG_TYPE_REJECT), 'reject');
      expect(rej.type === MSG_TYPE_REJECT && rej.reason)
        .to.match(re)
        .and.match(/^foo refuses peer node ID/);
      await until(() => p.closed(), 'socket closed');
      const warn = lines.filter((l) => l.level === 'warn' && /^Rejecting connection: /.test(l.msg));
      expect(warn).to.have.length(1);
      expect(warn[0].msg).to.match(re);
      expect(String(warn[0].peer)).to.not.match(/[\u0000-\u001f]/);
      expect(String(warn[0].peer)).to.have.length.below(100);
      expect(n.connectedPeers()).to.deep.equal([]);
    });
  }

  it('a valid peer ID of the longest accepted length is established over the same path', async () => {
    const {n, port} = await listeningNode('foo');
    const id = 'z'.repeat(MAX_NODE_ID_BYTES);
    const p = await rawPeer(port);
    p.send(hello(id));
    await until(() => n.connectedPeers().includes(id), 'established');
    expect(p.got.some((m) => m.type === MSG_TYPE_REJECT)).to.equal(false);
  });

  it('a routing update from an established peer naming an invalid node is ignored and logged once', async () => {
    const {n, lines, port} = await listeningNode('foo');
    const p = await rawPeer(port);
    p.send(hello('bar', new Map([['foo', 1]])));
    await until(() => n.connectedPeers().includes('bar'), 'established');
    const fwd = (nodeId: string, seq: bigint) =>
      encodeRoutingUpdate({
        nodeId,
        forwardingNode: 'bar',
        updateId: `upd${seq}xxxx`.slice(0, 8),
        updateEpoch: 1n,
        updateSequence: seq,
        connections: new Map([['bar', 1]]),
        suspectedDuplicate: 0n,
      });
    p.send(fwd('bad\u0007id', 1n));
    p.send(fwd('bad\u0007id', 2n));
    p.send(fwd('baz', 1n));
    await until(() => n.knownConnectionCosts().baz, 'valid node learned');
    expect(Object.keys(n.knownConnectionCosts())).to.not.include('bad\u0007id');
    const warn = lines.filter((l) => l.level === 'warn' && /^Ignoring routing update from bar naming node "bad\\x07id": its node ID contains control characters$/.test(l.msg));
    expect(warn).to.have.length(1);
    expect(n.connectedPeers()).to.deep.equal(['bar']);
  });
});
