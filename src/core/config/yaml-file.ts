/**
 * Reading config files: v1 (a YAML list of single-key maps) and v2 (a map with
 * `version: 2` and plural keys). YAML is read in 1.1 mode like Go's yaml.v2, so `0660`
 * is octal and `yes`/`no` are booleans; integers arrive as bigint.
 */
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';

/** `yaml` is loaded only when a file is actually read (a node started from flags never needs it). */
const requireYaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');
import {ConfigError, type ConfigErrorCode} from '../errors.js';
import type {RawItem, RawParam} from './model.js';
import type {ActionRegistry} from './registry.js';

const FILE_PREFIX = 'error loading config file: ';

export function fileError(
  reason: string,
  file: string,
  index?: number,
  extra: {key?: string; field?: string; value?: unknown} = {},
  code: ConfigErrorCode = 'E_CONFIG_ITEM_FORMAT',
): ConfigError {
  return new ConfigError(
    FILE_PREFIX + reason,
    {
      source: index === undefined ? undefined : {kind: 'file', file, index},
      ...extra,
    },
    code,
  );
}

/** Parses YAML text as yaml.v2 would (YAML 1.1 scalars, no timestamp type). */
export function parseYaml11(text: string, file: string): unknown {
  const doc = requireYaml().parseDocument(text, {
    version: '1.1',
    intAsBigInt: true,
    uniqueKeys: false,
    customTags: (tags) => tags.filter((t) => typeof t === 'string' || (t as {tag?: string}).tag !== 'tag:yaml.org,2002:timestamp'),
  });
  const e = doc.errors[0];
  if (e) {
    const line = e.linePos?.[0]?.line;
    throw new ConfigError(
      `${FILE_PREFIX}yaml: ${line ? `line ${line}: ` : ''}${e.message.split('\n', 1)[0]}`,
      {
        source: {kind: 'file', file, index: 0},
      },
      'E_CONFIG_FILE',
    );
  }
  try {
    return doc.toJS({maxAliasCount: 1000}) ?? null;
  } catch (err) {
    // Aliases are resolved here, not while parsing: an unknown anchor or an alias bomb throws
    // a ReferenceError; report them with yaml.v2's texts (which carry no line).
    const msg = err instanceof Error ? err.message : String(err);
    const unknown = /^Unresolved alias[^:]*: (.*)$/.exec(msg);
    const reason = unknown ? `unknown anchor '${unknown[1]}' referenced` : /alias count/i.test(msg) ? 'document contains excessive aliasing' : msg.split('\n', 1)[0];
    throw new ConfigError(`${FILE_PREFIX}yaml: ${reason}`, {source: {kind: 'file', file, index: 0}}, 'E_CONFIG_FILE');
  }
}

export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new ConfigError(`${FILE_PREFIX}open ${file}: ${why}`, {}, 'E_CONFIG_FILE');
  }
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Turns one element of a v1 list into a raw item (config.md §2 rule 2). */
function v1Element(el: unknown, file: string, index: number): RawItem {
  const source = {kind: 'file' as const, file, index};
  const base = {source, group: `file:${file}`, raw: el};
  if (typeof el === 'string') {
    return {...base, name: el, label: el, params: []};
  }
  if (!isMap(el)) throw fileError('unknown config file format', file, index, {value: el});
  const keys = Object.keys(el);
  const name = keys[0];
  if (keys.length !== 1 || name === undefined) throw fileError('config format invalid: item has multiple names', file, index, {value: keys});
  const body = el[name];
  let params: RawParam[];
  if (body === null || body === undefined) params = [];
  else if (typeof body === 'string') params = [{field: null, value: body}];
  else if (isMap(body)) params = Object.entries(body).map(([field, value]) => ({field, value}));
  else throw fileError(`invalid config format for ${name}`, file, index, {key: name, value: body});
  return {...base, name, label: name, params};
}

/** v2 keys that do not follow the "plural of the v1 key" rule. */
const V2_ALIASES: Record<string, string> = {iprouters: 'ip-router'};

