/**
 * Builds the client-go probe (test/support/kube-api/goprobe, client-go v0.29.3 as Go receptor
 * v1.4.9 links it) once per source version into the temp directory. Offline first (the module
 * cache), then through the configured module proxy (CI). Resolves to the binary, or to null after
 * printing one line saying why (no Go, modules missing): tests then skip.
 */
import {spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import {copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const SRC = join(dirname(fileURLToPath(import.meta.url)), 'goprobe');
const FILES = ['main.go', 'go.mod', 'go.sum'];
const BUILD_TIMEOUT_MS = 10 * 60_000;

let building: Promise<string | null> | undefined;
let skipReason = '';

/** Why buildGoProbe() resolved to null ('' when it did not). */
export function goProbeSkipReason(): string {
  return skipReason;
}

export function buildGoProbe(): Promise<string | null> {
  building ??= build().then(
    (bin) => bin,
    (err: Error) => {
      skipReason = err.message;
      console.log(`goprobe unavailable (client-go probe tests skip): ${skipReason}`);
      return null;
    },
  );
  return building;
}

interface Run {
  code: number | null;
  output: string;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    let output = '';
    let child;
    try {
      child = spawn(cmd, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']});
    } catch (err) {
      resolve({code: null, output: (err as Error).message});
      return;
    }
    const keep = (c: Buffer): void => {
      output = (output + c.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({code: null, output: err.message});
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({code, output});
    });
  });
}

async function build(): Promise<string> {
  const hash = createHash('sha256');
  for (const f of FILES) hash.update(f).update(readFileSync(join(SRC, f)));
  const dir = join(tmpdir(), `receptor-mesh-goprobe-${hash.digest('hex').slice(0, 16)}`);
  const bin = join(dir, 'goprobe');
  if (existsSync(bin)) return bin;

  const version = await run('go', ['version'], SRC, process.env, 60_000);
  if (version.code !== 0) throw new Error(`no usable Go toolchain (go version: ${version.output.trim() || `exit ${version.code}`})`);

  // Build from a private copy so `-mod=mod` can never rewrite the tracked go.mod/go.sum.
  const work = join(dir, `src-${process.pid}-${Date.now()}`);
  mkdirSync(work, {recursive: true});
  for (const f of FILES) copyFileSync(join(SRC, f), join(work, f));
  const tmpBin = join(work, 'goprobe');
  const attempts: Array<{label: string; env: NodeJS.ProcessEnv}> = [{label: 'offline', env: {...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off'}}];
  if (process.env.GOPROXY !== 'off') attempts.push({label: 'module proxy', env: {...process.env, GOFLAGS: '-mod=mod'}});
  const failures: string[] = [];
  try {
    for (const a of attempts) {
      const r = await run('go', ['build', '-o', tmpBin, '.'], work, a.env, BUILD_TIMEOUT_MS);
      if (r.code === 0 && existsSync(tmpBin)) {
        renameSync(tmpBin, bin);
        return bin;
      }
      failures.push(`${a.label}: ${r.output.trim().split('\n').slice(-3).join(' | ') || `exit ${r.code}`}`);
    }
  } finally {
    rmSync(work, {recursive: true, force: true});
  }
  throw new Error(`go build failed (${failures.join('; ')})`);
}

/** A kubeconfig for an http:// test server (client-go's BuildConfigFromFlags reads it). */
export function kubeconfigFor(server: string, namespace = 'default'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${server}`,
    'users:',
    '- name: test',
    '  user:',
    '    token: test-token',
    'contexts:',
    '- name: test',
    '  context:',
    '    cluster: test',
    '    user: test',
    `    namespace: ${namespace}`,
    'current-context: test',
    '',
  ].join('\n');
}
