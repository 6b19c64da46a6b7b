/**
 * End-to-end security checks against a real daemon (issue 16 part 6): the control service's
 * TLS listener refuses client certificates from another CA, expired or not yet valid (made with
 * `receptor cert`); signed work refuses unsigned, wrongly signed, expired, `alg: none`,
 * HS256-with-the-public-key and tampered tokens before anything is allocated or run; unit IDs
 * that are paths never reach outside the datadir; no secret the node or `receptor cert` writes
 * is readable by group or others, even under umask 000.
 */
import {expect} from 'chai';
import {createHmac, generateKeyPairSync} from 'node:crypto';
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, type Stats} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import tls from 'node:tls';
import {signWork} from '../../src/core/work/signing.js';
import {Daemon, runCli, waitFor, type CliResult} from '../support/cli.js';
import {freePorts} from '../support/ports.js';

const NODE = 'sec';
const GREETING = `Receptor Control, node ${NODE}\n`;

/** Runs `fn` with umask 000, so only the modes the code asks for protect the files. */
async function withOpenUmask<T>(fn: () => Promise<T>): Promise<T> {
  const old = process.umask(0);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

function ok(r: CliResult): CliResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** One control session: the request line, EOF, and everything the node wrote until it closed. */
function ask(socket: net.Socket, request: string | object): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let sent = false;
    socket.on('data', (d: Buffer) => {
      out += d.toString();
      if (!sent && out.includes('\n')) {
        sent = true;
        socket.end(`${typeof request === 'string' ? request : JSON.stringify(request)}\n`);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
  });
}

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** Every file and folder under `root` (relative path → stats). */
function tree(root: string): Map<string, Stats> {
  const out = new Map<string, Stats>();
  const walk = (rel: string) => {
    const st = statSync(join(root, rel));
    out.set(rel, st);
    if (st.isDirectory()) for (const n of readdirSync(join(root, rel))) walk(rel === '' ? n : join(rel, n));
  };
  walk('');
  return out;
}

/** Relative path, mode, size and content of every file under `root`, to compare before/after. */
function snapshot(root: string): string[] {
  return [...tree(root)].map(([rel, st]) => `${rel} ${st.mode.toString(8)} ${st.isFile() ? readFileSync(join(root, rel), 'utf8') : 'dir'} ${st.mtimeMs}`);
}

describe('e2e: security checks', function () {
  this.timeout(120_000);
  let dir: string;
  let dataDir: string;
  let unitsDir: string;
  let sock: string;
  let plainPort: number;
  let tlsPort: number;
  let daemon: Daemon | undefined;
  const key = (n: string) => join(dir, n);
  const marker = () => key('marker');
  const ranCount = () => (existsSync(marker()) ? readFileSync(marker(), 'utf8').split('\n').filter(Boolean).length : 0);
  const tokenFor = (priv: string, audience = NODE, now = new Date()) => signWork({privateKeyPath: key(priv), lifetimeMs: 5 * 60_000}, audience, now);
  const units = () => (existsSync(unitsDir) ? readdirSync(unitsDir) : []);

  before(async function () {
    this.timeout(240_000);
    dir = mkdtempSync(join(tmpdir(), 'receptor-sec-'));
    dataDir = join(dir, 'data');
    unitsDir = join(dataDir, NODE);
    sock = join(dir, 'ctl.sock');
    [plainPort, tlsPort] = await freePorts(2);
    await withOpenUmask(async () => {
      const certs = ['--bits', '2048'];
      await Promise.all([
        runCli(['cert', 'init', '--common-name', 'sec CA', ...certs, '--out-cert', key('ca.crt'), '--out-key', key('ca.key')]).then(ok),
        runCli(['cert', 'init', '--common-name', 'other CA', ...certs, '--out-cert', key('other.crt'), '--out-key', key('other.key')]).then(ok),
        runCli(['cert', 'makereq', '--common-name', NODE, '--node-id', NODE, '--ip-address', '127.0.0.1', ...certs, '--out-req', key('srv.csr'), '--out-key', key('srv.key')]).then(
          ok,
        ),
        runCli(['cert', 'makereq', '--common-name', 'client', '--node-id', 'client', ...certs, '--out-req', key('cli.csr'), '--out-key', key('cli.key')]).then(ok),
      ]);
      const sign = (req: string, ca: string, out: string, validity: string[] = []) =>
        runCli(['cert', 'signreq', '--req', key(req), '--ca-cert', key(`${ca}.crt`), '--ca-key', key(`${ca}.key`), '--out-cert', key(out), '--verify', ...validity]).then(ok);
      await Promise.all([
        sign('srv.csr', 'ca', 'srv.crt'),
        sign('cli.csr', 'ca', 'cli.crt'),
        sign('cli.csr', 'other', 'cli-other.crt'),
        sign('cli.csr', 'ca', 'cli-expired.crt', ['--not-before', '2020-01-01T00:00:00Z', '--not-after', '2021-01-01T00:00:00Z']),
        sign('cli.csr', 'ca', 'cli-future.crt', ['--not-before', '2099-01-01T00:00:00Z', '--not-after', '2100-01-01T00:00:00Z']),
      ]);
    });
    // RSA keys for signed work: the node verifies with good-pub; wrong-priv is someone else's.
    for (const name of ['good', 'wrong']) {
      const {publicKey, privateKey} = generateKeyPairSync('rsa', {modulusLength: 2048});
      writeFileSync(key(`${name}-priv.pem`), privateKey.export({type: 'pkcs1', format: 'pem'}), {mode: 0o600});
      writeFileSync(key(`${name}-pub.pem`), publicKey.export({type: 'spki', format: 'pem'}));
    }
    writeFileSync(key('mark.sh'), `#!/bin/sh\necho ran >> '${marker()}'\n`);
    chmodSync(key('mark.sh'), 0o755);
    // Decoys a path-like unit ID could reach: <datadir>/victim (a sibling of the units folder)
    // and <dir>/outside, both holding a status file that looks like a unit's.
    const status = JSON.stringify({State: 2, Detail: 'decoy', StdoutSize: 0, WorkType: 'echo', ExtraData: null});
    for (const d of [join(dataDir, 'victim'), key('outside')]) {
      mkdirSync(d, {recursive: true, mode: 0o700});
      writeFileSync(join(d, 'status'), status, {mode: 0o600});
      writeFileSync(join(d, 'stdout'), 'decoy output', {mode: 0o600});
    }
    chmodSync(dataDir, 0o700);
    const config = [
      `- node:\n    id: ${NODE}\n    datadir: ${dataDir}`,
      `- log-level: debug`,
      `- local-only:`,
      `- control-service:\n    service: control\n    filename: ${sock}\n    tcplisten: 127.0.0.1:${plainPort}`,
      `- tls-server:\n    name: ctltls\n    cert: ${key('srv.crt')}\n    key: ${key('srv.key')}\n    clientcas: ${key('ca.crt')}\n    requireclientcert: true`,
      `- control-service:\n    service: ctltls\n    tcplisten: 127.0.0.1:${tlsPort}\n    tcptls: ctltls`,
      `- work-verification:\n    publickey: ${key('good-pub.pem')}`,
      `- work-command:\n    worktype: marker\n    command: ${key('mark.sh')}\n    verifysignature: true`,
      `- work-command:\n    worktype: echo\n    command: cat`,
    ].join('\n');
    writeFileSync(key('node.yml'), `${config}\n`);
    daemon = await withOpenUmask(async () => new Daemon(['-c', key('node.yml')]));
    await daemon.waitForLog('Initialization complete', 60_000);
  });

  after(async () => {
    await daemon?.stop();
  });

  const overTcp = (request: string | object) => ask(net.connect(plainPort, '127.0.0.1'), request);
  const overUnix = (request: string | object) => ask(net.connect(sock), request);

  describe("the control service's TLS listener (certificates from `receptor cert`)", () => {
    /** Opens a TLS session with a client certificate; resolves with what the node sent, or the error. */
    function tlsSession(cert: string | undefined): Promise<{data: string; error?: string}> {
      return new Promise((resolve) => {
        let data = '';
        const s = tls.connect({
          host: '127.0.0.1',
          port: tlsPort,
          ca: readFileSync(key('ca.crt')),
          ...(cert ? {cert: readFileSync(key(cert)), key: readFileSync(key('cli.key'))} : {}),
        });
        s.on('data', (d: Buffer) => {
          data += d.toString();
          if (data.includes('\n')) s.end('status\n');
        });
        s.on('error', (e) => resolve({data, error: e.message}));
        s.on('close', () => resolve({data}));
      });
    }

    it('a client certificate from our CA gets the greeting (the refusals below are not vacuous)', async () => {
      const r = await tlsSession('cli.crt');
      expect(r.data).to.match(new RegExp(`^${GREETING}\\{"Advertisements"`));
    });

    for (const [what, cert, reason] of [
      ['no client certificate', undefined, "tls: client didn't provide a certificate"],
      ['a client certificate from another CA', 'cli-other.crt', 'tls: failed to verify certificate: x509: certificate signed by unknown authority'],
      ['an expired client certificate', 'cli-expired.crt', 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid'],
      ['a not-yet-valid client certificate', 'cli-future.crt', 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid'],
    ] as const) {
      it(`${what}: refused before the greeting, the reason logged`, async () => {
        const before = daemon!.logs().length;
        const r = await tlsSession(cert);
        expect(r.data).to.equal('');
        const line = await waitFor(
          () =>
            daemon!
              .logs()
              .slice(before)
              .find((l) => /^TLS handshake error: /.test(String(l.msg))),
          20_000,
          () => `TLS handshake error log for ${what}`,
        );
        expect(line.msg).to.equal(`TLS handshake error: ${reason}. Closing socket.`);
      });
    }
  });

  describe('signed work (work-verification, verifysignature)', () => {
    const submit = (signature?: string) => ({command: 'work', subcommand: 'submit', node: 'localhost', worktype: 'marker', ...(signature === undefined ? {} : {signature})});

    /** A refused submission: an ERROR reply, no unit allocated, nothing run, `work list` empty. */
    async function refused(signature: string | undefined, error: RegExp): Promise<void> {
      const reply = await overTcp(submit(signature));
      expect(reply.startsWith(GREETING)).to.equal(true);
      expect(reply.slice(GREETING.length)).to.match(error);
      expect(units()).to.deep.equal([]);
      expect(await overTcp({command: 'work', subcommand: 'list'})).to.equal(`${GREETING}{}\n`);
      expect(ranCount()).to.equal(0);
    }

    it('unsigned: refused', () => refused(undefined, /^ERROR: could not verify signature: signature is empty\n$/));
    it('an empty signature: refused', () => refused('', /^ERROR: could not verify signature: signature is empty\n$/));
    it('signed with another key: refused', () => refused(tokenFor('wrong-priv.pem'), /^ERROR: could not verify signature: crypto\/rsa: verification error\n$/));
    it('expired: refused with how long ago', () =>
      refused(tokenFor('good-priv.pem', NODE, new Date(Date.now() - 10 * 60_000)), /^ERROR: could not verify signature: token is expired by 5m[\d.]+s\n$/));
    it('for another node (audience): refused', () => refused(tokenFor('good-priv.pem', 'other'), /^ERROR: token audience did not match node ID\n$/));

    it('alg none (no signature): refused', () => {
      const claims = b64url(JSON.stringify({aud: [NODE], exp: Math.floor(Date.now() / 1000) + 300}));
      return refused(`${b64url('{"alg":"none","typ":"JWT"}')}.${claims}.`, /^ERROR: could not verify signature: 'none' signature type is not allowed\n$/);
    });

    it('HS256 keyed with the public key (algorithm confusion): refused', () => {
      const input = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify({aud: [NODE], exp: Math.floor(Date.now() / 1000) + 300}))}`;
      const mac = createHmac('sha256', readFileSync(key('good-pub.pem')))
        .update(input)
        .digest();
      return refused(`${input}.${b64url(mac)}`, /^ERROR: could not verify signature: key is of invalid type\n$/);
    });

    it('tampered claims (a valid token for another node, its audience rewritten): refused', () => {
      const [h, , s] = tokenFor('good-priv.pem', 'other').split('.');
      const claims = b64url(JSON.stringify({aud: [NODE], exp: Math.floor(Date.now() / 1000) + 300}));
      return refused(`${h}.${claims}.${s}`, /^ERROR: could not verify signature: crypto\/rsa: verification error\n$/);
    });

    it('a garbled token: refused', () => refused('not.a.token', /^ERROR: could not verify signature: /));

    it('a valid token runs the unit; replayed within its lifetime it runs again (Go checks expiry and audience only)', async () => {
      const token = tokenFor('good-priv.pem');
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const reply = await overTcp(submit(token));
        const m = /\{"result":"Job Started","unitid":"([a-zA-Z0-9]{8})"\}\n$/.exec(reply);
        expect(m, reply).to.not.equal(null);
        ids.push(m![1]!);
      }
      await waitFor(
        () => ranCount() === 2,
        30_000,
        () => `2 runs, have ${ranCount()}`,
        daemon,
      );
      // release needs a signature too over TCP; the unix socket skips verification (Go)
      expect(await overTcp({command: 'work', subcommand: 'release', unitid: ids[0]})).to.equal(`${GREETING}ERROR: could not verify signature: signature is empty\n`);
      for (const id of ids) expect(await overUnix(`work release ${id}`)).to.equal(`${GREETING}{"released":"${id}"}\n`);
      await waitFor(
        () => units().length === 0,
        20_000,
        () => `units released, have ${units().join(',')}`,
        daemon,
      );
    });
  });

  describe('unit IDs that are paths', () => {
    const IDS = ['../victim', '..', '.', 'a/b', '../../outside', 'a\u0000b', `../${'x'.repeat(100_000)}`, 'victim\n'];
    const subs = ['status', 'results', 'cancel', 'release', 'force-release', 'list'];

    it('every command refuses them as unknown units, on TCP and on the unix socket; nothing outside the datadir changes', async () => {
      const ids = [...IDS, join(dataDir, 'victim'), key('outside')];
      const before = [snapshot(join(dataDir, 'victim')), snapshot(key('outside'))];
      for (const send of [overTcp, overUnix]) {
        for (const sub of subs) {
          for (const id of ids) {
            const req = sub === 'results' ? {command: 'work', subcommand: sub, unitid: id, startpos: 0} : {command: 'work', subcommand: sub, unitid: id};
            const reply = await send(req);
            // one reply line: a newline in the ID is sent as a space
            expect(reply.slice(GREETING.length), `${sub} ${JSON.stringify(id).slice(0, 40)}`).to.equal(`ERROR: unknown work unit ${id.replace(/\n/g, ' ')}\n`);
            if (!id.includes('\n') && !id.includes('\u0000')) {
              // the text form too (receptorctl's)
              const text = await send(`work ${sub} ${id}${sub === 'results' ? ' 0' : ''}`);
              expect(text.slice(GREETING.length), `text ${sub} ${id.slice(0, 40)}`).to.equal(`ERROR: unknown work unit ${id}\n`);
            }
          }
        }
      }
      expect([snapshot(join(dataDir, 'victim')), snapshot(key('outside'))]).to.deep.equal(before);
      expect(units()).to.deep.equal([]);
      expect(await overUnix({command: 'work', subcommand: 'list'})).to.equal(`${GREETING}{}\n`);
    });

    it('submit cannot choose its unit ID: a unitid field is a work parameter, the ID stays random', async () => {
      const reply = await overUnix({command: 'work', subcommand: 'submit', node: 'localhost', worktype: 'echo', unitid: '../victim'});
      const m = /"unitid":"([a-zA-Z0-9]{8})"/.exec(reply);
      if (m) {
        expect(units()).to.deep.equal([m[1]]);
        expect(await overUnix(`work release ${m[1]}`)).to.equal(`${GREETING}{"released":"${m[1]}"}\n`);
      } else {
        expect(reply.slice(GREETING.length)).to.match(/^ERROR: /);
      }
      expect(readFileSync(join(dataDir, 'victim', 'stdout'), 'utf8')).to.equal('decoy output');
    });
  });

  describe('permissions (daemon and `receptor cert` under umask 000)', () => {
    it('the control socket is 0600 (Go: the permissions field, default 0600), its lock file 0600', () => {
      expect(statSync(sock).mode & 0o777).to.equal(0o600);
      expect(statSync(`${sock}.lock`).mode & 0o777).to.equal(0o600);
    });

    it('private keys and certificates written by `receptor cert` are 0600', () => {
      for (const f of ['ca.key', 'other.key', 'srv.key', 'cli.key', 'ca.crt', 'srv.crt', 'cli.crt', 'srv.csr']) {
        expect(statSync(key(f)).mode & 0o777, f).to.equal(0o600);
      }
    });

    it('unit folders are 0700 and every file in them 0600 (status, stdin, stdout, lock)', async () => {
      const reply = await overUnix({command: 'work', subcommand: 'submit', node: 'localhost', worktype: 'echo'});
      const id = /"unitid":"([a-zA-Z0-9]{8})"/.exec(reply)?.[1];
      expect(id, reply).to.be.a('string');
      await waitFor(
        () => /"State":2/.test(readFileSync(join(unitsDir, id!, 'status'), 'utf8')),
        30_000,
        () => 'unit succeeded',
        daemon,
      );
      const seen = tree(unitsDir);
      expect([...seen.keys()].filter((k) => k.startsWith(`${id}/`)).sort()).to.include.members([`${id}/status`, `${id}/stdin`, `${id}/stdout`, `${id}/status.lock`]);
      for (const [rel, st] of seen) expect(st.mode & 0o777, rel || unitsDir).to.equal(st.isDirectory() ? 0o700 : 0o600);
      expect(await overUnix(`work release ${id}`)).to.equal(`${GREETING}{"released":"${id}"}\n`);
    });
  });
});
