/**
 * Shared set-up for the control-service interop suites (receptorctl, our CLI, the raw line
 * protocol): one "world" per implementation, two nodes of the same configuration:
 *
 *   foo: unix control socket + `ctltcp` (plain TCP) + `ctltls` (TCP+TLS, client certificates
 *        required) control services, a tcp-listener, work-signing, four work types.
 *   bar: dials foo, work-verification, a verifying work type `secure`.
 *
 * Plus the output normalisation the suites compare with (unit IDs, times, durations, memory,
 * versions, PIDs) and a runner for receptorctl.
 */
import {expect} from 'chai';
import {execFileSync} from 'node:child_process';
import {generateKeyPairSync} from 'node:crypto';
import {existsSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {createCa, createCsr, signCsr} from '../../src/core/pki/x509.js';
import {waitFor} from '../support/cli.js';
import {freePort, portOpen} from '../support/ports.js';
import {InteropNode, controlRequest, goImpl, goRefs, meshStatus, run, tempDir, waitRoutes, type Impl, type RunResult} from './support.js';

export interface Pki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** RSA key pair for work signing (made with openssl when it is installed). */
  signKey: string;
  verifyKey: string;
}

/** A CA, a server certificate (localhost, 127.0.0.1, node foo), a client certificate, a signing key pair. */
export async function makePki(): Promise<Pki> {
  const dir = tempDir('receptor-interop-pki-');
  const ca = await createCa({commonName: 'interop CA', bits: 2048});
  const srv = await createCsr({commonName: 'foo', bits: 2048, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['foo']});
  const srvCert = signCsr({csrPem: srv.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem});
  const cli = await createCsr({commonName: 'client', bits: 2048, dnsNames: ['client']});
  const cliCert = signCsr({csrPem: cli.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem});
  const p: Pki = {
    dir,
    ca: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    signKey: join(dir, 'signing.pem'),
    verifyKey: join(dir, 'verify.pem'),
  };
  writeFileSync(p.ca, ca.certPem);
  writeFileSync(p.serverCert, srvCert.certPem);
  writeFileSync(p.serverKey, srv.keyPem);
  writeFileSync(p.clientCert, cliCert.certPem);
  writeFileSync(p.clientKey, cli.keyPem);
  try {
    execFileSync('openssl', ['genrsa', '-out', p.signKey, '2048'], {stdio: 'ignore'});
    execFileSync('openssl', ['rsa', '-in', p.signKey, '-pubout', '-out', p.verifyKey], {stdio: 'ignore'});
  } catch {
    const kp = generateKeyPairSync('rsa', {modulusLength: 2048});
    writeFileSync(p.signKey, kp.privateKey.export({type: 'pkcs8', format: 'pem'}));
    writeFileSync(p.verifyKey, kp.publicKey.export({type: 'spki', format: 'pem'}));
  }
  return p;
}

/**
 * The Go binary the client suites compare with: v1.4.9 (the version this project follows) when
 * installed, else the first one. The raw-protocol suite, being cheap, runs against all of them.
 */
export function primaryGo(): Impl[] {
  const refs = goRefs();
  const pick = refs.find((g) => g.label === 'v1.4.9') ?? refs[0];
  return pick ? [goImpl(pick)] : [];
}

const FOO_ADVERTISED = [
  {WorkType: 'echo', Secure: false},
  {WorkType: 'sleep', Secure: false},
  {WorkType: 'echoargs', Secure: false},
  {WorkType: 'fail', Secure: false},
];
const BAR_ADVERTISED = [
  {WorkType: 'echo', Secure: false},
  {WorkType: 'secure', Secure: true},
  {WorkType: 'sleep', Secure: false},
];
const controlAd = (node: string, service: string, work: object[]) => ({
  NodeID: node,
  Service: service,
  Time: '<time>',
  ConnType: 1,
  Tags: {type: 'Control Service'},
  WorkCommands: work,
});

/**
 * foo's `status` of a converged world, normalised (advertisements sorted, see {@link sortAds}),
 * with its keys in Go's order: top-level sorted, struct fields in declaration order.
 */
export const WORLD_STATUS = {
  Advertisements: [
    controlAd('bar', 'control', BAR_ADVERTISED),
    controlAd('foo', 'control', FOO_ADVERTISED),
    controlAd('foo', 'ctltcp', FOO_ADVERTISED),
    controlAd('foo', 'ctltls', FOO_ADVERTISED),
  ],
  Connections: [{NodeID: 'bar', Cost: 1}],
  KnownConnectionCosts: {bar: {foo: 1}, foo: {bar: 1}},
  NodeID: 'foo',
  RoutingTable: {bar: 'bar'},
  SystemCPUCount: '<n>',
  SystemMemoryMiB: '<n>',
  Version: '<version>',
};

