/**
 * `receptor stauts`: did-you-mean. On an interactive terminal (stdin and stdout TTYs, no
 * --json, not CI) this is @oclif/plugin-not-found, which asks "Did you mean status?" and runs
 * the suggestion on yes (the question gives up after 10 s). Everywhere else, so that scripts
 * never wait on a question, the suggestion is part of the error: exit 2, code E_USAGE, and
 * with --json the `{"error":{"code","message"}}` envelope.
 */
import {Errors, toConfiguredId, type Hook} from '@oclif/core';
import pluginNotFound from '@oclif/plugin-not-found';
import {ReceptorError} from '../core/errors.js';
import {USAGE_EXIT, wantsJson} from '../core/cli/errors.js';

/** Levenshtein distance (insert, delete, substitute: 1 each). */
export function editDistance(a: string, b: string): number {
  // Rows of b.length + 1 entries; every index below stays within them.
  let prev = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate, if it is close enough to be a plausible typo. */
export function closestId(id: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(id, c);
    if (d < bestDistance || (d === bestDistance && best !== undefined && c < best)) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(id.length / 2)) ? best : undefined;
}

function interactive(argv: string[]): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !wantsJson(argv) && !process.env.CI;
}

const hook: Hook.CommandNotFound = async function (opts) {
  const {config} = opts;
  const argv = opts.argv ?? [];
  if (interactive(argv)) {
    try {
      return await pluginNotFound.call(this, opts);
    } catch (err) {
      // Declined or timed out: the plugin exits 127; a usage error here is 2, like everywhere.
      if (err instanceof Errors.CLIError && !(err instanceof Errors.ExitError)) {
        throw new ReceptorError('E_USAGE', err.message, {exitCode: USAGE_EXIT});
      }
      throw err;
    }
  }
  const hidden = new Set(config.commands.filter((c) => c.hidden).map((c) => c.id));
  const candidates = new Set<string>();
  for (const c of config.commands) if (!c.hidden) for (const id of [c.id, ...c.aliases]) candidates.add(id);
  for (const t of config.topics) if (!t.hidden && !hidden.has(t.name)) candidates.add(t.name);
  const shown = toConfiguredId(opts.id, config);
  const suggestion = closestId(opts.id, candidates);
  const help = `Run "${config.bin} help" for a list of available commands.`;
  const text = suggestion
    ? `"${shown}" is not a ${config.bin} command. Did you mean "${toConfiguredId(suggestion, config)}"? ${help}`
    : `"${shown}" is not a ${config.bin} command. ${help}`;
  throw new ReceptorError('E_USAGE', text, {exitCode: USAGE_EXIT});
};

export default hook;
