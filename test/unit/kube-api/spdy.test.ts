// acceptSpdyRemoteCommand against real clients: the pure-TS SPDY client (always) and client-go's
// SPDY executor through the Go probe (when Go and the module cache are there). A tiny node:http
// server routes pods/<name>/attach upgrades to it and wires the streams to a real child process.
import {expect} from 'chai';
import {spawn, type ChildProcess} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync} from 'node:fs';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import zlib from 'node:zlib';
import type {Readable} from 'node:stream';
import {buildGoProbe, kubeconfigFor} from '../../support/kube-api/goprobe.js';
import {connectSpdy, type SpdyClientConnection} from '../../support/kube-api/spdy/client.js';
import {encodeData, encodeRstStream, HEADER_DICTIONARY} from '../../support/kube-api/spdy/frames.js';
import {acceptSpdyRemoteCommand, nonZeroExitStatus, successStatus, type AcceptOptions, type SpdyRemoteCommandStreams} from '../../support/kube-api/spdy/index.js';

type Handler = (streams: SpdyRemoteCommandStreams, pod: string) => void;

interface AttachServer {
  url: string;
  port: number;
  accepted: SpdyRemoteCommandStreams[];
  rejected: Error[];
  close(): Promise<void>;
}

const COMMANDS: Record<string, string[]> = {
  cat: ['cat'],
  fail3: ['sh', '-c', 'cat; exit 3'],
};

/** Runs the pod's "container" as a child: stdin → child → stdout; finish when it exits. */
const runChild: Handler = (streams, pod) => {
  const [cmd, ...args] = COMMANDS[pod] ?? COMMANDS.cat;
  const child = spawn(cmd, args, {stdio: ['pipe', 'pipe', 'pipe']});
  child.stdin.on('error', () => undefined);
  if (streams.stdin) streams.stdin.pipe(child.stdin);
  else child.stdin.end();
  if (streams.stdout) child.stdout.pipe(streams.stdout);
  else child.stdout.resume();
  if (streams.stderr) child.stderr.pipe(streams.stderr);
  else child.stderr.resume();
  child.on('close', (code) => streams.finish(code === 0 ? successStatus() : nonZeroExitStatus(code ?? 1)));
  void streams.closed.then(() => child.kill());
};

async function startAttachServer(handler: Handler = runChild, opts: AcceptOptions = {}): Promise<AttachServer> {
  const accepted: SpdyRemoteCommandStreams[] = [];
  const rejected: Error[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    const m = /\/pods\/([^/]+)\/attach$/.exec(u.pathname);
    if (!m) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const flag = (n: string): boolean => ['true', '1'].includes(u.searchParams.get(n) ?? '');
    acceptSpdyRemoteCommand(req, socket, head, {stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr'), tty: flag('tty')}, opts).then(
      (streams) => {
        accepted.push(streams);
        handler(streams, m[1]);
      },
      (err: Error) => rejected.push(err),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    accepted,
    rejected,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function collect(r: Readable): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    r.on('data', (c: Buffer) => parts.push(c));
    r.on('end', () => resolve(Buffer.concat(parts)));
  });
}

function hashOf(r: Readable): Promise<{sha: string; bytes: number}> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    r.on('data', (c: Buffer) => {
      h.update(c);
      bytes += c.length;
    });
    r.on('end', () => resolve({sha: h.digest('hex'), bytes}));
    r.on('error', reject);
  });
}

function attachUrl(base: string, pod: string, q: string): string {
  return `${base}/api/v1/namespaces/default/pods/${pod}/attach?${q}`;
}

/** Writes `total` bytes of pseudo-random data into a stream's writable; resolves with their SHA-256. */
async function sendRandom(w: NodeJS.WritableStream, total: number, end = true): Promise<string> {
  const h = createHash('sha256');
  const block = randomBytes(1024 * 1024);
  for (let sent = 0; sent < total;) {
    const n = Math.min(block.length, total - sent);
    const chunk = Buffer.from(block.subarray(0, n));
    chunk.writeUInt32BE(sent >>> 0, 0); // vary blocks so a misordered one changes the digest
    h.update(chunk);
    sent += n;
    if (!w.write(chunk)) await new Promise((r) => w.once('drain', r));
  }
  if (end) w.end();
  return h.digest('hex');
}

