/**
 * Service proxies (config.md §5.7) between in-process mesh nodes, run as real items through a
 * NodeRuntime, with real TCP / UDP sockets on 127.0.0.1 and unix sockets in a temp dir.
 */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import dgram from 'node:dgram';
import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import tls from 'node:tls';
import {pino} from 'pino';
import {loadConfig} from '../../src/core/config/load.js';
import {ActionRegistry} from '../../src/core/config/registry.js';
import type {Netceptor} from '../../src/core/netceptor/node.js';
import {createCa, createCsr, signCsr} from '../../src/core/pki/x509.js';
import {NodeRuntime} from '../../src/core/runtime.js';
import {serviceTypes} from '../../src/plugins/services/index.js';
import {tlsTypes} from '../../src/plugins/tls/index.js';
import {tempFiles} from '../support/config-fixtures.js';
import {FAST, link, makeNode, until} from '../support/mesh.js';

interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

const registry = new ActionRegistry();
for (const t of [...serviceTypes, ...tlsTypes]) registry.add(t, 'test');

/** A mesh node with a runtime whose log lines are recorded. */
class End {
  readonly node: Netceptor;
  readonly rt: NodeRuntime;
  readonly lines: LogLine[] = [];
  constructor(id: string) {
    this.node = makeNode(id, {timings: FAST});
    const logger = pino({level: 'debug', formatters: {level: (label) => ({level: label})}}, {write: (s: string) => void this.lines.push(JSON.parse(s) as LogLine)});
    this.rt = new NodeRuntime(logger, {configFiles: [], argv: [], selfCommand: []}, () => undefined);
    this.rt.setNode(this.node);
  }

  /** Loads Go-style arguments and runs Prepare then Run of each item; returns the new log lines. */
  async run(...argv: string[]): Promise<LogLine[]> {
    const from = this.lines.length;
    const {items} = loadConfig(argv, registry);
    const created = items.map((it) => it.def.create(it.values, {key: it.key, plugin: it.plugin, source: it.source, explicit: it.explicit}));
    for (const c of created) await c.prepare?.(this.rt);
    for (const c of created) await c.run?.(this.rt);
    return this.lines.slice(from);
  }

  /** Runs a listening item and returns the port it bound (from its log line). */
  async port(...argv: string[]): Promise<number> {
    const line = (await this.run(...argv)).find((l) => typeof l.address === 'string' && / listening on /.test(l.msg));
    if (!line) throw new Error(`no listening line for ${argv.join(' ')}`);
    return Number(String(line.address).split(':').pop());
  }

  logged(re: RegExp): LogLine | undefined {
    return this.lines.find((l) => re.test(`${l.msg} ${typeof l.err === 'string' ? l.err : ''}`));
  }

  async stop(): Promise<void> {
    await this.rt.shutdown();
    await this.node.shutdown();
  }
}

async function line(ids: string[]): Promise<End[]> {
  const ends = ids.map((id) => new End(id));
  for (let i = 0; i + 1 < ends.length; i++) link(ends[i].node, ends[i + 1].node);
  const first = ends[0].node;
  const last = ends.at(-1)!.node;
  await until(() => first.reachable(last.id) && last.reachable(first.id), `${ids.join('-')} converged`);
  return ends;
}

// ------------------------------------------------------------------------------- sockets ---

/** Local TCP / TLS / unix servers used as proxy targets; all closed in after(). */
const servers: net.Server[] = [];

