/** pino set-up: structured JSON logs on stderr; stdout stays free for command output. */
import {pino, type Logger, type LevelWithSilent} from 'pino';

/** receptor log-level names → pino levels. */
const LEVELS: Record<string, LevelWithSilent> = {
  error: 'error',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
};

export function pinoLevel(receptorLevel: string): LevelWithSilent | undefined {
  return LEVELS[receptorLevel.toLowerCase()];
}

export function createLogger(level: LevelWithSilent = 'info', bindings: Record<string, unknown> = {}): Logger {
  const envLevel = process.env.RECEPTOR_LOG_LEVEL ? pinoLevel(process.env.RECEPTOR_LOG_LEVEL) : undefined;
  return pino(
    {
      level: envLevel ?? level,
      base: {pid: process.pid, ...bindings},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {level: (label) => ({level: label})},
    },
    pino.destination({fd: 2, sync: true}),
  );
}
