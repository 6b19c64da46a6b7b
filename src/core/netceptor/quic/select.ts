/**
 * Which QUIC engine carries this process's mesh streams: the native quiche binding or the
 * TypeScript engine. The choice (`auto`, `quiche`, `ts`) comes from, strongest first, the
 * `--quic-engine` option of `receptor node start`, $RECEPTOR_QUIC_ENGINE, the node item's
 * `quicengine` field, else `auto` (quiche when its binding loads, else TS). The environment
 * beats the config file so a test run can force an engine on every node it spawns.
 * One engine instance serves the whole process.
 */
import {ReceptorError} from '../../errors.js';
import {settings} from '../../settings.js';
import type {QuicEngine} from './engine.js';
import {loadQuicheFrom, QuicheEngine, quicheEngine} from './quiche.js';
import type {TsQuicEngine} from './ts/engine.js';

export const QUIC_ENGINE_CHOICES = ['auto', 'quiche', 'ts'] as const;
export type QuicEngineChoice = (typeof QUIC_ENGINE_CHOICES)[number];
export type QuicEngineSource = 'flag' | 'environment' | 'config' | 'default';

export const QUIC_ENGINE_ENV = 'RECEPTOR_QUIC_ENGINE';
export const QUIC_ENGINE_FLAG = '--quic-engine';

export function isQuicEngineChoice(v: unknown): v is QuicEngineChoice {
  return typeof v === 'string' && (QUIC_ENGINE_CHOICES as readonly string[]).includes(v);
}

/** Why a value is not a choice ('' = it is one). */
export function quicEngineChoiceProblem(v: string): string {
  return isQuicEngineChoice(v) ? '' : `${JSON.stringify(v)} is not a QUIC engine (use ${QUIC_ENGINE_CHOICES.join(', ')})`;
}

export interface QuicEngineInputs {
  /** The --quic-engine option's value. */
  flag?: string;
  /** $RECEPTOR_QUIC_ENGINE ('' counts as unset). */
  env?: string;
  /** The node item's `quicengine` ('' counts as unset; checked by the item's validate). */
  config?: string;
}

/** The choice and where it came from; a bad option or environment value is E_USAGE. */
export function resolveQuicEngineChoice(inputs: QuicEngineInputs): {choice: QuicEngineChoice; source: QuicEngineSource} {
  const sources: Array<[QuicEngineSource, string | undefined, string]> = [
    ['flag', inputs.flag, `the ${QUIC_ENGINE_FLAG} option`],
    ['environment', inputs.env, QUIC_ENGINE_ENV],
    ['config', inputs.config, 'the node item field quicengine'],
  ];
  for (const [source, value, where] of sources) {
    if (value === undefined || value === '') continue;
    const v = value.toLowerCase();
    if (!isQuicEngineChoice(v)) throw new ReceptorError(source === 'config' ? 'E_CONFIG_FIELD_INVALID' : 'E_USAGE', `${quicEngineChoiceProblem(value)} in ${where}`);
    return {choice: v, source};
  }
  return {choice: 'auto', source: 'default'};
}

export interface QuicEngineSelection {
  engine: QuicEngine;
  /** The engine in use. */
  name: 'quiche' | 'ts';
  choice: QuicEngineChoice;
  source: QuicEngineSource;
  /** Why, in a few words (for the log). */
  reason: string;
}

export interface SelectDeps {
  /** The quiche engine; throws E_QUIC_UNAVAILABLE when the binding does not load. */
  quiche?: () => QuicEngine;
  /** The TS engine. */
  ts?: () => QuicEngine;
}

/** The quiche engine, from $RECEPTOR_QUICHE_PACKAGE when set (tests simulate a missing binding). */
function defaultQuiche(): QuicEngine {
  const pkg = settings().quichePackage;
  return pkg ? new QuicheEngine(loadQuicheFrom(pkg)) : quicheEngine();
}

// The TS engine's modules take ~70 ms to load, so only a process that uses it loads them:
// configureQuicEngine does when the choice needs it, and so does importing this module under
// RECEPTOR_QUIC_ENGINE=ts (for nodes made in-process without configureQuicEngine).
let tsModule: typeof import('./ts/engine.js') | undefined;

/** Loads the TypeScript engine's modules (once). */
export async function loadTsEngine(): Promise<void> {
  tsModule ??= await import('./ts/engine.js');
}

if (settings().quicEngine?.toLowerCase() === 'ts') await loadTsEngine();

