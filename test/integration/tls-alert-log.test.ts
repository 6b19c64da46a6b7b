/**
 * A dialler whose client certificate the listener refuses learns it from a TLS alert (Go and
 * OpenSSL send one; Node's own listener just closes): it logs the alert in Go's words instead
 * of guessing at a duplicate node ID. The refusing side is `openssl s_server`, a real process.
 */
import {expect} from 'chai';
import {spawn, type ChildProcess} from 'node:child_process';
import {join} from 'node:path';
import {pino} from 'pino';
import {Netceptor} from '../../src/core/netceptor/node.js';
import {createCa, createCsr, signCsr} from '../../src/core/pki/x509.js';
import {TcpDialerBackend} from '../../src/plugins/backend-tcp/backend.js';
import {tempFiles} from '../support/config-fixtures.js';
import {FAST, until} from '../support/mesh.js';
import {freePort, portOpen} from '../support/ports.js';

interface Line {
  level: string;
  msg: string;
  [k: string]: unknown;
}

describe('TLS alert received by a dialler (integration, openssl s_server)', function () {
  this.timeout(60_000);
  let server: ChildProcess | undefined;
  let node: Netceptor | undefined;
  after(async () => {
    await node?.shutdown();
    server?.kill();
  });

  it('logs "TLS link to … refused by the peer: remote error: tls: unknown certificate authority"', async () => {
    const [ca, otherCa] = await Promise.all([createCa({commonName: 'mesh CA'}), createCa({commonName: 'untrusted CA'})]);
    const csr = await createCsr({commonName: 'leaf', ipAddresses: ['127.0.0.1'], nodeIds: ['A']});
    const srvCert = await signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.key});
    const cliCert = await signCsr({csrPem: csr.csrPem, caCertPem: otherCa.certPem, caKeyPem: otherCa.key});
    const dir = tempFiles({'srv.crt': srvCert.certPem, 'leaf.key': csr.keyPem, 'ca.crt': ca.certPem});
    const port = await freePort();
    // -verify_return_error: refuse an unverified client certificate with an alert, as Go does
    server = spawn(
      'openssl',
      [
        's_server',
        '-quiet',
        '-accept',
        `127.0.0.1:${port}`,
        '-Verify',
        '1',
        '-verify_return_error',
        '-CAfile',
        join(dir, 'ca.crt'),
        '-cert',
        join(dir, 'srv.crt'),
        '-key',
        join(dir, 'leaf.key'),
      ],
      {stdio: 'ignore'},
    );
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(port))) {
      if (Date.now() > deadline) throw new Error('openssl s_server did not listen');
      await new Promise((r) => setTimeout(r, 50));
    }

    const lines: Line[] = [];
    const logger = pino({level: 'debug', formatters: {level: (label) => ({level: label})}}, {write: (s: string) => void lines.push(JSON.parse(s) as Line)});
    node = new Netceptor({nodeId: 'B', logger, timings: FAST});
    await node.addMeshBackend(
      new TcpDialerBackend({address: `127.0.0.1:${port}`, backoff: {initialMs: 10, maxMs: 50}, tls: {ca: ca.certPem, cert: cliCert.certPem, key: csr.keyPem}}),
      {cost: 1},
    );
    const hit = await until(() => lines.find((l) => /^TLS link to /.test(l.msg)), 'the refusal line', 15_000);
    expect(hit.level).to.equal('warn');
    expect(hit.msg).to.equal(`TLS link to 127.0.0.1:${port} refused by the peer: remote error: tls: unknown certificate authority`);
    expect(lines.some((l) => /duplicate node ID/.test(l.msg))).to.equal(false);
  });
});
