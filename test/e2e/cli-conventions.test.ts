/**
 * The CLI's conventions, run for real through bin/run.js: help, -h, -v/--version,
 * did-you-mean (never waiting on a question without a terminal), shell completion scripts,
 * the --json error envelope with the same exit code as without --json, the short
 * `plugins --json`, and a node started Go-style without loading @oclif/core.
 */
import {expect} from 'chai';
import {spawn, spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import {BIN, childEnv, cliDirs, REPO_ROOT, runCli, runProgram, waitFor} from '../support/cli.js';
import {freePort, portOpen} from '../support/ports.js';

const has = (program: string) => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;

describe('e2e: CLI conventions', function () {
  this.timeout(60_000);
  let work: string;
  let env: Record<string, string>;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'receptor-cli-'));
    env = {...cliDirs(work), RECEPTORCTL_SOCKET: ''};
  });

  describe('help and version', () => {
    for (const args of [['help'], ['-h'], ['--help']]) {
      it(`receptor ${args.join(' ')} prints the root help`, async () => {
        const r = await runCli(args, {env});
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.include('USAGE\n  $ receptor [COMMAND]');
        expect(r.stdout).to.match(/TOPICS[\s\S]*work\s+Submit units of work/);
        expect(r.stdout).to.match(/COMMANDS[\s\S]*status\s+Show a node's view of the mesh/);
      });
    }

    it('receptor help work submit, work submit -h and work submit --help are the same command help', async () => {
      const outs = await Promise.all(
        [
          ['help', 'work', 'submit'],
          ['work', 'submit', '-h'],
          ['work', 'submit', '--help'],
        ].map((a) => runCli(a, {env})),
      );
      for (const r of outs) expect(r.code, r.stderr).to.equal(0);
      expect(outs[0].stdout).to.include('USAGE\n  $ receptor work submit WORKTYPE');
      expect(outs[1].stdout).to.equal(outs[0].stdout);
      expect(outs[2].stdout).to.equal(outs[0].stdout);
    });

    it('receptor work (a topic) lists its commands', async () => {
      const r = await runCli(['work'], {env});
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/work submit\s+Submit a unit of work/);
    });

    it('-v and --version print the version; --version --json an object; -v is not read as a config item', async () => {
      const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;
      for (const flag of ['-v', '--version']) {
        const r = await runCli([flag], {env});
        expect(r.code, r.stderr).to.equal(0);
        // Ours, then the Version our nodes report to receptorctl (README, Versions).
        expect(r.stdout.split('\n')[0]).to.match(new RegExp(`^receptor-mesh \\(this program\\) +${version.replace(/\./g, '\\.')}$`));
        expect(r.stdout.split('\n')[1]).to.match(/^reported as Version +\d+\.\d+\.\d+ /);
      }
      const j = await runCli(['--version', '--json'], {env});
      expect(JSON.parse(j.stdout)).to.include({version});
    });
  });

  describe('did you mean', () => {
    it('receptor stauts (no terminal): names the suggestion, exit 2, no question', async () => {
      const r = await runCli(['stauts'], {env, timeoutMs: 15_000});
      expect(r.code).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr).to.equal('Error: "stauts" is not a receptor command. Did you mean "status"? Run "receptor help" for a list of available commands.\n');
    });

    it('suggests within a topic, and nothing when nothing is close', async () => {
      const r = await runCli(['work', 'sbumit', '--json'], {env});
      expect(r.code).to.equal(2);
      expect(JSON.parse(r.stdout).error.message).to.include('Did you mean "work submit"?');
      const far = await runCli(['xyzzyplugh'], {env});
      expect(far.code).to.equal(2);
      expect(far.stderr).to.not.include('Did you mean');
    });

    it('on a terminal it asks (plugin-not-found) and runs the suggestion on yes', async function () {
      if (!has('script')) this.skip();
      const child = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} stauts`, '/dev/null'], {
        cwd: REPO_ROOT,
        env: childEnv({...env, CI: undefined}),
      }); // CI=true means never ask
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('close', r));
      await waitFor(
        () => out.includes('Did you mean'),
        15_000,
        () => `the question; output: ${out}`,
      );
      child.stdin.write('y\n');
      expect(await exited).to.equal(2); // `status` ran: it has no --socket
      expect(out).to.include('Missing required flag socket');
    });
  });

  describe('shell completion', () => {
    it('bash: the completion function completes commands, sub-commands and flags in a real bash', async function () {
      if (!has('bash')) this.skip();
      const inst = await runCli(['autocomplete', 'bash'], {env});
      expect(inst.code, inst.stderr).to.equal(0);
      expect(inst.stdout).to.include('receptor autocomplete script bash');
      const script = await runCli(['autocomplete', 'script', 'bash'], {env});
      expect(script.stdout).to.include(join(work, 'cache', 'autocomplete', 'bash_setup'));
      const complete = (line: string) =>
        `COMP_LINE=${JSON.stringify(line)}; read -ra COMP_WORDS <<< "$COMP_LINE"; [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); COMP_POINT=\${#COMP_LINE}; COMPREPLY=(); _receptor_autocomplete; printf '%s\\n' "[\${COMPREPLY[*]}]";`;
      const r = await runProgram('bash', ['-c', `${script.stdout.trim()}\n${complete('receptor work su')}${complete('receptor status --so')}${complete('receptor tracer')}`], {
        env,
      });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.split('\n').slice(0, 3)).to.deep.equal(['[submit]', '[--socket]', '[traceroute]']);
    });

    it('zsh: the completion function names every command', async () => {
      const r = await runCli(['autocomplete', 'zsh'], {env});
      expect(r.code, r.stderr).to.equal(0);
      const fn = readFileSync(join(work, 'cache', 'autocomplete', 'functions', 'zsh', '_receptor'), 'utf8');
      expect(fn).to.include('#compdef receptor');
      for (const c of ['status', 'traceroute', 'submit', 'makereq']) expect(fn).to.include(c);
    });

    it('fish: instructions, and a script that completes commands, sub-commands and flags in a real fish', async function () {
      const inst = await runCli(['autocomplete', 'fish'], {env});
      expect(inst.code, inst.stderr).to.equal(0);
      expect(inst.stdout).to.include('receptor autocomplete script fish > ~/.config/fish/completions/receptor.fish');
      const script = await runCli(['autocomplete', 'script', 'fish'], {env});
      expect(script.code, script.stderr).to.equal(0);
      expect(script.stdout).to.include("complete -c receptor -n '__receptor_at work' -a 'submit' -d 'Submit a unit of work'");
      expect(script.stdout).to.include("complete -c receptor -n '__receptor_in status' -l socket -s s -r -F");
      if (!has('fish')) this.skip();
      const file = join(work, 'receptor.fish');
      writeFileSync(file, script.stdout);
      const r = await runProgram(
        'fish',
        ['-c', `source ${file}; complete -C 'receptor work su'; complete -C 'receptor work submit --socket /x echo --fo'; complete -C 'receptor tracer'`],
        {env},
      );
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.split('\n').map((l) => l.split('\t')[0])).to.deep.equal(['submit', '--follow', 'traceroute', '']);
    });
  });

  describe('--json errors: the envelope, and the same exit code as without --json', () => {
    const cases: Array<{what: string; args: string[]; code: string; message: string | RegExp; exit: number}> = [
      {what: 'missing --socket', args: ['status'], code: 'E_USAGE', message: 'Missing required flag socket', exit: 2},
      {what: 'unknown flag', args: ['status', '--socket', '/nope.sock', '--bogus'], code: 'E_USAGE', message: 'Nonexistent flag: --bogus', exit: 2},
      {what: 'missing argument', args: ['work', 'submit', '--socket', '/nope.sock'], code: 'E_USAGE', message: 'Missing 1 required argument: worktype', exit: 2},
      {
        what: 'bad flag value',
        args: ['ping', 'x', '--socket', '/nope.sock', '--count', 'many'],
        code: 'E_USAGE',
        message: '--count: Expected an integer but received: many',
        exit: 2,
      },
      {what: 'unknown command', args: ['stauts'], code: 'E_USAGE', message: /Did you mean "status"\?/, exit: 2},
      {what: 'a plugin command (plugins install) missing its argument', args: ['plugins', 'install'], code: 'E_USAGE', message: 'Missing 1 required argument: plugin', exit: 2},
      {what: 'a command error (no such socket)', args: ['status', '--socket', '/nonexistent/receptor.sock'], code: 'E_CONNECT', message: /nonexistent\/receptor\.sock/, exit: 1},
    ];
    for (const c of cases) {
      it(c.what, async () => {
        const [plain, json] = await Promise.all([runCli(c.args, {env}), runCli([...c.args, '--json'], {env})]);
        expect(plain.code, plain.stderr).to.equal(c.exit);
        expect(json.code, json.stdout).to.equal(c.exit);
        expect(plain.stdout).to.equal('');
        expect(plain.stderr.split('\n')[0]).to.match(/^Error: /);
        expect(json.stderr).to.equal('');
        expect(json.stdout.trim().split('\n')).to.have.length(1);
        const body = JSON.parse(json.stdout) as {error: {code: string; message: string}};
        expect(Object.keys(body)).to.deep.equal(['error']);
        expect(Object.keys(body.error)).to.deep.equal(['code', 'message']);
        expect(body.error.code).to.equal(c.code);
        if (typeof c.message === 'string') expect(body.error.message).to.equal(c.message);
        else expect(body.error.message).to.match(c.message);
        expect(plain.stderr).to.include(body.error.message);
      });
    }
  });

  it('plugins --json is a short list: name, version, type, and the config keys a plugin registers', async () => {
    const r = await runCli(['plugins', '--json'], {env});
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.length).to.be.below(4000);
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    for (const p of list)
      expect(
        Object.keys(p).every((k) => ['name', 'version', 'type', 'root', 'configKeys'].includes(k)),
        JSON.stringify(p),
      ).to.equal(true);
    const self = list.find((p) => p.name === 'receptor-mesh');
    expect(self).to.deep.include({type: 'core'});
    expect(self!.configKeys).to.include.members(['tcp-listener', 'work-command', 'control-service']);
    expect(list.map((p) => p.name)).to.include.members(['@oclif/plugin-plugins', '@oclif/plugin-autocomplete', '@oclif/plugin-help']);
    const text = await runCli(['plugins'], {env});
    expect(text.stdout).to.equal('No plugins installed.\n');
  });

  it('a Go-style node (receptor --node id=x --tcp-listener port=N) starts without loading @oclif/core', async () => {
    const port = await freePort();
    const seen = join(work, 'modules.txt');
    const hooks = join(work, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import {appendFileSync} from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(seen)}, r.url + '\\n'); return r; }\n`,
    );
    writeFileSync(seen, '');
    const register = `data:text/javascript,import {register} from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`;
    const child = spawn(process.execPath, ['--import', register, BIN, '--node', 'id=x', '--tcp-listener', `port=${port}`], {cwd: REPO_ROOT, env: childEnv(env)});
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    try {
      await waitFor(
        () => stderr.includes('Initialization complete'),
        20_000,
        () => `the node to start; stderr: ${stderr}`,
      );
      expect(await portOpen(port)).to.equal(true);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).to.equal(0);
    const modules = readFileSync(seen, 'utf8');
    expect(modules).to.include('daemon-main.js'); // the hook saw the node's modules
    expect(modules).to.not.include('@oclif');
  });
});
