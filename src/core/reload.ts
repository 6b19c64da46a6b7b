/**
 * Reloading the configuration file (config.md §7): reloadable items (backends, local-only)
 * are applied from the file; any change to another item is refused with ERRORCODE 3.
 * Unlike Go 1.4.9, which stops every backend and starts them all again (every link drops),
 * only the items whose configuration changed are restarted: an item is identified by its
 * key and resolved values, items of the running set and of the file are matched as a
 * multiset, unmatched running ones are stopped and unmatched new ones started.
 */
import {instantiate, runPhase, type LiveItem} from './config/lifecycle.js';
import {loadConfig} from './config/load.js';
import type {ResolvedItem} from './config/model.js';
import type {ActionRegistry} from './config/registry.js';
import type {BackendHandle, Runtime} from './config/types.js';
import {loadConfigFile} from './config/yaml-file.js';
import type {ReloadOutcome} from './control/commands/reload.js';
import {ConfigError, PhaseError, errorMessage} from './errors.js';

/**
 * The text a reload reply carries: Go's message alone. A ConfigError's message, and an item's
 * failure wrapped by the lifecycle, add where the problem is (file, item, key…) for people
 * reading the CLI; the reply to `reload` must not.
 */
function reloadError(err: unknown): string {
  if (err instanceof PhaseError && err.cause !== undefined) return reloadError(err.cause);
  return err instanceof ConfigError ? err.reason : errorMessage(err);
}

/** Canonical text of an item as written (keys sorted), for comparing files. */
export function canonicalItem(raw: unknown): string {
  const norm = (v: unknown): unknown => {
    if (typeof v === 'bigint') return {$int: v.toString()};
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, norm((v as Record<string, unknown>)[k])]),
      );
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

/** Identity of a reloadable item: its key and its resolved values (defaults filled in). */
export function itemIdentity(item: Pick<ResolvedItem, 'key' | 'values'>): string {
  return canonicalItem({[item.key]: item.values});
}

export interface ItemDiff<O, N> {
  /** Running items matched by a new item of the same identity: left running. */
  kept: O[];
  /** Running items that no new item matches: to stop. */
  removed: O[];
  /** New items that match no running item: to start. */
  added: N[];
}

/**
 * Multiset diff by identity: each running item is matched by at most one new item, so two
 * identical items in the file stay two items (a third one is added, a missing one removed).
 */
export function diffItems<O extends {identity: string}, N extends {identity: string}>(running: readonly O[], next: readonly N[]): ItemDiff<O, N> {
  const pool = new Map<string, O[]>();
  for (const o of running) pool.set(o.identity, [...(pool.get(o.identity) ?? []), o]);
  const kept: O[] = [];
  const added: N[] = [];
  for (const n of next) {
    const match = pool.get(n.identity)?.shift();
    if (match === undefined) added.push(n);
    else kept.push(match);
  }
  return {kept, removed: running.filter((o) => !kept.includes(o)), added};
}

/** A reloadable item that has run, and the backends it registered on the node. */
export interface RunningItem {
  identity: string;
  key: string;
  backends: BackendHandle[];
}

function backendText(b: BackendHandle): string {
  return b.description ?? b.kind;
}

/**
 * Which backends each reloadable item started: after each item's `run` (or `reload`) step,
 * the node's backends not seen before are that item's.
 */
export class BackendOwners {
  readonly running: RunningItem[] = [];
  private readonly seen = new Set<BackendHandle>();

  constructor(private readonly rt: Runtime) {}

  /** The `afterItem` hook of runPhase. */
  readonly after = (li: LiveItem): void => {
    const fresh = this.rt.hasNode ? this.rt.node.backends.filter((b) => !this.seen.has(b)) : [];
    for (const b of fresh) this.seen.add(b);
    if (li.item.def.reloadable) this.running.push({identity: itemIdentity(li.item), key: li.item.key, backends: fresh});
  };

  /** Stops the backends of one running item and forgets it. */
  async stop(r: RunningItem): Promise<void> {
    this.running.splice(this.running.indexOf(r), 1);
    for (const b of r.backends) {
      this.seen.delete(b);
      await this.rt.node.stopBackend(b);
    }
  }
}

export interface Reloader {
  reload(): Promise<ReloadOutcome>;
  /** Pass as `afterItem` to the start-up `run` phase, so reload knows what each item started. */
  readonly track: (li: LiveItem) => void;
}

export function createReloader(rt: Runtime, registry: ActionRegistry, argv: string[], file: string): Reloader {
  const snapshot = nonReloadableSnapshot(file, registry);
  const owners = new BackendOwners(rt);
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
    // 4–5. Stop what was removed or changed, start what was added or changed, keep the rest.
    const {kept, removed, added} = diffItems(
      owners.running,
      live.map((li) => ({identity: itemIdentity(li.item), li})),
    );
    rt.logger.info({kept: kept.length, stopped: removed.length, started: added.length}, 'Reloading backends');
    for (const r of kept) {
      for (const b of r.backends) rt.logger.info({item: r.key, backend: backendText(b)}, `Backend kept (unchanged): ${backendText(b)}`);
    }
    for (const r of removed) {
      await owners.stop(r);
      for (const b of r.backends) rt.logger.info({item: r.key, backend: backendText(b)}, `Backend stopped (removed or changed): ${backendText(b)}`);
    }
    // A failed start leaves every other item running; the first failure is the reply.
    let failure: unknown;
    for (const {li} of added) {
      const before = owners.running.length;
      try {
        await runPhase('reload', [li], rt, undefined, owners.after);
      } catch (err) {
        rt.logger.error({item: li.item.key, err: reloadError(err)}, `Backend not started: ${reloadError(err)}`);
        failure ??= err;
        continue;
      }
      for (const b of owners.running.slice(before).flatMap((r) => r.backends)) rt.logger.info({item: li.item.key, backend: backendText(b)}, `Backend started: ${backendText(b)}`);
    }
    return failure === undefined ? {} : {error: reloadError(failure), code: 4};
  };

  return {
    reload() {
      running = running.then(once, once);
      return running;
    },
    track: owners.after,
  };
}
