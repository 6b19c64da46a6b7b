/** UDP backend: the shared compliance suite plus per-source session behaviour. */
import {expect} from 'chai';
import * as dgram from 'node:dgram';
import {readFileSync} from 'node:fs';
import {UDP_MAX_MESSAGE, UdpDialerBackend, UdpListenerBackend} from '../../src/plugins/backend-udp/backend.js';
import {backendCompliance, Endpoint, waitFor, type MakePair} from '../../src/testing/index.js';

const FAST = {initialMs: 10, maxMs: 50};

function hostPort(address: string): {host: string; port: number} {
  const i = address.lastIndexOf(':');
  return {host: address.slice(0, i), port: Number(address.slice(i + 1))};
}

/** A raw UDP socket bound to an ephemeral port on 127.0.0.1. */
async function rawSocket(): Promise<{sock: dgram.Socket; got: Buffer[]; send(to: string, msg: Buffer): Promise<void>; close(): void}> {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    sock,
    got,
    send: (to, msg) => {
      const {host, port} = hostPort(to);
      return new Promise<void>((resolve, reject) => sock.send(msg, port, host, (err) => (err ? reject(err) : resolve())));
    },
    close: () => sock.close(),
  };
}

/** Sent from the same socket right after the empty datagram (see GarbageCase.marker). */
const EMPTY_MARKER = Buffer.from('after the empty datagram');

const makePair: MakePair = async (opts = {}) => ({
  listener: new UdpListenerBackend({port: opts.port ?? 0, bindAddr: '127.0.0.1'}),
  dialerFor: (address, o = {}) => new UdpDialerBackend({address, redial: o.redial ?? true, backoff: FAST}),
  supportsClose: false,
  maxMessageSize: UDP_MAX_MESSAGE,
  // the kernel receive buffer is small; keep bursts short so nothing is lost on loopback
  window: 50,
  garbage: [
    {
      name: 'empty datagram',
      send: async (a) => {
        const [raw, other] = [await rawSocket(), await rawSocket()];
        await raw.send(a, Buffer.alloc(0));
        await other.send(a, EMPTY_MARKER);
        raw.close();
        other.close();
      },
      marker: EMPTY_MARKER,
    },
  ],
});

backendCompliance('udp', makePair);

describe('udp backend specifics', () => {
  const stops: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  async function listener(): Promise<{L: Endpoint; address: string}> {
    const L = new Endpoint();
    stops.push(() => L.stop());
    const r = await L.start(new UdpListenerBackend({port: 0, bindAddr: '127.0.0.1'}));
    return {L, address: r.localAddress!};
  }

  async function raw() {
    const r = await rawSocket();
    stops.push(() => r.close());
    return r;
  }

  it('keeps one session per source address and answers each source', async () => {
    const {L, address} = await listener();
    const a = await raw();
    const b = await raw();
    await a.send(address, Buffer.from('a1'));
    await b.send(address, Buffer.from('b1'));
    await a.send(address, Buffer.from('a2'));
    await waitFor('two sessions', () => L.records.length === 2 && L.records.every((r) => r.msgs.length > 0));
    const sa = L.records.find((r) => r.s.remote === `127.0.0.1:${a.sock.address().port}`)!;
    const sb = L.records.find((r) => r.s.remote === `127.0.0.1:${b.sock.address().port}`)!;
    expect(sa, 'session for a').to.not.equal(undefined);
    expect(sb, 'session for b').to.not.equal(undefined);
    expect((await sa.take(2)).map(String)).to.deep.equal(['a1', 'a2']);
    expect((await sb.take(1)).map(String)).to.deep.equal(['b1']);
    sa.s.send(Buffer.from('to a'));
    sb.s.send(Buffer.from('to b'));
    await waitFor('replies', () => a.got.length === 1 && b.got.length === 1);
    expect(String(a.got[0])).to.equal('to a');
    expect(String(b.got[0])).to.equal('to b');
    expect(L.records).to.have.length(2);
  });

  it('the first datagram creates the session and is its first message; empty datagrams are dropped', async () => {
    const {L, address} = await listener();
    const a = await raw();
    await a.send(address, Buffer.alloc(0));
    await a.send(address, Buffer.from('first'));
    await a.send(address, Buffer.alloc(0));
    await a.send(address, Buffer.from('second'));
    const s = await L.session(0);
    expect((await s.take(2)).map(String)).to.deep.equal(['first', 'second']);
    expect(L.records).to.have.length(1);
  });

  it('after the node closes a session, the next datagram from that source starts a new one', async () => {
    const {L, address} = await listener();
    const a = await raw();
    await a.send(address, Buffer.from('one'));
    const s1 = await L.session(0);
    await s1.take(1);
    s1.s.close(); // the node's idle timeout
    await s1.s.closed;
    await a.send(address, Buffer.from('two'));
    const s2 = await L.session(1);
    expect((await s2.take(1)).map(String)).to.deep.equal(['two']);
    expect(s2.s.remote).to.equal(s1.s.remote);
  });

  it('a listener session delivers the Go datagrams of udp.jsonl in order', async () => {
    const {L, address} = await listener();
    const url = new URL('../vectors/captures/udp.frames.jsonl', import.meta.url);
    const want = readFileSync(url, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as {dir: string; msg_hex?: string})
      .filter((f) => f.dir === 'bar->foo' && f.msg_hex)
      .map((f) => f.msg_hex!);
    const a = await raw();
    const s0 = L.records.length;
    for (const hex of want) await a.send(address, Buffer.from(hex, 'hex'));
    const s = await L.session(s0);
    const got = await s.take(want.length);
    expect(got.map((m) => m.toString('hex'))).to.deep.equal(want);
  });

  it('the dialer sends from one connected socket, one message per datagram', async () => {
    const server = await raw();
    const D = new Endpoint();
    stops.push(() => D.stop());
    await D.start(new UdpDialerBackend({address: `127.0.0.1:${server.sock.address().port}`, redial: false}));
    const d = await D.session(0);
    const sources = new Set<string>();
    server.sock.on('message', (_m, rinfo) => sources.add(`${rinfo.address}:${rinfo.port}`));
    d.s.send(Buffer.from('x'));
    d.s.send(Buffer.from('yy'));
    d.s.send(Buffer.alloc(0));
    d.s.send(Buffer.alloc(UDP_MAX_MESSAGE + 1));
    d.s.send(Buffer.from('zzz'));
    await waitFor('three datagrams', () => server.got.length >= 3);
    expect(server.got.map(String)).to.deep.equal(['x', 'yy', 'zzz']);
    expect(sources.size).to.equal(1);
    // replies to that source reach the dialer session
    const [src] = [...sources];
    await server.send(src, Buffer.from('back'));
    expect((await d.take(1)).map(String)).to.deep.equal(['back']);
  });
});
