/**
 * Go's `regexp` (RE2 syntax, Perl flags) as JavaScript RegExp: `regexpCompile` translates a
 * pattern so that it matches what Go's `regexp.Compile` matches, and refuses what Go refuses.
 * Layer rule (see README.md): core/go imports nothing from other src/core folders.
 */

/**
 * Compiles a Go (RE2, Perl flags) regular expression as an equivalent JS RegExp with the
 * `u` flag. Throws SyntaxError for what Go rejects (bad escapes, lookarounds,
 * backreferences, bad repetitions, unbalanced brackets) and for the few constructs not
 * translated. Semantics kept: scoped flags `(?imsU)` / `(?flags:…)`, `.` not matching `\n`
 * unless `s`, `^`/`$` at text boundaries unless `m` (then only around `\n`), `\A`, `\z`,
 * ASCII `\s` `\d` `\w` `\b`, POSIX classes, `\pX` / `\p{Name}`, `\x{…}`, octal, `\Q…\E`,
 * literal `{` when not a valid repeat, repeat counts ≤ 1000. A case-insensitive scope
 * covering the whole expression uses the JS `i` flag; a partial one is expanded per
 * character (ASCII ranges only inside classes).
 */
export function regexpCompile(pattern: string): RegExp {
  const first = new Re2Translator(pattern, false);
  const source = first.translate();
  if (first.sawFold && first.sawNoFold) return new RegExp(new Re2Translator(pattern, true).translate(), 'u');
  return new RegExp(source, first.sawFold ? 'iu' : 'u');
}

interface Re2Flags {
  i: boolean; // case-insensitive
  m: boolean; // ^ and $ match at line boundaries
  s: boolean; // . matches \n
  U: boolean; // ungreedy: swap the meaning of x* and x*?
}

type Range = readonly [number, number];

const MAX_REPEAT = 1000;
const MAX_CODE_POINT = 0x10ffff;
const GO_SPACE: readonly Range[] = [
  [0x09, 0x0a],
  [0x0c, 0x0d],
  [0x20, 0x20],
];
const POSIX_CLASSES: Readonly<Record<string, readonly Range[]>> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};
const GENERAL_CATEGORIES = new Set('C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '));
const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {a: 0x07, f: 0x0c, t: 0x09, n: 0x0a, r: 0x0d, v: 0x0b};

function fail(what: string): never {
  throw new SyntaxError(what);
}

/** A code point as JS pattern text that is valid everywhere under the `u` flag. */
function esc(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return /[0-9A-Za-z_]/.test(ch) ? ch : `\\u{${cp.toString(16)}}`;
}

function rangesText(ranges: readonly Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? esc(lo) : `${esc(lo)}-${esc(hi)}`)).join('');
}

function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/** Other-case forms of a code point (simple case mapping). */
function caseVariants(cp: number): number[] {
  const ch = String.fromCodePoint(cp);
  const out = new Set<number>([cp]);
  for (const v of [ch.toLowerCase(), ch.toUpperCase()]) {
    if ([...v].length === 1) out.add(v.codePointAt(0)!);
  }
  return [...out];
}

/** The other-case counterparts of the ASCII letters inside a range. */
function asciiCaseRanges([lo, hi]: Range): Range[] {
  const out: Range[] = [];
  for (const [a, z, shift] of [
    [0x61, 0x7a, -32],
    [0x41, 0x5a, 32],
  ] as const) {
    const l = Math.max(lo, a);
    const h = Math.min(hi, z);
    if (l <= h) out.push([l + shift, h + shift]);
  }
  return out;
}

class Re2Translator {
  /** Some atom was under a case-insensitive scope / some was not. */
  sawFold = false;
  sawNoFold = false;
  private readonly cps: number[];
  private pos = 0;
  private flags: Re2Flags = {i: false, m: false, s: false, U: false};

  constructor(
    pattern: string,
    private readonly expandCase: boolean,
  ) {
    this.cps = [...pattern].map((c) => c.codePointAt(0)!);
  }

