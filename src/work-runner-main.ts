/**
 * Lean entry point of the command runner (`receptor … --command-runner command=…
 * params=… unitdir=…`, config.md §5.16, workceptor.md §7.1). bin/run.js sends any argv with
 * `--command-runner` here before loading anything else. One runner process lives per running
 * work unit, so this file imports only the runner and Node built-ins: no oclif, no YAML, no
 * pino.
 *
 * Argv follows the Go command line (config.md §1): `--<action>` tokens (one or two dashes,
 * any case) start an action, `key=value` tokens (key case-insensitive, split at the first
 * `=`) are its fields. The node passes `--node id=worker --log-level <lvl> --command-runner
 * command=<cmd> params=<params> unitdir=<dir>`, with `params` as one word that may contain
 * spaces. For hand-typed invocations, a word after a field that is not a known `key=value`
 * continues the previous field's value (joined by a space). `--node` and other actions are
 * accepted and ignored.
 *
 * Logs are pino-style JSON lines on stderr (like the node's). Output goes through
 * `writeSync` and ignores errors: the node that holds the other end may be gone (EPIPE),
 * and the job must still be looked after.
 */
import {writeSync} from 'node:fs';
import {initSettings, settings} from './core/settings.js';
import {runCommandRunner, type RunnerLogLevel} from './core/work/runner.js';

export interface RunnerArgs {
  command: string;
  params: string;
  unitdir: string;
  /** Go log level name, lower-cased (`error`, `warning`, `info`, `debug`). */
  logLevel: string;
}

import {RunnerArgsError} from './core/errors.js';
export {RunnerArgsError};

const RUNNER_FIELDS = ['command', 'params', 'unitdir'] as const;
type RunnerField = (typeof RUNNER_FIELDS)[number];

function isRunnerField(k: string): k is RunnerField {
  return (RUNNER_FIELDS as readonly string[]).includes(k);
}

/** Parses the runner's argv (see the module comment). Throws RunnerArgsError. */
export function parseRunnerArgs(argv: string[]): RunnerArgs {
  let action: string | undefined;
  let runnerToken: string | undefined;
  const fields: Partial<Record<RunnerField, string>> = {};
  let last: RunnerField | undefined;
  let logLevel = 'error';

  for (const tok of argv) {
    if (tok.startsWith('-')) {
      action = tok.replace(/^--?/, '').toLowerCase();
      last = undefined;
      if (action === 'command-runner') runnerToken = tok;
      continue;
    }
    if (action === undefined) throw new RunnerArgsError('parameter specified before command');
    const eq = tok.indexOf('=');
    const key = eq >= 0 ? tok.slice(0, eq).toLowerCase() : undefined;
    const value = eq >= 0 ? tok.slice(eq + 1) : tok;
    if (action === 'log-level') {
      if (key === undefined || key === 'level') logLevel = value.toLowerCase();
      else throw new RunnerArgsError(`config error: unknown field name ${tok.slice(0, eq)}`);
      continue;
    }
    if (action !== 'command-runner') continue;
    if (key !== undefined && isRunnerField(key)) {
      fields[key] = value;
      last = key;
    } else if (last !== undefined) {
      fields[last] = `${fields[last]} ${tok}`;
    } else if (key !== undefined) {
      throw new RunnerArgsError(`config error: unknown field name ${tok.slice(0, eq)}`);
    } else {
      throw new RunnerArgsError('config error: command does not allow bare values');
    }
  }
  if (runnerToken === undefined) throw new RunnerArgsError('no --command-runner given');
  const missing = (['command', 'unitdir'] as const).filter((f) => fields[f] === undefined);
  if (missing.length === 1) throw new RunnerArgsError(`error in ${runnerToken}: required parameter missing: ${missing[0]}`);
  if (missing.length > 1) throw new RunnerArgsError(`error in ${runnerToken}: required parameters missing: ${missing.join(', ')}`);
  return {command: fields.command!, params: fields.params ?? '', unitdir: fields.unitdir!, logLevel};
}

/** Writes to a descriptor, ignoring failures (EPIPE when the node is gone, EAGAIN, …). */
function safeWrite(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    // nobody is listening any more; the runner carries on
  }
}

const RANK: Record<string, number> = {error: 0, warning: 1, warn: 1, info: 2, debug: 3};
const PINO_LEVEL: Record<RunnerLogLevel, string> = {error: 'error', warning: 'warn', info: 'info', debug: 'debug'};

function makeLogger(levelName: string, unitdir: string): (msg: string, level?: RunnerLogLevel) => void {
  const env = settings().logLevel?.toLowerCase();
  const max = RANK[env ?? ''] ?? RANK[levelName] ?? 0;
  return (msg, level = 'error') => {
    if ((RANK[level] ?? 0) > max) return;
    const line = JSON.stringify({
      level: PINO_LEVEL[level],
      time: new Date().toISOString(),
      pid: process.pid,
      component: 'command-runner',
      unitdir,
      msg,
    });
    safeWrite(2, line + '\n');
  };
}

/** Runs the command runner for `argv` (the CLI words after the program name) and exits. */
export async function main(argv: string[]): Promise<never> {
  initSettings(process.env);
  let args: RunnerArgs;
  try {
    args = parseRunnerArgs(argv);
  } catch (err) {
    safeWrite(2, `Error: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let code: number;
  try {
    code = await runCommandRunner({
      command: args.command,
      params: args.params,
      unitdir: args.unitdir,
      log: makeLogger(args.logLevel, args.unitdir),
    });
  } catch (err) {
    safeWrite(2, `Error: ${(err as Error)?.message ?? String(err)}\n`);
    code = 1;
  }
  process.exit(code);
}