describe('kube-api SPDY/3.1 remotecommand server (pure-TS client)', function () {
  this.timeout(60_000);
  let srv: AttachServer;
  const conns: SpdyClientConnection[] = [];

  beforeEach(async () => {
    srv = await startAttachServer();
  });
  afterEach(async () => {
    for (const c of conns.splice(0)) c.close();
    await srv.close();
  });

  async function connect(pod: string, q: string, opts: Parameters<typeof connectSpdy>[1] = {}): Promise<SpdyClientConnection> {
    const c = await connectSpdy(attachUrl(srv.url, pod, q), opts);
    conns.push(c);
    return c;
  }

  it('answers the upgrade as the kubelet does and negotiates v4 from client-go’s list', async () => {
    const c = await connect('cat', 'stdin=true&stdout=true');
    expect(c.protocol).to.equal('v4.channel.k8s.io');
    expect(String(c.headers.upgrade)).to.equal('SPDY/3.1');
    expect(String(c.headers.connection)).to.equal('Upgrade');
  });

  it('takes the client’s first supported protocol (v3 when v4 is not offered)', async () => {
    const c = await connect('cat', 'stdin=true', {protocols: ['v3.channel.k8s.io', 'v2.channel.k8s.io']});
    expect(c.protocol).to.equal('v3.channel.k8s.io');
  });

  it('refuses without a protocol (400) and with no common one (403 + accepted list)', async () => {
    const none = await connectSpdy(attachUrl(srv.url, 'cat', 'stdin=true'), {protocols: []}).then(
      () => null,
      (e: {statusCode: number; body: string}) => e,
    );
    expect(none?.statusCode).to.equal(400);
    expect(none?.body).to.equal('unable to upgrade: X-Stream-Protocol-Version is required\n');
    const bad = await connectSpdy(attachUrl(srv.url, 'cat', 'stdin=true'), {protocols: ['v9.channel.k8s.io']}).then(
      () => null,
      (e: {statusCode: number; body: string; headers: http.IncomingHttpHeaders}) => e,
    );
    expect(bad?.statusCode).to.equal(403);
    expect(bad?.body).to.equal(
      'unable to upgrade: unable to negotiate protocol: client supports [v9.channel.k8s.io], server accepts [v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]\n',
    );
    expect(bad?.headers['x-accepted-stream-protocol-versions']).to.equal('v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io');
    await until('two rejections', () => srv.rejected.length === 2);
  });

  it('streams 8 MiB through cat with a client that honours flow control (needs our WINDOW_UPDATEs)', async () => {
    const c = await connect('cat', 'stdin=true&stdout=true', {honourSendWindow: true});
    const error = await c.open('error');
    const stdin = await c.open('stdin');
    const stdout = await c.open('stdout');
    const status = collect(error.readable);
    const got = hashOf(stdout.readable);
    const sent = await sendRandom(stdin.writable, 8 * 1024 * 1024);
    const r = await got;
    expect(r.bytes).to.equal(8 * 1024 * 1024);
    expect(r.sha).to.equal(sent);
    expect(JSON.parse((await status).toString())).to.deep.equal({metadata: {}, status: 'Success'});
    await c.session.closed; // the server closes after the status
  });

  it('holds the socket while the stdin consumer lags, then delivers everything in order', async () => {
    await srv.close();
    let streams: SpdyRemoteCommandStreams | undefined;
    srv = await startAttachServer((s) => (streams = s)); // nobody reads stdin yet
    const c = await connect('slow', 'stdin=true', {honourSendWindow: false}); // spdystream ignores windows
    await c.open('error');
    const stdin = await c.open('stdin');
    await until('accepted', () => streams !== undefined);
    const total = 48 * 1024 * 1024;
    const sent = sendRandom(stdin.writable, total);
    const s = streams!;
    await until('server to pause the socket', () => s.session.socketHeld);
    // The kernel takes some MiB more (about 5 on loopback here), but the server process must stop
    // reading near its 1 MiB per-stream bound however much the client has handed over.
    await until('client to hand the kernel 4 MiB', () => c.socket.bytesWritten >= 4 * 1024 * 1024);
    const held = [...s.session.streams.values()].find((x) => x.header('streamtype') === 'stdin')!;
    expect(held.bufferedBytes).to.be.at.most(1024 * 1024 + 256 * 1024);
    expect((s.session.socket as net.Socket).bytesRead).to.be.below(2 * 1024 * 1024);
    const got = hashOf(s.stdin!);
    const digest = await sent;
    const r = await got;
    expect(r.bytes).to.equal(total);
    expect(r.sha).to.equal(digest);
    s.finish(successStatus());
  });

  it('after finish, unread stdin is drained, not held (the client is never left blocked writing)', async () => {
    await srv.close();
    let st: SpdyRemoteCommandStreams | undefined;
    srv = await startAttachServer((x) => (st = x), {finishGraceMs: 120_000});
    const c = await connect('idle', 'stdin=true', {honourSendWindow: false});
    const error = await c.open('error');
    const stdin = await c.open('stdin');
    const status = collect(error.readable);
    void sendRandom(stdin.writable, 96 * 1024 * 1024, false);
    await until('stdin held', () => st !== undefined && st.session.socketHeld);
    st!.finish(nonZeroExitStatus(3));
    await until('socket released while the connection is still open', () => !st!.session.socketHeld && !st!.session.destroyed);
    expect(JSON.parse((await status).toString())).to.have.property('reason', 'NonZeroExitCode');
  });

  it('writes a non-zero exit as the kubelet’s Failure Status, stdout first, then closes', async () => {
    const c = await connect('fail3', 'stdin=true&stdout=true');
    const error = await c.open('error');
    const stdin = await c.open('stdin');
    const stdout = await c.open('stdout');
    const status = collect(error.readable);
    const out = collect(stdout.readable);
    stdin.writable.end('some output\n');
    expect((await out).toString()).to.equal('some output\n');
    expect(JSON.parse((await status).toString())).to.deep.equal({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit status 3',
      reason: 'NonZeroExitCode',
      details: {causes: [{reason: 'ExitCode', message: '3'}]},
    });
    await c.session.closed;
  });

  it('v2/v3 write only a failure message (text) on the error stream', async () => {
    const c = await connect('fail3', 'stdin=true', {protocols: ['v3.channel.k8s.io']});
    const error = await c.open('error');
    const stdin = await c.open('stdin');
    const status = collect(error.readable);
    stdin.writable.end('x');
    expect((await status).toString()).to.equal('command terminated with non-zero exit code: exit status 3');
  });

  it('ends stdin on the client’s FIN, and on RST_STREAM', async () => {
    await srv.close();
    const got: Array<Promise<Buffer>> = [];
    srv = await startAttachServer((s) => got.push(collect(s.stdin!)));
    const a = await connect('x', 'stdin=true');
    await a.open('error');
    const sa = await a.open('stdin');
    sa.writable.end('abc');
    await until('first accept', () => got.length === 1);
    expect((await got[0]).toString()).to.equal('abc');
    const b = await connect('x', 'stdin=true');
    await b.open('error');
    const sb = await b.open('stdin');
    await until('second accept', () => got.length === 2);
    sb.writable.write('de');
    sb.sendReset();
    await got[1]; // ends (bytes sent just before the reset may or may not be kept)
  });

  it('answers PING and rejects streams the client never opens (creation timeout)', async () => {
    await srv.close();
    srv = await startAttachServer(runChild, {streamCreationTimeoutMs: 300});
    const c = await connect('cat', 'stdin=true&stdout=true');
    await c.session.ping();
    await c.open('error'); // stdin and stdout never come
    await c.session.closed;
    await until('rejection', () => srv.rejected.length === 1);
    expect(srv.rejected[0].message).to.equal('timed out waiting for client to create streams');
  });

  describe('malformed input closes the connection, never the server', () => {
    async function rawUpgrade(): Promise<{sock: net.Socket; closed: Promise<void>}> {
      const sock = net.connect(srv.port, '127.0.0.1');
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write(
        'POST /api/v1/namespaces/default/pods/cat/attach?stdin=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n',
      );
      let seen = '';
      await new Promise<void>((r) => {
        const on = (c: Buffer): void => {
          seen += c.toString('latin1');
          if (seen.includes('\r\n\r\n')) {
            sock.off('data', on);
            r();
          }
        };
        sock.on('data', on);
      });
      expect(seen).to.match(/^HTTP\/1\.1 101 /);
      const closed = new Promise<void>((r) => sock.on('close', () => r()));
      sock.on('error', () => undefined);
      sock.resume();
      return {sock, closed};
    }

    async function stillServes(): Promise<void> {
      const c = await connectSpdy(attachUrl(srv.url, 'cat', 'stdin=true&stdout=true'));
      conns.push(c);
      await c.open('error');
      const stdin = await c.open('stdin');
      const stdout = await c.open('stdout');
      const out = collect(stdout.readable);
      stdin.writable.end('alive\n');
      expect((await out).toString()).to.equal('alive\n');
    }

    const cases: Array<[string, () => Promise<Buffer>]> = [
      ['a control frame of SPDY version 2', async () => Buffer.from('8002000100000000', 'hex')],
      ['a RST_STREAM of 4 bytes', async () => Buffer.from('800300030000000400000001', 'hex')],
      ['a WINDOW_UPDATE with delta 0', async () => Buffer.from('80030009000000080000000100000000', 'hex')],
      ['a SYN_STREAM whose header block is not zlib', async () => Buffer.from('800300010000000e000000010000000000000102030405', 'hex')],
      ['a header block claiming more headers than it holds', lyingSynStream],
      ['a DATA frame on stream 0', async () => Buffer.from('0000000000000003616263', 'hex')],
      ['a control frame larger than the limit', async () => Buffer.from('8003000100ffffff', 'hex')],
    ];
    for (const [name, make] of cases) {
      it(name, async () => {
        const {sock, closed} = await rawUpgrade();
        sock.write(await make());
        await closed;
        await until('the accept to fail', () => srv.rejected.length === 1);
        await stillServes();
      });
    }

    it('garbage after the streams are up ends stdin and resolves closed', async () => {
      await srv.close();
      const got: SpdyRemoteCommandStreams[] = [];
      srv = await startAttachServer((s, pod) => (pod === 'cat' ? runChild(s, pod) : got.push(s)));
      const c = await connect('x', 'stdin=true');
      await c.open('error');
      const stdin = await c.open('stdin');
      await until('accept', () => got.length === 1);
      const seen: Buffer[] = [];
      const ended = new Promise<void>((r) => got[0].stdin!.on('end', () => r()));
      got[0].stdin!.on('data', (d: Buffer) => seen.push(d));
      stdin.writable.write('before');
      await until('bytes before the garbage', () => Buffer.concat(seen).toString() === 'before');
      c.socket.write(Buffer.from('80030003000000ff', 'hex')); // RST_STREAM claiming 255 bytes: bad length once read
      c.socket.write(Buffer.alloc(255));
      await got[0].closed;
      await ended;
      expect(Buffer.concat(seen).toString()).to.equal('before');
      await c.session.closed;
      await stillServes();
    });

    it('a reused stream id is refused with RST_STREAM(PROTOCOL_ERROR); the connection lives', async () => {
      await srv.close();
      const got: SpdyRemoteCommandStreams[] = [];
      srv = await startAttachServer((s) => got.push(s));
      const c = await connect('x', 'stdin=true');
      await c.open('error');
      const stdin = await c.open('stdin');
      await until('accept', () => got.length === 1);
      const input = collect(got[0].stdin!);
      const rst = new Promise<{streamId: number; status: number}>((r) => c.session.on('rst', r));
      await c.session.sendRawSynStream(1, {streamtype: ['error']});
      expect(await rst).to.deep.equal({type: 'rst_stream', streamId: 1, status: 1});
      c.socket.write(encodeRstStream(99, 5)); // RST for an unknown stream: ignored
      c.socket.write(encodeData(77, Buffer.from('nobody'))); // DATA for an unknown stream: ignored
      stdin.writable.end('still here\n');
      expect((await input).toString()).to.equal('still here\n');
    });
  });
});