/** Two nodes of one implementation. */
export class World {
  readonly dir = tempDir('receptor-interop-ctl-');
  foo!: InteropNode;
  bar!: InteropNode;
  tcpPort = 0;
  tlsPort = 0;
  meshPort = 0;
  /** Unit IDs seen in this world → the label they are normalised to. */
  readonly ids = new Map<string, string>();

  constructor(
    readonly impl: Impl,
    readonly pki: Pki,
  ) {}

  get label(): string {
    return this.impl.label;
  }

  async start(): Promise<this> {
    [this.tcpPort, this.tlsPort, this.meshPort] = [await freePort(), await freePort(), await freePort()];
    const p = this.pki;
    this.foo = new InteropNode(this.impl, 'foo', this.dir, {
      items: [
        {'tls-server': {name: 'srv', cert: p.serverCert, key: p.serverKey, clientcas: p.ca, requireclientcert: true}},
        {'control-service': {service: 'ctltcp', tcplisten: `127.0.0.1:${this.tcpPort}`}},
        {'control-service': {service: 'ctltls', tcplisten: `127.0.0.1:${this.tlsPort}`, tcptls: 'srv'}},
        {'tcp-listener': {port: this.meshPort, bindaddr: '127.0.0.1'}},
        {'work-signing': {privatekey: p.signKey, tokenexpiration: '1h'}},
        // Not in alphabetical order: advertisements keep the configuration's order.
        {'work-command': {worktype: 'echo', command: 'cat'}},
        {'work-command': {worktype: 'sleep', command: 'sleep', allowruntimeparams: true}},
        {'work-command': {worktype: 'echoargs', command: 'echo', allowruntimeparams: true}},
        {'work-command': {worktype: 'fail', command: 'sh', params: '-c "echo failing; exit 3"'}},
      ],
    });
    this.bar = new InteropNode(this.impl, 'bar', this.dir, {
      items: [
        {'tcp-peer': {address: `127.0.0.1:${this.meshPort}`}},
        {'work-verification': {publickey: p.verifyKey}},
        {'work-command': {worktype: 'echo', command: 'cat'}},
        {'work-command': {worktype: 'secure', command: 'cat', verifysignature: true}},
        {'work-command': {worktype: 'sleep', command: 'sleep', allowruntimeparams: true}},
      ],
    });
    await this.foo.start();
    // bar dials at once: Go sends its first service advertisements 5 s after start and then
    // only every 60 s, so an advertisement sent before the link is up is lost for a minute.
    await waitFor(
      () => portOpen(this.meshPort),
      30_000,
      () => `${this.foo.describe()} to listen on ${this.meshPort}`,
    );
    await this.bar.start();
    try {
      await this.converged(20_000);
    } catch {
      // The link came up too late for bar's first advertisement: start bar again.
      await this.bar.stop();
      await this.bar.start();
      await this.converged();
    }
    return this;
  }

  /** Waits until both nodes route to each other and foo knows bar's control service. */
  async converged(timeoutMs = 30_000): Promise<void> {
    await waitRoutes(this.foo, ['bar'], timeoutMs);
    await waitRoutes(this.bar, ['foo'], timeoutMs);
    await waitFor(
      async () => {
        const s = await meshStatus(this.foo.sock).catch(() => undefined);
        return s?.Advertisements?.some((a) => a.NodeID === 'bar' && a.Service === 'control') ?? false;
      },
      timeoutMs,
      () => `${this.foo.describe()} to learn bar's control service\n${this.foo.stderr.slice(-3000)}`,
    );
  }

  async stop(): Promise<void> {
    await Promise.all([this.foo?.stop(), this.bar?.stop()]);
  }

  /** Records a unit ID under a label (normalised to `<label>`; a label may name several units). */
  name(id: string, label: string): string {
    if (!/^[A-Za-z0-9]{8}$/.test(id)) throw new Error(`${this.label}: not a unit ID: ${JSON.stringify(id)}`);
    this.ids.delete(id);
    this.ids.set(id, label);
    return id;
  }

  /** The unit ID recorded last under `label`. */
  id(label: string): string {
    const hit = [...this.ids].reverse().find(([, l]) => l === label);
    if (!hit) throw new Error(`${this.label}: no unit labelled ${label}`);
    return hit[0];
  }

  /** Names the unit ID the first capture group of `re` finds in `text`. */
  learn(text: string, re: RegExp, label: string): string {
    const m = re.exec(text);
    if (!m) throw new Error(`${this.label}: no unit ID (${re}) in ${JSON.stringify(text)}`);
    return this.name(m[1], label);
  }

