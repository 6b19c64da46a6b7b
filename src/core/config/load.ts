/**
 * Go-style configuration loading (config.md §1–§3): command-line actions and --config files
 * become one ordered list of typed, defaulted, validated items.
 */
import {resolve as resolvePath} from 'node:path';
import {ConfigError, type ItemSource} from '../errors.js';
import {coerceValue, zeroValue} from './coerce.js';
import {ValueError} from '../go/value-error.js';
import type {RawItem, ResolvedItem} from './model.js';
import type {ActionRegistry} from './registry.js';
import type {FieldSpec} from './types.js';
import {loadConfigFile} from './yaml-file.js';

export interface LoadResult {
  items: ResolvedItem[];
  /** Config files in the order given (absolute paths). */
  configFiles: string[];
  /** --help / -h was given (items are empty then). */
  help: boolean;
  /** Non-fatal remarks (e.g. a singleton given in two sources: the later one wins). */
  warnings: string[];
}

export interface LoadOptions {
  cwd?: string;
}

const CONFIG_TOKENS = new Set(['config', 'c']);

/** Strips one or two leading dashes. */
function actionName(token: string): string {
  return token.startsWith('--') ? token.slice(2) : token.slice(1);
}

export function loadConfig(argv: readonly string[], registry: ActionRegistry, opts: LoadOptions = {}): LoadResult {
  const cwd = opts.cwd ?? process.cwd();
  const items: ResolvedItem[] = [];
  const configFiles: string[] = [];
  const cliSingletons = new Set<string>();
  let current: RawItem | null = null;

  const finishCurrent = () => {
    if (current) items.push(resolveItem(current, registry));
    current = null;
  };

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!; // i < argv.length
    if (token.startsWith('-') && token.length > 1) {
      finishCurrent();
      let name = actionName(token);
      let inlineValue: string | undefined;
      const eq = name.indexOf('=');
      if (eq >= 0 && CONFIG_TOKENS.has(name.slice(0, eq).toLowerCase())) {
        inlineValue = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      const lname = name.toLowerCase();
      if (lname === 'help' || lname === 'h') return {items: [], configFiles, help: true, warnings: []};
      if (lname === 'config-v2') continue; // v2 files are recognised by their content
      if (CONFIG_TOKENS.has(lname)) {
        let file = inlineValue;
        if (file === undefined) {
          const next = argv[i + 1];
          if (next === undefined || next.startsWith('-')) {
            throw new ConfigError(
              `error in ${token}: required parameter missing: filename`,
              {
                source: {kind: 'cli', token, position: i + 1},
              },
              'E_CONFIG_ARGUMENT',
            );
          }
          file = next;
          i++;
        }
        const abs = resolvePath(cwd, file);
        configFiles.push(abs);
        const seen = new Set<string>();
        for (const raw of loadConfigFile(abs, registry).map((r) => relabelFile(r, file!))) {
          const item = resolveItem(raw, registry);
          if (item.def.singleton && seen.has(item.key) && raw.source.kind === 'file' && !raw.source.path) {
            throw new ConfigError(
              `error loading config file: only one ${item.key} directive is allowed`,
              {
                source: raw.source,
                key: item.key,
              },
              'E_CONFIG_DUPLICATE',
            );
          }
          seen.add(item.key);
          items.push(item);
        }
        continue;
      }
      const reg = registry.lookupInsensitive(lname);
      if (!reg) {
        throw new ConfigError(`command error: unknown config type ${lname}`, {source: {kind: 'cli', token, position: i + 1}}, 'E_CONFIG_UNKNOWN_KEY');
      }
      if (reg.def.singleton && cliSingletons.has(reg.def.key)) {
        throw new ConfigError(
          `directive "${reg.def.key}" is only allowed once`,
          {
            source: {kind: 'cli', token, position: i + 1},
            key: reg.def.key,
          },
          'E_CONFIG_DUPLICATE',
        );
      }
      cliSingletons.add(reg.def.key);
      current = {name: reg.def.key, label: token, params: [], source: {kind: 'cli', token, position: i + 1}, group: 'cli'};
      continue;
    }
    // A parameter of the current action.
    if (!current) {
      throw new ConfigError('parameter specified before command', {source: {kind: 'cli', token, position: i + 1}, value: token}, 'E_CONFIG_ARGUMENT');
    }
    const cur: RawItem = current;
    const eq = token.indexOf('=');
    if (eq >= 0) cur.params.push({field: token.slice(0, eq), value: token.slice(eq + 1)});
    else cur.params.push({field: null, value: token});
  }
  finishCurrent();
  const warnings: string[] = [];
  return {items: finalizeItems(items, registry, warnings), configFiles, help: false, warnings};
}

/** Keeps the path the user typed in messages. */
function relabelFile(r: RawItem, typed: string): RawItem {
  if (r.source.kind !== 'file') return r;
  return {...r, source: {...r.source, file: typed}};
}

function sourceIsCli(src: ItemSource): boolean {
  return src.kind === 'cli';
}

