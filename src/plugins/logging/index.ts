/** `log-level` and `trace` (config.md §5.2–§5.3), mapped onto pino levels. */
import type {ActionTypeDef} from '../../core/config/types.js';
import {isLogFormatChoice, LOG_FORMAT_CHOICES, pinoLevel} from '../../core/log.js';
import {settings} from '../../core/settings.js';
import {fieldError} from '../../core/errors.js';

export const logLevelType: ActionTypeDef<{level: string}> = {
  key: 'log-level',
  description: 'Specifies the verbosity level for command output',
  singleton: true,
  fields: [
    {
      name: 'level',
      type: 'string',
      bare: true,
      default: 'error',
      description: 'Log level: Error, Warning, Info or Debug; the default applies to a log-level item without a level (a node without the item logs at Info)',
    },
  ],
  validate(v) {
    if (!pinoLevel(v.level)) throw fieldError(`${v.level} is not a valid log level name`, 'level', v.level);
  },
  create(v) {
    return {
      init(rt) {
        if (settings().logLevel) return; // the environment overrides the file
        rt.logger.level = pinoLevel(v.level)!;
      },
    };
  },
};

/**
 * `log-format` (ours, not in Go receptor): how the node writes its log lines. The daemon reads
 * it before anything is logged (see runDaemon), so the item itself has nothing to do.
 */
export const logFormatType: ActionTypeDef<{format: string}> = {
  key: 'log-format',
  description: 'Log line format: text (for a person), json (one object per line), or auto (text when stderr is a terminal, else json)',
  singleton: true,
  fields: [{name: 'format', type: 'string', bare: true, default: 'auto', description: `One of ${LOG_FORMAT_CHOICES.join(', ')}; overrides RECEPTOR_LOG_FORMAT`}],
  validate(v) {
    if (!isLogFormatChoice(v.format)) throw fieldError(`${v.format} is not a valid log format (use ${LOG_FORMAT_CHOICES.join(', ')})`, 'format', v.format);
  },
  create() {
    return {};
  },
};

export const traceType: ActionTypeDef = {
  key: 'trace',
  description: 'Enables packet tracing output',
  singleton: true,
  fields: [],
  create() {
    return {
      prepare(rt) {
        rt.logger.level = 'trace';
      },
    };
  },
};
