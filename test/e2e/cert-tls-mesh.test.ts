/**
 * The README's TLS walk-through: a CA and two node certificates made with `receptor cert`,
 * a TLS mesh started with them, and a node refused at start-up when its certificate names
 * another node ID.
 */
import {expect} from 'chai';
import {execFileSync} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {Daemon, runCli, waitFor} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';
import {freePort} from '../support/ports.js';

describe('e2e: receptor cert + a TLS mesh', function () {
  this.timeout(120_000);
  const dir = tempFiles({});
  const f = (n: string) => join(dir, n);

  before(async () => {
    const ok = async (args: string[]) => {
      const r = await runCli(args, {cwd: dir});
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).to.equal(0);
      return r;
    };
    await ok(['cert', 'init', '--common-name', 'Receptor Test CA', '--bits', '2048', '--out-cert', 'ca.crt', '--out-key', 'ca.key']);
    for (const id of ['foo', 'bar']) {
      await ok([
        'cert',
        'makereq',
        '--common-name',
        id,
        '--bits',
        '2048',
        '--node-id',
        id,
        '--dns-name',
        'localhost',
        '--ip-address',
        '127.0.0.1',
        '--out-req',
        `${id}.csr`,
        '--out-key',
        `${id}.key`,
      ]);
      const signed = await ok(['cert', 'signreq', '--req', `${id}.csr`, '--ca-cert', 'ca.crt', '--ca-key', 'ca.key', '--out-cert', `${id}.crt`, '--verify', '--json']);
      expect(JSON.stringify(JSON.parse(signed.stdout))).to.include(id);
    }
  });

  it('openssl accepts the certificates and sees the node-ID SAN', () => {
    const text = execFileSync('openssl', ['x509', '-in', f('foo.crt'), '-noout', '-text'], {encoding: 'utf8'});
    expect(text).to.include('othername: 1.3.6.1.4.1.2312.19.1::foo');
    expect(execFileSync('openssl', ['verify', '-CAfile', f('ca.crt'), f('foo.crt'), f('bar.crt')], {encoding: 'utf8'})).to.include('bar.crt: OK');
  });

  it('two nodes link over TLS with these certificates', async () => {
    const port = await freePort();
    const sock = f('foo.sock');
    writeFileSync(
      f('foo.yml'),
      `- node:\n    id: foo\n- tls-server:\n    name: mesh\n    cert: ${f('foo.crt')}\n    key: ${f('foo.key')}\n    clientcas: ${f('ca.crt')}\n    requireclientcert: true\n- tcp-listener:\n    port: ${port}\n    bindaddr: 127.0.0.1\n    tls: mesh\n- control-service:\n    filename: ${sock}\n`,
    );
    writeFileSync(
      f('bar.yml'),
      `- node:\n    id: bar\n- tls-client:\n    name: mesh\n    cert: ${f('bar.crt')}\n    key: ${f('bar.key')}\n    rootcas: ${f('ca.crt')}\n- tcp-peer:\n    address: localhost:${port}\n    tls: mesh\n`,
    );
    const foo = new Daemon(['-c', f('foo.yml')]);
    await foo.waitForLog('Initialization complete');
    const bar = new Daemon(['-c', f('bar.yml')]);
    try {
      await waitFor(
        async () => (await runCli(['ping', 'bar', '--count', '1', '--socket', sock])).code === 0,
        30_000,
        () => 'ping bar over TLS',
      );
    } finally {
      await bar.stop();
      await foo.stop();
    }
  });

  it('a node whose certificate names another node ID refuses to start', async () => {
    writeFileSync(f('wrong.yml'), `- node:\n    id: baz\n- tls-server:\n    name: mesh\n    cert: ${f('foo.crt')}\n    key: ${f('foo.key')}\n- local-only:\n`);
    const r = await runCli(['-c', f('wrong.yml')]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(
      `Error: error preparing tls server config: nodeID=baz not found in certificate name(s); names found=[foo]; cfg section=mesh; server cert=${f('foo.crt')}`,
    );
  });
});
