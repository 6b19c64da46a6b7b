/**
 * Two nodes started from YAML with `receptor node start` link up over each backend, with
 * and without TLS (checked through the listener's control socket `status`).
 */
import {expect} from 'chai';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {createCa, createCsr, signCsr} from '../../src/core/pki/x509.js';
import {Daemon, waitFor} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';
import {converse} from '../support/control.js';
import {freePort} from '../support/ports.js';

type Case = {name: string; listener: (port: number) => string; peer: (port: number) => string; tls?: boolean};

const cases: Case[] = [
  {name: 'tcp', listener: (p) => `- tcp-listener:\n    port: ${p}\n    bindaddr: 127.0.0.1`, peer: (p) => `- tcp-peer:\n    address: 127.0.0.1:${p}`},
  {name: 'udp', listener: (p) => `- udp-listener:\n    port: ${p}\n    bindaddr: 127.0.0.1`, peer: (p) => `- udp-peer:\n    address: 127.0.0.1:${p}`},
  {name: 'ws', listener: (p) => `- ws-listener:\n    port: ${p}\n    bindaddr: 127.0.0.1`, peer: (p) => `- ws-peer:\n    address: ws://127.0.0.1:${p}/`},
  {
    name: 'tcp+tls',
    tls: true,
    listener: (p) => `- tcp-listener:\n    port: ${p}\n    bindaddr: 127.0.0.1\n    tls: srv`,
    peer: (p) => `- tcp-peer:\n    address: localhost:${p}\n    tls: cli`,
  },
  {
    name: 'wss',
    tls: true,
    listener: (p) => `- ws-listener:\n    port: ${p}\n    bindaddr: 127.0.0.1\n    tls: srv`,
    peer: (p) => `- ws-peer:\n    address: wss://localhost:${p}/\n    tls: cli`,
  },
];

describe('e2e: two nodes from YAML over each backend', function () {
  this.timeout(90_000);
  const dir = tempFiles({});
  const pem: Record<string, string> = {};

  before(async () => {
    const ca = await createCa({commonName: 'Test CA', bits: 2048});
    writeFileSync((pem.ca = join(dir, 'ca.crt')), ca.certPem);
    for (const id of ['foo', 'bar']) {
      const req = await createCsr({commonName: id, bits: 2048, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: [id]});
      writeFileSync((pem[`${id}.key`] = join(dir, `${id}.key`)), req.keyPem!);
      writeFileSync((pem[`${id}.crt`] = join(dir, `${id}.crt`)), signCsr({csrPem: req.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem}).certPem);
    }
  });

  for (const c of cases) {
    it(`${c.name}: bar links to foo`, async () => {
      const port = await freePort();
      const sock = join(dir, `foo-${c.name}.sock`);
      const tlsFoo = c.tls ? `\n- tls-server:\n    name: srv\n    cert: ${pem['foo.crt']}\n    key: ${pem['foo.key']}\n    clientcas: ${pem.ca}\n    requireclientcert: true` : '';
      const tlsBar = c.tls ? `\n- tls-client:\n    name: cli\n    cert: ${pem['bar.crt']}\n    key: ${pem['bar.key']}\n    rootcas: ${pem.ca}` : '';
      writeFileSync(join(dir, `foo-${c.name}.yml`), `- node:\n    id: foo\n- control-service:\n    filename: ${sock}\n${c.listener(port)}${tlsFoo}\n`);
      writeFileSync(join(dir, `bar-${c.name}.yml`), `- node:\n    id: bar\n${c.peer(port)}${tlsBar}\n`);
      const foo = new Daemon(['node', 'start', '-c', join(dir, `foo-${c.name}.yml`)]);
      await foo.waitForLog('Initialization complete');
      const bar = new Daemon(['node', 'start', '-c', join(dir, `bar-${c.name}.yml`)]);
      try {
        await bar.waitForLog('Connection established');
        const status = await waitFor(
          async () => {
            const st = JSON.parse((await converse(sock, ['status\n'])).split('\n')[1]);
            return st.RoutingTable.bar === 'bar' ? st : undefined;
          },
          20_000,
          () => 'foo routes to bar',
        );
        expect(status.Connections).to.deep.equal([{NodeID: 'bar', Cost: 1}]);
      } finally {
        expect((await bar.stop()).code).to.equal(0);
        expect((await foo.stop()).code).to.equal(0);
      }
    });
  }
});
