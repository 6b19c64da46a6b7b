/**
 * Packaging (packaging/, package.json "files"): `npm pack` of a fresh copy of the checkout,
 * `npm install -g` of the tarball into a temporary prefix, nodes started from that install,
 * the systemd units through `systemd-analyze verify`, and the Containerfile read and checked
 * against the same steps (no container engine runs here, so the image is never built).
 */
import {expect} from 'chai';
import {execFileSync} from 'node:child_process';
import {cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {basename, dirname, join} from 'node:path';
import {parse as parseYaml} from 'yaml';
import {Daemon, REPO_ROOT, runProgram, waitFor, type CliResult} from '../support/cli.js';
import {freePorts} from '../support/ports.js';

const CONTAINERFILE = join(REPO_ROOT, 'packaging', 'container', 'Containerfile');
const CONTAINER_CONF = join(REPO_ROOT, 'packaging', 'container', 'receptor.conf');
const UNITS = ['receptor.service', 'receptor@.service'];
/** What a release is packed from: the build stage of the Containerfile copies exactly these. */
const CHECKOUT_PATHS = ['package.json', 'package-lock.json', 'README.md', 'tsconfig.json', 'bin', 'scripts', 'src', 'examples', 'packaging/systemd'];
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {version: string}).version;

interface Instruction {
  op: string;
  args: string;
}

/** Containerfile instructions per stage (continuation lines joined, comments dropped). */
function containerStages(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of logical) {
    const [op, ...rest] = line.split(/\s+/);
    const ins = {op: op.toUpperCase(), args: rest.join(' ')};
    if (ins.op === 'FROM') stages.push([]);
    if (ins.op !== 'ARG' || stages.length > 0) stages[stages.length - 1]?.push(ins);
  }
  return stages;
}

const argsOf = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op).map((i) => i.args);
const execForm = (s: string) => JSON.parse(s) as string[];

/** The first item of a config file with this key (a YAML list of one-key maps). */
function item(file: string, key: string): Record<string, unknown> {
  const items = parseYaml(readFileSync(file, 'utf8')) as Array<Record<string, Record<string, unknown>>>;
  const found = items.find((it) => key in it);
  if (!found) throw new Error(`${file} has no ${key} item`);
  return found[key] ?? {};
}

/** A copy of `text` with each `[from, to]` replaced; fails when `from` is not in the text. */
function rewrite(text: string, pairs: Array<[string, string]>): string {
  for (const [from, to] of pairs) {
    expect(text, `expected ${JSON.stringify(from)} in the shipped file`).to.include(from);
    text = text.split(from).join(to);
  }
  return text;
}

/** The environment for npm: the test's own, less what an outer `npm test` exported. */
function npmEnv(): Record<string, string | undefined> {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry']);
  const env: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) if (/^npm_/i.test(k) && !keep.has(k.toLowerCase())) env[k] = undefined;
  // The installed CLI's `#!/usr/bin/env node` finds this Node.js first.
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  return env;
}

/** No registry: fail in seconds instead of npm's minutes of retries. */
const QUICK_FAIL = ['--fetch-retries=1', '--fetch-retry-mintimeout=1000', '--fetch-retry-maxtimeout=3000'];
const NO_PACKAGES = /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network/i;

