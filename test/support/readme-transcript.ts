/**
 * The README's marked blocks and a tolerant transcript matcher, for the README quick-start
 * check (test/e2e/readme-quickstart.test.ts).
 *
 * A block is marked by an HTML comment on the line before its opening fence:
 *   <!-- quickstart:run -->         shell commands, run as written (a failing one fails the check)
 *   <!-- quickstart:transcript -->  `$ command` lines, each followed by the output it prints
 *                                   (stdout and stderr as a terminal shows them); a command
 *                                   shown without output only has to exit 0
 *   <!-- quickstart:foreground -->  a daemon started in the foreground: it must come up and
 *                                   stop cleanly on Ctrl-C (SIGINT)
 * Blocks under one heading run in order in one shell (so `cd` and `export` carry over).
 */

export type BlockKind = 'run' | 'transcript' | 'foreground';

export interface ReadmeBlock {
  kind: BlockKind;
  /** The heading the block stands under. */
  section: string;
  /** 1-based line of the block's first content line. */
  line: number;
  body: string;
}

const MARKER = /^<!--\s*quickstart:(\S+)\s*-->\s*$/;
const KINDS: readonly string[] = ['run', 'transcript', 'foreground'];

/** The marked blocks of a Markdown text, in order; a malformed marker throws, naming its line. */
export function markedBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  let section = '';
  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('```')) {
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    if (/^#{1,6} /.test(line)) section = line.replace(/^#+ /, '');
    const m = MARKER.exec(line);
    if (!m) continue;
    if (!KINDS.includes(m[1])) throw new Error(`README line ${i + 1}: unknown marker quickstart:${m[1]} (known: ${KINDS.join(', ')})`);
    if (!lines[i + 1]?.startsWith('```')) throw new Error(`README line ${i + 1}: quickstart:${m[1]} is not followed by a fenced block`);
    const end = lines.findIndex((l, k) => k > i + 1 && l.startsWith('```'));
    if (end < 0) throw new Error(`README line ${i + 2}: the fenced block never closes`);
    blocks.push({kind: m[1] as BlockKind, section, line: i + 3, body: lines.slice(i + 2, end).join('\n')});
    i = end;
  }
  return blocks;
}

export interface TranscriptStep {
  command: string;
  expected: string[];
  /** README line of the command. */
  line: number;
}

/** Splits a transcript block into `$ command` steps with their expected output lines. */
export function transcriptSteps(block: ReadmeBlock): TranscriptStep[] {
  const steps: TranscriptStep[] = [];
  block.body.split('\n').forEach((l, k) => {
    if (l.startsWith('$ ')) steps.push({command: l.slice(2), expected: [], line: block.line + k});
    else if (steps.length === 0) throw new Error(`README line ${block.line + k}: a transcript must start with a "$ command" line`);
    else steps[steps.length - 1].expected.push(l);
  });
  return steps;
}

/** Go duration texts (`2.835401ms`, `612.345µs`, `1m2.5s`): any duration matches any other. */
const DURATION = String.raw`(?:\d+(?:\.\d+)?(?:ns|µs|us|ms|s|m|h))+`;
/** An example unit ID in the README: 8 letters and digits with a digit or an inner capital. */
const EXAMPLE_ID = /^(?=[A-Za-z0-9]{8}$)(?:.*\d|.+[A-Z])/;

interface LinePattern {
  re: RegExp;
  /** The example IDs of the line, in the order of the regex's groups. */
  ids: string[];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * One expected line as a pattern: `...` stands for any text, a duration for any duration,
 * an example unit ID for any ID (bound consistently across a transcript), the rest is literal.
 */
export function linePattern(expected: string): LinePattern {
  const ids: string[] = [];
  const parts = expected.split(/(\.\.\.|\b[A-Za-z0-9]{8}\b|\b\d+(?:\.\d+)?(?:ns|µs|us|ms|s|m|h)(?:\d+(?:\.\d+)?(?:ns|µs|us|ms|s|m|h))*(?![A-Za-z]))/u);
  let src = '';
  parts.forEach((p, k) => {
    if (k % 2 === 0) src += escape(p);
    else if (p === '...') src += '.*';
    else if (EXAMPLE_ID.test(p)) {
      ids.push(p);
      src += '([A-Za-z0-9]{8})';
    } else if (new RegExp(`^${DURATION}$`, 'u').test(p)) src += DURATION;
    else src += escape(p);
  });
  return {re: new RegExp(`^${src}$`, 'u'), ids};
}

/** Example ID → the real ID it stands for; one-to-one across a whole transcript. */
export type Bindings = Map<string, string>;

function bindLine(p: LinePattern, actual: string, b: Bindings): Bindings | undefined {
  const m = p.re.exec(actual);
  if (!m) return undefined;
  const next = new Map(b);
  for (let g = 0; g < p.ids.length; g++) {
    const ex = p.ids[g];
    const real = m[g + 1];
    const had = next.get(ex);
    if (had !== undefined && had !== real) return undefined;
    if (had === undefined && [...next.values()].includes(real)) return undefined;
    next.set(ex, real);
  }
  return next;
}

/**
 * Matches a command's output lines against the expected ones. Lines are in order, except
 * that consecutive lines with unit IDs may come in any order (IDs are random, and lists are
 * sorted by ID). Returns the extended bindings, or undefined when the output differs.
 */
export function matchOutput(expected: string[], actual: string[], bindings: Bindings): Bindings | undefined {
  if (expected.length !== actual.length) return undefined;
  const pats = expected.map(linePattern);
  const runEnd = (i: number) => {
    let e = i;
    while (e < pats.length && pats[e].ids.length > 0) e++;
    return e;
  };
  const used = new Set<number>();
  const go = (i: number, b: Bindings, start: number, end: number): Bindings | undefined => {
    if (i === pats.length) return b;
    if (i >= end) {
      start = i;
      end = pats[i].ids.length > 0 ? runEnd(i) : i + 1;
    }
    for (let k = start; k < end; k++) {
      if (used.has(k)) continue;
      const nb = bindLine(pats[i], actual[k], b);
      if (!nb) continue;
      used.add(k);
      const r = go(i + 1, nb, start, end);
      used.delete(k);
      if (r) return r;
    }
    return undefined;
  };
  return go(0, bindings, 0, 0);
}
