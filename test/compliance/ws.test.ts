/** WebSocket backend: the shared compliance suite plus HTTP-level behaviour of Go's listener/dialer. */
import {expect} from 'chai';
import {randomBytes} from 'node:crypto';
import {readFileSync} from 'node:fs';
import type {IncomingMessage} from 'node:http';
import * as net from 'node:net';
import {WebSocketServer} from 'ws';
import {WsDialerBackend, WsListenerBackend} from '../../src/plugins/backend-ws/backend.js';
import {backendCompliance, Endpoint, waitFor, type MakePair} from '../../src/testing/index.js';
import {TEST_TLS} from './tls-fixture.js';

const FAST = {initialMs: 10, maxMs: 50};

function hostPort(address: string): {host: string; port: number} {
  const i = address.lastIndexOf(':');
  return {host: address.slice(0, i), port: Number(address.slice(i + 1))};
}

/** A raw TCP client speaking just enough HTTP/WebSocket to test the listener. */
class RawClient {
  buf = Buffer.alloc(0);
  closed = false;
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d) => (this.buf = Buffer.concat([this.buf, d])));
    sock.on('error', () => undefined);
    sock.on('close', () => (this.closed = true));
  }
  static async connect(address: string): Promise<RawClient> {
    const sock = net.connect(hostPort(address));
    await new Promise((r, j) => {
      sock.once('connect', r);
      sock.once('error', j);
    });
    return new RawClient(sock);
  }
  /** Sends a request and waits for the response head; returns status, head text, body so far. */
  async request(text: string): Promise<{status: number; head: string}> {
    this.sock.write(text);
    await waitFor('an HTTP response head', () => this.buf.includes('\r\n\r\n') || this.closed);
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) throw new Error('connection closed without a response');
    const head = this.buf.subarray(0, end + 4).toString('latin1');
    this.buf = this.buf.subarray(end + 4);
    return {status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), head};
  }
  /** Waits for one whole unmasked server frame. */
  async frame(): Promise<{fin: boolean; opcode: number; masked: boolean; payload: Buffer}> {
    const parse = () => {
      if (this.buf.length < 2) return undefined;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return undefined;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return undefined;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (this.buf[1] & 0x80) !== 0;
      if (masked) off += 4;
      if (this.buf.length < off + len) return undefined;
      const f = {fin: (this.buf[0] & 0x80) !== 0, opcode: this.buf[0] & 0x0f, masked, payload: Buffer.from(this.buf.subarray(off, off + len))};
      this.buf = this.buf.subarray(off + len);
      return f;
    };
    return waitFor('a WebSocket frame', parse);
  }
  write(b: Buffer): void {
    this.sock.write(b);
  }
  destroy(): void {
    this.sock.destroy();
  }
}

