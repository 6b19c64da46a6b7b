import type {ItemSource} from '../errors.js';
import type {ActionTypeDef, FieldValues} from './types.js';

/** One parameter as written: a named field, or the bare value (field null). */
export interface RawParam {
  field: string | null;
  value: unknown;
}

/** An item as read from a file or the command line, before type checking. */
export interface RawItem {
  /** The action name as written (YAML key or command-line token without dashes). */
  name: string;
  /** For errors: the YAML key, or the command-line token as typed (`--tcp-listener`). */
  label: string;
  params: RawParam[];
  source: ItemSource;
  /** Items of one group (one file, or the command line) are checked for singletons together. */
  group: string;
  /** The YAML element as parsed, for reload comparisons. */
  raw?: unknown;
}

export interface ResolvedItem {
  key: string;
  def: ActionTypeDef;
  plugin: string;
  values: FieldValues;
  explicit: Set<string>;
  source: ItemSource;
  group: string;
  implicit: boolean;
  raw?: unknown;
}
