/**
 * In-process nodes with a work manager, work types and control services (unix + mesh), and
 * small control-socket clients for the work commands.
 */
import {expect} from 'chai';
import {mkdtempSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pino} from 'pino';
import {createLogger} from '../../src/core/log.js';
import {NodeRuntime} from '../../src/core/runtime.js';
import {startControlService, type ControlServiceOptions} from '../../src/core/control/service.js';
import type {Netceptor} from '../../src/core/netceptor/node.js';
import type {CommandTypeConfig} from '../../src/core/work/command.js';
import {initWorkceptor, registerCommandWorkType, registerWorkType} from '../../src/core/work/plugin-glue.js';
import type {Workceptor, WorkTypeDef} from '../../src/core/work/workceptor.js';
import {BIN} from './cli.js';
import {converse} from './control.js';
import {FAST, makeNode} from './mesh.js';

export interface WorkNode {
  id: string;
  node: Netceptor;
  rt: NodeRuntime;
  wc: Workceptor;
  /** Unix control socket path. */
  sock: string;
  dataDir: string;
  close(): Promise<void>;
}

export interface WorkNodeOptions {
  /** work-command types (real runner processes). */
  types?: CommandTypeConfig[];
  /** Other (in-process) work types. */
  workTypes?: WorkTypeDef[];
  dataDir?: string;
  /** tls-server name for the mesh control service. */
  controlTls?: string;
  /** Runs before the work manager is created (register TLS configs, signing keys, …). */
  prepare?: (rt: NodeRuntime) => void | Promise<void>;
  /** Log records (debug and up) go here instead of being dropped. */
  logLines?: string[];
  /** Fields of the control service (e.g. idletimeout, maxsessions). */
  control?: Partial<ControlServiceOptions>;
  /** How the node runs its command runner (default: this CLI's dist build). */
  selfCommand?: string[];
}

export function commandType(workType: string, command: string, params = '', extra: Partial<CommandTypeConfig> = {}): CommandTypeConfig {
  return {workType, command, params, allowRuntimeParams: false, verifySignature: false, ...extra};
}

/** Starts a node (in memory, no backends) with work types and control services. */
export async function startWorkNode(id: string, opts: WorkNodeOptions = {}): Promise<WorkNode> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), `receptor-work-${id}-`));
  const node = makeNode(id, {timings: FAST, dataDir});
  const lines = opts.logLines;
  const logger = lines ? pino({level: 'debug'}, {write: (l: string) => void lines.push(l)}) : createLogger((process.env.TEST_LOG_LEVEL as 'debug') ?? 'silent');
  const rt = new NodeRuntime(logger, {configFiles: [], argv: [], selfCommand: opts.selfCommand ?? [process.execPath, BIN]});
  rt.setNode(node);
  await opts.prepare?.(rt);
  const wc = await initWorkceptor(rt);
  for (const t of opts.workTypes ?? []) await registerWorkType(rt, t);
  for (const t of opts.types ?? []) await registerCommandWorkType(rt, t);
  const sock = join(mkdtempSync(join(tmpdir(), `receptor-ctl-${id}-`)), 'ctl.sock');
  await startControlService(rt, {
    service: 'control',
    filename: sock,
    permissions: 0o600,
    tls: opts.controlTls ?? '',
    tcplisten: '',
    tcptls: '',
    idletimeout: '',
    maxsessions: 0,
    ...opts.control,
  });
  return {
    id,
    node,
    rt,
    wc,
    sock,
    dataDir,
    close: async () => {
      await rt.shutdown();
      await node.shutdown();
    },
  };
}

/** Everything the node writes on one connection after `lines` + `payload` + EOF. */
function exchange(sock: string, first: string, rest: Buffer | string = ''): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const s = net.connect(sock);
    const parts: Buffer[] = [];
    s.on('data', (d) => parts.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(parts)));
    s.once('connect', () => {
      s.write(first);
      s.end(rest);
    });
  });
}

/**
 * Submits (JSON object or a text-form line) with a payload. `reply` is the line after
 * `Work unit created …`, or the first reply line when the submission was refused.
 */
export async function submitWork(sock: string, request: Record<string, string> | string, payload: Buffer | string = ''): Promise<{id: string; created: string; reply: string}> {
  const line = typeof request === 'string' ? request : JSON.stringify({command: 'work', subcommand: 'submit', ...request});
  const lines = (await exchange(sock, line + '\n', payload)).toString().split('\n');
  const created = lines[1] ?? '';
  const m = /^Work unit created with ID ([a-zA-Z0-9]+)\. Send stdin data and EOF\.$/.exec(created);
  return {id: m?.[1] ?? '', created, reply: m ? (lines[2] ?? '') : created};
}

/** Reads `work results` to EOF (header checked); the bytes after the header. */
export async function readResults(sock: string, id: string, startPos = 0): Promise<Buffer> {
  const out = await exchange(sock, `work results ${id} ${startPos}\n`);
  const greet = out.indexOf(0x0a);
  const hdr = out.indexOf(0x0a, greet + 1);
  expect(out.subarray(greet + 1, hdr).toString()).to.equal(`Streaming results for work unit ${id}`);
  return out.subarray(hdr + 1);
}

/** One request line on a fresh session; the reply without the greeting. */
export async function ask(sock: string, line: string): Promise<string> {
  const out = await converse(sock, [line + '\n']);
  return out.split('\n').slice(1).join('\n').trimEnd();
}
