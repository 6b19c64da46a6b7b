/** A 3-node mesh of our nodes driven only through the CLI client commands (bin/run.js). */
import {expect} from 'chai';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {GO_RECEPTOR_VERSION} from '../../src/core/version.js';
import {runCli, startDaemons, waitFor, type Daemon} from '../support/cli.js';
import {tempFiles} from '../support/config-fixtures.js';
import {freePort} from '../support/ports.js';

describe('e2e: 3-node mesh through the client commands', function () {
  this.timeout(90_000);
  const dir = tempFiles({});
  const sock = join(dir, 'foo.sock');
  const daemons: Daemon[] = [];

  before(async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    writeFileSync(join(dir, 'foo.yml'), `- node:\n    id: foo\n- tcp-listener:\n    port: ${p1}\n    bindaddr: 127.0.0.1\n- control-service:\n    filename: ${sock}\n`);
    writeFileSync(join(dir, 'bar.yml'), `- node:\n    id: bar\n- tcp-peer: 127.0.0.1:${p1}\n- ws-listener:\n    port: ${p2}\n    bindaddr: 127.0.0.1\n`);
    writeFileSync(join(dir, 'baz.yml'), `- node:\n    id: baz\n- ws-peer: ws://127.0.0.1:${p2}/\n- control-service:\n    service: control\n`);
    await startDaemons(
      ['foo', 'bar', 'baz'].map((n) => join(dir, `${n}.yml`)),
      daemons,
    );
    await waitFor(
      async () => {
        const r = await runCli(['status', '--json', '--socket', sock]);
        return r.code === 0 && JSON.parse(r.stdout).RoutingTable.baz === 'bar';
      },
      30_000,
      () => 'foo routes to baz',
    );
  });
  after(async () => {
    for (const d of daemons.reverse()) await d.stop();
  });

  it('status shows the neighbours, routes and link costs', async () => {
    const human = await runCli(['status', '--socket', sock]);
    expect(human.code).to.equal(0);
    expect(human.stdout).to.match(/Node ID:\s+foo/);
    expect(human.stdout).to.match(/baz\s+bar/);
    const json = JSON.parse((await runCli(['status', '--json', '--socket', sock])).stdout);
    expect(json.Connections).to.deep.equal([{NodeID: 'bar', Cost: 1}]);
    expect(json.KnownConnectionCosts).to.deep.equal({bar: {baz: 1, foo: 1}, baz: {bar: 1}, foo: {bar: 1}});
  });

  it('ping across two hops; a failed ping exits 2', async () => {
    const ok = await runCli(['ping', 'baz', '--count', '2', '--delay', '0.05', '--socket', sock]);
    expect(ok.code).to.equal(0);
    expect(ok.stdout.trim().split('\n')).to.have.length(2);
    expect(ok.stdout).to.match(/^Reply from baz in [0-9.]+(µs|ms)$/m);
    const bad = await runCli(['ping', 'nosuch', '--count', '1', '--socket', sock]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.equal('ERROR: no reply from nosuch: no route to node\n');
  });

  it('traceroute lists every hop; receptorctl option order works too', async () => {
    const r = await runCli(['--socket', sock, 'traceroute', 'baz']);
    expect(r.code).to.equal(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[1]),
    ).to.deep.equal(['foo', 'bar', 'baz']);
  });

  it("connect reaches baz's control service over the mesh (QUIC stream, 2 hops)", async () => {
    const r = await runCli(['connect', 'baz', 'control', '--socket', sock], {input: 'status\n'});
    expect(r.code, r.stderr).to.equal(0);
    const [greeting, reply] = r.stdout.split('\n');
    expect(greeting).to.equal('Receptor Control, node baz');
    expect(JSON.parse(reply).NodeID).to.equal('baz');
  });

  it('status lists the control services advertised across the mesh', async () => {
    const ads = await waitFor(
      async () => {
        const st = JSON.parse((await runCli(['status', '--json', '--socket', sock])).stdout);
        return st.Advertisements.length >= 2 ? st.Advertisements : undefined;
      },
      20_000,
      () => 'advertisements',
    );
    const baz = ads.find((a: {NodeID: string}) => a.NodeID === 'baz');
    expect(baz).to.deep.include({Service: 'control', ConnType: 1, Tags: {type: 'Control Service'}, WorkCommands: null});
  });

  it('version shows both sides; reload succeeds', async () => {
    const v = JSON.parse((await runCli(['version', '--json'], {env: {RECEPTORCTL_SOCKET: sock}})).stdout);
    expect(v.nodeId).to.equal('foo');
    expect(v.nodeVersion).to.equal(GO_RECEPTOR_VERSION);
    expect(v.nodeImplementation).to.equal(`receptor-mesh ${v.version}`);
    const r = await runCli(['reload', '--socket', sock]);
    expect(r.code).to.equal(0);
    expect(r.stdout.trim()).to.equal('Reload successful');
  });
});
