/**
 * Running a node from a Go-style argument list: load items, run the phases, stay up until
 * SIGINT/SIGTERM (a second signal forces exit), shut down cleanly.
 */
import {loadConfig, type LoadResult} from './config/load.js';
import {instantiate, PHASES, runPhase, type LiveItem} from './config/lifecycle.js';
import {loadActionRegistry} from './config/plugins.js';
import {actionHelp} from './config/help.js';
import type {ActionRegistry} from './config/registry.js';
import {startDiagnostics} from './diag.js';
import {createLogger} from './log.js';
import {createReloader} from './reload.js';
import {NodeRuntime, type ShutdownRequest} from './runtime.js';
import {takeQuicEngineFlag} from './netceptor/quic/select.js';
import {settings} from './settings.js';

export interface DaemonOptions {
  argv: string[];
  /** The command name, for messages (`receptor`). */
  bin?: string;
  /** Package root whose plugins to load (defaults to this package). */
  root?: string;
  /** Show listr2 progress (stdout is a TTY). */
  progress?: boolean;
  /** How the CLI re-invokes itself (for child processes). */
  selfCommand?: string[];
  /** For tests and embedding: registry to use instead of the oclif hook. */
  registry?: ActionRegistry;
}

const SIGNAL_EXIT: Record<string, number> = {SIGINT: 130, SIGTERM: 143};

export async function runDaemon(daemonOpts: DaemonOptions): Promise<number> {
  // --quic-engine is a process option, not a config action: taken out before the items are read.
  const opts = {...daemonOpts, argv: takeQuicEngineFlag(daemonOpts.argv)};
  const registry = opts.registry ?? (await loadActionRegistry(opts.root));
  const loaded: LoadResult = loadConfig(opts.argv, registry);
  if (loaded.help) {
    process.stdout.write(actionHelp(registry, opts.bin ?? 'receptor') + '\n');
    return 0;
  }
  const format = loaded.items.find((it) => it.key === 'log-format')?.values.format;
  const logger = createLogger('info', {}, {format: typeof format === 'string' ? format : undefined});
  for (const w of loaded.warnings) logger.warn(w);
  const rt = new NodeRuntime(logger, {
    configFiles: loaded.configFiles,
    argv: opts.argv,
    selfCommand: opts.selfCommand ?? [process.execPath, ...process.execArgv, process.argv[1]!], // node runs a script
  });
  const live = instantiate(loaded.items);
  const exclusive = loaded.items.some((it) => it.def.exclusive);
  // Created before the run phase, so it learns which backends each reloadable item starts.
  const configIndex = opts.argv.findIndex((a) => a === '--config' || a === '-c' || a.startsWith('--config='));
  const firstFile = loaded.configFiles[0];
  const reloader = !exclusive && configIndex >= 0 && firstFile !== undefined ? createReloader(rt, registry, opts.argv, firstFile) : undefined;

  // Keep the event loop alive from here until shutdown.
  const keepAlive = setInterval(() => {}, 1 << 30);
  let shuttingDown = false;
  let resolveStop!: (req: ShutdownRequest) => void;
  const stopped = new Promise<ShutdownRequest>((r) => (resolveStop = r));
  const onSignal = (sig: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn({signal: sig}, 'second signal: forcing exit');
      process.exit(SIGNAL_EXIT[sig] ?? 1);
    }
    shuttingDown = true;
    logger.info({signal: sig}, 'Shutting down');
    resolveStop({reason: sig, exitCode: 0});
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A promise rejected without a handler is a bug somewhere, but not a reason to take the
  // mesh node (and the work it supervises) down: log it and keep running.
  const onRejection = (reason: unknown) => logger.error({err: reason}, 'unhandled promise rejection (a bug); the node keeps running');
  process.on('unhandledRejection', onRejection);
  rt.onShutdownRequest((req) => {
    shuttingDown = true;
    resolveStop(req);
  });
  let stopDiagnostics: (() => void) | undefined;
  const cleanup = async () => {
    stopDiagnostics?.();
    await rt.shutdown();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('unhandledRejection', onRejection);
    clearInterval(keepAlive);
  };

  try {
    await runPhases(live, rt, opts.progress === true && !exclusive, reloader?.track);
  } catch (err) {
    await cleanup();
    throw err;
  }
  if (exclusive) {
    await cleanup();
    return 0;
  }
  if (rt.hasNode && rt.node.backends.length === 0) {
    // As Go: the warning (logged once), the hint on stdout, exit status 1.
    logger.warn('Nothing to do - no backends are running.');
    process.stdout.write(`Run ${opts.bin ?? 'receptor'} --help for command line instructions.\n`);
    await cleanup();
    return 1;
  }
  if (reloader) rt.registry('reload').register('reload', () => reloader.reload());
  logger.info('Initialization complete');
  const {diagFile, diagIntervalMs} = settings();
  if (diagFile) stopDiagnostics = startDiagnostics(diagFile, diagIntervalMs ?? 2000, logger);
  const req = await stopped;
  await cleanup();
  logger.info({reason: req.reason}, 'Shutdown complete');
  return req.exitCode;
}

async function runPhases(live: LiveItem[], rt: NodeRuntime, progress: boolean, afterRun?: (li: LiveItem) => void): Promise<void> {
  const after = (phase: string) => (phase === 'run' ? afterRun : undefined);
  if (!progress) {
    for (const phase of PHASES) await runPhase(phase, live, rt, undefined, after(phase));
    return;
  }
  const {Listr} = await import('listr2');
  const titles: Record<string, string> = {init: 'Init', prepare: 'Prepare', run: 'Run'};
  const tasks = new Listr(
    PHASES.map((phase) => ({
      title: `${titles[phase]} (${live.filter((l) => typeof l.instance[phase] === 'function').length} items)`,
      task: async (_ctx: unknown, task: {output: string}) => {
        await runPhase(
          phase,
          live,
          rt,
          (li) => {
            task.output = li.item.key;
          },
          after(phase),
        );
      },
    })),
    {concurrent: false, exitOnError: true, registerSignalListeners: false, rendererOptions: {collapseErrors: false}},
  );
  await tasks.run();
}
