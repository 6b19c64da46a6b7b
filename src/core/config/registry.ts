/** The registry of action-item types contributed by plugins. */
import {ReceptorError} from '../errors.js';
import type {ActionTypeDef, FieldType} from './types.js';

const FIELD_TYPES: ReadonlySet<FieldType> = new Set(['string', 'int', 'bool', 'float', 'string-list', 'float-map', 'json-map', 'json-list']);

export interface RegisteredType {
  def: ActionTypeDef;
  plugin: string;
}

export class ActionRegistry {
  private readonly byKey = new Map<string, RegisteredType>();

  /** Adds a type; a malformed definition or a duplicate key is a fatal plugin error. */
  add(def: ActionTypeDef, plugin: string): void {
    validateDef(def, plugin);
    const existing = this.byKey.get(def.key);
    if (existing) {
      throw new ReceptorError('E_PLUGIN', `action type "${def.key}" is registered by two plugins: ${existing.plugin} and ${plugin}`);
    }
    this.byKey.set(def.key, {def, plugin});
  }

  /** Exact lookup by key (YAML keys must be written in lower case). */
  get(key: string): RegisteredType | undefined {
    return this.byKey.get(key);
  }

  /** Case-insensitive lookup (command-line actions). */
  lookupInsensitive(name: string): RegisteredType | undefined {
    return this.byKey.get(name.toLowerCase());
  }

  list(): RegisteredType[] {
    return [...this.byKey.values()];
  }
}

function validateDef(def: ActionTypeDef, plugin: string): void {
  const bad = (why: string) =>
    new ReceptorError('E_PLUGIN', `plugin ${plugin} registered an invalid action type${def && typeof def.key === 'string' ? ` "${def.key}"` : ''}: ${why}`);
  if (typeof def !== 'object' || def === null) throw bad('not an object');
  if (typeof def.key !== 'string' || !/^[a-z][a-z0-9-]*$/.test(def.key)) {
    throw bad('key must be lower-case letters, digits and dashes, starting with a letter');
  }
  if (typeof def.create !== 'function') throw bad('create must be a function');
  if (!Array.isArray(def.fields)) throw bad('fields must be an array');
  const seen = new Set<string>();
  let bare = 0;
  for (const f of def.fields) {
    if (typeof f?.name !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(f.name)) {
      throw bad(`field name ${JSON.stringify(f?.name)} must be lower-case`);
    }
    if (seen.has(f.name)) throw bad(`field ${f.name} is declared twice`);
    seen.add(f.name);
    if (!FIELD_TYPES.has(f.type)) throw bad(`field ${f.name} has unknown type ${JSON.stringify(f.type)}`);
    if (f.bare) bare++;
  }
  if (bare > 1) throw bad('at most one field may take the bare value');
}
