/**
 * Reloading the configuration file (config.md §7): reloadable items (backends, local-only)
 * are restarted from the file; any change to another item is refused with ERRORCODE 3.
 */
import {instantiate, runPhase} from './config/lifecycle.js';
import {loadConfig} from './config/load.js';
import type {ActionRegistry} from './config/registry.js';
import type {Runtime} from './config/types.js';
import {loadConfigFile} from './config/yaml-file.js';
import type {ReloadOutcome} from './control/commands/reload.js';
import {ConfigError, ReceptorError, errorMessage} from './errors.js';

/**
 * The text a reload reply carries: Go's message alone. A ConfigError's message, and an item's
 * failure wrapped by the lifecycle, add where the problem is (file, item, key…) for people
 * reading the CLI; the reply to `reload` must not.
 */
function reloadError(err: unknown): string {
  if (err instanceof ReceptorError && err.code === 'E_PHASE' && err.cause !== undefined) return reloadError(err.cause);
  return err instanceof ConfigError ? err.reason : errorMessage(err);
}

/** Canonical text of an item as written (keys sorted), for comparing files. */
export function canonicalItem(raw: unknown): string {
  const norm = (v: unknown): unknown => {
    if (typeof v === 'bigint') return {$int: v.toString()};
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, norm((v as Record<string, unknown>)[k])]));
    }
    return v;
  };
  return JSON.stringify(norm(raw));
}

/** Non-reloadable items of a file: canonical text → item key. */
export function nonReloadableSnapshot(file: string, registry: ActionRegistry): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of loadConfigFile(file, registry)) {
    const def = registry.get(item.name)?.def;
    if (def?.reloadable) continue;
    out.set(canonicalItem(item.raw ?? item.name), item.name);
  }
  return out;
}

export interface Reloader {
  reload(): Promise<ReloadOutcome>;
}

export function createReloader(rt: Runtime, registry: ActionRegistry, argv: string[], file: string): Reloader {
  const snapshot = nonReloadableSnapshot(file, registry);
  let running: Promise<ReloadOutcome> = Promise.resolve({});

  const once = async (): Promise<ReloadOutcome> => {
    // 1. Re-parse everything and validate the reloadable items.
    let live;
    try {
      live = instantiate(loadConfig(argv, registry).items.filter((it) => it.def.reloadable));
      await runPhase('preReload', live, rt);
    } catch (err) {
      return {error: reloadError(err), code: 4};
    }
    // 2–3. Non-reloadable items must be exactly as they were.
    let current: Map<string, string>;
    try {
      current = nonReloadableSnapshot(file, registry);
    } catch (err) {
      return {error: reloadError(err), code: 4};
    }
    for (const [text, key] of current) {
      if (!snapshot.has(text)) {
        return {error: `a non-reloadable config action '${key}' was modified or added. Must restart receptor for these changes to take effect`, code: 3};
      }
    }
    for (const [text, key] of snapshot) {
      if (!current.has(text)) {
        return {error: `a non-reloadable config action '${key}' was removed. Must restart receptor for changes to take effect`, code: 3};
      }
    }
    // 4–5. Restart every backend from the new configuration.
    rt.logger.info('Reloading backends');
    await rt.node.stopBackends?.();
    try {
      await runPhase('reload', live, rt);
    } catch (err) {
      return {error: reloadError(err), code: 4};
    }
    return {};
  };

  return {
    reload() {
      running = running.then(once, once);
      return running;
    },
  };
}
