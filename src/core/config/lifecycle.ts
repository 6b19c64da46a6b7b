/** Init → Prepare → Run over all items in order (config.md §4); the first error aborts. */
import {ConfigError, describeSource, errorMessage, PhaseError, ReceptorError} from '../errors.js';
import type {ResolvedItem} from './model.js';
import type {ActionItem, Runtime} from './types.js';

export const PHASES = ['init', 'prepare', 'run'] as const;
export type PhaseName = (typeof PHASES)[number] | 'preReload' | 'reload';

export interface LiveItem {
  item: ResolvedItem;
  instance: ActionItem;
}

export function instantiate(items: ResolvedItem[]): LiveItem[] {
  return items.map((item) => {
    let instance: ActionItem;
    try {
      instance = item.def.create(item.values, {key: item.key, plugin: item.plugin, source: item.source, explicit: item.explicit});
    } catch (err) {
      throw phaseError(err, item);
    }
    if (typeof instance !== 'object' || instance === null) {
      throw new ReceptorError('E_PLUGIN', `plugin ${item.plugin}: create() for ${item.key} did not return an object`);
    }
    return {item, instance};
  });
}

export function phaseError(err: unknown, item: ResolvedItem): ReceptorError {
  // A plugin's ConfigError (e.g. a field refused at Prepare) gets the item's place, as at load time.
  if (err instanceof ConfigError) return err.at(item.source, item.key);
  const where = item.source.kind === 'implicit' ? `${item.key}` : `${item.key} at ${describeSource(item.source)}`;
  return new PhaseError(`${errorMessage(err)} (${where})`, err);
}

/**
 * Runs one phase over every item that implements it, in order; `onItem` is called before
 * each item's step, `afterItem` after it succeeded.
 */
export async function runPhase(phase: PhaseName, live: LiveItem[], rt: Runtime, onItem?: (li: LiveItem) => void, afterItem?: (li: LiveItem) => void): Promise<void> {
  for (const li of live) {
    const fn = li.instance[phase];
    if (typeof fn !== 'function') continue;
    onItem?.(li);
    try {
      await fn.call(li.instance, rt);
    } catch (err) {
      throw phaseError(err, li.item);
    }
    afterItem?.(li);
  }
}

export async function runAllPhases(live: LiveItem[], rt: Runtime, onPhase?: (phase: PhaseName) => void): Promise<void> {
  for (const phase of PHASES) {
    onPhase?.(phase);
    await runPhase(phase, live, rt);
  }
}
