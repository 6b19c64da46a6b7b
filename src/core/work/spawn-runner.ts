/**
 * Node side of the command runner (workceptor.md §7.1): re-executes this CLI as
 *
 *   <self> --node id=worker --log-level <lvl> --command-runner command=<c> params=<p> unitdir=<d>
 *
 * in a new session (`detached: true` = setsid), so the runner and its job survive the node
 * stopping or crashing. The runner's stdin and stdout are not used; its stderr (logs) is the
 * node's stderr, as in Go. The runner ignores write errors there, so a node that has gone
 * away does not take it down.
 */
import {spawn, type ChildProcess} from 'node:child_process';

export interface SpawnRunnerOptions {
  /** How to run this CLI, e.g. `[process.execPath, '/path/bin/run.js']`. */
  selfCommand: string[];
  /** Go log level name passed to `--log-level` (`error`, `warning`, `info`, `debug`). */
  logLevel: string;
  command: string;
  params: string;
  unitdir: string;
}

/** The runner's argv after the program (selfCommand[1..] come first). */
export function commandRunnerArgs(opts: Omit<SpawnRunnerOptions, 'selfCommand'>): string[] {
  return ['--node', 'id=worker', '--log-level', opts.logLevel, '--command-runner', `command=${opts.command}`, `params=${opts.params}`, `unitdir=${opts.unitdir}`];
}

/**
 * Starts a command runner. Returns the child (not unref'd: the caller decides). Errors: a
 * synchronous throw for bad arguments; otherwise, when the spawn failed, `pid` is undefined
 * and the child emits `error` on the next tick — the caller turns either into the Detail
 * `Failed to start command runner: <err.message>`.
 */
export function spawnCommandRunner(opts: SpawnRunnerOptions): ChildProcess {
  const [file, ...pre] = opts.selfCommand;
  if (file === undefined || file === '') throw new Error('exec: no command');
  return spawn(file, [...pre, ...commandRunnerArgs(opts)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
    windowsHide: true,
  });
}