describe('e2e: packaging', function () {
  this.timeout(240_000);

  describe('the Containerfile', () => {
    const stages = containerStages(readFileSync(CONTAINERFILE, 'utf8'));
    const [build, runtime] = stages;

    it('builds in two stages: npm pack of the checkout, then npm install -g of the tarball', () => {
      expect(stages).to.have.length(2);
      expect(argsOf(build, 'FROM')[0]).to.match(/^docker\.io\/library\/node:\$\{NODE_VERSION\}-bookworm-slim AS build$/);
      expect(argsOf(runtime, 'FROM')[0]).to.match(/^docker\.io\/library\/node:\$\{NODE_VERSION\}-bookworm-slim$/);
      // The build stage copies exactly what this suite packs from.
      const copied = argsOf(build, 'COPY').flatMap((a) => a.split(/\s+/).slice(0, -1));
      expect([...copied].sort()).to.deep.equal([...CHECKOUT_PATHS].sort());
      const buildRun = argsOf(build, 'RUN').join(' && ');
      expect(buildRun).to.match(/npm ci --ignore-scripts/);
      expect(buildRun).to.match(/npm pack --pack-destination \/pkg/);
      expect(argsOf(runtime, 'COPY')).to.include('--from=build /pkg/ /tmp/pkg/');
      expect(argsOf(runtime, 'RUN').join(' && ')).to.match(/npm install -g [^&]*\/tmp\/pkg\/receptor-mesh-\*\.tgz/);
    });

    it('runs as a non-root user, under tini, the node on the shipped configuration', () => {
      const users = argsOf(runtime, 'USER');
      expect(users).to.have.length(1);
      expect(users[0]).to.not.match(/^(root|0)(:|$)/);
      expect(argsOf(runtime, 'RUN').join(' && ')).to.include(`useradd --system`).and.include(` ${users[0]}`);
      const lastUser = runtime.findIndex((i) => i.op === 'USER');
      expect(
        runtime.slice(lastUser).some((i) => i.op === 'RUN'),
        'no RUN after USER',
      ).to.equal(false);
      expect(execForm(argsOf(runtime, 'ENTRYPOINT')[0])).to.deep.equal(['/usr/bin/tini', '--']);
      const cmd = execForm(argsOf(runtime, 'CMD')[0]);
      expect(cmd.slice(0, 2)).to.deep.equal(['receptor', '-c']);
      expect(argsOf(runtime, 'COPY')).to.include(`packaging/container/receptor.conf ${cmd[2]}`);
    });

    it('checks its health with receptor status on the control socket of that configuration; exposes its listener', () => {
      const socket = item(CONTAINER_CONF, 'control-service').filename;
      const health = argsOf(runtime, 'HEALTHCHECK');
      expect(health).to.have.length(1);
      const [, options, command] = /^(.*?)\s*CMD\s+(\[.*\])$/.exec(health[0]) ?? [];
      expect(options)
        .to.match(/--interval=\d+s/)
        .and.match(/--timeout=\d+s/);
      expect(execForm(command)).to.deep.equal(['receptor', 'status', '--socket', socket]);
      expect(argsOf(runtime, 'ENV')).to.include(`RECEPTORCTL_SOCKET=${socket}`);
      expect(argsOf(runtime, 'EXPOSE')).to.deep.equal([String(item(CONTAINER_CONF, 'tcp-listener').port)]);
    });
  });

  describe('the systemd units', () => {
    const conf = join(REPO_ROOT, 'packaging', 'systemd', 'receptor.conf');
    const unit = (name: string) => readFileSync(join(REPO_ROOT, 'packaging', 'systemd', name), 'utf8');
    const key = (text: string, k: string) => [...text.matchAll(new RegExp(`^${k}=(.*)$`, 'gm'))].map((m) => m[1]);

    it('run the node as user receptor on /etc/receptor/<name>.conf, in the folders the sample configuration names', () => {
      expect(key(unit('receptor.service'), 'ExecStart')).to.deep.equal(['/usr/local/bin/receptor -c /etc/receptor/receptor.conf']);
      expect(key(unit('receptor@.service'), 'ExecStart')).to.deep.equal(['/usr/local/bin/receptor -c /etc/receptor/%i.conf']);
      for (const name of UNITS) {
        const text = unit(name);
        expect(key(text, 'User'), name).to.deep.equal(['receptor']);
        expect(key(text, 'KillMode'), name).to.deep.equal(['process']);
        expect(key(text, 'RuntimeDirectoryPreserve'), name).to.deep.equal(['yes']);
        expect(`/run/${key(text, 'RuntimeDirectory')[0]}`, name).to.equal(dirname(String(item(conf, 'control-service').filename)));
        expect(`/var/lib/${key(text, 'StateDirectory')[0]}`, name).to.equal(item(conf, 'node').datadir);
      }
    });
  });

  describe('npm pack, npm install -g of the tarball, and the installed CLI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'receptor-pack-'));
    const checkout = join(dir, 'checkout');
    const prefix = join(dir, 'prefix');
    const installed = join(prefix, 'lib', 'node_modules', 'receptor-mesh');
    const receptor = join(prefix, 'bin', 'receptor');
    let tarball = '';
    const daemons: Daemon[] = [];
    const run = (args: string[], timeoutMs = 30_000): Promise<CliResult> => runProgram(receptor, args, {env: npmEnv(), cwd: dir, timeoutMs});

    before(async () => {
      // A fresh copy of the checkout without dist/ (as the Containerfile's build stage has it),
      // using this worktree's node_modules for the build tools.
      for (const p of CHECKOUT_PATHS) {
        cpSync(join(REPO_ROOT, p), join(checkout, p), {recursive: true, filter: (src) => !['dist', 'node_modules'].includes(basename(src))});
      }
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(checkout, 'node_modules'));
      expect(existsSync(join(checkout, 'dist')), 'no dist/ before npm pack').to.equal(false);
      const pack = await runProgram('npm', ['pack', '--pack-destination', dir], {cwd: checkout, env: npmEnv(), timeoutMs: 90_000});
      expect(pack.code, pack.stderr).to.equal(0);
      tarball = join(dir, `receptor-mesh-${VERSION}.tgz`);
      expect(existsSync(tarball), `${tarball} after npm pack:\n${pack.stdout}`).to.equal(true);
    });
    after(async () => {
      for (const d of daemons) await d.stop();
      rmSync(dir, {recursive: true, force: true});
    });

    it('npm pack builds dist/ itself and packs the CLI, the manifest and the units; no sources, tests or source maps', () => {
      const files = execFileSync('tar', ['-tzf', tarball], {encoding: 'utf8'})
        .split('\n')
        .filter(Boolean)
        .map((f) => f.replace(/^package\//, ''));
      // dist/testing is the public `receptor-mesh/testing` entry (the backend compliance suite).
      for (const f of [
        'bin/run.js',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/testing/index.js',
        'dist/testing/index.d.ts',
        'dist/daemon-main.js',
        'dist/work-runner-main.js',
        'oclif.manifest.json',
        'README.md',
        'package.json',
      ]) {
        expect(files, f).to.include(f);
      }
      expect(files.filter((f) => f.startsWith('packaging/')).sort()).to.deep.equal(['packaging/systemd/receptor.conf', ...UNITS.map((u) => `packaging/systemd/${u}`)].sort());
      const unwanted = files.filter((f) => /^(src|test|scripts|examples|bench)\/|\.map$|\.ts$(?<!\.d\.ts)|^bin\/dev\.js$|^tsconfig/.test(f));
      expect(unwanted).to.deep.equal([]);
      const size = readFileSync(tarball).length;
      expect(size, 'tarball bytes').to.be.below(1_000_000);
    });

    describe('installed into a temporary prefix', () => {
      before(async function () {
        const install = await runProgram('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', ...QUICK_FAIL, tarball], {
          cwd: dir,
          env: npmEnv(),
          timeoutMs: 90_000,
        });
        if (install.code !== 0 && NO_PACKAGES.test(install.stderr)) {
          const why = install.stderr.split('\n').find((l) => NO_PACKAGES.test(l)) ?? '';
          console.log(`    [packaging skipped] neither the registry nor the npm cache can supply the dependencies: ${why.trim()}`);
          this.skip();
        }
        expect(install.code, install.stderr).to.equal(0);
      });

      it('installs with production dependencies only and without running the build', async () => {
        const deps = readdirSync(join(installed, 'node_modules'));
        for (const dev of ['typescript', 'mocha', 'tsx', 'chai', 'fast-check']) expect(deps, dev).to.not.include(dev);
        expect(existsSync(join(installed, 'scripts')), 'the build script is not shipped (so prepare cannot have run)').to.equal(false);
        const v = await run(['--version']);
        expect(v.code, v.stderr).to.equal(0);
        expect(v.stdout.split('\n')[0]).to.match(new RegExp(`^receptor-mesh \\(this program\\) +${VERSION.replace(/\./g, '\\.')}$`));
        const help = await run(['--help']);
        expect(help.stdout).to.include(`receptor-mesh/${VERSION}`);
      });

      it('the package root (what backend plugins import) loads without dev dependencies; receptor-mesh/testing needs its peers mocha and chai', async () => {
        const load = (entry: string) =>
          runProgram(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(entry)}); console.log(Object.keys(m).sort().join(' '))`], {
            cwd: join(prefix, 'lib'),
            env: npmEnv(),
          });
        const main = await load('receptor-mesh');
        expect(main.code, main.stderr).to.equal(0);
        expect(main.stdout.split(' ')).to.include.members(['BaseSession', 'listenerItem', 'peerItem', 'startDialer', 'lookupTls']);
        // Nothing but the testing entry itself refers to it (the CLI and the daemon never load it).
        const js = (readdirSync(join(installed, 'dist'), {recursive: true}) as string[]).filter((f) => f.endsWith('.js') && !f.startsWith('testing/'));
        expect(js.filter((f) => /\btesting\/|['"]receptor-mesh\/testing['"]/.test(readFileSync(join(installed, 'dist', f), 'utf8')))).to.deep.equal([]);
        const testing = await load('receptor-mesh/testing');
        expect(testing.code).to.equal(1);
        expect(testing.stderr).to.match(/Cannot find package '(chai|mocha)'/);
      });

      it('a node started from the install (shipped sample configuration) answers a ping from a second node through its control socket', async () => {
        const [port] = await freePorts(1);
        const sock = join(dir, 'a.sock');
        // The shipped sample, with this machine's temporary paths and port.
        const sample = readFileSync(join(installed, 'packaging', 'systemd', 'receptor.conf'), 'utf8');
        writeFileSync(
          join(dir, 'a.conf'),
          rewrite(sample, [
            ['- node:\n', '- node:\n    id: alpha\n'],
            ['/var/lib/receptor', join(dir, 'data')],
            ['/run/receptor/receptor.sock', sock],
            ['port: 27199', `port: ${port}\n    bindaddr: 127.0.0.1`],
          ]),
        );
        writeFileSync(join(dir, 'b.conf'), `- node:\n    id: beta\n    datadir: ${join(dir, 'data')}\n- tcp-peer:\n    address: 127.0.0.1:${port}\n`);
        for (const c of ['a.conf', 'b.conf']) {
          const d = new Daemon(['-c', join(dir, c)], {bin: receptor, cwd: dir, env: npmEnv()});
          daemons.push(d);
          await d.waitForLog('Initialization complete');
        }
        const reply = await waitFor(
          async () => {
            const r = await run(['ping', 'beta', '--count', '1', '--json', '--socket', sock]);
            return r.code === 0 ? r.stdout : undefined;
          },
          20_000,
          () => 'a ping reply from beta',
        );
        const replies = JSON.parse(reply) as Array<Record<string, unknown>>;
        expect(replies).to.have.length(1);
        expect(replies[0]).to.deep.include({Success: true, From: 'beta'});
        const human = await run(['ping', 'beta', '--count', '1', '--socket', sock]);
        expect(human.stdout).to.match(/^Reply from beta in [0-9.]+(µs|ms)$/m);
        for (const d of daemons.splice(0)) expect((await d.stop('SIGTERM')).code, 'clean stop on SIGTERM (systemd, docker stop)').to.equal(0);
      });

      it("the container's HEALTHCHECK command passes while its node runs and fails once the node is gone", async () => {
        const [port] = await freePorts(1);
        const socket = String(item(CONTAINER_CONF, 'control-service').filename);
        const sock = join(dir, 'c.sock');
        const cfg = rewrite(readFileSync(CONTAINER_CONF, 'utf8'), [
          [socket, sock],
          [`port: ${item(CONTAINER_CONF, 'tcp-listener').port}`, `port: ${port}\n    bindaddr: 127.0.0.1`],
        ]);
        writeFileSync(join(dir, 'c.conf'), `${cfg}\n- node:\n    id: boxed\n    datadir: ${join(dir, 'data')}\n`);
        const check = await run(['config', 'check', '-c', join(dir, 'c.conf')]);
        expect(check.code, check.stderr).to.equal(0);
        const health = argsOf(containerStages(readFileSync(CONTAINERFILE, 'utf8'))[1], 'HEALTHCHECK')[0];
        const [program, ...args] = execForm(health.slice(health.indexOf('CMD') + 3).trim()).map((a) => (a === socket ? sock : a));
        expect(program).to.equal('receptor');
        const d = new Daemon(['-c', join(dir, 'c.conf')], {bin: receptor, cwd: dir, env: npmEnv()});
        daemons.push(d);
        await d.waitForLog('Initialization complete');
        const healthy = await run(args);
        expect(healthy.code, healthy.stderr).to.equal(0);
        expect(healthy.stdout).to.match(/Node ID:\s+boxed/);
        await d.stop('SIGTERM');
        const unhealthy = await run(args);
        expect(unhealthy.code).to.not.equal(0);
        expect(unhealthy.stderr).to.include(sock);
      });

      it('systemd-analyze verify accepts both units (ExecStart pointed at the installed CLI)', async function () {
        const which = await runProgram('sh', ['-c', 'command -v systemd-analyze'], {});
        if (which.code !== 0) {
          console.log('    [skipped] systemd-analyze is not installed');
          this.skip();
        }
        const units = join(dir, 'units');
        mkdirSync(units);
        for (const name of UNITS) {
          const text = readFileSync(join(installed, 'packaging', 'systemd', name), 'utf8');
          writeFileSync(join(units, name), rewrite(text, [['ExecStart=/usr/local/bin/receptor ', `ExecStart=${receptor} `]]));
        }
        const r = await runProgram('systemd-analyze', ['verify', ...UNITS.map((u) => join(units, u))], {cwd: units});
        // systemd-analyze exits 0 on unknown keys and bad values too; it says so on stderr.
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stderr.trim()).to.equal('');
        // ...and the check can fail: a unit with a bad key is reported.
        writeFileSync(join(units, 'bad.service'), rewrite(readFileSync(join(units, UNITS[0]), 'utf8'), [['KillMode=process', 'KillMode=processes']]));
        const bad = await runProgram('systemd-analyze', ['verify', join(units, 'bad.service')], {cwd: units});
        expect(bad.stderr).to.match(/kill mode/i);
      });
    });
  });
});