/** Fixed execution order of v2 sections (config.md §9); plugin keys go before the backends. */
const V2_ORDER = [
  'cert-init',
  'cert-makereq',
  'cert-signreq',
  'node',
  'trace',
  'log-level',
  'control-service',
  'tls-client',
  'tls-server',
  'work-command',
  'work-kubernetes',
  'work-signing',
  'work-verification',
  'ip-router',
  'tcp-client',
  'tcp-server',
  'udp-client',
  'udp-server',
  'unix-socket-client',
  'unix-socket-server',
  '*',
  'tcp-listener',
  'udp-listener',
  'ws-listener',
  'tcp-peer',
  'udp-peer',
  'ws-peer',
  'local-only',
];

function v2Rank(key: string): number {
  const i = V2_ORDER.indexOf(key);
  return i >= 0 ? i : V2_ORDER.indexOf('*');
}

function v2Items(doc: Record<string, unknown>, file: string, registry: ActionRegistry): RawItem[] {
  const out: Array<RawItem & {rank: number; seq: number}> = [];
  let seq = 0;
  for (const [rawKey, value] of Object.entries(doc)) {
    const k = rawKey.toLowerCase();
    if (k === 'version') continue;
    let key: string | undefined = V2_ALIASES[k];
    let list = key !== undefined;
    if (!key && registry.get(k)) key = k;
    if (!key && k.endsWith('s') && registry.get(k.slice(0, -1))) {
      key = k.slice(0, -1);
      list = true;
    }
    if (!key) {
      throw new ConfigError(`${FILE_PREFIX}unknown v2 config key ${rawKey}`, {source: {kind: 'file', file, index: 0, path: rawKey}, key: rawKey}, 'E_CONFIG_UNKNOWN_KEY');
    }
    const elements = Array.isArray(value) ? value : [value];
    if (!list && Array.isArray(value) && value.length > 1 && registry.get(key)?.def.singleton) {
      throw new ConfigError(`${FILE_PREFIX}only one ${key} directive is allowed`, {source: {kind: 'file', file, index: 0, path: rawKey}, key}, 'E_CONFIG_DUPLICATE');
    }
    elements.forEach((el, i) => {
      const path = Array.isArray(value) ? `${rawKey}[${i}]` : rawKey;
      const source = {kind: 'file' as const, file, index: 0, path};
      if (el === null || el === undefined) {
        if (key === 'local-only') return; // v2: local-only takes effect only when non-empty
        out.push({name: key!, label: key!, params: [], source, group: `file:${file}`, raw: {[key!]: null}, rank: v2Rank(key!), seq: seq++});
        return;
      }
      if (!isMap(el)) throw new ConfigError(`${FILE_PREFIX}invalid config format for ${rawKey}`, {source, key: rawKey, value: el}, 'E_CONFIG_ITEM_FORMAT');
      if (key === 'local-only' && Object.keys(el).length === 0) return;
      const params = Object.entries(el).map(([field, v]) => ({field, value: v}));
      out.push({name: key!, label: key!, params, source, group: `file:${file}`, raw: {[key!]: el}, rank: v2Rank(key!), seq: seq++});
    });
  }
  out.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
  return out.map(({rank: _r, seq: _s, ...item}) => item);
}

/** Reads one config file into raw items, in file order. */
export function loadConfigFile(file: string, registry: ActionRegistry): RawItem[] {
  const doc = parseYaml11(readConfigText(file), file);
  if (doc === null) return [];
  if (Array.isArray(doc)) return doc.map((el, i) => v1Element(el, file, i + 1));
  if (isMap(doc)) {
    const version = Object.entries(doc).find(([k]) => k.toLowerCase() === 'version')?.[1];
    if (version === 2n || version === 2 || version === '2') return v2Items(doc, file, registry);
    throw new ConfigError(
      `${FILE_PREFIX}yaml: unmarshal errors:\n  line 1: cannot unmarshal !!map into []interface {}` +
        ' (a v1 config file is a list of single-key maps; a map is read as a v2 config only with "version: 2")',
      {source: {kind: 'file', file, index: 0}},
      'E_CONFIG_FILE',
    );
  }
  throw new ConfigError(`${FILE_PREFIX}unknown config file format`, {source: {kind: 'file', file, index: 0}, value: doc}, 'E_CONFIG_FILE');
}