  /** Names every unit foo knows that has no label yet `label`. */
  async nameRest(label: string): Promise<void> {
    const list = JSON.parse(await controlRequest(this.foo.sock, 'work list', {lines: 1})) as Record<string, unknown>;
    for (const id of Object.keys(list)) if (!this.ids.has(id)) this.name(id, label);
  }

  /** The remote unit ID (on bar) behind foo's remote unit `label`, recorded as `<label>.remote`. */
  async nameRemote(label: string): Promise<string> {
    const reply = await controlRequest(this.foo.sock, `work status ${this.id(label)}`, {lines: 1});
    const remote = (JSON.parse(reply) as {ExtraData: {RemoteUnitID: string}}).ExtraData.RemoteUnitID;
    return this.name(remote, `${label}.remote`);
  }

  /** Replaces recorded unit IDs by their labels. */
  normIds(text: string): string {
    let out = text;
    for (const [id, label] of this.ids) out = out.split(id).join(`<${label}>`);
    return out;
  }
}

/** Go duration texts (`850ns`, `12.5µs`, `1.2ms`, `1m2.5s`). */
const DURATION = String.raw`\d+(?:\.\d+)?(?:ns|µs|us|ms|s|m\d+(?:\.\d+)?s|h\d+m\d+(?:\.\d+)?s)`;

/** Normalises what changes between runs and implementations (not unit IDs: see World.normIds). */
export function normVolatile(text: string): string {
  return text
    .replace(new RegExp(`\\bin ${DURATION}`, 'g'), 'in <dur>')
    .replace(/"TimeStr": ?"[^"]*"/g, (m) => m.replace(/"[^"]*"$/, '"<dur>"'))
    .replace(/"Time": ?"[^"]*"/g, (m) => m.replace(/"[^"]*"$/, '"<time>"'))
    .replace(/"Time": ?\d+/g, (m) => m.replace(/\d+$/, '"<ns>"'))
    .replace(/"Expiration": ?"(?!0001-01-01T00:00:00Z)[^"]*"/g, (m) => m.replace(/"[^"]*"$/, '"<time>"'))
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, '<time>')
    .replace(/^(Version: +).*$/gm, '$1<version>')
    .replace(/^(receptor {5}).*$/gm, '$1<version>')
    .replace(/"Version": ?"[^"]*"/g, (m) => m.replace(/"[^"]*"$/, '"<version>"'))
    .replace(/^(System CPU Count: |System Memory MiB: )\d+$/gm, '$1<n>')
    .replace(/"(SystemCPUCount|SystemMemoryMiB)": ?\d+/g, (m) => m.replace(/\d+$/, '"<n>"'))
    .replace(/PID \d+/g, 'PID <pid>')
    .replace(/"Pid": ?\d+/g, (m) => m.replace(/\d+$/, '"<pid>"'))
    .replace(/_ssl\.c:\d+/g, '_ssl.c:<n>');
}

/**
 * receptorctl's `status` table lists advertisements (and the work types taken from them) in the
 * order of the node's reply, which Go does not keep stable: sort the rows of those blocks.
 */
export function sortStatusBlocks(text: string): string {
  const blocks = text.split('\n\n');
  return blocks
    .map((b) => {
      const lines = b.split('\n');
      if (!/^Node +(Service|Work Types|Secure Work Types)/.test(lines[0])) return b;
      const trail = lines[lines.length - 1] === '' ? [''] : [];
      const rows = lines.slice(1, trail.length ? -1 : undefined).sort();
      return [lines[0], ...rows, ...trail].join('\n');
    })
    .join('\n\n');
}

/** Sorts `Advertisements` of a status object (Go map order) by node and service. */
export function sortAds<T extends {Advertisements?: Array<{NodeID: string; Service: string}> | null}>(s: T): T {
  s.Advertisements?.sort((a, b) => (a.NodeID + '\0' + a.Service < b.NodeID + '\0' + b.Service ? -1 : a.NodeID + '\0' + a.Service > b.NodeID + '\0' + b.Service ? 1 : 0));
  return s;
}

export const VERSION_WARNING = 'Warning: receptorctl and receptor are different versions, they may not be compatible';

export interface CtlResult extends RunResult {
  /** Whether receptorctl printed the version-mismatch warning (removed from stderr). */
  warned: boolean;
}

/**
 * Runs receptorctl (`bin`) with `--socket` and the given arguments. With `tty`, its standard
 * input is a terminal holding that text (see {@link runWithTtyStdin}).
 */
export async function receptorctl(
  bin: string,
  socket: string,
  args: string[],
  opts: {input?: string | Buffer; tty?: string; timeoutMs?: number; global?: string[]} = {},
): Promise<CtlResult> {
  const argv = ['--socket', socket, ...(opts.global ?? []), ...args];
  const r =
    opts.tty !== undefined
      ? await runWithTtyStdin(pythonOf(bin), opts.tty, [bin, ...argv], opts.timeoutMs)
      : await run(bin, argv, {input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000});
  const lines = r.stderr.split('\n');
  const warned = lines.includes(VERSION_WARNING);
  return {...r, warned, stderr: lines.filter((l) => l !== VERSION_WARNING).join('\n')};
}

