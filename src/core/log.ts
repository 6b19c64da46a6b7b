/**
 * pino set-up: logs on stderr, stdout stays free for command output. Two formats: JSON lines
 * (one object per line, for machines and log collectors) and text lines for a person
 * (`2026-12-07 10:00:00.123 INFO  Connection established peer=bar cost=1`). The text form is
 * written by our own small destination (no worker thread, no extra dependency).
 */
import {pino, type Logger, type LevelWithSilent, type DestinationStream} from 'pino';
import {settings} from './settings.js';

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

export type LogFormat = 'text' | 'json';
/** What `--log-format` and RECEPTOR_LOG_FORMAT accept; `auto` = text on a terminal, JSON otherwise. */
export const LOG_FORMAT_CHOICES = ['auto', 'text', 'json'] as const;

export function isLogFormatChoice(v: string): v is (typeof LOG_FORMAT_CHOICES)[number] {
  return (LOG_FORMAT_CHOICES as readonly string[]).includes(v.toLowerCase());
}

export interface LogFormatContext {
  env?: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal. */
  isTTY?: boolean;
}

/**
 * The format to write: the item/flag (`auto`, `text`, `json`) if given and not `auto`, else
 * RECEPTOR_LOG_FORMAT if set and not `auto`, else text when stderr is a terminal, JSON when not.
 */
export function chooseLogFormat(requested: string | undefined, ctx: LogFormatContext = {}): LogFormat {
  const fromEnv = ctx.env ? ctx.env.RECEPTOR_LOG_FORMAT : settings().logFormat;
  const isTTY = ctx.isTTY ?? process.stderr.isTTY === true;
  for (const v of [requested, fromEnv]) {
    const lv = v?.trim().toLowerCase();
    if (lv === 'text' || lv === 'json') return lv;
  }
  return isTTY ? 'text' : 'json';
}

/** Colours only on a terminal, and never when NO_COLOR is set to a non-empty value (no-color.org). */
export function useColour(ctx: LogFormatContext = {}): boolean {
  const noColor = ctx.env ? Boolean(ctx.env.NO_COLOR) : settings().noColor;
  const isTTY = ctx.isTTY ?? process.stderr.isTTY === true;
  return isTTY && !noColor;
}

// ------------------------------------------------------------------ text lines ---------

const LEVEL_NAMES: Record<number, string> = {10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL'};
const LEVEL_COLOURS: Record<string, string> = {TRACE: '90', DEBUG: '36', INFO: '32', WARN: '33', ERROR: '31', FATAL: '35'};
/** Fields every line has, shown in their own place or not at all. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Local time, `YYYY-MM-DD HH:MM:SS.mmm`. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Control characters (a peer can choose node IDs and reasons) shown escaped, never sent to the terminal. */
function escapeControls(s: string, keepNewlines: boolean): string {
  const re = keepNewlines ? /[\x00-\x08\x0b-\x1f\x7f]/g : /[\x00-\x1f\x7f]/g;
  return s.replace(re, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** A field value: bare when it is one plain word, else quoted like JSON. */
function fieldValue(key: string, v: unknown): string {
  if (key === 'err' && v && typeof v === 'object' && typeof (v as {message?: unknown}).message === 'string') {
    return fieldValue('', (v as {message: string}).message);
  }
  if (typeof v === 'string') return v !== '' && /^[^\s"=\\\x00-\x1f\x7f]+$/.test(v) ? v : escapeControls(JSON.stringify(v), false);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return escapeControls(JSON.stringify(v) ?? String(v), false);
}

export interface TextLineOptions {
  colour?: boolean;
}

/**
 * One log record (as pino serialises it, `level` as a number or a label) as a text line
 * without the newline: time, level, message, then the other fields as key=value. An error's
 * stack follows on indented lines for error and fatal records.
 */
export function formatTextLine(rec: Record<string, unknown>, opts: TextLineOptions = {}): string {
  const colour = opts.colour === true;
  const paint = (code: string, s: string) => (colour ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lvl = typeof rec.level === 'number' ? (LEVEL_NAMES[rec.level] ?? `L${rec.level}`) : String(rec.level ?? 'INFO').toUpperCase();
  const time = typeof rec.time === 'number' ? rec.time : typeof rec.time === 'string' ? Date.parse(rec.time) : NaN;
  const parts = [paint('2', Number.isFinite(time) ? formatTimestamp(time) : '-'), paint(LEVEL_COLOURS[lvl] ?? '0', lvl.padEnd(5))];
  const msg = typeof rec.msg === 'string' ? escapeControls(rec.msg, true) : '';
  let line = `${parts.join(' ')} ${msg}`;
  for (const [k, v] of Object.entries(rec)) {
    if (HIDDEN.has(k) || v === undefined) continue;
    line += ` ${paint('2', `${k}=`)}${fieldValue(k, v)}`;
  }
  const err = rec.err as {stack?: unknown} | undefined;
  if ((lvl === 'ERROR' || lvl === 'FATAL') && err && typeof err === 'object' && typeof err.stack === 'string') {
    const stack = err.stack.split('\n').slice(1);
    if (stack.length > 0) line += '\n' + stack.map((l) => `    ${escapeControls(l.trim(), false)}`).join('\n');
  }
  return line;
}

/** A pino destination that turns pino's JSON lines into text lines on another stream. */
export class TextDestination implements DestinationStream {
  constructor(
    private readonly out: {write(s: string): unknown},
    private readonly opts: TextLineOptions = {},
  ) {}

  write(chunk: string): void {
    let text = '';
    for (const json of chunk.split('\n')) {
      if (json === '') continue;
      try {
        text += formatTextLine(JSON.parse(json) as Record<string, unknown>, this.opts) + '\n';
      } catch {
        text += json + '\n';
      }
    }
    if (text !== '') this.out.write(text);
  }
}

export interface LoggerOptions {
  /** `auto` (default), `text` or `json`: see chooseLogFormat. */
  format?: string;
  /** Where to write (default: stderr, synchronously). */
  destination?: {write(s: string): unknown};
  /** For tests: the environment and terminal-ness to decide format and colour by. */
  context?: LogFormatContext;
}

export function createLogger(level: LevelWithSilent = 'info', bindings: Record<string, unknown> = {}, opts: LoggerOptions = {}): Logger {
  const ctx = opts.context ?? {};
  const {logLevel} = settings();
  const envLevel = logLevel ? pinoLevel(logLevel) : undefined;
  const format = chooseLogFormat(opts.format, ctx);
  const out = opts.destination ?? pino.destination({fd: 2, sync: true});
  return pino(
    {
      level: envLevel ?? level,
      base: {pid: process.pid, ...bindings},
      timestamp: format === 'text' ? pino.stdTimeFunctions.epochTime : pino.stdTimeFunctions.isoTime,
      formatters: {level: (label) => ({level: label})},
    },
    format === 'text' ? new TextDestination(out, {colour: opts.destination ? false : useColour(ctx)}) : (out as DestinationStream),
  );
}
