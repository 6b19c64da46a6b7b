/**
 * What a node logs when it refuses a peer, is refused, or filters a message: the reason on
 * both sides, once per cause rather than once per redial (in-memory sessions, real protocol).
 */
import {expect} from 'chai';
import {pino} from 'pino';
import {ManualClock} from '../../../src/core/clock.js';
import {encodeReject, encodeRoutingUpdate} from '../../../src/core/netceptor/codec.js';
import {STABLE_LINK_MS} from '../../../src/core/netceptor/redial.js';
import {parseFirewallRules} from '../../../src/core/netceptor/firewall.js';
import type {Netceptor} from '../../../src/core/netceptor/node.js';
import {FAST, link, makeNode, memPair, until} from '../../support/mesh.js';

interface Rec {
  level: string;
  msg: string;
  [k: string]: unknown;
}

const nodes: Netceptor[] = [];
function node(id: string, opts: Parameters<typeof makeNode>[1] = {}): {n: Netceptor; lines: Rec[]} {
  const lines: Rec[] = [];
  const logger = pino({level: 'debug', formatters: {level: (label) => ({level: label})}}, {write: (s: string) => lines.push(JSON.parse(s) as Rec)});
  const n = makeNode(id, {timings: FAST, logger, ...opts});
  nodes.push(n);
  return {n, lines};
}
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.shutdown()));
});

const at = (lines: Rec[], level: string, re: RegExp) => lines.filter((l) => l.level === level && re.test(l.msg));

describe('netceptor node: rejection and firewall log lines', () => {
  it('a duplicate node ID redialling N times: each side logs the reason once at warn, the repeats at debug', async () => {
    const bar = node('bar');
    const foo1 = node('foo');
    const foo2 = node('foo');
    link(foo1.n, bar.n);
    await until(() => bar.n.connectedPeers().includes('foo'), 'foo1 linked');
    const N = 4;
    for (let i = 0; i < N; i++) {
      const [dialer, listener] = memPair();
      foo2.n.attachSession(dialer, {cost: 1});
      bar.n.attachSession(listener, {cost: 1});
      await until(() => dialer.isClosedNow && listener.isClosedNow, `attempt ${i + 1} refused`);
      await until(
        () => at(foo2.lines, 'debug', /^Connection rejected by bar/).length + at(foo2.lines, 'warn', /^Connection rejected by bar/).length === i + 1,
        `attempt ${i + 1} logged`,
      );
    }
    const told = 'bar already has a connection from a node named foo (duplicate node ID?)';
    expect(at(bar.lines, 'warn', /^Rejecting connection/).map((l) => [l.msg, l.peer])).to.deep.equal([
      ['Rejecting connection: it connected using a node ID we are already connected to', 'foo'],
    ]);
    expect(at(bar.lines, 'debug', /^Rejecting connection/)).to.have.length(N - 1);
    expect(at(foo2.lines, 'warn', /^Connection rejected/).map((l) => [l.msg, l.reason])).to.deep.equal([[`Connection rejected by bar: ${told}`, told]]);
    expect(at(foo2.lines, 'debug', /^Connection rejected/)).to.have.length(N - 1);
    // the link foo2 briefly saw on each attempt is announced once, not per attempt
    expect(at(foo2.lines, 'info', /^Connection (established|closed)/)).to.have.length(2);
    expect(foo1.n.connectedPeers()).to.deep.equal(['bar']);
  });

  it('a link that stayed up a minute is announced again after it drops; short-lived ones once', async () => {
    const clock = new ManualClock();
    const foo = node('foo', {clock, maxIdleMs: 100 * STABLE_LINK_MS});
    const up = async (lastMs: number) => {
      const [ours, theirs] = memPair();
      theirs.start({onMessage: () => {}, onClose: () => {}});
      foo.n.attachSession(ours, {cost: 1});
      const hello = {updateId: 'u', updateEpoch: 1n, updateSequence: 1n, connections: new Map(), suspectedDuplicate: 0n};
      theirs.send(encodeRoutingUpdate({...hello, nodeId: 'bar', forwardingNode: 'bar'}));
      await until(() => foo.n.connectedPeers().includes('bar'), 'up');
      clock.advance(lastMs);
      theirs.close();
      await until(() => !foo.n.connectedPeers().includes('bar'), 'down');
    };
    const announced = () => at(foo.lines, 'info', /^Connection established/).length;
    await up(10);
    await up(10);
    expect(announced()).to.equal(1);
    await up(STABLE_LINK_MS); // this one was quiet, but lasted: its end makes the next one news
    await up(10);
    expect(announced()).to.equal(2);
  });

  it('a reject without a reason (Go sends none) names the peer and the likely causes', async () => {
    const foo = node('foo');
    const [ours, theirs] = memPair();
    theirs.start({onMessage: () => {}, onClose: () => {}});
    foo.n.attachSession(ours, {cost: 1});
    theirs.send(encodeReject());
    await until(() => at(foo.lines, 'warn', /^Connection rejected/).length === 1, 'logged');
    expect(at(foo.lines, 'warn', /^Connection rejected/)[0].msg).to.equal(
      'Connection rejected by mem:b without a reason (Go receptor gives none): it may already have a connection from a node named foo (duplicate node ID?), foo may not be in its allowed peers list, or it may disagree about the connection cost',
    );
  });

  it('an outbound session closed by the peer during the handshake (Go closes before its reject is sent) is explained once', async () => {
    const foo = node('foo');
    for (let i = 0; i < 3; i++) {
      const [ours, theirs] = memPair();
      theirs.start({onMessage: () => {}, onClose: () => {}});
      foo.n.attachSession(ours, {cost: 1});
      theirs.close();
      await until(() => ours.isClosedNow, 'closed');
    }
    await until(() => at(foo.lines, 'debug', /closed before the handshake/).length === 2, 'repeats at debug');
    const warns = at(foo.lines, 'warn', /closed before the handshake/);
    expect(warns).to.have.length(1);
    expect(warns[0].msg).to.match(/^Connection to mem:b closed before the handshake finished: if the peer refused us, it may already have a connection from a node named foo/);
  });

  it('firewall drops and rejects are logged once per flow at info, repeats at debug', async () => {
    const a = node('a');
    const b = node('b', {firewallRules: parseFirewallRules(['secret', 'hidden'].map((s, i) => ({action: i === 0 ? 'reject' : 'drop', toservice: s})))});
    link(a.n, b.n);
    await until(() => a.n.statusRoutingTable().b === 'b', 'linked');
    const pc = a.n.listenPacket();
    for (let i = 0; i < 3; i++) {
      pc.writeTo(Buffer.from('x'), 'b', 'secret');
      pc.writeTo(Buffer.from('x'), 'b', 'hidden');
    }
    await until(() => at(b.lines, 'debug', /^Firewall/).length === 4, 'repeats');
    const info = at(b.lines, 'info', /^Firewall/);
    expect(info.map((l) => l.msg)).to.deep.equal([
      `Firewall rejected (sender told "blocked by firewall") a message from a:${pc.service} to b:secret`,
      `Firewall dropped (no reply sent) a message from a:${pc.service} to b:hidden`,
    ]);
    expect(info.map((l) => l.action)).to.deep.equal(['reject', 'drop']);
  });
});
