/**
 * Collects action types from every installed plugin's `receptor:register` hook: the root
 * package, its core plugins (package.json `oclif.plugins`), and the user-installed and
 * linked plugins that `receptor plugins install|link` records in oclif's data directory.
 *
 * The hooks are declared exactly as oclif hooks (`oclif.hooks` in package.json), but they
 * are discovered and called here without loading @oclif/core: a daemon then starts in
 * about 15 MiB less memory. Failures and duplicate keys are fatal and name the plugins
 * involved; the order is deterministic (root, core, user, link; then by name).
 */
import {existsSync, readFileSync, statSync} from 'node:fs';
import {homedir} from 'node:os';
import {dirname, isAbsolute, join, resolve} from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';
import {errorMessage, ReceptorError} from '../errors.js';
import {settings} from '../settings.js';
import {linkHostPackage} from './plugin-host.js';
import {ActionRegistry} from './registry.js';
import type {ActionTypeDef} from './types.js';

export const REGISTER_HOOK = 'receptor:register';
const HOOK_TIMEOUT_MS = 15_000;
const TYPE_RANK: Record<string, number> = {root: 0, core: 1, user: 2, link: 3};

/** The package root of this CLI (the folder with package.json). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type PluginKind = 'root' | 'core' | 'user' | 'link';

export interface DiscoveredPlugin {
  name: string;
  root: string;
  kind: PluginKind;
  /** Absolute module paths of its receptor:register hooks, with the export to call. */
  hooks: Array<{file: string; identifier: string}>;
}

export interface PluginTypes {
  plugin: string;
  pluginType: string;
  isRoot: boolean;
  types: ActionTypeDef[];
}

interface PackageJson {
  name?: string;
  version?: string;
  oclif?: {
    bin?: string;
    dirname?: string;
    hooks?: Record<string, unknown>;
    plugins?: unknown[];
  };
}

function readPackage(root: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

/** oclif's data directory for this CLI: `<BIN>_DATA_DIR`, else XDG_DATA_HOME/<dirname>, else ~/.local/share/<dirname>. */
export function oclifDataDir(bin = 'receptor', dir = 'receptor', env: NodeJS.ProcessEnv = settings().env): string {
  const override = env[`${bin.toUpperCase().replace(/-/g, '_')}_DATA_DIR`];
  if (override) return override;
  if (process.platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), dir);
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), dir);
}

