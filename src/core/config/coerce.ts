/**
 * Value conversion for config fields (config.md §3.4). Inputs are YAML 1.1 values (integers
 * arrive as bigint so they stay distinct from floats) or command-line strings.
 */
import {cmdlineParseBool} from '../go/cmdline.js';
import {fmtF} from '../go/fmt.js';
import {strconvParseFloat, strconvParseInt} from '../go/strconv.js';
import {ValueError} from '../go/value-error.js';
import type {FieldSpec, FieldType} from './types.js';

export const GO_TYPE_NAMES: Record<FieldType, string> = {
  string: 'string',
  int: 'int',
  bool: 'bool',
  float: 'float64',
  'string-list': '[]string (may be repeated)',
  'float-map': 'JSON dict of string to float64',
  'json-map': 'JSON dict with string keys',
  'json-list': 'JSON list of JSON dict of JSON data to JSON data',
};

const GO_TYPE_SHORT: Record<FieldType, string> = {
  string: 'string',
  int: 'int',
  bool: 'bool',
  float: 'float64',
  'string-list': '[]string',
  'float-map': 'map[string]float64',
  'json-map': 'map[string]interface {}',
  'json-list': '[]interface {}',
};

function typeError(t: FieldType): ValueError {
  return new ValueError(`type error (expected ${GO_TYPE_SHORT[t]})`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function toText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? String(v) : fmtF(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  throw typeError('string');
}

function toInt(v: unknown): number {
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new ValueError(`value ${v} out of range`);
    }
    return Number(v);
  }
  if (typeof v === 'number') return Math.trunc(v);
  if (typeof v === 'string') return strconvParseInt(v);
  throw typeError('int');
}

function toFloat(v: unknown): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return strconvParseFloat(v);
  throw typeError('float');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValueError(`invalid JSON: ${(err as Error).message}`);
  }
}

/**
 * Converts `value` for `field`. `previous` is the value already set on this item (list
 * fields accumulate repeated plain strings).
 */
export function coerceValue(field: FieldSpec, value: unknown, previous?: unknown): unknown {
  switch (field.type) {
    case 'string':
      return toText(value);
    case 'int':
      return toInt(value);
    case 'float':
      return toFloat(value);
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string') return cmdlineParseBool(value);
      throw typeError('bool');
    case 'string-list': {
      if (value === null || value === undefined) return [];
      if (Array.isArray(value)) return value.map((e) => toText(e));
      if (typeof value === 'string') {
        if (value.startsWith('[')) {
          const parsed = parseJson(value);
          if (!Array.isArray(parsed)) throw typeError('string-list');
          return parsed.map((e) => toText(e));
        }
        const prev = Array.isArray(previous) ? (previous as string[]) : [];
        return [...prev, value];
      }
      return [...(Array.isArray(previous) ? (previous as string[]) : []), toText(value)];
    }
    case 'float-map': {
      if (value === null || value === undefined) return {};
      const obj = typeof value === 'string' && value.startsWith('{') ? parseJson(value) : value;
      if (!isPlainObject(obj)) throw typeError('float-map');
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(obj)) {
        if (typeof v !== 'number' && typeof v !== 'bigint') throw typeError('float-map');
        out[k] = Number(v);
      }
      return out;
    }
    case 'json-map': {
      if (value === null || value === undefined) return {};
      const obj = typeof value === 'string' && value.startsWith('{') ? parseJson(value) : value;
      if (!isPlainObject(obj)) throw typeError('json-map');
      return plainJson(obj);
    }
    case 'json-list': {
      if (value === null || value === undefined) return [];
      const arr = typeof value === 'string' && value.startsWith('[') ? parseJson(value) : value;
      if (!Array.isArray(arr)) throw typeError('json-list');
      return plainJson(arr);
    }
    default:
      throw new ValueError(`unsupported field type ${String(field.type)}`);
  }
}

/** Turns YAML bigints inside structured values into numbers (or strings when too large). */
function plainJson(v: unknown): unknown {
  if (typeof v === 'bigint') {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (Array.isArray(v)) return v.map(plainJson);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainJson(x)]));
  return v;
}

export function zeroValue(t: FieldType): unknown {
  switch (t) {
    case 'string':
      return '';
    case 'int':
    case 'float':
      return 0;
    case 'bool':
      return false;
    case 'string-list':
    case 'json-list':
      return [];
    default:
      return {};
  }
}
