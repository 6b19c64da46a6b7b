/** `reload` end to end (config.md §7, control-service.md §4.5) on a real daemon. */
import {expect} from 'chai';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {Daemon, runCli, waitFor} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';
import {converse} from '../support/control.js';
import {freePort, freePorts, portOpen} from '../support/ports.js';

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
      await waitFor(
        () => portOpen(p2),
        10_000,
        () => `port ${p2} after reload`,
      );
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
      expect((await reload()).Error).to.equal(
        'error loading config file: error setting field port in command tcp-listener: strconv.ParseInt: parsing "notanint": invalid syntax ERRORCODE 4',
      );
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
      await waitFor(
        async () => !(await portOpen(p2)),
        10_000,
        () => `port ${p2} closed`,
      );
    } finally {
      expect((await d.stop()).code).to.equal(0);
    }
  });

  it('restarts only the items whose configuration changed: links of unchanged backends stay up', async function () {
    this.timeout(120_000);
    const [pl, px, px2, p3] = await freePorts(4);
    const dir = tempFiles({});
    const [sock1, sock2, sock3] = ['r1.sock', 'r2.sock', 'r3.sock'].map((f) => join(dir, f));
    const cfg = join(dir, 'r1.yml');
    const listener = (port: number, extra = '') => `- tcp-listener:\n    port: ${port}\n    bindaddr: 127.0.0.1\n${extra}`;
    const peer = (port: number) => `- tcp-peer:\n    address: 127.0.0.1:${port}\n`;
    // r2 dials r1's first listener: were that listener restarted, r2 would only come back after its redial delay.
    const head = `- node:\n    id: r1\n- control-service:\n    filename: ${sock1}\n` + listener(pl);
    const daemons: Daemon[] = [];
    const count = (d: Daemon, msg: string, peerId: string) => d.logs().filter((r) => r.msg === msg && r.peer === peerId).length;
    const reload = async () => JSON.parse((await converse(sock1, ['reload\n'])).split('\n')[1]);
    const ping = async (node: string) => JSON.parse((await runCli(['ping', node, '--count', '1', '--delay', '0', '--socket', sock1, '--json'])).stdout);
    try {
      writeFileSync(cfg, head + listener(px));
      const r1 = new Daemon(['-c', cfg]);
      const r2 = new Daemon(['--node', 'id=r2', '--tcp-peer', `address=127.0.0.1:${pl}`, '--control-service', `filename=${sock2}`]);
      const r3 = new Daemon(['--node', 'id=r3', '--tcp-listener', `port=${p3}`, 'bindaddr=127.0.0.1', '--control-service', `filename=${sock3}`]);
      daemons.push(r1, r2, r3);
      await Promise.all(daemons.map((d) => d.waitForLog('Initialization complete')));
      await waitFor(
        async () => (await ping('r2'))[0].Success === true,
        20_000,
        () => `r1 reaches r2\n${r1.stderr}`,
        r1,
      );

      // Three reloads of an unchanged file while r1 pings r2: no lost ping, the same connection.
      const loop = runCli(['ping', 'r2', '--count', '30', '--delay', '0.1', '--socket', sock1, '--json'], {timeoutMs: 60_000});
      let loopDone = false;
      void loop.then(() => (loopDone = true));
      for (let i = 0; i < 3; i++) expect(await reload()).to.deep.equal({Success: true});
      expect(loopDone, 'the ping loop was still running during the reloads').to.equal(false);
      const pings = await loop;
      const replies = JSON.parse(pings.stdout) as Array<{Success: boolean}>;
      expect(
        replies.filter((r) => r.Success !== true),
        pings.stdout,
      ).to.deep.equal([]);
      expect(replies).to.have.length(30);
      expect(pings.code).to.equal(0);
      expect(count(r1, 'Connection established', 'r2')).to.equal(1);
      expect(count(r1, 'Connection closed', 'r2')).to.equal(0);
      expect(r1.logs().filter((r) => /^Backend kept \(unchanged\)/.test(String(r.msg))).length).to.equal(6);
      expect(r1.logs().filter((r) => /^Backend (stopped|started)/.test(String(r.msg)))).to.deep.equal([]);

      // The other listener's port changes: that listener restarts, the link to r2 stays.
      writeFileSync(cfg, head + listener(px2));
      expect(await reload()).to.deep.equal({Success: true});
      await waitFor(
        () => portOpen(px2),
        10_000,
        () => `port ${px2} after reload`,
      );
      await waitFor(
        async () => !(await portOpen(px)),
        10_000,
        () => `port ${px} closed after reload`,
      );
      expect(await portOpen(pl)).to.equal(true);
      expect((await ping('r2'))[0].Success).to.equal(true);

      // A dialer is added: it connects.
      writeFileSync(cfg, head + listener(px2) + peer(p3));
      expect(await reload()).to.deep.equal({Success: true});
      await waitFor(
        () => count(r3, 'Connection established', 'r1') === 1,
        20_000,
        () => `r3 sees r1\n${r3.stderr}`,
      );
      await waitFor(
        async () => (await ping('r3'))[0].Success === true,
        20_000,
        () => 'r1 reaches r3',
        r1,
      );

      // A new item that fails to start: the reply says why, everything else keeps running.
      writeFileSync(cfg, head + listener(px2) + peer(p3) + listener(p3));
      expect((await reload()).Error).to.equal(`listen tcp 127.0.0.1:${p3}: bind: address already in use ERRORCODE 4`);
      expect((await ping('r3'))[0].Success).to.equal(true);

      // The dialer is removed: its link goes away.
      writeFileSync(cfg, head + listener(px2));
      expect(await reload()).to.deep.equal({Success: true});
      await waitFor(
        () => count(r3, 'Connection closed', 'r1') === 1,
        10_000,
        () => `r3 loses r1\n${r3.stderr}`,
      );
      expect(count(r1, 'Connection established', 'r2')).to.equal(1);
      expect(count(r1, 'Connection closed', 'r2')).to.equal(0);

      // The first listener's settings change (allowed peers): it restarts, and r2 dials it again.
      // (A second "Connection established" for r2 within a minute is a repeat, logged at debug.)
      writeFileSync(cfg, head.replace('bindaddr: 127.0.0.1\n', 'bindaddr: 127.0.0.1\n    allowedpeers: [r2]\n') + listener(px2));
      expect(await reload()).to.deep.equal({Success: true});
      await waitFor(
        () => count(r1, 'Connection closed', 'r2') === 1,
        10_000,
        () => `r1 drops r2\n${r1.stderr}`,
      );
      expect(r1.logs().filter((r) => r.msg === `Backend started: TCP listener on 127.0.0.1:${pl}`)).to.have.length(1);
      await waitFor(
        async () => (await ping('r2'))[0].Success === true,
        30_000,
        () => `r2 dials r1 again\n${r1.stderr}`,
        r1,
      );
      expect(await portOpen(px2)).to.equal(true);
    } finally {
      for (const d of daemons.reverse()) expect((await d.stop()).code).to.equal(0);
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