  translate(): string {
    const saved: Re2Flags[] = [];
    let out = '';
    let canRepeat = false;
    let lastWasRepeat = false;
    while (this.pos < this.cps.length) {
      const ch = String.fromCodePoint(this.next('character'));
      let repeat: string | undefined;
      if (ch === '*' || ch === '+' || ch === '?') repeat = ch;
      else if (ch === '{') repeat = this.repeatCount();
      if (repeat !== undefined) {
        if (!canRepeat) fail(`missing argument to repetition operator: ${repeat}`);
        if (lastWasRepeat) fail(`bad repetition operator: ${repeat}`);
        let lazy = this.eat('?');
        if (this.flags.U) lazy = !lazy;
        out += repeat + (lazy ? '?' : '');
        lastWasRepeat = true;
        continue;
      }
      lastWasRepeat = false;
      const couldRepeat: boolean = canRepeat;
      canRepeat = true;
      switch (ch) {
        case '(': {
          const outer = this.groupStart();
          if (outer) {
            saved.push(outer);
            out += '(?:';
            canRepeat = false;
          } else {
            canRepeat = couldRepeat; // flags only, e.g. (?i): nothing emitted
          }
          break;
        }
        case ')':
          this.flags = saved.pop() ?? fail('unexpected )');
          out += ')';
          break;
        case '|':
          out += '|';
          canRepeat = false;
          break;
        case '^':
          out += this.flags.m ? '(?:(?<![^\\n]))' : '(?:^)';
          break;
        case '$':
          out += this.flags.m ? '(?:(?![^\\n]))' : '(?:$)';
          break;
        case '.':
          out += this.flags.s ? '[^]' : '[^\\n]';
          break;
        case '[':
          out += this.charClass();
          break;
        case '\\': {
          const text = this.escape();
          out += text;
          if (text === '') canRepeat = couldRepeat; // an empty \Q\E
          break;
        }
        default:
          out += this.literal(ch.codePointAt(0)!);
      }
    }
    if (saved.length > 0) fail('missing closing )');
    return out;
  }

