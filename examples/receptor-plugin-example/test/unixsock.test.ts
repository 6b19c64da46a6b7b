/** The unix-socket backend passes the public backend compliance suite of receptor-mesh. */
import {expect} from 'chai';
import {spawn} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs';
import {connect} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {backendCompliance, Endpoint, type MakePair} from 'receptor-mesh/testing';
import {UNIXSOCK_MAX_MESSAGE, UnixSockDialerBackend, UnixSockListenerBackend} from '../src/unixsock.js';
import {unixsockListenerType} from '../src/items.js';

const dir = mkdtempSync(join(tmpdir(), 'unixsock-'));
after(() => rmSync(dir, {recursive: true, force: true}));
let n = 0;

/** Writes `bytes` to the socket at `path` and resolves once the listener has dropped the connection. */
function rawWrite(path: string, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({path});
    const timer = setTimeout(() => reject(new Error('listener did not drop the raw connection')), 5_000);
    sock.on('connect', () => sock.write(bytes));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A process that listens on `path` and is then killed, so its socket file stays. */
async function crashedListener(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => console.log('up'))", path], {stdio: ['ignore', 'pipe', 'inherit']});
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`listener exited early (${code})`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

const makePair: MakePair = async (opts = {}) => ({
  listener: new UnixSockListenerBackend({path: opts.address ?? join(dir, `l${++n}.sock`)}),
  dialerFor: (path, o = {}) => new UnixSockDialerBackend({path, redial: o.redial ?? true, backoff: {initialMs: 10, maxMs: 50}}),
  supportsClose: true,
  maxMessageSize: UNIXSOCK_MAX_MESSAGE,
  addressPattern: /\.sock$/,
  garbage: [
    {name: 'zero-length frame', send: (path) => rawWrite(path, Buffer.alloc(4))},
    {name: 'oversize frame length', send: (path) => rawWrite(path, Buffer.from([0xff, 0xff, 0xff, 0xff]))},
  ],
});

backendCompliance('unixsock', makePair);

describe('unixsock specifics', () => {
  it('the socket file is private to its user by default, and a stale one is replaced', async () => {
    const path = join(dir, 'stale.sock');
    const first = new Endpoint();
    await first.start(new UnixSockListenerBackend({path}));
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    // A listener killed without closing leaves its file behind; nobody answers on it.
    await first.stop();
    await crashedListener(path);
    expect(existsSync(path), 'the dead listener left its socket file').to.equal(true);
    const second = new Endpoint();
    const running = await second.start(new UnixSockListenerBackend({path, permissions: 0o660}));
    expect(running.localAddress).to.equal(path);
    expect(statSync(path).mode & 0o777).to.equal(0o660);
    await second.stop();
  });

  it('validates the path and the costs of the listener item', () => {
    const values = {path: join(dir, 'x.sock'), permissions: 0o600, cost: 1, nodecost: {}, allowedpeers: []};
    expect(() => unixsockListenerType.validate!(values)).to.not.throw();
    expect(() => unixsockListenerType.validate!({...values, path: ''})).to.throw('path must not be empty');
    expect(() => unixsockListenerType.validate!({...values, path: `/${'x'.repeat(120)}`})).to.throw(/too long/);
    expect(() => unixsockListenerType.validate!({...values, cost: 0})).to.throw('connection cost must be positive');
    expect(unixsockListenerType.fields.map((f) => f.name)).to.deep.equal(['path', 'permissions', 'cost', 'nodecost', 'allowedpeers']);
  });
});
