/**
 * Go's value conversions as receptor's config engine (ghjm/cmdline) applies them:
 * strconv.ParseInt with base 0, the extended ParseBool, fmt's %f, time.ParseDuration.
 */

export class ValueError extends Error {}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 0, 64): sign, 0x/0o/0b prefixes, leading-0 octal, underscores with a prefix. */
export function goParseInt(s: string): number {
  const fail = (why: 'invalid syntax' | 'value out of range') =>
    new ValueError(`strconv.ParseInt: parsing ${goQuote(s)}: ${why}`);
  let body = s;
  let neg = false;
  if (body.startsWith('+') || body.startsWith('-')) {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  if (body.length === 0) throw fail('invalid syntax');
  let base = 10;
  let prefixed = false;
  const lower = body.toLowerCase();
  if (lower.startsWith('0x')) {
    base = 16;
    body = body.slice(2);
    prefixed = true;
  } else if (lower.startsWith('0o')) {
    base = 8;
    body = body.slice(2);
    prefixed = true;
  } else if (lower.startsWith('0b')) {
    base = 2;
    body = body.slice(2);
    prefixed = true;
  } else if (body.length > 1 && body[0] === '0') {
    base = 8;
    body = body.slice(1);
    prefixed = true;
  }
  // Underscores are allowed only in base-prefixed literals, between digits (or after the prefix).
  if (body.includes('_')) {
    if (!prefixed || !/^_?[0-9a-zA-Z]+(_[0-9a-zA-Z]+)*$/.test(body)) throw fail('invalid syntax');
    body = body.replace(/_/g, '');
  }
  if (body.length === 0) throw fail('invalid syntax');
  const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, base);
  let v = 0n;
  for (const ch of body.toLowerCase()) {
    const d = digits.indexOf(ch);
    if (d < 0) throw fail('invalid syntax');
    v = v * BigInt(base) + BigInt(d);
  }
  if (neg) v = -v;
  if (v < INT64_MIN || v > INT64_MAX) throw fail('value out of range');
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw fail('value out of range');
  return Number(v);
}

/** strconv.ParseFloat(s, 64). */
export function goParseFloat(s: string): number {
  const t = s.replace(/_/g, '');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && !/^[+-]?0x[0-9a-f]+(\.[0-9a-f]*)?p[+-]?\d+$/i.test(t)) {
    throw new ValueError(`strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`);
  }
  return Number(t);
}

const TRUE_WORDS = new Set(['1', 't', 'T', 'Y', 'true', 'TRUE', 'True', 'yes', 'Yes', 'YES']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'N', 'false', 'FALSE', 'False', 'no', 'No', 'NO']);

export function goParseBool(s: string): boolean {
  if (TRUE_WORDS.has(s)) return true;
  if (FALSE_WORDS.has(s)) return false;
  throw new ValueError(`could not parse ${s} as boolean`);
}

/** fmt.Sprintf("%f", x): six decimals. */
export function goFormatFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  return x.toFixed(6);
}

/** Go's `strconv.Quote` (also `%q`), used inside strconv, time and exec errors. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0x80 && c < 0xa0) || c === 0xad || c === 0x2028 || c === 0x2029 || c === 0xfeff) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out + '"';
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** time.ParseDuration, returned in milliseconds (fractions kept). */
export function parseGoDuration(s: string): number {
  const bad = () => new ValueError(`time: invalid duration ${goQuote(s)}`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw bad();
  let total = 0;
  while (rest.length > 0) {
    const num = /^(\d+\.?\d*|\.\d+)/.exec(rest);
    if (!num) throw bad();
    rest = rest.slice(num[0].length);
    const unit = /^[^0-9.]*/.exec(rest)![0];
    if (unit === '') throw new ValueError(`time: missing unit in duration ${goQuote(s)}`);
    const scale = Object.hasOwn(DURATION_UNITS, unit) ? DURATION_UNITS[unit] : undefined;
    if (scale === undefined) throw new ValueError(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(s)}`);
    total += Number(num[1]) * scale;
    rest = rest.slice(unit.length);
  }
  return sign * total;
}

/** Formats milliseconds the way Go prints a time.Duration (e.g. 1m30s, 1.5s, 250ms). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rem = Math.abs(ms);
  let out = '';
  if (rem < 1000) {
    out = rem >= 1 ? `${trimFloat(rem)}ms` : rem >= 1e-3 ? `${trimFloat(rem * 1e3)}µs` : `${trimFloat(rem * 1e6)}ns`;
  } else {
    const h = Math.floor(rem / 3_600_000);
    rem -= h * 3_600_000;
    const m = Math.floor(rem / 60_000);
    rem -= m * 60_000;
    const sec = rem / 1000;
    if (h > 0) out += `${h}h`;
    if (h > 0 || m > 0) out += `${m}m`;
    out += `${trimFloat(sec)}s`;
  }
  return (neg ? '-' : '') + out;
}

function trimFloat(x: number): string {
  return String(Number(x.toFixed(9)));
}