/** Resolves a hook path the way oclif does for compiled plugins (with or without `.js`). */
function resolveHookFile(root: string, target: string): string | undefined {
  const base = isAbsolute(target) ? target : resolve(root, target);
  const candidates = [base, `${base}.js`, `${base}.mjs`, `${base}.cjs`, join(base, 'index.js')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function hooksOf(root: string, pkg: PackageJson, name: string): DiscoveredPlugin['hooks'] {
  const decl = pkg.oclif?.hooks?.[REGISTER_HOOK];
  if (decl === undefined) return [];
  const list = Array.isArray(decl) ? decl : [decl];
  return list.map((d) => {
    const target = typeof d === 'string' ? d : (d as {target?: string}).target;
    const identifier = typeof d === 'string' ? 'default' : ((d as {identifier?: string}).identifier ?? 'default');
    if (typeof target !== 'string') throw new ReceptorError('E_PLUGIN', `plugin ${name} declares an invalid ${REGISTER_HOOK} hook`);
    const file = resolveHookFile(root, target);
    if (!file) throw new ReceptorError('E_PLUGIN', `plugin ${name}: ${REGISTER_HOOK} hook file ${target} not found in ${root}`);
    return {file, identifier};
  });
}

function pluginAt(root: string, kind: PluginKind, fallbackName: string): DiscoveredPlugin | undefined {
  const pkg = readPackage(root);
  if (!pkg) return undefined;
  const name = pkg.name ?? fallbackName;
  return {name, root, kind, hooks: hooksOf(root, pkg, name)};
}

/** Finds the root package, its core plugins, and the user/link plugins in the data directory. */
export function discoverPlugins(root = PACKAGE_ROOT, env: NodeJS.ProcessEnv = settings().env): DiscoveredPlugin[] {
  const rootPkg = readPackage(root);
  if (!rootPkg) throw new ReceptorError('E_PLUGIN', `cannot read ${join(root, 'package.json')}`);
  const out: DiscoveredPlugin[] = [{name: rootPkg.name ?? 'receptor', root, kind: 'root', hooks: hooksOf(root, rootPkg, rootPkg.name ?? 'receptor')}];
  for (const entry of rootPkg.oclif?.plugins ?? []) {
    if (typeof entry !== 'string') continue;
    const pluginRoot = findPackageDir(entry, root);
    const p = pluginRoot ? pluginAt(pluginRoot, 'core', entry) : undefined;
    if (p) out.push(p);
  }
  const dataDir = oclifDataDir(rootPkg.oclif?.bin, rootPkg.oclif?.dirname, env);
  const dataPkg = readPackage(dataDir);
  for (const entry of dataPkg?.oclif?.plugins ?? []) {
    if (typeof entry !== 'object' || entry === null) continue;
    const {name, type, root: linkRoot} = entry as {name?: string; type?: string; root?: string};
    if (!name) continue;
    const p = type === 'link' && linkRoot ? pluginAt(linkRoot, 'link', name) : pluginAt(join(dataDir, 'node_modules', name), 'user', name);
    if (p) out.push(p);
  }
  if (out.some((p) => p.kind === 'user' && p.hooks.length > 0)) linkHostPackage(dataDir, root, rootPkg.name ?? 'receptor-mesh');
  return out;
}

/** node_modules lookup from `from` upwards. */
function findPackageDir(name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

async function callHook(plugin: DiscoveredPlugin, hook: {file: string; identifier: string}, root: string): Promise<unknown> {
  const mod = (await import(pathToFileURL(hook.file).href)) as Record<string, unknown>;
  let fn = mod[hook.identifier];
  if (typeof fn !== 'function' && hook.identifier === 'default' && typeof (fn as {default?: unknown})?.default === 'function') {
    fn = (fn as {default: unknown}).default; // CommonJS module.exports = {default: fn}
  }
  if (typeof fn !== 'function') throw new Error(`${hook.file} does not export a function "${hook.identifier}"`);
  const context = {
    config: {root, name: plugin.name},
    log: console.log,
    warn: console.warn,
    debug: () => {},
    error: (m: string) => {
      throw new Error(m);
    },
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve((fn as (this: unknown, o: unknown) => unknown).call(context, {config: context.config})),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${HOOK_TIMEOUT_MS} ms`)), HOOK_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function collectPluginTypes(root = PACKAGE_ROOT, env: NodeJS.ProcessEnv = settings().env): Promise<PluginTypes[]> {
  const plugins = discoverPlugins(root, env);
  const out: PluginTypes[] = [];
  for (const p of plugins) {
    const types: ActionTypeDef[] = [];
    for (const hook of p.hooks) {
      let result: unknown;
      try {
        result = await callHook(p, hook, root);
      } catch (err) {
        throw new ReceptorError('E_PLUGIN', `plugin ${p.name} failed to register its action types: ${errorMessage(err)}`);
      }
      if (!Array.isArray(result)) {
        throw new ReceptorError('E_PLUGIN', `plugin ${p.name}: the ${REGISTER_HOOK} hook must return an array of action types`);
      }
      types.push(...(result as ActionTypeDef[]));
    }
    if (p.hooks.length > 0) out.push({plugin: p.name, pluginType: p.kind, isRoot: p.kind === 'root', types});
  }
  const rank = (t: string) => TYPE_RANK[t] ?? Object.keys(TYPE_RANK).length; // an unknown kind last
  out.sort((a, b) => rank(a.pluginType) - rank(b.pluginType) || (a.isRoot ? 0 : a.plugin < b.plugin ? -1 : a.plugin > b.plugin ? 1 : 0));
  return out;
}

export function buildRegistry(groups: PluginTypes[]): ActionRegistry {
  const registry = new ActionRegistry();
  for (const g of groups) for (const def of g.types) registry.add(def, g.plugin);
  return registry;
}

export async function loadActionRegistry(root = PACKAGE_ROOT): Promise<ActionRegistry> {
  return buildRegistry(await collectPluginTypes(root));
}
