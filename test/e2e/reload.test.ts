/** `reload` end to end (config.md §7, control-service.md §4.5) on a real daemon. */
import {expect} from 'chai';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {Daemon, waitFor} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';
import {converse} from '../support/control.js';
import {freePort, portOpen} from '../support/ports.js';

describe('e2e: reload', function () {
  this.timeout(60_000);

  it('restarts backends from the file and refuses changes to other items with ERRORCODE 3/4', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const dir = tempFiles({});
    const sock = join(dir, 'n.sock');
    const cfg = join(dir, 'n.yml');
    const base = `- node:\n    id: r1\n- control-service:\n    filename: ${sock}\n- tcp-listener:\n    port: ${p1}\n    bindaddr: 127.0.0.1\n`;
    writeFileSync(cfg, base);
    const d = new Daemon(['-c', cfg]);
    try {
      await d.waitForLog('Initialization complete');
      const reload = async () => JSON.parse((await converse(sock, ['reload\n'])).split('\n')[1]);
      expect(await reload()).to.deep.equal({Success: true});

      writeFileSync(cfg, `${base}- tcp-listener:\n    port: ${p2}\n    bindaddr: 127.0.0.1\n`);
      expect(await reload()).to.deep.equal({Success: true});
      await waitFor(() => portOpen(p2), 10_000, () => `port ${p2} after reload`);
      expect(await portOpen(p1)).to.equal(true);

      writeFileSync(cfg, base.replace(`filename: ${sock}`, `filename: ${sock}\n    permissions: 0660`));
      expect(await reload()).to.deep.equal({
        Error: "a non-reloadable config action 'control-service' was modified or added. Must restart receptor for these changes to take effect ERRORCODE 3",
        Success: false,
      });
      writeFileSync(cfg, base.replace('- node:\n    id: r1\n', '- node:\n    id: r1\n- log-level: debug\n'));
      expect((await reload()).Error).to.match(/'log-level' was modified or added.*ERRORCODE 3$/);
      writeFileSync(cfg, `- control-service:\n    filename: ${sock}\n- tcp-listener:\n    port: ${p1}\n    bindaddr: 127.0.0.1\n`);
      expect(await reload()).to.deep.equal({
        Error: "a non-reloadable config action 'node' was removed. Must restart receptor for changes to take effect ERRORCODE 3",
        Success: false,
      });
      writeFileSync(cfg, `${base}- bogus-item:\n`);
      // Go's text only: no file/item location (that is for the CLI, not the reply).
      expect((await reload()).Error).to.equal('error loading config file: could not get config type for command bogus-item: unknown config type bogus-item ERRORCODE 4');
      writeFileSync(cfg, `${base}- tcp-listener:\n    port: notanint\n`);
      expect((await reload()).Error).to.equal('error loading config file: error setting field port in command tcp-listener: strconv.ParseInt: parsing "notanint": invalid syntax ERRORCODE 4');
      writeFileSync(cfg, `${base}- tcp-listener:\n    port: 1\n    bogusfield: 2\n`);
      expect((await reload()).Error).to.equal('error loading config file: field bogusfield not defined for command tcp-listener: unknown field name bogusfield ERRORCODE 4');
      writeFileSync(cfg, `${base}- tcp-listener\n`);
      expect((await reload()).Error).to.equal('error loading config file: error in tcp-listener: required parameter missing: port ERRORCODE 4');
      writeFileSync(cfg, `${base}- tcp-listener:\n    port: 70000\n`);
      expect((await reload()).Error).to.equal('listen tcp: address 70000: invalid port ERRORCODE 4');
      // A listener that cannot bind: Go's net error, without our item location.
      writeFileSync(cfg, `${base}- tcp-listener:\n    port: ${p1}\n    bindaddr: 127.0.0.1\n`);
      expect((await reload()).Error).to.equal(`listen tcp 127.0.0.1:${p1}: bind: address already in use ERRORCODE 4`);

      writeFileSync(cfg, base); // back to one listener: the second one goes away
      expect(await reload()).to.deep.equal({Success: true});
      await waitFor(async () => !(await portOpen(p2)), 10_000, () => `port ${p2} closed`);
    } finally {
      expect((await d.stop()).code).to.equal(0);
    }
  });

  it('a node started without a config file cannot reload', async () => {
    const dir = tempFiles({});
    const sock = join(dir, 'x.sock');
    const d = new Daemon(['--node', 'id=r2', '--local-only', '--control-service', `filename=${sock}`]);
    try {
      await d.waitForLog('Initialization complete');
      const out = await converse(sock, ['reload\n']);
      expect(out.split('\n')[1]).to.equal('{"Error":"no configuration file was provided, reload function not set ERRORCODE 4","Success":false}');
    } finally {
      await d.stop();
    }
  });
});