/** A SYN_STREAM whose header block inflates fine (fresh context) but claims 1000 headers. */
async function lyingSynStream(): Promise<Buffer> {
  const raw = Buffer.alloc(8);
  raw.writeUInt32BE(1000, 0);
  const block = zlib.deflateSync(raw, {dictionary: HEADER_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH});
  const head = Buffer.alloc(18);
  head.writeUInt32BE(0x80030001, 0);
  head.writeUInt32BE(10 + block.length, 4);
  head.writeUInt32BE(1, 8);
  return Buffer.concat([head, block]);
}

describe('kube-api SPDY/3.1 remotecommand server against client-go (Go probe)', function () {
  this.timeout(300_000);
  let probe: string | null = null;
  let srv: AttachServer;
  let dir: string;
  let kubeconfig: string;
  const children: ChildProcess[] = [];

  before(async function () {
    this.timeout(11 * 60_000); // a cold module/build cache compiles client-go (the build gives up at 10 min)
    probe = await buildGoProbe();
    if (!probe) this.skip();
  });
  beforeEach(async () => {
    srv = await startAttachServer();
    dir = mkdtempSync(join(tmpdir(), 'kspdy-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor(srv.url));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await srv?.close();
    if (dir) rmSync(dir, {recursive: true, force: true});
  });

  function runProbe(args: string[], stdinFile: string): {child: ChildProcess; out: Promise<{sha: string; bytes: number}>; err: Promise<Buffer>; code: Promise<number | null>} {
    const fd = openSync(stdinFile, 'r');
    const child = spawn(probe!, args, {stdio: [fd, 'pipe', 'pipe']});
    closeSync(fd);
    children.push(child);
    return {
      child,
      out: hashOf(child.stdout!),
      err: collect(child.stderr!),
      code: new Promise((r) => child.on('close', (code) => r(code))),
    };
  }

  function randomFile(bytes: number): {path: string; sha: string} {
    const path = join(dir, 'stdin.bin');
    const fd = openSync(path, 'w');
    const h = createHash('sha256');
    const block = randomBytes(1024 * 1024);
    for (let off = 0; off < bytes; off += block.length) {
      const chunk = block.subarray(0, Math.min(block.length, bytes - off));
      chunk.writeUInt32BE(off >>> 0, 0);
      h.update(chunk);
      writeSync(fd, chunk);
    }
    closeSync(fd);
    return {path, sha: h.digest('hex')};
  }

  const base = (pod: string): string[] => ['--kubeconfig', kubeconfig, '--namespace', 'default', '--pod', pod];

  it('64 MiB through attach (stdin → cat → stdout) come back byte for byte', async () => {
    const input = randomFile(64 * 1024 * 1024);
    const p = runProbe(['attach', ...base('cat'), '--stdout'], input.path);
    const [out, code, err] = await Promise.all([p.out, p.code, p.err]);
    expect(err.toString()).to.equal('');
    expect(code).to.equal(0);
    expect(out.bytes).to.equal(64 * 1024 * 1024);
    expect(out.sha).to.equal(input.sha);
    expect(srv.accepted[0].protocol).to.equal('v4.channel.k8s.io');
  });

  it('stdin only, as receptor attaches: the server receives it all and Success ends the probe', async () => {
    await srv.close();
    const received: Array<Promise<{sha: string; bytes: number}>> = [];
    srv = await startAttachServer((s) => {
      const h = hashOf(s.stdin!);
      received.push(h);
      void h.then(() => s.finish(successStatus()));
    });
    writeFileSync(kubeconfig, kubeconfigFor(srv.url));
    const input = randomFile(8 * 1024 * 1024);
    const p = runProbe(['attach', ...base('worker-pod')], input.path);
    const [code, err] = await Promise.all([p.code, p.err]);
    expect(err.toString()).to.equal('');
    expect(code).to.equal(0);
    expect(await received[0]).to.deep.equal({sha: input.sha, bytes: 8 * 1024 * 1024});
  });

  it('a non-zero exit reaches client-go as “command terminated with exit code 3”', async () => {
    const input = join(dir, 'small');
    writeFileSync(input, 'partial output\n');
    const p = runProbe(['attach', ...base('fail3'), '--stdout'], input);
    const [out, code, err] = await Promise.all([p.out, p.code, p.err]);
    expect(code).to.equal(1);
    expect(err.toString()).to.equal('error: command terminated with exit code 3\nexit code: 3\n');
    expect(out.bytes).to.equal('partial output\n'.length);
  });
});
