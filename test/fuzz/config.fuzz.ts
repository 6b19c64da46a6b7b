/**
 * Fuzz target 5: configuration. v1 YAML lists, v2 maps and Go-style command-line arguments,
 * built from the real item registry with random fields and values, and mutated: each input
 * loads, or fails with a ConfigError (a ReceptorError with an E_CONFIG_* code) whose detail
 * names the place (file or argument), never another exception.
 */
import {expect} from 'chai';
import fc from 'fast-check';
import {mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {loadConfig} from '../../src/core/config/load.js';
import {ActionRegistry} from '../../src/core/config/registry.js';
import type {ActionTypeDef} from '../../src/core/config/types.js';
import {builtinTypes} from '../../src/plugins/register.js';
import {ConfigError} from '../../src/core/errors.js';
import {mutate, mutation, type Mutation} from '../support/arbitraries.js';
import {fuzz, fuzzSettings} from '../support/fuzz.js';
import {tally} from '../support/tally.js';

/** Scalars as YAML text, including the YAML 1.1 forms Go's parser reads specially. */
const scalar = fc.oneof(
  fc.constantFrom(
    '~',
    'null',
    'yes',
    'no',
    'on',
    'off',
    'true',
    'False',
    '0x1F',
    '0o17',
    '017',
    '1e3',
    '.inf',
    '-.nan',
    '1_000',
    '2001-12-14',
    "''",
    '""',
    '-1',
    '99999999999999999999999',
    '1.5',
    'foo',
    'localhost:2222',
    '/tmp/x',
    '!!str 1',
    '&a x',
    '*a',
    '*b',
    '[]',
    '{}',
    '|',
  ),
  fc.string({maxLength: 12}).map((s) => JSON.stringify(s)),
  fc.integer().map(String),
  fc.double().map(String),
);
const value: fc.Arbitrary<string> = fc.letrec<{v: string}>((tie) => ({
  v: fc.oneof(
    {depthSize: 'small', withCrossShrink: true},
    scalar,
    fc.array(tie('v'), {maxLength: 3}).map((a) => `[${a.join(', ')}]`),
    fc.array(fc.tuple(fc.constantFrom('a', 'id', 'port', 'k'), tie('v')), {maxLength: 3}).map((e) => `{${e.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
  ),
})).v;

let registry: ActionRegistry;
let keys: string[] = [];
let fieldsOf: Map<string, string[]> = new Map();

const itemKey = (): fc.Arbitrary<string> => fc.oneof({weight: 6, arbitrary: fc.constantFrom(...keys)}, {weight: 1, arbitrary: fc.string({maxLength: 10})});
const item = (): fc.Arbitrary<{key: string; fields: Array<[string, string]>; bare: string | null}> =>
  itemKey().chain((key) =>
    fc.record({
      key: fc.constant(key),
      fields: fc.array(
        fc.tuple(
          fc.oneof({weight: 5, arbitrary: fc.constantFrom(...(fieldsOf.get(key)?.length ? fieldsOf.get(key)! : ['id']))}, {weight: 1, arbitrary: fc.string({maxLength: 8})}),
          value,
        ),
        {maxLength: 4},
      ),
      bare: fc.option(scalar, {freq: 4}),
    }),
  );

function v1(items: Array<{key: string; fields: Array<[string, string]>; bare: string | null}>): string {
  return (
    '---\n' +
    items
      .map(({key, fields, bare}) => {
        if (bare !== null && fields.length === 0) return `- ${key}: ${bare}\n`;
        if (fields.length === 0) return `- ${key}:\n`;
        return `- ${key}:\n${fields.map(([f, v]) => `    ${f}: ${v}\n`).join('')}`;
      })
      .join('')
  );
}

function v2(items: Array<{key: string; fields: Array<[string, string]>; bare: string | null}>, plural: boolean[]): string {
  return (
    'version: 2\n' +
    items
      .map(({key, fields}, i) => {
        const body = fields.map(([f, v]) => `${f}: ${v}`).join(', ');
        return plural[i] ? `${key}s:\n  - {${body}}\n` : `${key}:\n  {${body}}\n`;
      })
      .join('')
  );
}

/**
 * Checks one load: it succeeds or fails with a ConfigError naming where: its detail has the
 * source (file and item, or argument), or its message names the file it could not read.
 */
function check(run: () => unknown, file?: string): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw new Error(`not a ConfigError: ${String(err)}`, {cause: err});
    expect(err.code).to.match(/^E_CONFIG_/);
    expect(err.message.length).to.be.greaterThan(0);
    if (err.detail.source === undefined) expect(err.message, 'names no place').to.match(/^error loading config file: open \S/);
    if (file !== undefined && err.detail.source?.kind === 'file') expect(err.detail.source.file).to.include('r.yml');
  }
}

describe('fuzz: configuration files and arguments', function () {
  this.timeout(0);
  const dir = mkdtempSync(join(tmpdir(), 'receptor-fuzz-config-'));
  const file = join(dir, 'r.yml');

  before(() => {
    tally('targets');
    // The built-in types, as the root package's register hook gives them (no dist/ needed).
    registry = new ActionRegistry();
    for (const def of builtinTypes() as ActionTypeDef[]) registry.add(def, 'receptor-mesh');
    keys = registry
      .list()
      .map((t) => t.def.key)
      .filter((k) => !['command-runner', 'config', 'c'].includes(k));
    fieldsOf = new Map(keys.map((k) => [k, registry.get(k)!.def.fields.map((f) => f.name)]));
  });

  it('v1 YAML lists and v2 maps, as built and mutated: load or a ConfigError naming the file', () => {
    const input = fc.record({
      items: fc.array(item(), {maxLength: 5}),
      v2: fc.boolean(),
      plural: fc.array(fc.boolean(), {minLength: 5, maxLength: 5}),
      mutations: fc.oneof(fc.constant<Mutation[]>([]), fc.array(mutation, {minLength: 1, maxLength: 4})),
    });
    fuzz(fuzzSettings('config-yaml', 0xc0f1, 600), input, ({items, v2: isV2, plural, mutations}) => {
      const text = Buffer.from(isV2 ? v2(items, plural) : v1(items));
      writeFileSync(file, mutations.length > 0 ? mutate(text, mutations) : text);
      check(() => loadConfig(['--config', file], registry, {cwd: dir}), file);
    });
  });

  it('Go-style command-line arguments: load or a ConfigError naming the argument', () => {
    const token = fc.oneof(
      {weight: 3, arbitrary: fc.constantFrom(...keys).map((k) => `--${k}`)},
      {
        weight: 4,
        arbitrary: fc.tuple(fc.constantFrom('id', 'port', 'address', 'filename', 'service', 'level', 'cost', 'nodecost', 'tls', 'x'), scalar).map(([f, v]) => `${f}=${v}`),
      },
      {weight: 1, arbitrary: fc.oneof(fc.string({maxLength: 12}), fc.constantFrom('-', '--', '-c', '--config', '--help=x', '--config-v2', '-node', '='))},
    );
    fuzz(fuzzSettings('config-cli', 0xc0f2, 1500), fc.array(token, {maxLength: 8}), (argv) => {
      check(() => loadConfig(argv, registry, {cwd: dir}));
    });
  });
});