  private peek(offset = 0): string | undefined {
    const cp = this.cps[this.pos + offset];
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  private eat(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.pos++;
    return true;
  }

  private next(what: string): number {
    const cp = this.cps[this.pos] ?? fail(`missing ${what}`);
    this.pos++;
    return cp;
  }

  /** After `{`: the JS text of a valid `{n}`, `{n,}`, `{n,m}`, or undefined (then `{` is a literal). */
  private repeatCount(): string | undefined {
    const rest = String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 16));
    const m = /^(\d+)(,(\d*))?\}/.exec(rest);
    if (!m) return undefined;
    this.pos += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) fail(`invalid repeat count: {${m[0]}`);
    return `{${min}${m[2] === undefined ? '' : ','}${max >= 0 && m[2] !== undefined ? max : ''}}`;
  }

  /** After `(`: returns the flags to restore at `)`, or undefined for a flags-only `(?…)`. */
  private groupStart(): Re2Flags | undefined {
    const outer = {...this.flags};
    if (!this.eat('?')) return outer;
    const named = /^(?:P<|<(?![=!]))(\w+)>/.exec(String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 64)));
    if (named) {
      this.pos += named[0].length;
      return outer;
    }
    const flags = {...this.flags};
    let negate = false;
    let sawFlag = false;
    for (;;) {
      const ch = String.fromCodePoint(this.next(')'));
      if (ch === 'i' || ch === 'm' || ch === 's' || ch === 'U') {
        flags[ch] = !negate;
        sawFlag = true;
      } else if (ch === '-' && !negate) {
        negate = true;
        sawFlag = false;
      } else if ((ch === ')' || ch === ':') && (!negate || sawFlag)) {
        this.flags = flags;
        return ch === ':' ? outer : undefined;
      } else {
        fail('invalid or unsupported Perl syntax');
      }
    }
  }

  /** After `\` outside a class. */
  private escape(): string {
    const ch = String.fromCodePoint(this.next('escape'));
    switch (ch) {
      case 'A':
        return '(?:^)';
      case 'z':
        return '(?:$)';
      case 'b':
      case 'B':
        return `(?:\\${ch})`;
      case 'C':
        return '[^]';
      case 'Q': {
        let out = '';
        while (this.pos < this.cps.length) {
          if (this.peek() === '\\' && this.peek(1) === 'E') {
            this.pos += 2;
            break;
          }
          out += this.literal(this.next('\\E'));
        }
        return out;
      }
    }
    this.pos--;
    const set = this.classEscape();
    if (typeof set === 'string') return this.atom(`[${set}]`);
    return this.literal(set);
  }

  /**
   * After `\` (pointing at the escaped character), for escapes valid both inside and
   * outside classes: a code point, or class-body text for a set (`\d`, `\pL`, …).
   */
  private classEscape(): number | string {
    const cp = this.next('escape');
    const ch = String.fromCodePoint(cp);
    if ('dDwW'.includes(ch)) return `\\${ch}`;
    if (ch === 's') return rangesText(GO_SPACE);
    if (ch === 'S') return rangesText(complement(GO_SPACE));
    if (ch === 'p' || ch === 'P') return this.unicodeClass(ch === 'P');
    const simple = SIMPLE_ESCAPES[ch];
    if (simple !== undefined) return simple;
    if (ch === 'x') return this.hexEscape();
    if (ch >= '0' && ch <= '7') return this.octalEscape(cp);
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(ch)) return cp; // escaped punctuation
    return fail(`invalid escape sequence: \\${ch}`);
  }

  private hexEscape(): number {
    let digits: string;
    if (this.eat('{')) {
      digits = '';
      while (this.peek() !== '}') digits += String.fromCodePoint(this.next('}'));
      this.pos++;
    } else {
      digits = String.fromCodePoint(this.next('hex digit'), this.next('hex digit'));
    }
    if (!/^[0-9A-Fa-f]{1,8}$/.test(digits) || parseInt(digits, 16) > MAX_CODE_POINT) fail('invalid escape sequence: \\x');
    return parseInt(digits, 16);
  }

  private octalEscape(first: number): number {
    // \0 takes up to two more digits; \1-\7 alone would be a backreference (unsupported).
    let digits = String.fromCodePoint(first);
    while (digits.length < 3 && /^[0-7]$/.test(this.peek() ?? '')) digits += String.fromCodePoint(this.next('digit'));
    if (digits.length === 1 && digits !== '0') fail(`invalid escape sequence: \\${digits}`);
    return parseInt(digits, 8);
  }

  private unicodeClass(negated: boolean): string {
    let name: string;
    if (this.eat('{')) {
      name = '';
      while (this.peek() !== '}') name += String.fromCodePoint(this.next('}'));
      this.pos++;
    } else {
      name = String.fromCodePoint(this.next('Unicode class'));
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    if (!/^\w+$/.test(name)) fail(`invalid character class range: ${name}`);
    const prop = GENERAL_CATEGORIES.has(name) || name === 'Any' ? name : `Script=${name}`;
    return `\\${negated ? 'P' : 'p'}{${prop}}`;
  }

  /** After `[`. */
  private charClass(): string {
    const negated = this.eat('^');
    let body = '';
    for (let first = true; ; first = false) {
      if (this.pos >= this.cps.length) fail('missing closing ]');
      if (this.peek() === ']' && !first) {
        this.pos++;
        break;
      }
      const posix = this.posixClass();
      if (posix) {
        body += posix;
        continue;
      }
      const lo = this.classChar();
      if (typeof lo === 'string') {
        body += lo;
        continue;
      }
      let range: Range = [lo, lo];
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.pos++;
        const hi = this.classChar();
        if (typeof hi === 'string' || hi < lo) fail('invalid character class range');
        range = [lo, hi];
      }
      body += rangesText([range, ...this.classCaseRanges(range)]);
    }
    return this.atom(`[${negated ? '^' : ''}${body}]`);
  }

  /** `[:name:]` / `[:^name:]` inside a class, as class-body text. */
  private posixClass(): string | undefined {
    if (this.peek() !== '[' || this.peek(1) !== ':') return undefined;
    const rest = String.fromCodePoint(...this.cps.slice(this.pos, this.pos + 12));
    const m = /^\[:(\^?)([a-z]+):\]/.exec(rest);
    if (!m) return undefined;
    const ranges = POSIX_CLASSES[m[2]!] ?? fail(`invalid character class range: ${m[0]}`);
    this.pos += m[0].length;
    const withCase = [...ranges, ...ranges.flatMap((r) => this.classCaseRanges(r))];
    return rangesText(m[1] ? complement(withCase) : withCase);
  }

  private classChar(): number | string {
    const cp = this.next('closing ]');
    if (cp !== 0x5c) return cp; // not a backslash
    return this.classEscape();
  }

  /** Extra ranges a partial case-insensitive scope needs inside a class. */
  private classCaseRanges(range: Range): Range[] {
    if (!this.flags.i || !this.expandCase) return [];
    if (range[0] === range[1]) return caseVariants(range[0]).map((v): Range => [v, v]);
    return asciiCaseRanges(range);
  }

  private literal(cp: number): string {
    if (this.flags.i && this.expandCase) {
      const variants = caseVariants(cp);
      if (variants.length > 1) return this.atom(`[${variants.map(esc).join('')}]`);
    }
    return this.atom(esc(cp));
  }

  /** Records whether a character-matching atom sits in a case-insensitive scope. */
  private atom(text: string): string {
    if (this.flags.i) this.sawFold = true;
    else this.sawNoFold = true;
    return text;
  }
}
