/**
 * A registry for loader tests: the built-in types plus stand-ins with the exact field
 * schemas of Go receptor items that other issues implement (backends, control service,
 * certificate tools, work signing).
 */
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ActionRegistry} from '../../src/core/config/registry.js';
import type {ActionTypeDef, FieldSpec} from '../../src/core/config/types.js';
import {builtinTypes} from '../../src/plugins/register.js';

const noop = () => ({});
const backendFields = (bare: FieldSpec): FieldSpec[] => [
  bare,
  {name: 'bindaddr', type: 'string', default: '0.0.0.0', description: 'bind address'},
  {name: 'cost', type: 'float', default: 1.0, description: 'cost'},
  {name: 'nodecost', type: 'float-map', description: 'per-node cost'},
  {name: 'allowedpeers', type: 'string-list', description: 'allowed peers'},
];

export const standInTypes: ActionTypeDef[] = [
  {
    key: 'tcp-listener',
    description: 'tcp listener',
    reloadable: true,
    fields: backendFields({name: 'port', type: 'int', bare: true, required: true, description: 'port'}),
    create: noop,
  },
  {
    key: 'tcp-peer',
    description: 'tcp peer',
    reloadable: true,
    fields: [
      {name: 'address', type: 'string', bare: true, required: true, description: 'address'},
      {name: 'redial', type: 'bool', default: true, description: 'redial'},
      {name: 'cost', type: 'float', default: 1.0, description: 'cost'},
    ],
    create: noop,
  },
  {
    key: 'control-service',
    description: 'control service',
    fields: [
      {name: 'service', type: 'string', default: 'control', description: 'service'},
      {name: 'filename', type: 'string', description: 'socket'},
      {name: 'permissions', type: 'int', default: '0600', description: 'mode'},
      {name: 'tcplisten', type: 'string', description: 'tcp'},
    ],
    create: noop,
  },
  {
    key: 'cert-init',
    description: 'make a CA',
    exclusive: true,
    fields: [
      {name: 'commonname', type: 'string', required: true, description: 'cn'},
      {name: 'bits', type: 'int', required: true, description: 'bits'},
      {name: 'notbefore', type: 'string', description: 'nb'},
      {name: 'notafter', type: 'string', description: 'na'},
      {name: 'outcert', type: 'string', required: true, description: 'cert'},
      {name: 'outkey', type: 'string', required: true, description: 'key'},
    ],
    create: noop,
  },
  {
    key: 'work-signing',
    description: 'signing',
    singleton: true,
    fields: [
      {name: 'privatekey', type: 'string', bare: true, description: 'key'},
      {name: 'tokenexpiration', type: 'string', description: 'exp'},
    ],
    create: noop,
  },
  {
    key: 'tls-client',
    description: 'tls client',
    fields: [
      {name: 'name', type: 'string', required: true, description: 'n'},
      {name: 'cert', type: 'string', required: true, description: 'c'},
      {name: 'key', type: 'string', required: true, description: 'k'},
    ],
    create: noop,
  },
  {key: 'json-thing', description: 'json map field', fields: [{name: 'data', type: 'json-map', description: 'd'}], create: noop},
];

export function fixtureRegistry(): ActionRegistry {
  const r = new ActionRegistry();
  for (const t of builtinTypes()) r.add(t, 'receptor-mesh');
  // Stand-ins only for items no built-in plugin provides yet; real items are tested as they are.
  for (const t of standInTypes) if (!r.get(t.key)) r.add(t, 'stand-ins');
  return r;
}

/** Writes files into a fresh temp dir and returns the dir. */
export function tempFiles(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'receptor-test-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
