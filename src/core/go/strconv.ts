/**
 * Go's `strconv` package: Quote, ParseInt (base 0), ParseFloat, with Go's error texts.
 * Layer rule (see README.md): core/go imports nothing from other src/core folders.
 */
import {ValueError} from './value-error.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** `strconv.Quote` (also fmt's `%q` of a string). */
export function strconvQuote(s: string): string {
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

/** `strconv.ParseInt(s, 0, 64)`: sign, 0x/0o/0b prefixes, leading-0 octal, underscores with a prefix. */
export function strconvParseInt(s: string): number {
  const fail = (why: 'invalid syntax' | 'value out of range') => new ValueError(`strconv.ParseInt: parsing ${strconvQuote(s)}: ${why}`);
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
  // Beyond 2^53 a JS number would silently round: refuse as Go refuses int64 overflow.
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw fail('value out of range');
  return Number(v);
}

/** `strconv.ParseFloat(s, 64)`. */
export function strconvParseFloat(s: string): number {
  const t = s.replace(/_/g, '');
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) && !/^[+-]?0x[0-9a-f]+(\.[0-9a-f]*)?p[+-]?\d+$/i.test(t)) {
    throw new ValueError(`strconv.ParseFloat: parsing ${strconvQuote(s)}: invalid syntax`);
  }
  return Number(t);
}