/** Python of the receptorctl venv `bin` lives next to it. */
export function pythonOf(receptorctlBin: string): string {
  const py = join(receptorctlBin, '..', 'python');
  if (!existsSync(py)) throw new Error(`no python next to ${receptorctlBin}`);
  return py;
}

/**
 * Runs a command whose standard input is a pseudo-terminal already holding `input`
 * (receptorctl `connect` needs a terminal on stdin: it calls tcgetattr). Echo is off, so
 * stdout is only what the command writes. Uses the receptorctl venv's Python `pty` module.
 */
export function runWithTtyStdin(python: string, input: string, cmd: string[], timeoutMs = 60_000): Promise<RunResult> {
  const script = [
    'import os, pty, subprocess, sys, termios',
    'master, slave = pty.openpty()',
    'attrs = termios.tcgetattr(slave)',
    'attrs[3] &= ~termios.ECHO',
    'termios.tcsetattr(slave, termios.TCSANOW, attrs)',
    'os.write(master, sys.argv[1].encode())',
    'p = subprocess.Popen(sys.argv[2:], stdin=slave)',
    'os.close(slave)',
    'sys.exit(p.wait())',
  ].join('\n');
  return run(python, ['-c', script, input, ...cmd], {timeoutMs});
}

/** What one client run produced. */
export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Expected {
  code?: number;
  /** A string, or an object: stdout is then parsed as JSON (advertisements sorted). */
  stdout?: string | object;
  stderr?: string;
}

export interface CompareOptions {
  /** Records unit IDs from the raw outcome before it is normalised. */
  learn?: (w: World, r: Outcome) => void | Promise<void>;
  /** Sort the rows of receptorctl's status table blocks (advertisement order is Go map order). */
  statusTable?: boolean;
  /** Sort stdout lines after the first (e.g. release --all goes through the units in ID order). */
  sortTail?: boolean;
  /** Sort all stdout lines (e.g. a list of unit IDs). */
  sortLines?: boolean;
  /**
   * Drop a leading greeting line from stdout. receptorctl `connect` reads `Connecting` through a
   * buffered file and then relays from the raw socket, so a greeting that arrived in the same
   * segment as `Connecting` is swallowed: whether it shows depends on timing, not on the node.
   */
  dropGreeting?: boolean;
  /** More normalisation (after unit IDs and {@link normVolatile}). */
  norm?: (text: string) => string;
}

/**
 * Runs one client command against every world at once, normalises each outcome and checks it
 * equals `exp` (so, with Go present, Go's and ours equal each other too).
 */
export async function compareAcross(worlds: World[], what: string, runOne: (w: World) => Promise<Outcome>, exp: Expected, opts: CompareOptions = {}): Promise<void> {
  const actual: Record<string, unknown> = {};
  const expected: Record<string, unknown> = {};
  await Promise.all(
    worlds.map(async (w) => {
      const r = await runOne(w);
      await opts.learn?.(w, r);
      const norm = (s: string) => {
        const t = normVolatile(w.normIds(s)).replaceAll(`port ${w.tcpPort}`, 'port <tcp>').replaceAll(`port ${w.tlsPort}`, 'port <tls>');
        return opts.norm ? opts.norm(t) : t;
      };
      let stdout: unknown = norm(r.stdout);
      if (opts.statusTable) stdout = sortStatusBlocks(stdout as string);
      if (opts.dropGreeting) stdout = (stdout as string).replace(/^Receptor Control, node [^\n]*\n/, '');
      if (opts.sortLines)
        stdout = (stdout as string)
          .split('\n')
          .filter(Boolean)
          .sort()
          .map((l) => `${l}\n`)
          .join('');
      if (opts.sortTail) {
        const [head, ...tail] = (stdout as string).split('\n');
        stdout = [head, ...tail.filter(Boolean).sort(), ''].join('\n');
      }
      if (typeof exp.stdout === 'object') {
        try {
          stdout = JSON.parse(stdout as string) as unknown;
          if (stdout && typeof stdout === 'object' && 'Advertisements' in stdout) sortAds(stdout as {Advertisements: Array<{NodeID: string; Service: string}>});
        } catch {
          /* keep the text: the comparison shows it */
        }
      }
      actual[w.label] = {code: r.code, stdout, stderr: norm(r.stderr)};
      expected[w.label] = {code: exp.code ?? 0, stdout: exp.stdout ?? '', stderr: exp.stderr ?? ''};
    }),
  );
  expect(actual, what).to.deep.equal(expected);
}