/** Type-checks one raw item: finds its type, converts fields, applies defaults, checks required fields. */
export function resolveItem(raw: RawItem, registry: ActionRegistry): ResolvedItem {
  const cli = sourceIsCli(raw.source);
  const prefix = cli ? '' : 'error loading config file: ';
  const reg = cli ? registry.lookupInsensitive(raw.name) : registry.get(raw.name);
  if (!reg) {
    throw new ConfigError(
      `${prefix}could not get config type for command ${raw.name}: unknown config type ${raw.name}`,
      {
        source: raw.source,
        key: raw.name,
      },
      'E_CONFIG_UNKNOWN_KEY',
    );
  }
  const {def, plugin} = reg;
  const values: Record<string, unknown> = {};
  const explicit = new Set<string>();
  const byName = new Map(def.fields.map((f) => [f.name, f]));
  const bareField = def.fields.find((f) => f.bare);

  for (const p of raw.params) {
    let field: FieldSpec | undefined;
    if (p.field === null) {
      if (!bareField) {
        throw new ConfigError(
          cli ? 'config error: command does not allow bare values' : `${prefix}could not get barevalue for command ${def.key}: command does not allow bare values`,
          {source: raw.source, key: def.key, value: p.value},
          'E_CONFIG_UNKNOWN_FIELD',
        );
      }
      field = bareField;
    } else {
      field = byName.get(p.field.toLowerCase());
      if (!field) {
        throw new ConfigError(
          cli ? `config error: unknown field name ${p.field}` : `${prefix}field ${p.field} not defined for command ${def.key}: unknown field name ${p.field}`,
          {source: raw.source, key: def.key, field: p.field},
          'E_CONFIG_UNKNOWN_FIELD',
        );
      }
    }
    try {
      values[field.name] = coerceValue(field, p.value, explicit.has(field.name) ? values[field.name] : undefined);
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      throw new ConfigError(
        `${prefix}error setting field ${field.name} in command ${def.key}: ${err.message}`,
        {
          source: raw.source,
          key: def.key,
          field: field.name,
          value: p.value,
        },
        'E_CONFIG_FIELD_INVALID',
      );
    }
    explicit.add(field.name);
  }

  const missing = def.fields.filter((f) => f.required && !explicit.has(f.name)).map((f) => f.name);
  if (missing.length > 0) {
    const what = missing.length === 1 ? `required parameter missing: ${missing[0]}` : `required parameters missing: ${missing.join(', ')}`;
    throw new ConfigError(`${prefix}error in ${raw.label}: ${what}`, {source: raw.source, key: def.key, field: missing.join(', ')}, 'E_CONFIG_FIELD_MISSING');
  }
  applyDefaults(def.fields, values, explicit, raw.source, def.key);
  runValidate(def, values, raw.source);
  return {key: def.key, def, plugin, values, explicit, source: raw.source, group: raw.group, implicit: false, raw: raw.raw};
}

function applyDefaults(fields: FieldSpec[], values: Record<string, unknown>, explicit: Set<string>, source: ItemSource, key: string): void {
  for (const f of fields) {
    if (explicit.has(f.name)) continue;
    if (f.default === undefined) {
      values[f.name] = zeroValue(f.type);
      continue;
    }
    try {
      values[f.name] = coerceValue(f, typeof f.default === 'string' ? f.default : String(f.default));
    } catch (err) {
      throw new ConfigError(`invalid default for field ${f.name} in command ${key}: ${(err as Error).message}`, {source, key, field: f.name}, 'E_PLUGIN');
    }
  }
}

function runValidate(def: ResolvedItem['def'], values: Record<string, unknown>, source: ItemSource): void {
  if (!def.validate) return;
  try {
    def.validate(values);
  } catch (err) {
    // A plugin may throw a ConfigError naming the field (and its own code); the item's place is added here.
    if (err instanceof ConfigError) throw err.at(source, def.key);
    throw new ConfigError((err as Error).message ?? String(err), {source, key: def.key}, 'E_CONFIG_ITEM_INVALID');
  }
}

/** Singletons across sources (the later wins), exclusive actions, the implicit node. */
function finalizeItems(items: ResolvedItem[], registry: ActionRegistry, warnings: string[]): ResolvedItem[] {
  const lastIndex = new Map<string, number>();
  items.forEach((it, i) => {
    if (it.def.singleton) lastIndex.set(it.key, i);
  });
  const kept = items.filter((it, i) => {
    if (!it.def.singleton || lastIndex.get(it.key) === i) return true;
    warnings.push(`${it.key} is given more than once; the later one is used`);
    return false;
  });
  const exclusive = kept.find((it) => it.def.exclusive);
  if (exclusive && kept.length > 1) {
    throw new ConfigError(`cannot specify any other options with ${exclusive.key}`, {source: exclusive.source, key: exclusive.key}, 'E_CONFIG_EXCLUSIVE');
  }
  if (exclusive) return kept;
  for (const {def, plugin} of registry.list()) {
    if (!def.required || kept.some((it) => it.key === def.key)) continue;
    const missing = def.fields.filter((f) => f.required).map((f) => f.name);
    if (!def.singleton || missing.length > 0) {
      throw new ConfigError(`required action ${def.key} is missing`, {key: def.key}, 'E_CONFIG_ITEM_MISSING');
    }
    const values: Record<string, unknown> = {};
    const explicit = new Set<string>();
    applyDefaults(def.fields, values, explicit, {kind: 'implicit'}, def.key);
    runValidate(def, values, {kind: 'implicit'});
    kept.push({key: def.key, def, plugin, values, explicit, source: {kind: 'implicit'}, group: 'implicit', implicit: true});
  }
  return kept;
}