function upgradeRequest(address: string, opts: {path?: string; host?: string; headers?: string[]} = {}): string {
  const lines = [
    `GET ${opts.path ?? '/'} HTTP/1.1`,
    `Host: ${opts.host ?? address}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...(opts.headers ?? []),
  ];
  return lines.join('\r\n') + '\r\n\r\n';
}

/** A client frame (masked unless told otherwise). */
function clientFrame(opcode: number, payload: Buffer, masked = true): Buffer {
  const len = payload.length;
  const ext = len < 126 ? Buffer.alloc(0) : len < 65536 ? Buffer.alloc(2) : Buffer.alloc(8);
  if (len >= 126 && len < 65536) ext.writeUInt16BE(len);
  if (len >= 65536) ext.writeBigUInt64BE(BigInt(len));
  const b0 = 0x80 | opcode;
  const b1 = (masked ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (!masked) return Buffer.concat([Buffer.from([b0, b1]), ext, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((x, i) => x ^ key[i % 4]));
  return Buffer.concat([Buffer.from([b0, b1]), ext, key, body]);
}

/** Upgrades a raw client, writes `frames`, and resolves once the listener dropped it. */
async function upgradeThenSend(address: string, frames: Buffer[]): Promise<void> {
  const c = await RawClient.connect(address);
  const {status} = await c.request(upgradeRequest(address));
  expect(status).to.equal(101);
  for (const f of frames) c.write(f);
  await waitFor('the listener to drop the raw connection', () => c.closed);
}

const makePair: MakePair = async (opts = {}) => ({
  listener: new WsListenerBackend({port: opts.port ?? 0, bindAddr: '127.0.0.1'}),
  dialerFor: (address, o = {}) => new WsDialerBackend({address: `ws://${address}/`, redial: o.redial ?? true, backoff: FAST}),
  supportsClose: true,
  maxMessageSize: Infinity,
  garbage: [
    {
      name: 'non-upgrade HTTP request',
      send: async (a) => {
        const c = await RawClient.connect(a);
        const {status} = await c.request(`GET / HTTP/1.1\r\nHost: ${a}\r\nConnection: close\r\n\r\n`);
        expect(status).to.equal(400);
        await waitFor('the server to close', () => c.closed);
      },
    },
    {name: 'unmasked client frame', send: (a) => upgradeThenSend(a, [clientFrame(2, Buffer.from('hi'), false)])},
    {name: 'reserved opcode', send: (a) => upgradeThenSend(a, [clientFrame(3, Buffer.from('hi'))])},
    {
      name: 'HTTP garbage',
      send: async (a) => {
        const c = await RawClient.connect(a);
        c.write(Buffer.from('\x00\x01\x02 not http at all\r\n\r\n', 'latin1'));
        await waitFor('the server to close', () => c.closed);
      },
    },
  ],
});

backendCompliance('ws', makePair);

const makeWssPair: MakePair = async (opts = {}) => ({
  listener: new WsListenerBackend({port: opts.port ?? 0, bindAddr: '127.0.0.1', tls: {key: TEST_TLS.key, cert: TEST_TLS.cert}}),
  dialerFor: (address, o = {}) => new WsDialerBackend({address: `wss://${address}/`, redial: o.redial ?? true, backoff: FAST, tls: {ca: TEST_TLS.cert}}),
  supportsClose: true,
  maxMessageSize: Infinity,
  garbage: [
    {
      name: 'plain HTTP to an HTTPS port',
      send: async (a) => {
        const c = await RawClient.connect(a);
        c.write(Buffer.from(upgradeRequest(a)));
        await waitFor('the server to close', () => c.closed);
      },
    },
  ],
});

backendCompliance('ws over TLS (wss)', makeWssPair);