function serve(handler: (s: net.Socket) => void, opts: {tls?: tls.TlsOptions; path?: string} = {}): Promise<number> {
  const server = opts.tls ? tls.createServer({...opts.tls, allowHalfOpen: true}, handler) : net.createServer({allowHalfOpen: true}, handler);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  (server as net.Server & {kill?: () => void}).kill = () => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  servers.push(server);
  return new Promise((resolve) => {
    if (opts.path) server.listen(opts.path, () => resolve(0));
    else server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Reads to EOF, then answers with the SHA-256 (hex) and the byte count, and ends. */
function sink(s: net.Socket): void {
  s.on('error', () => {});
  const h = createHash('sha256');
  let n = 0;
  s.on('data', (d: Buffer) => {
    h.update(d);
    n += d.length;
  });
  s.on('end', () => s.end(`${h.digest('hex')} ${n}`));
}

function echo(s: net.Socket): void {
  s.on('error', () => {});
  s.pipe(s);
}

function connectTcp(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({port, host: '127.0.0.1', allowHalfOpen: true});
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything until EOF (rejects on error). */
function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

/** How a socket ended: 'end' (clean EOF), or the error code, once it has closed. */
function outcome(s: net.Socket): Promise<{how: string; at: number}> {
  return new Promise((resolve) => {
    let how = 'close';
    s.on('end', () => (how = how === 'close' ? 'end' : how));
    s.on('error', (err: NodeJS.ErrnoException) => (how = err.code ?? err.message));
    s.once('close', () => resolve({how, at: Date.now()}));
  });
}

/**
 * When the peer's side of a socket went away: the first EOF or error. (A reset sent while the
 * sender still had queued data often arrives as a plain EOF on Linux, and a half-open socket
 * that never ends its own side does not close by itself.)
 */
function peerGone(s: net.Socket): Promise<{how: string; at: number}> {
  return new Promise((resolve) => {
    s.once('end', () => resolve({how: 'end', at: Date.now()}));
    s.once('error', (err: NodeJS.ErrnoException) => resolve({how: err.code ?? err.message, at: Date.now()}));
    s.once('close', () => resolve({how: 'close', at: Date.now()}));
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MB = 1024 * 1024;

/** Timings reported at the end of the run. */
const timings: Record<string, string> = {};

// ------------------------------------------------------------------------------- tests ------

describe('integration: service proxies', function () {
  this.timeout(120_000);

  after(() => {
    for (const s of servers) (s as net.Server & {kill: () => void}).kill();
    if (Object.keys(timings).length > 0) console.log(`      timings: ${JSON.stringify(timings)}`);
  });

  describe('config items', () => {
    const load =
      (...argv: string[]) =>
      () =>
        loadConfig(argv, registry);

    it('declare the Go fields, defaults and required flags', () => {
      const fields = Object.fromEntries(
        serviceTypes.map((t) => [t.key, t.fields.map((f) => `${f.name}${f.required ? '!' : ''}${f.default !== undefined ? `=${String(f.default)}` : ''}`)]),
      );
      expect(fields['tcp-server']).to.deep.equal(['port!', 'bindaddr=0.0.0.0', 'remotenode!', 'remoteservice!', 'tlsserver', 'tlsclient']);
      expect(fields['tcp-client']).to.deep.equal(['service!', 'address!', 'tlsserver', 'tlsclient']);
      expect(fields['udp-server']).to.deep.equal(['port!', 'bindaddr=0.0.0.0', 'remotenode!', 'remoteservice!']);
      expect(fields['udp-client']).to.deep.equal(['service!', 'address!']);
      expect(fields['unix-socket-server']).to.deep.equal(['filename!', 'permissions=0600', 'remotenode!', 'remoteservice!', 'tls']);
      expect(fields['unix-socket-client']).to.deep.equal(['service!', 'filename!', 'tls']);
      const [item] = loadConfig(['--unix-socket-server', 'filename=/x', 'remotenode=n', 'remoteservice=s'], registry).items;
      expect(item.values.permissions).to.equal(0o600);
    });

    it('are checked at load time', () => {
      expect(load('--tcp-server', 'port=1', 'remotenode=n')).to.throw('required parameter missing: remoteservice');
      expect(load('--tcp-server', 'port=70000', 'remotenode=n', 'remoteservice=s')).to.throw('invalid port 70000');
      expect(load('--tcp-server', 'port=1', 'remotenode=n', 'remoteservice=waytoolong')).to.throw('service name waytoolong too long');
      expect(load('--tcp-client', 'service=waytoolong', 'address=127.0.0.1:1')).to.throw('error listening on Receptor network: service name waytoolong too long');
      expect(load('--tcp-client', 'service=s', 'address=nohost')).to.throw('address nohost: missing port in address');
      expect(load('--udp-client', 'service=s', 'address=h:p')).to.throw('invalid port');
      expect(load('--udp-server', 'port=-1', 'remotenode=n', 'remoteservice=s')).to.throw('invalid port -1');
      expect(load('--unix-socket-client', 'service=s')).to.throw('required parameter missing: filename');
      expect(load('--tcp-client', 'service=s', 'address=[::1]:80')).not.to.throw();
    });
  });

  describe('TCP, UDP and unix proxies over a 3-hop line a-b-c-d', () => {
    let a: End, b: End, c: End, d: End;
    let dir: string;
    const ports: Record<string, number> = {};

    before(async () => {
      [a, b, c, d] = await line(['a', 'b', 'c', 'd']);
      dir = mkdtempSync(join(tmpdir(), 'receptor-svc-'));
      const sinkPort = await serve(sink);
      const echoPort = await serve(echo);
      await d.run('--tcp-client', 'service=sink', `address=127.0.0.1:${sinkPort}`);
      await d.run('--tcp-client', 'service=echo', `address=127.0.0.1:${echoPort}`);
      ports.sink = await a.port('--tcp-server', 'port=0', 'bindaddr=127.0.0.1', 'remotenode=d', 'remoteservice=sink');
      ports.echo = await a.port('--tcp-server', 'port=0', 'bindaddr=127.0.0.1', 'remotenode=d', 'remoteservice=echo');
    });

    after(async () => {
      for (const e of [a, b, c, d]) await e?.stop();
      if (dir) rmSync(dir, {recursive: true, force: true});
    });

    it('carries 50 MB client→server (SHA-256 checked)', async () => {
      const payload = randomBytes(50 * MB);
      const t0 = Date.now();
      const s = await connectTcp(ports.sink);
      const reply = readAll(s);
      s.end(payload);
      expect((await reply).toString()).to.equal(`${sha(payload)} ${payload.length}`);
      timings['50MB up, 3 hops'] = `${Date.now() - t0} ms`;
    });

    it('carries 50 MB server→client (SHA-256 checked)', async () => {
      // the echo target sends back what it gets; the upload is tiny per chunk, so measure the
      // download with a separate source target on a tcp-client of its own
      const payload = randomBytes(50 * MB);
      const srcPort = await serve((sock) => {
        sock.on('error', () => {});
        sock.once('data', () => sock.end(payload));
      });
      await d.run('--tcp-client', 'service=source', `address=127.0.0.1:${srcPort}`);
      const port = await a.port('--tcp-server', 'port=0', 'bindaddr=127.0.0.1', 'remotenode=d', 'remoteservice=source');
      const t0 = Date.now();
      const s = await connectTcp(port);
      const got = readAll(s);
      s.end('go');
      const data = await got;
      expect(data.length).to.equal(payload.length);
      expect(sha(data)).to.equal(sha(payload));
      timings['50MB down, 3 hops'] = `${Date.now() - t0} ms`;
    });

    it('carries 20 concurrent connections, each a small echo exchange with half-close', async () => {
      const t0 = Date.now();
      const results = await Promise.all(
        Array.from({length: 20}, async (_, i) => {
          const s = await connectTcp(ports.echo);
          const back = readAll(s);
          s.end(`hello ${i} `.repeat(100));
          return (await back).toString();
        }),
      );
      expect(results).to.deep.equal(Array.from({length: 20}, (_, i) => `hello ${i} `.repeat(100)));
      timings['20 concurrent echo'] = `${Date.now() - t0} ms`;
    });

    it('advertises the tcp-client services with their tags', async () => {
      const ads = await until(() => {
        const list = a.node.statusAdvertisements().filter((x) => x.NodeID === 'd' && ['sink', 'echo'].includes(x.Service));
        return list.length === 2 ? list : undefined;
      }, 'ads of d on a');
      for (const ad of ads) {
        expect(ad.ConnType).to.equal(1);
        expect(ad.Tags?.type).to.equal('TCP Proxy');
        expect(ad.Tags?.address).to.match(/^127\.0\.0\.1:\d+$/);
      }
    });

    it('closes the TCP connection and logs why when the mesh dial fails', async () => {
      const port = await a.port('--tcp-server', 'port=0', 'bindaddr=127.0.0.1', 'remotenode=d', 'remoteservice=nothing');
      const s = await connectTcp(port);
      const how = outcome(s);
      s.write('x');
      const {how: h} = await how;
      expect(['ECONNRESET', 'end', 'close']).to.include(h);
      expect(a.logged(/Error connecting on Receptor network: context canceled/)).to.not.equal(undefined);
    });

    it('resets the client when the tcp-client target refuses the connection', async () => {
      const dead = await serve(() => {});
      const deadPort = dead;
      (servers.at(-1) as net.Server & {kill: () => void}).kill(); // nothing listens there now
      await d.run('--tcp-client', 'service=refused', `address=127.0.0.1:${deadPort}`);
      const port = await a.port('--tcp-server', 'port=0', 'bindaddr=127.0.0.1', 'remotenode=d', 'remoteservice=refused');
      const s = await connectTcp(port);
      const how = outcome(s);
      s.write('hello');
      const {how: h} = await how;
      expect(['ECONNRESET', 'end', 'close']).to.include(h);
      await until(() => d.logged(/Error connecting via TCP: connect ECONNREFUSED/), 'refusal logged on d');
    });

    it('reports a target that closes mid-transfer to the client', async () => {
      let received = 0;
      const port0 = await serve((sock) => {
        sock.on('error', () => {});
        sock.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > 2 * MB) sock.destroy(); // the listener drops the connection mid-transfer
        });
      });
      await d.run('--tcp-client', 'service=dropper', `address=127.0.0.1:${port0}`);
      const port = await a.port('--tcp-server', 'port=0', 'bindaddr=127.0.0.1', 'remotenode=d', 'remoteservice=dropper');
      const s = await connectTcp(port);
      const how = outcome(s);
      s.on('error', () => {});
      // keep writing until the proxy tells us the far end is gone
      const chunk = randomBytes(256 * 1024);
      let sent = 0;
      const pump = () => {
        while (!s.destroyed && sent < 40 * MB && s.write(chunk)) sent += chunk.length;
        if (!s.destroyed && sent < 40 * MB) s.once('drain', pump);
      };
      pump();
      const t0 = Date.now();
      await until(() => received > 2 * MB, 'target received 2 MB');
      const {how: h, at} = await how;
      expect(['ECONNRESET', 'EPIPE', 'end', 'close']).to.include(h);
      expect(sent).to.be.below(40 * MB);
      timings['target drop seen by client'] = `${at - t0} ms (${h})`;
    });

    it('udp-server / udp-client round trip, one mesh session per UDP source', async () => {
      const target = dgram.createSocket('udp4');
      const sources = new Set<string>();
      target.on('message', (msg, rinfo) => {
        sources.add(`${rinfo.address}:${rinfo.port}`);
        target.send(Buffer.concat([Buffer.from('re:'), msg]), rinfo.port, rinfo.address);
      });
      await new Promise<void>((r) => target.bind(0, '127.0.0.1', () => r()));
      try {
        await d.run('--udp-client', 'service=udpecho', `address=127.0.0.1:${target.address().port}`);
        const port = await a.port('--udp-server', 'port=0', 'bindaddr=127.0.0.1', 'remotenode=d', 'remoteservice=udpecho');
        const clients = [dgram.createSocket('udp4'), dgram.createSocket('udp4')];
        const got: string[][] = [[], []];
        clients.forEach((cl, i) => cl.on('message', (m) => got[i].push(m.toString())));
        const want = (i: number) => Array.from({length: 10}, (_, k) => `re:c${i}-${k}`);
        // UDP: resend what is missing until everything came back (loopback rarely drops)
        await until(
          () => {
            clients.forEach((cl, i) => {
              for (const w of want(i)) if (!got[i].includes(w)) cl.send(w.slice(3), port, '127.0.0.1');
            });
            return want(0).every((w) => got[0].includes(w)) && want(1).every((w) => got[1].includes(w));
          },
          'udp echoes',
          15_000,
        );
        expect(sources.size).to.equal(2); // each UDP source got its own socket on d
        for (const cl of clients) cl.close();
        const ad = await until(() => a.node.statusAdvertisements().find((x) => x.NodeID === 'd' && x.Service === 'udpecho'), 'udp ad');
        expect(ad.ConnType).to.equal(0);
        expect(ad.Tags).to.deep.equal({type: 'UDP Proxy', address: `127.0.0.1:${target.address().port}`});
      } finally {
        target.close();
      }
    });

    it('idle UDP sessions are dropped and reopened on the next datagram', async () => {
      const {startUdpClient, startUdpServer} = await import('../../src/core/services/udp-proxy.js');
      const target = dgram.createSocket('udp4');
      const seen: Array<[string, string]> = []; // [payload, source] as the target saw them
      target.on('message', (msg, rinfo) => {
        seen.push([msg.toString(), `${rinfo.address}:${rinfo.port}`]);
        target.send(msg, rinfo.port, rinfo.address);
      });
      await new Promise<void>((r) => target.bind(0, '127.0.0.1', () => r()));
      const client = dgram.createSocket('udp4');
      try {
        await startUdpClient(d.rt, {service: 'udpidle', address: `127.0.0.1:${target.address().port}`}, {idleMs: 300});
        const from = a.lines.length;
        await startUdpServer(a.rt, {port: 0, bindaddr: '127.0.0.1', remotenode: 'd', remoteservice: 'udpidle'}, {idleMs: 300});
        const port = Number(
          String(a.lines.slice(from).find((l) => typeof l.address === 'string')!.address)
            .split(':')
            .pop(),
        );
        // Tagged datagrams: a late echo of the first one cannot pass for the second.
        const echoed = new Set<string>();
        client.on('message', (m) => echoed.add(m.toString()));
        const roundTrip = async (tag: string) => {
          let sentAt = 0;
          await until(() => {
            if (!echoed.has(tag) && Date.now() - sentAt > 200) {
              client.send(tag, port, '127.0.0.1');
              sentAt = Date.now();
            }
            return echoed.has(tag);
          }, `udp echo of ${tag}`);
        };
        const sourcesOf = (tag: string) => seen.filter(([m]) => m === tag).map(([, src]) => src);
        const closedAt = (e: End) => e.lines.filter((l) => l.msg === 'UDP session closed').length;
        const [aClosed, dClosed] = [closedAt(a), closedAt(d)];
        await roundTrip('ping 1');
        const first = sourcesOf('ping 1')[0];
        // Both sides drop their idle session (sweeps every 150 ms) before the next datagram.
        await until(() => closedAt(a) > aClosed && closedAt(d) > dClosed, 'idle sessions dropped on both sides');
        await roundTrip('ping 2');
        expect(sourcesOf('ping 2')).to.not.include(first); // the target saw a fresh source socket
      } finally {
        client.close();
        target.close();
      }
    });

    it('unix-socket-server / unix-socket-client round trip with half-close, socket mode and ad tags', async () => {
      const targetPath = join(dir, 'target.sock');
      const frontPath = join(dir, 'front.sock');
      await serve(sink, {path: targetPath});
      await d.run('--unix-socket-client', 'service=unixsink', `filename=${targetPath}`);
      await a.run('--unix-socket-server', `filename=${frontPath}`, 'permissions=0640', 'remotenode=d', 'remoteservice=unixsink');
      expect(statSync(frontPath).mode & 0o777).to.equal(0o640);
      expect(existsSync(`${frontPath}.lock`)).to.equal(true);
      const payload = randomBytes(3 * MB);
      const s = net.connect({path: frontPath, allowHalfOpen: true});
      const reply = readAll(s);
      s.end(payload); // half-close: the answer comes after our EOF
      expect((await reply).toString()).to.equal(`${sha(payload)} ${payload.length}`);
      const ad = await until(() => a.node.statusAdvertisements().find((x) => x.NodeID === 'd' && x.Service === 'unixsink'), 'unix ad');
      expect(ad.ConnType).to.equal(1);
      expect(ad.Tags).to.deep.equal({type: 'Unix Proxy', filename: targetPath});
    });

    it('a second unix-socket-server on a live socket is refused (lock)', async () => {
      const frontPath = join(dir, 'locked.sock');
      await a.run('--unix-socket-server', `filename=${frontPath}`, 'remotenode=d', 'remoteservice=unixsink');
      expect(existsSync(`${frontPath}.lock`)).to.equal(true);
      let err: Error | undefined;
      await a.run('--unix-socket-server', `filename=${frontPath}`, 'remotenode=d', 'remoteservice=unixsink').catch((e: Error) => (err = e));
      expect(err?.message).to.match(/^error opening Unix socket: could not acquire lock/);
    });
  });

  describe('TLS on both the TCP and the mesh side', () => {
    let a: End, b: End, d: End;
    let f: Record<string, string>;
    let targetPort: number;

    before(async () => {
      const ca = await createCa({commonName: 'svc CA'});
      const issue = async (nodeIds: string[]) => {
        const csr = await createCsr({commonName: nodeIds[0] ?? 'host', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds});
        const cert = await signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.key});
        return {cert: cert.certPem, key: csr.keyPem};
      };
      const [ka, kd, kt] = await Promise.all([issue(['a']), issue(['d']), issue([])]);
      const dirPath = tempFiles({'ca.crt': ca.certPem, 'a.crt': ka.cert, 'a.key': ka.key, 'd.crt': kd.cert, 'd.key': kd.key, 't.crt': kt.cert, 't.key': kt.key});
      f = Object.fromEntries(['ca.crt', 'a.crt', 'a.key', 'd.crt', 'd.key', 't.crt', 't.key'].map((n) => [n, join(dirPath, n)]));
      f.caPem = ca.certPem;
      f.tCert = kt.cert;
      f.tKey = kt.key;
      [a, b, d] = await line(['a', 'b', 'd']);
      // d's TLS service (both tests below dial it): TLS on the mesh side and to the target.
      targetPort = await serve(sink, {tls: {cert: f.tCert, key: f.tKey}});
      await d.run(
        '--tls-server',
        'name=meshsrv',
        `cert=${f['d.crt']}`,
        `key=${f['d.key']}`,
        '--tls-client',
        'name=tcpcli',
        `cert=${f['d.crt']}`,
        `key=${f['d.key']}`,
        `rootcas=${f['ca.crt']}`,
        '--tcp-client',
        'service=tlssink',
        `address=127.0.0.1:${targetPort}`,
        'tlsserver=meshsrv',
        'tlsclient=tcpcli',
      );
    });

    after(async () => {
      for (const e of [a, b, d]) await e?.stop();
    });

    it('tcp-server (tlsserver + tlsclient) → tcp-client (tlsserver + tlsclient) → TLS target, half-close', async () => {
      const port = await a.port(
        '--tls-server',
        'name=front',
        `cert=${f['a.crt']}`,
        `key=${f['a.key']}`,
        '--tls-client',
        'name=meshcli',
        `cert=${f['a.crt']}`,
        `key=${f['a.key']}`,
        `rootcas=${f['ca.crt']}`,
        '--tcp-server',
        'port=0',
        'bindaddr=127.0.0.1',
        'remotenode=d',
        'remoteservice=tlssink',
        'tlsserver=front',
        'tlsclient=meshcli',
      );
      const s = tls.connect({port, host: '127.0.0.1', ca: f.caPem, allowHalfOpen: true} as tls.ConnectionOptions);
      await new Promise<void>((resolve, reject) => {
        s.once('secureConnect', resolve);
        s.once('error', reject);
      });
      const payload = randomBytes(2 * MB);
      const reply = readAll(s);
      s.end(payload);
      expect((await reply).toString()).to.equal(`${sha(payload)} ${payload.length}`);
      const ad = await until(() => a.node.statusAdvertisements().find((x) => x.NodeID === 'd' && x.Service === 'tlssink'), 'tls ad');
      expect(ad.ConnType).to.equal(2);
      expect(ad.Tags).to.deep.equal({type: 'TCP Proxy', address: `127.0.0.1:${targetPort}`});
    });

    it('a plain mesh dial to the TLS tcp-client service fails and closes the TCP connection', async () => {
      const port = await a.port('--tcp-server', 'port=0', 'bindaddr=127.0.0.1', 'remotenode=d', 'remoteservice=tlssink');
      const s = await connectTcp(port);
      const how = outcome(s);
      s.write('x');
      await how;
      await until(() => a.logged(/Error connecting on Receptor network: .*insecure connection to secure service/), 'refusal logged');
    });

    it('an unknown TLS config name fails the item', async () => {
      let err: Error | undefined;
      await a.run('--tcp-server', 'port=0', 'remotenode=d', 'remoteservice=x', 'tlsclient=nope').catch((e: Error) => (err = e));
      expect(err?.message).to.equal('unknown TLS config nope');
    });
  });

  describe('shutdown', () => {
    it('closes listeners and live connections and withdraws the advertisement', async () => {
      const [p, q] = await line(['p', 'q']);
      try {
        const echoPort = await serve(echo);
        await q.run('--tcp-client', 'service=echo', `address=127.0.0.1:${echoPort}`);
        const port = await p.port('--tcp-server', 'port=0', 'bindaddr=127.0.0.1', 'remotenode=q', 'remoteservice=echo');
        const s = await connectTcp(port);
        const ended = outcome(s);
        s.write('ping');
        await new Promise((r) => s.once('data', r)); // bridged end to end
        await until(() => p.node.statusAdvertisements().some((x) => x.NodeID === 'q' && x.Service === 'echo'), 'ad of q');
        await p.rt.shutdown();
        const {how} = await ended;
        expect(how).to.not.equal('end');
        let refused = false;
        await connectTcp(port).then(
          (c) => c.destroy(),
          () => (refused = true),
        );
        expect(refused).to.equal(true);
        await q.rt.shutdown();
        await until(() => !p.node.statusAdvertisements().some((x) => x.NodeID === 'q' && x.Service === 'echo'), 'ad withdrawn');
      } finally {
        await p.stop();
        await q.stop();
      }
    });
  });

  describe('a middle node dies mid-transfer', () => {
    // "Promptly" = by the route loss, not by the QUIC idle timeout (30 s): each end must log the
    // route-loss cause, and must do so well before the idle timeout could have fired.
    const PROMPT_MS = 15_000;
    const ROUTE_LOST = 'INTERNAL_ERROR (local): no route to node';

    async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
      try {
        return await Promise.race([p, late]);
      } finally {
        clearTimeout(timer);
      }
    }

    /** The error the proxy logged for its connection (waits for the line). */
    async function proxyError(e: End, proxy: string, ms: number): Promise<string> {
      const l = await until(() => e.lines.find((x) => x.msg.startsWith(`${proxy}: connection error: `)), `${proxy} connection error logged`, ms);
      return String(l.err);
    }

    /**
     * x-y-z; a proxied connection x→z carrying bulk data; y's Netceptor is shut down. Returns
     * how and when the client (x's TCP side) and, unless `clientOnly`, the target (z's side)
     * saw the end.
     */
    async function killMiddle(
      bothWays: boolean,
      clientOnly: boolean,
      deadlineMs = PROMPT_MS,
    ): Promise<{client: {how: string; ms: number; cause: string}; target?: {how: string; ms: number; cause: string}}> {
      const [x, y, z] = await line(['x', 'y', 'z']);
      try {
        let targetSock: net.Socket | undefined;
        let atTarget = 0;
        const targetPort = await serve((sock) => {
          targetSock = sock;
          sock.on('error', () => {});
          sock.on('data', (chunk: Buffer) => (atTarget += chunk.length));
          if (!bothWays) return;
          const out = randomBytes(256 * 1024);
          const pump = () => {
            while (!sock.destroyed && sock.write(out));
            if (!sock.destroyed) sock.once('drain', pump);
          };
          pump();
        });
        await z.run('--tcp-client', 'service=bulk', `address=127.0.0.1:${targetPort}`);
        const port = await x.port('--tcp-server', 'port=0', 'bindaddr=127.0.0.1', 'remotenode=z', 'remoteservice=bulk');
        const s = await connectTcp(port);
        const clientEnd = outcome(s);
        let atClient = 0;
        s.on('data', (chunk: Buffer) => (atClient += chunk.length));
        const chunk = randomBytes(256 * 1024);
        const pump = () => {
          while (!s.destroyed && s.write(chunk));
          if (!s.destroyed) s.once('drain', pump);
        };
        pump();
        await until(() => atTarget > 4 * MB && (!bothWays || atClient > 4 * MB), 'traffic flowing', 30_000);
        const targetEnd = peerGone(targetSock!);
        const t0 = Date.now();
        await y.node.shutdown(); // "kill" the middle node
        const ce = await within(clientEnd, deadlineMs, 'the client end to close');
        const client = {how: ce.how, ms: ce.at - t0, cause: await proxyError(x, 'tcp-server', deadlineMs)};
        if (clientOnly) return {client};
        const te = await within(targetEnd, deadlineMs, 'the target end to see the peer gone');
        return {client, target: {how: te.how, ms: te.at - t0, cause: await proxyError(z, 'tcp-client', deadlineMs)}};
      } finally {
        for (const e of [x, y, z]) await e.stop();
      }
    }

    it('ends the proxied connection on both ends promptly while data flows both ways', async () => {
      const r = await killMiddle(true, false);
      timings['middle node killed (both ways): client / target'] = `${r.client.ms} ms (${r.client.how}) / ${r.target!.ms} ms (${r.target!.how})`;
      expect([r.client.cause, r.target!.cause]).to.deep.equal([ROUTE_LOST, ROUTE_LOST]);
      expect(r.client.how).to.not.equal('end'); // an error, not a clean (truncated) EOF
    });

    it('upload only: the sending (dialling) side sees the error promptly', async () => {
      const r = await killMiddle(false, true);
      timings['middle node killed (upload): client'] = `${r.client.ms} ms (${r.client.how})`;
      expect(r.client.cause).to.equal(ROUTE_LOST);
      expect(r.client.how).to.not.equal('end');
    });

    // The receiving tcp-client side of an upload sends nothing once the data stops, and only
    // dialling QUIC ends send keep-alives: unless it happened to send an ACK after the route
    // was gone, it notices at the QUIC idle timeout (30 s). Slow, so opt-in.
    (process.env.RECEPTOR_SLOW_TESTS ? it : it.skip)('upload only: the receiving side ends by the QUIC idle timeout (≤ 30 s)', async function () {
      this.timeout(60_000);
      const r = await killMiddle(false, false, 32_000);
      timings['middle node killed (upload): client / target'] = `${r.client.ms} ms (${r.client.how}) / ${r.target!.ms} ms (${r.target!.how})`;
      expect(r.target!.cause).to.be.oneOf([ROUTE_LOST, 'timeout: no recent network activity']);
    });
  });
});
