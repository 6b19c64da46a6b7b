/** StreamSocketSession (socket wiring, graceful close) and ListenerSessions, on real sockets. */
import {expect} from 'chai';
import * as net from 'node:net';
import {ManualClock, type Clock} from '../../../src/core/clock.js';
import {netSocketHandle, StreamSocketSession} from '../../../src/core/netceptor/session-base.js';
import type {BackendSession} from '../../../src/core/netceptor/backend.js';
import {ListenerSessions} from '../../../src/plugins/backend-common/listener.js';

/** Sends and receives raw chunks: enough to see what the base class does with the socket. */
class RawSession extends StreamSocketSession {
  readonly kind = 'raw';
  constructor(
    private readonly socket: net.Socket,
    graceMs: number,
    clock?: Clock,
  ) {
    super({remote: 'test', outbound: true, maxMessageSize: 1024, graceMs, clock}, netSocketHandle(socket));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
  }
  protected transmit(msg: Uint8Array): void {
    this.socket.write(msg);
  }
}

/** A connected pair: our client socket and the server's side (half-open allowed, so it can ignore our FIN). */
async function pair(): Promise<{client: net.Socket; server: net.Socket; close(): void}> {
  const srv = net.createServer({allowHalfOpen: true});
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  const server = await accepted;
  return {client, server, close: () => (server.destroy(), srv.close())};
}

function closeEvents(s: BackendSession): Array<Error | undefined> {
  const seen: Array<Error | undefined> = [];
  s.start({onMessage: () => undefined, onClose: (err) => seen.push(err)});
  return seen;
}

describe('StreamSocketSession', () => {
  it('a local close ends the socket (the peer sees EOF after the queued data) and drops it after the grace period', async () => {
    const p = await pair();
    try {
      const clock = new ManualClock();
      const s = new RawSession(p.client, 100, clock);
      const seen = closeEvents(s);
      const got: Buffer[] = [];
      p.server.on('data', (c: Buffer) => got.push(c));
      const eof = new Promise<void>((r) => p.server.once('end', r));
      s.send(Buffer.from('last words'));
      s.close();
      await eof;
      expect(Buffer.concat(got).toString()).to.equal('last words');
      // The peer keeps its half open: only the grace timer destroys our socket.
      clock.advance(99);
      await new Promise((r) => setImmediate(r));
      expect(p.client.destroyed, 'not before the grace period').to.equal(false);
      clock.advance(1);
      await s.closed;
      expect(p.client.destroyed).to.equal(true);
      expect(seen).to.deep.equal([undefined]);
    } finally {
      p.close();
    }
  });

  it('a peer that closes in time releases the session before the grace period', async () => {
    const p = await pair();
    try {
      // The grace timer runs on a clock that never moves: only the peer's close can release it.
      const s = new RawSession(p.client, 10_000, new ManualClock());
      p.server.once('end', () => p.server.end());
      s.close();
      await s.closed;
      expect(p.client.destroyed).to.equal(true);
    } finally {
      p.close();
    }
  });

  it('the remote end and socket errors end the session once, with the error', async () => {
    const p = await pair();
    try {
      const s = new RawSession(p.client, 100);
      const seen = closeEvents(s);
      p.client.emit('error', new Error('boom'));
      p.server.destroy();
      await s.closed;
      expect(seen.map((e) => e?.message)).to.deep.equal(['boom']);
    } finally {
      p.close();
    }
  });

  it('a socket already destroyed ends and releases the session', async () => {
    const p = await pair();
    try {
      p.client.destroy();
      await new Promise<void>((r) => p.client.once('close', () => r()));
      const s = new RawSession(p.client, 100);
      const seen = closeEvents(s);
      await s.closed;
      expect(seen).to.deep.equal([undefined]);
    } finally {
      p.close();
    }
  });
});

describe('ListenerSessions', () => {
  const fake = () => {
    let resolve!: () => void;
    const closed = new Promise<void>((r) => (resolve = r));
    const s = {closes: [] as Array<Error | undefined>, closed, close: (err?: Error) => (s.closes.push(err), resolve())};
    return s as typeof s & BackendSession;
  };

  it('hands sessions to the sink, forgets closed ones, closes one whose sink throws, and refuses after stopAccepting', async () => {
    const given: BackendSession[] = [];
    const bad = new Error('sink failed');
    const live = new ListenerSessions<ReturnType<typeof fake>>((s) => {
      if (given.length === 1) {
        given.push(s);
        throw bad;
      }
      given.push(s);
    });
    const a = fake();
    const b = fake();
    expect(live.accept(a)).to.equal(true);
    expect(live.accept(b)).to.equal(true);
    expect(b.closes).to.deep.equal([bad]);
    await b.closed;
    await Promise.resolve();
    expect([...live]).to.deep.equal([a]);

    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    await live.stopAccepting(srv);
    expect(srv.listening).to.equal(false);
    expect(live.stopping).to.equal(true);
    const c = fake();
    expect(live.accept(c)).to.equal(false);
    expect(c.closes).to.deep.equal([undefined]);
    expect(given).to.have.length(2);
  });
});
