/** Control-service transports: unix socket lock/replace/chmod, TCP, TLS (control-service.md §2). */
import {expect} from 'chai';
import {mkdtempSync, statSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import tls from 'node:tls';
import {createLogger} from '../../src/core/log.js';
import {listenTcp, listenUnix, parseTcpListen} from '../../src/core/control/listeners.js';
import {createCa, createCsr, signCsr} from '../../src/core/pki/x509.js';

const dir = () => mkdtempSync(join(tmpdir(), 'receptor-lst-'));
const greet = (s: net.Socket) => s.end('hello\n');

function readAll(s: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('control transports', function () {
  this.timeout(30_000);

  it('unix: creates the socket with the given mode and an empty 0600 lock file', async () => {
    const path = join(dir(), 'a.sock');
    const l = await listenUnix(path, 0o660, greet);
    expect(statSync(path).mode & 0o777).to.equal(0o660);
    expect(statSync(path).isSocket()).to.equal(true);
    expect(statSync(`${path}.lock`).mode & 0o777).to.equal(0o600);
    expect(statSync(`${path}.lock`).size).to.equal(0);
    expect(await readAll(net.connect(path))).to.equal('hello\n');
    await l.close();
  });

  it("unix: replaces a stale socket or file, refuses a live one with Go's message", async () => {
    const path = join(dir(), 'b.sock');
    writeFileSync(path, 'stale');
    const l = await listenUnix(path, 0o600, greet);
    let err: Error | undefined;
    await listenUnix(path, 0o600, greet).catch((e: Error) => (err = e));
    expect(err?.message).to.equal('error opening Unix socket: could not acquire lock on socket file: fslock is already locked');
    await l.close();
    const again = await listenUnix(path, 0o600, greet); // the old socket file is dead now
    await again.close();
  });

  it('unix: a path that cannot be created is an error naming the step', async () => {
    let err: Error | undefined;
    await listenUnix('/nonexistent-dir/x.sock', 0o600, greet).catch((e: Error) => (err = e));
    // Go's words, then the socket and the reason in ours (no mention of the .lock file).
    expect(err?.message).to.equal(
      'error opening Unix socket: could not acquire lock on socket file: no such file or directory (socket /nonexistent-dir/x.sock: the folder /nonexistent-dir does not exist)',
    );
  });

  it('tcplisten: bare port or host:port', () => {
    expect(parseTcpListen('2223')).to.deep.equal({host: '0.0.0.0', port: 2223});
    expect(parseTcpListen('127.0.0.1:2223')).to.deep.equal({host: '127.0.0.1', port: 2223});
    expect(parseTcpListen('[::1]:2223')).to.deep.equal({host: '::1', port: 2223});
    expect(() => parseTcpListen('x:y')).to.throw('error listening on TCP socket: invalid port "y"');
  });

  it('tcp: plain and TLS listeners; a TLS client half-closing without close_notify still gets its reply', async () => {
    const plain = await listenTcp('127.0.0.1:0', undefined, greet, createLogger('silent'));
    const [host, port] = [plain.address.split(':')[0], Number(plain.address.split(':')[1])];
    expect(await readAll(net.connect(port, host))).to.equal('hello\n');
    await plain.close();

    const ca = await createCa({commonName: 'ca', bits: 2048});
    const csr = await createCsr({commonName: 'srv', bits: 2048, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['foo']});
    const cert = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem});
    const echoAfterEnd = (s: net.Socket) => {
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('end', () => s.end(`got ${got}`));
    };
    const secure = await listenTcp('127.0.0.1:0', {cert: cert.certPem, key: csr.keyPem!}, echoAfterEnd, createLogger('silent'));
    const sport = Number(secure.address.split(':')[1]);
    // receptorctl half-closes with shutdown(SHUT_WR) on the raw socket: a TCP FIN, no close_notify.
    const raw = net.connect({port: sport, host: '127.0.0.1', allowHalfOpen: true});
    await new Promise((r) => raw.once('connect', r));
    const c = tls.connect({socket: raw, ca: ca.certPem, servername: 'localhost'});
    await new Promise((r) => c.once('secureConnect', r));
    const reply = readAll(c);
    await new Promise((r) => c.write('status', r));
    raw.end();
    expect(await reply).to.equal('got status');
    await secure.close();
  });

  it('tls: a client that never completes the handshake is disconnected at the deadline (Go: 10 s)', async () => {
    const ca = await createCa({commonName: 'ca', bits: 2048});
    const csr = await createCsr({commonName: 'srv', bits: 2048, dnsNames: ['localhost']});
    const cert = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem});
    const secure = await listenTcp('127.0.0.1:0', {cert: cert.certPem, key: csr.keyPem!}, greet, createLogger('silent'), 200);
    try {
      // A plaintext client (receptorctl with tcp:// on a TLS port) sends nothing and waits.
      const plain = net.connect({port: Number(secure.address.split(':')[1]), host: '127.0.0.1'});
      expect(await readAll(plain)).to.equal('');
    } finally {
      await secure.close();
    }
  });
});