let sharedTs: TsQuicEngine | undefined;
function tsEngine(): QuicEngine {
  if (!tsModule) throw new ReceptorError('E_QUIC_UNAVAILABLE', 'the TypeScript QUIC engine is not loaded (configureQuicEngine or loadTsEngine loads it)');
  const keyUpdatePackets = settings().quicKeyUpdatePackets;
  sharedTs ??= new tsModule.TsQuicEngine(keyUpdatePackets !== undefined ? {keyUpdatePackets} : {});
  return sharedTs;
}

/**
 * Makes the engine for a resolved choice; `quiche` without its binding throws E_QUIC_UNAVAILABLE,
 * and so does a choice that needs the TS engine before {@link loadTsEngine} (unless `deps.ts`).
 */
export function selectQuicEngine(choice: QuicEngineChoice, source: QuicEngineSource, deps: SelectDeps = {}): QuicEngineSelection {
  const quiche = deps.quiche ?? defaultQuiche;
  const ts = deps.ts ?? tsEngine;
  const by = source === 'default' ? 'default' : `chosen by ${source}`;
  if (choice === 'ts') return {engine: ts(), name: 'ts', choice, source, reason: `ts ${by}`};
  if (choice === 'quiche') return {engine: quiche(), name: 'quiche', choice, source, reason: `quiche ${by}`};
  try {
    return {engine: quiche(), name: 'quiche', choice, source, reason: `auto (${by}): native binding loaded`};
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return {engine: ts(), name: 'ts', choice, source, reason: `auto (${by}): native binding unavailable: ${detail}`};
  }
}

// ---------------------------------------------------------------------------------------------
// The process's engine
// ---------------------------------------------------------------------------------------------

let flagValue: string | undefined;
let current: QuicEngineSelection | undefined;

/**
 * Takes `--quic-engine X` / `--quic-engine=X` out of a node's argument list (it is a process
 * option, not a config action) and remembers it; a missing or bad value, or a bad
 * $RECEPTOR_QUIC_ENGINE, is E_USAGE.
 */
export function takeQuicEngineFlag(argv: readonly string[]): string[] {
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let value: string | undefined;
    if (a === QUIC_ENGINE_FLAG) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) throw new ReceptorError('E_USAGE', `${QUIC_ENGINE_FLAG} needs a value (${QUIC_ENGINE_CHOICES.join(', ')})`);
      i++;
    } else if (a.startsWith(`${QUIC_ENGINE_FLAG}=`)) {
      value = a.slice(QUIC_ENGINE_FLAG.length + 1);
    } else {
      rest.push(a);
      continue;
    }
    resolveQuicEngineChoice({flag: value}); // refuses a bad value now, before the node starts
    flagValue = value;
  }
  // A bad $RECEPTOR_QUIC_ENGINE is refused here too (even under the option): a typo is not ignored.
  resolveQuicEngineChoice({env: settings().quicEngine});
  return rest;
}

/**
 * Selects the process's engine from the option, the environment and the node item's field
 * (node start calls this once; a later call replaces the selection for new endpoints), loading
 * the TS engine first when the choice needs it.
 */
export async function configureQuicEngine(config?: string, deps: SelectDeps = {}): Promise<QuicEngineSelection> {
  const {choice, source} = resolveQuicEngineChoice({flag: flagValue, env: settings().quicEngine, config});
  if (!deps.ts && (choice === 'ts' || (choice === 'auto' && !quicheLoads(deps)))) await loadTsEngine();
  current = selectQuicEngine(choice, source, deps);
  return current;
}

function quicheLoads(deps: SelectDeps): boolean {
  try {
    (deps.quiche ?? defaultQuiche)();
    return true;
  } catch {
    return false;
  }
}

/**
 * The engine for new QUIC endpoints: the configured one, else selected now (option,
 * environment, auto; a TS choice needs its modules loaded, see {@link loadTsEngine}).
 */
export function quicEngine(): QuicEngine {
  if (!current) {
    const {choice, source} = resolveQuicEngineChoice({flag: flagValue, env: settings().quicEngine});
    current = selectQuicEngine(choice, source);
  }
  return current.engine;
}

/** The current selection, if one was made. */
export function quicEngineSelection(): QuicEngineSelection | undefined {
  return current;
}

/** Forgets the option and the selection (tests). */
export function resetQuicEngineSelection(): void {
  flagValue = undefined;
  current = undefined;
  sharedTs = undefined;
}
