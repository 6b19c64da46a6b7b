/**
 * Collects action types from every oclif plugin's `receptor:register` hook. Failures and
 * duplicate keys are fatal and name the plugins involved; the order is deterministic.
 */
import type {Config} from '@oclif/core';
import {errorMessage, ReceptorError} from '../errors.js';
import {ActionRegistry} from './registry.js';
import type {ActionTypeDef} from './types.js';

export const REGISTER_HOOK = 'receptor:register';
const HOOK_TIMEOUT_MS = 15_000;

const TYPE_RANK: Record<string, number> = {core: 0, user: 2, link: 3};

export interface PluginTypes {
  plugin: string;
  pluginType: string;
  isRoot: boolean;
  types: ActionTypeDef[];
}

export async function collectPluginTypes(config: Config): Promise<PluginTypes[]> {
  const res = await config.runHook(REGISTER_HOOK as never, {} as never, HOOK_TIMEOUT_MS, true);
  const failures = (res as unknown as {failures: Array<{plugin: {name: string}; error: unknown}>}).failures;
  if (failures.length > 0) {
    const f = failures[0];
    throw new ReceptorError('E_PLUGIN', `plugin ${f.plugin.name} failed to register its action types: ${errorMessage(f.error)}`);
  }
  const successes = (res as unknown as {successes: Array<{plugin: {name: string; type: string; isRoot: boolean}; result: unknown}>}).successes;
  const out: PluginTypes[] = [];
  for (const s of successes) {
    if (!Array.isArray(s.result)) {
      throw new ReceptorError('E_PLUGIN', `plugin ${s.plugin.name}: the ${REGISTER_HOOK} hook must return an array of action types`);
    }
    out.push({plugin: s.plugin.name, pluginType: s.plugin.type, isRoot: s.plugin.isRoot, types: s.result as ActionTypeDef[]});
  }
  const rank = (p: PluginTypes) => (p.isRoot ? -1 : TYPE_RANK[p.pluginType] ?? 1);
  out.sort((a, b) => rank(a) - rank(b) || a.plugin.localeCompare(b.plugin));
  return out;
}

export function buildRegistry(groups: PluginTypes[]): ActionRegistry {
  const registry = new ActionRegistry();
  for (const g of groups) for (const def of g.types) registry.add(def, g.plugin);
  return registry;
}

export async function loadActionRegistry(config: Config): Promise<ActionRegistry> {
  return buildRegistry(await collectPluginTypes(config));
}
