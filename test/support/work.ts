/** In-process nodes with a work manager, command work types and control services (unix + mesh). */
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createLogger} from '../../src/core/log.js';
import {NodeRuntime} from '../../src/core/runtime.js';
import {startControlService} from '../../src/core/control/service.js';
import type {Netceptor} from '../../src/core/netceptor/node.js';
import type {CommandTypeConfig} from '../../src/core/work/command.js';
import {initWorkceptor, registerCommandWorkType} from '../../src/core/work/plugin-glue.js';
import type {Workceptor} from '../../src/core/work/workceptor.js';
import {BIN} from './cli.js';
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

export function commandType(workType: string, command: string, params = '', extra: Partial<CommandTypeConfig> = {}): CommandTypeConfig {
  return {workType, command, params, allowRuntimeParams: false, verifySignature: false, ...extra};
}

/** Starts a node (in memory, no backends) with work types and control services. */
export async function startWorkNode(id: string, opts: {types?: CommandTypeConfig[]; dataDir?: string; node?: Netceptor; prepare?: (rt: NodeRuntime) => void | Promise<void>} = {}): Promise<WorkNode> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), `receptor-work-${id}-`));
  const node = opts.node ?? makeNode(id, {timings: FAST, dataDir});
  const rt = new NodeRuntime(createLogger((process.env.TEST_LOG_LEVEL as 'debug') ?? 'silent'), {configFiles: [], argv: [], selfCommand: [process.execPath, BIN]});
  rt.setNode(node);
  await opts.prepare?.(rt);
  const wc = await initWorkceptor(rt);
  for (const t of opts.types ?? []) await registerCommandWorkType(rt, t);
  const sock = join(mkdtempSync(join(tmpdir(), `receptor-ctl-${id}-`)), 'ctl.sock');
  await startControlService(rt, {service: 'control', filename: sock, permissions: 0o600, tls: '', tcplisten: '', tcptls: ''});
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
