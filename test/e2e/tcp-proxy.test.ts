/** README's proxy walk-through: a TCP service on baz reached through foo's tcp-server across a 3-node mesh. */
import {expect} from 'chai';
import {createHash, randomBytes} from 'node:crypto';
import {writeFileSync} from 'node:fs';
import net from 'node:net';
import {join} from 'node:path';
import {startDaemons, waitFor, type Daemon} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';
import {freePort} from '../support/ports.js';

describe('e2e: tcp proxy through a 3-node mesh', function () {
  this.timeout(90_000);
  const daemons: Daemon[] = [];
  let echo: net.Server;
  let proxyPort: number;

  before(async () => {
    echo = net.createServer({allowHalfOpen: true}, (s) => {
      const h = createHash('sha256');
      s.on('data', (d) => h.update(d));
      s.on('end', () => s.end(h.digest('hex')));
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as net.AddressInfo).port;
    const [p1, p2] = [await freePort(), await freePort()];
    proxyPort = await freePort();
    const dir = tempFiles({});
    writeFileSync(
      join(dir, 'foo.yml'),
      `- node:\n    id: foo\n- tcp-listener:\n    port: ${p1}\n    bindaddr: 127.0.0.1\n- tcp-server:\n    port: ${proxyPort}\n    bindaddr: 127.0.0.1\n    remotenode: baz\n    remoteservice: sha\n`,
    );
    writeFileSync(join(dir, 'bar.yml'), `- node:\n    id: bar\n- tcp-peer: 127.0.0.1:${p1}\n- tcp-listener:\n    port: ${p2}\n    bindaddr: 127.0.0.1\n`);
    writeFileSync(join(dir, 'baz.yml'), `- node:\n    id: baz\n- tcp-peer: 127.0.0.1:${p2}\n- tcp-client:\n    service: sha\n    address: 127.0.0.1:${echoPort}\n`);
    await startDaemons(
      ['foo', 'bar', 'baz'].map((n) => join(dir, `${n}.yml`)),
      daemons,
    );
  });
  after(async () => {
    for (const d of daemons.reverse()) await d.stop();
    echo.close();
  });

  it('carries 8 MB to the service on baz and the reply back', async () => {
    const payload = randomBytes(8 << 20);
    const send = () =>
      new Promise<string>((resolve, reject) => {
        const c = net.connect({port: proxyPort, host: '127.0.0.1', allowHalfOpen: true});
        let out = '';
        c.on('data', (d) => (out += d));
        c.on('end', () => resolve(out));
        c.on('error', reject);
        c.end(payload);
      });
    // The first connection may race the routes settling: retry until it answers.
    const got = await waitFor(
      async () => (await send().catch(() => '')) || undefined,
      30_000,
      () => 'proxy answer',
    );
    expect(got).to.equal(createHash('sha256').update(payload).digest('hex'));
  });
});