describe('ws backend specifics', () => {
  const stops: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  async function listener(path?: string): Promise<{L: Endpoint; address: string}> {
    const L = new Endpoint();
    stops.push(() => L.stop());
    const r = await L.start(new WsListenerBackend({port: 0, bindAddr: '127.0.0.1', path}));
    return {L, address: r.localAddress!};
  }

  async function client(address: string): Promise<RawClient> {
    const c = await RawClient.connect(address);
    stops.push(() => c.destroy());
    return c;
  }

  async function status(address: string, opts: Parameters<typeof upgradeRequest>[1]): Promise<{status: number; head: string}> {
    const c = await client(address);
    return c.request(upgradeRequest(address, opts));
  }

  it('Origin: none → 101, same host (any case) → 101, other host or port → 403', async () => {
    const {L, address} = await listener();
    const {port} = hostPort(address);
    expect((await status(address, {})).status).to.equal(101);
    expect((await status(address, {host: `LocalHost:${port}`, headers: [`Origin: http://localhost:${port}`]})).status).to.equal(101);
    expect((await status(address, {headers: [`Origin: https://${address}/some/path`]})).status).to.equal(101);
    const bad = await status(address, {headers: ['Origin: http://evil.example']});
    expect(bad.status).to.equal(403);
    expect(bad.head).to.match(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect((await status(address, {headers: [`Origin: http://127.0.0.1:${port + 1}`]})).status).to.equal(403);
    expect((await status(address, {headers: ['Origin: null']})).status).to.equal(403);
    await waitFor('three sessions', () => L.records.length === 3);
  });

  it('path "/" serves every request path', async () => {
    const {address} = await listener('/');
    expect((await status(address, {path: '/'})).status).to.equal(101);
    expect((await status(address, {path: '/any/thing?x=1'})).status).to.equal(101);
  });

  it('a path ending in / serves its subtree; the bare root redirects; others 404', async () => {
    const {address} = await listener('/mesh/');
    expect((await status(address, {path: '/mesh/'})).status).to.equal(101);
    expect((await status(address, {path: '/mesh/deeper'})).status).to.equal(101);
    const redirect = await status(address, {path: '/mesh?a=b'});
    expect(redirect.status).to.equal(301);
    expect(redirect.head).to.match(/\r\nLocation: \/mesh\/\?a=b\r\n/i);
    const nf = await status(address, {path: '/other'});
    expect(nf.status).to.equal(404);
    expect(nf.head).to.match(/^HTTP\/1\.1 404 Not Found\r\n/);
  });

  it('any other path matches exactly (query ignored)', async () => {
    const {address} = await listener('/exact');
    expect((await status(address, {path: '/exact'})).status).to.equal(101);
    expect((await status(address, {path: '/exact?token=1'})).status).to.equal(101);
    expect((await status(address, {path: '/exact/'})).status).to.equal(404);
    expect((await status(address, {path: '/exactly'})).status).to.equal(404);
  });

  it('a plain GET gets 400 on the served path and 404 elsewhere, and no session', async () => {
    const {L, address} = await listener('/ws');
    const c1 = await client(address);
    expect((await c1.request(`GET /ws HTTP/1.1\r\nHost: ${address}\r\n\r\n`)).status).to.equal(400);
    const c2 = await client(address);
    expect((await c2.request(`GET /nope HTTP/1.1\r\nHost: ${address}\r\n\r\n`)).status).to.equal(404);
    expect(L.records).to.have.length(0);
  });

  it('ignores offered subprotocols and permessage-deflate', async () => {
    const {address} = await listener();
    const r = await status(address, {headers: ['Sec-WebSocket-Protocol: netceptor, other', 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits']});
    expect(r.status).to.equal(101);
    expect(r.head.toLowerCase()).to.not.include('sec-websocket-protocol');
    expect(r.head.toLowerCase()).to.not.include('sec-websocket-extensions');
  });

  it('refuses a wrong WebSocket version with 400', async () => {
    const {address} = await listener();
    const c = await client(address);
    const req = upgradeRequest(address).replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8');
    expect((await c.request(req)).status).to.equal(400);
  });

  it('accepts text frames (even non-UTF-8) like Go, answers pings, and sends binary frames', async () => {
    const {L, address} = await listener();
    const c = await client(address);
    expect((await c.request(upgradeRequest(address))).status).to.equal(101);
    const l = await L.session(0);
    const binaryish = Buffer.from([0x01, 0xff, 0xfe, 0x00, 0x80]);
    c.write(clientFrame(1, binaryish));
    expect(await l.take(1)).to.deep.equal([binaryish]);
    c.write(clientFrame(9, Buffer.from('ping!')));
    const pong = await c.frame();
    expect(pong.opcode).to.equal(0xa);
    expect(String(pong.payload)).to.equal('ping!');
    l.s.send(Buffer.from('010203', 'hex'));
    const f = await c.frame();
    expect(f).to.deep.include({fin: true, opcode: 2, masked: false});
    expect(f.payload.toString('hex')).to.equal('010203');
    expect(l.closed).to.equal(false);
  });

  it('tolerates an abrupt close (no close frame)', async () => {
    const {L, address} = await listener();
    const c = await client(address);
    expect((await c.request(upgradeRequest(address))).status).to.equal(101);
    const l = await L.session(0);
    c.destroy();
    await waitFor('the session to close', () => l.closed);
    expect(l.closeCount).to.equal(1);
  });

  it("replays Go's recorded upgrade and frames: same 101 bytes, same messages", async () => {
    const {L, address} = await listener();
    const read = (name: string) =>
      readFileSync(new URL(`../vectors/captures/${name}`, import.meta.url), 'utf8')
        .split('\n')
        .filter((x) => x.trim())
        .map((x) => JSON.parse(x) as {dir: string; hex?: string; event?: string; msg_hex?: string; layer?: string});
    const chunks = read('ws.jsonl').filter((x) => !x.event && x.hex);
    const [request, response] = chunks;
    expect(request.dir).to.equal('bar->foo');
    const c = await client(address);
    // The recorded Host and Origin name the recording proxy's port; they agree, so the origin check passes.
    c.write(Buffer.from(request.hex!, 'hex'));
    await waitFor('the 101 response', () => c.buf.includes('\r\n\r\n'));
    const end = c.buf.indexOf('\r\n\r\n') + 4;
    expect(c.buf.subarray(0, end).toString('hex')).to.equal(response.hex);
    c.buf = c.buf.subarray(end);
    const clientChunks = chunks.slice(2).filter((x) => x.dir === 'bar->foo');
    for (const x of clientChunks) c.write(Buffer.from(x.hex!, 'hex'));
    const want = read('ws.frames.jsonl')
      .filter((f) => f.dir === 'bar->foo' && f.layer === 'websocket' && f.msg_hex)
      .map((f) => f.msg_hex);
    const l = await L.session(0);
    const got = await l.take(want.length);
    expect(got.map((m) => m.toString('hex'))).to.deep.equal(want);
  });

  it('the dialer sends Origin and the extra header, and offers no subprotocol or extension', async () => {
    const seen: IncomingMessage[] = [];
    const wss = new WebSocketServer({port: 0, host: '127.0.0.1'});
    wss.on('connection', (_ws, req) => seen.push(req));
    await new Promise((r) => wss.once('listening', r));
    stops.push(() => new Promise<void>((r) => wss.close(() => r())));
    const port = (wss.address() as net.AddressInfo).port;
    const D = new Endpoint();
    stops.push(() => D.stop());
    await D.start(new WsDialerBackend({address: `ws://127.0.0.1:${port}/mesh?x=1`, redial: false, extraHeader: 'x-token:  abc def  '}));
    await D.session(0);
    const req = await waitFor('the upgrade request', () => seen[0]);
    expect(req.url).to.equal('/mesh?x=1');
    expect(req.headers.origin).to.equal(`http://127.0.0.1:${port}`);
    expect(req.headers['x-token']).to.equal('abc def');
    expect(req.rawHeaders).to.include('X-Token');
    expect(req.headers).to.not.have.property('sec-websocket-protocol');
    expect(req.headers).to.not.have.property('sec-websocket-extensions');
  });

  it('a dialer and a listener with a path talk; a wrong path fails the dial', async () => {
    const {L, address} = await listener('/receptor');
    const lines: string[] = [];
    const {pino} = await import('pino');
    const logger = pino({level: 'debug'}, {write: (x: string) => void lines.push(x)});
    const bad = new Endpoint();
    stops.push(() => bad.stop());
    await bad.start(new WsDialerBackend({address: `ws://${address}/elsewhere`, redial: false}), logger);
    await waitFor('the failed dial', () => lines.some((x) => x.includes('Unexpected server response: 404')));
    const D = new Endpoint();
    stops.push(() => D.stop());
    await D.start(new WsDialerBackend({address: `ws://${address}/receptor`, redial: false}));
    const d = await D.session(0);
    d.s.send(Buffer.from('hi'));
    const l = await L.session(0);
    expect((await l.take(1)).map(String)).to.deep.equal(['hi']);
  });
});
