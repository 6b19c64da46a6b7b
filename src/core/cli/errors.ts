/**
 * One way out for every CLI error: `Error: <message>` on stderr, or with --json the envelope
 * `{"error":{"code","message"}}` on stdout, and the same exit code either way.
 *
 * Exit codes: 2 when the command line could not be used (oclif parse errors: unknown flag,
 * missing flag or argument, bad flag value; an unknown command), code E_USAGE; otherwise the
 * ReceptorError's own code (see the catalogue in core/errors.ts) and exit code (1 unless the
 * command documents another), E_COMMAND for an error reported by an oclif plugin's command,
 * E_INTERNAL (exit 1) for a bug.
 */
import {Errors} from '@oclif/core';
import {errorCodeOf, ReceptorError} from '../errors.js';

/** Exit code of a command line that could not be parsed (oclif's and click's convention). */
export const USAGE_EXIT = 2;

export interface ErrorReport {
  code: string;
  message: string;
  exitCode: number;
  /** A line printed after the message without --json (e.g. where to find help). */
  hint?: string;
}

const ANSI = /\u001b\[[0-9;]*m/g;
const HELP_HINT = /\n?See more help with --help\s*$/;

/** True when `--json` comes before any `--` in argv. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const i = argv.indexOf('--json');
  return i !== -1 && (end === -1 || i < end);
}

/**
 * A ReceptorError, also one from another copy of the module (bin/dev.js runs the sources
 * while oclif may load a hook from dist/): an Error with an E_ code and a numeric exit code.
 */
export function isReceptorError(err: unknown): err is ReceptorError {
  if (err instanceof ReceptorError) return true;
  const e = err as {code?: unknown; exitCode?: unknown};
  return err instanceof Error && typeof e.code === 'string' && /^E_[A-Z0-9_]+$/.test(e.code) && typeof e.exitCode === 'number';
}

/** An oclif parser error (they all carry the parser's input as `parse`). */
export function isParseError(err: unknown): err is Errors.CLIError & {parse: unknown} {
  return err instanceof Errors.CLIError && 'parse' in err;
}

/**
 * The parse error's message on one line: "Missing required flag socket", "Nonexistent flag:
 * --bogus", "Parsing --count: Expected an integer but received: abc".
 */
export function parseErrorMessage(err: Error & {args?: unknown}): string {
  const text = err.message.replace(ANSI, '').replace(HELP_HINT, '');
  const lines = text.split('\n').map((l) => l.trim());
  const first = lines[0] ?? ''; // split always gives one
  if (/^The following errors? occurred:$/.test(first)) return lines.slice(1).filter(Boolean).join('; ');
  const flag = /^Parsing (--\S+)$/.exec(first);
  if (flag) return `${flag[1]}: ${lines.slice(1).filter(Boolean).join(' ')}`;
  const m = /^Missing (\d+) required args?:?$/.exec(first);
  if (m && Array.isArray(err.args)) {
    const names = (err.args as Array<{name?: string}>).map((a) => a.name).filter(Boolean);
    return `Missing ${m[1]} required argument${m[1] === '1' ? '' : 's'}: ${names.join(', ')}`;
  }
  return lines.filter(Boolean).join(' ');
}

/**
 * What to print and how to exit for any error that reached the CLI's top. `duringParse`: the
 * error came out of the command's flag and argument parsing (a flag's value did not parse).
 */
export function describeError(err: unknown, duringParse = false): ErrorReport {
  if (isReceptorError(err)) return {code: err.code, message: err.message, exitCode: err.exitCode};
  if (isParseError(err) || (duringParse && err instanceof Error))
    return {code: 'E_USAGE', message: parseErrorMessage(err), exitCode: USAGE_EXIT, hint: 'See more help with --help'};
  if (err instanceof Errors.CLIError) {
    const exit = err.oclif?.exit;
    return {code: 'E_COMMAND', message: err.message.replace(ANSI, ''), exitCode: typeof exit === 'number' && exit > 0 ? exit : 1};
  }
  const message = err instanceof Error ? err.message : String(err);
  // An error class outside the catalogue base (a peer's bad frame, a refused certificate) still has its code.
  return {code: errorCodeOf(err), message, exitCode: 1};
}

/** Writes the report: the envelope on stdout with --json, else `Error: …` (and the hint) on stderr. */
export function printError(report: ErrorReport, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({error: {code: report.code, message: report.message}}) + '\n');
  } else {
    process.stderr.write(`Error: ${report.message}\n${report.hint ? report.hint + '\n' : ''}`);
  }
}
