/**
 * Go's `time` package as its texts reach peers and clients: Duration.String, ParseDuration,
 * RFC 3339 times (Format(RFC3339Nano), Time.UnmarshalJSON, Parse(RFC3339)), Format of a
 * stamp layout, and the package's own quoting of values in error texts.
 * Layer rule (see README.md): core/go imports nothing from other src/core folders.
 */
import {ValueError} from './value-error.js';

const HEX = '0123456789abcdef';

/**
 * The `quote` of Go's time package (used in ParseDuration and Parse errors): `"` and `\`
 * escaped, control and non-ASCII characters written as `\x..` per UTF-8 byte.
 */
export function timeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x80 || c < 0x20) {
      for (const b of Buffer.from(ch, 'utf8')) out += `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
    } else {
      out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
    }
  }
  return out + '"';
}

// ---------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** `time.ParseDuration`, returned in milliseconds (fractions kept). Throws ValueError with Go's text. */
export function parseDuration(s: string): number {
  const bad = () => new ValueError(`time: invalid duration ${timeQuote(s)}`);
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
    if (unit === '') throw new ValueError(`time: missing unit in duration ${timeQuote(s)}`);
    const scale = Object.hasOwn(DURATION_UNITS_MS, unit) ? DURATION_UNITS_MS[unit] : undefined;
    if (scale === undefined) throw new ValueError(`time: unknown unit ${timeQuote(unit)} in duration ${timeQuote(s)}`);
    total += Number(num[1]) * scale;
    rest = rest.slice(unit.length);
  }
  return sign * total;
}

/**
 * `time.Duration.String()`: `1h0m0s`, `1.5s`, `250ms`, `277.557µs`, `0s`. A bigint is a
 * nanosecond count (Go's Duration itself); a number is milliseconds, rounded to the nanosecond.
 */
export function durationString(d: bigint | number): string {
  const ns = typeof d === 'bigint' ? d : BigInt(Math.round(d * 1e6));
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  const u = neg ? -ns : ns;
  let out: string;
  if (u < 1000n) out = `${u}ns`;
  else if (u < 1_000_000n) out = `${fraction(u, 1000n)}µs`;
  else if (u < 1_000_000_000n) out = `${fraction(u, 1_000_000n)}ms`;
  else {
    const h = u / 3_600_000_000_000n;
    const m = (u / 60_000_000_000n) % 60n;
    const s = u % 60_000_000_000n;
    out = `${h > 0n ? `${h}h` : ''}${h > 0n || m > 0n ? `${m}m` : ''}${fraction(s, 1_000_000_000n)}s`;
  }
  return neg ? `-${out}` : out;
}

/** `v / unit` with the fraction's trailing zeros trimmed (Go's fmtFrac). */
function fraction(v: bigint, unit: bigint): string {
  const whole = v / unit;
  const rest = v % unit;
  if (rest === 0n) return `${whole}`;
  const digits = unit.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}

// ---------------------------------------------------------------------------------------------
// Instants and RFC 3339
// ---------------------------------------------------------------------------------------------

/**
 * A Go `time.Time` with nanosecond precision. `unixNano` is the instant (compare these);
 * `offsetSeconds` is the zone offset used for formatting (0 = `Z`); `text` is the text as
 * parsed, or Go's RFC3339Nano form for times made here.
 */
export interface GoTime {
  readonly text: string;
  readonly unixNano: bigint;
  readonly offsetSeconds: number;
}

const NS_PER_SEC = 1_000_000_000n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

function daysIn(month: number, year: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/** Nanoseconds since the epoch of a wall-clock date and time at a zone offset. */
function unixNanoOf(year: number, month: number, day: number, hour: number, min: number, sec: number, nsec: number, offsetSeconds: number): bigint {
  const localSecs = BigInt(daysFromCivil(year, month, day)) * 86400n + BigInt(hour * 3600 + min * 60 + sec);
  return (localSecs - BigInt(offsetSeconds)) * NS_PER_SEC + BigInt(nsec);
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/**
 * `t.Format(time.RFC3339Nano)` as `Time.MarshalJSON` writes it: fraction with trailing
 * zeros trimmed (none when zero), `Z` for a zero offset, else `±hh:mm`. Throws ValueError
 * outside years 0–9999 (Go's MarshalJSON text) or for offsets MarshalJSON refuses (≥ 24 h)
 * or RFC 3339 cannot show (not whole minutes).
 */
export function formatRFC3339Nano(unixNano: bigint, offsetSeconds = 0): string {
  if (!Number.isInteger(offsetSeconds) || offsetSeconds % 60 !== 0 || Math.abs(offsetSeconds) >= 86400) {
    throw new ValueError(`time zone offset ${offsetSeconds}s cannot be written as RFC 3339`);
  }
  const local = unixNano + BigInt(offsetSeconds) * NS_PER_SEC;
  const secs = floorDiv(local, NS_PER_SEC);
  const nsec = Number(local - secs * NS_PER_SEC);
  const days = Number(floorDiv(secs, 86400n));
  const sod = Number(secs - BigInt(days) * 86400n);
  const [y, mo, d] = civilFromDays(days);
  if (y < 0 || y > 9999) throw new ValueError('Time.MarshalJSON: year outside of range [0,9999]');
  let out = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(Math.floor(sod / 3600), 2)}:${pad(Math.floor(sod / 60) % 60, 2)}:${pad(sod % 60, 2)}`;
  if (nsec !== 0) out += '.' + pad(nsec, 9).replace(/0+$/, '');
  if (offsetSeconds === 0) return out + 'Z';
  const m = Math.abs(offsetSeconds) / 60;
  return `${out}${offsetSeconds < 0 ? '-' : '+'}${pad(Math.floor(m / 60), 2)}:${pad(m % 60, 2)}`;
}

/** `time.Unix(0, unixNano).In(zone)`: a GoTime with Go's RFC3339Nano text (throws as formatRFC3339Nano). */
export function timeFromUnixNano(unixNano: bigint, offsetSeconds = 0): GoTime {
  return {text: formatRFC3339Nano(unixNano, offsetSeconds), unixNano, offsetSeconds};
}

/**
 * Nanoseconds since the epoch of a millisecond instant that may carry a sub-millisecond
 * fraction (performance.now()); the fraction is rounded to the nanosecond.
 */
export function unixNanoFromMilli(epochMs: number): bigint {
  const whole = Math.floor(epochMs / 1000);
  const nanos = Math.round((epochMs - whole * 1000) * 1e6);
  return BigInt(whole) * NS_PER_SEC + BigInt(Math.min(nanos, 999_999_999));
}

/** `t.UnixMilli()`: milliseconds since the epoch, rounded down. */
export function unixMilli(t: GoTime): number {
  return Number(floorDiv(t.unixNano, 1_000_000n));
}

/** Go's zero `time.Time` text, as Time.MarshalJSON writes it. */
export const GO_ZERO_TIME_TEXT = '0001-01-01T00:00:00Z';

/** Go's zero `time.Time` (what a missing or `null` Time decodes to). */
export const GO_ZERO_TIME: GoTime = {text: GO_ZERO_TIME_TEXT, unixNano: BigInt(daysFromCivil(1, 1, 1)) * 86400n * NS_PER_SEC, offsetSeconds: 0};

/** `t.IsZero()`. */
export function isZeroTime(t: GoTime): boolean {
  return t.unixNano === GO_ZERO_TIME.unixNano;
}

/** Orders two times by instant (Go's Before/After/Compare); the zone does not matter. */
export function compareTime(a: GoTime, b: GoTime): number {
  return a.unixNano < b.unixNano ? -1 : a.unixNano > b.unixNano ? 1 : 0;
}

const RFC3339_JSON = /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses a time the way Go's `time.Time.UnmarshalJSON` does with the string's contents (Go
 * 1.23: the fast RFC 3339 parser, falling back to `time.Parse(RFC3339)` with its strictness
 * checks disabled). So, beyond `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`, Go also takes a
 * one-digit hour, a comma before the fraction, and offsets up to ±24:60. Fraction digits
 * past the ninth are truncated. Returns undefined when Go would refuse the text.
 */
export function unmarshalTimeJSON(text: string): GoTime | undefined {
  const m = RFC3339_JSON.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, min, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || min > 59 || sec > 59) return undefined;
  const nsec = m[7] === undefined ? 0 : Number(m[7].slice(0, 9).padEnd(9, '0'));
  let offsetSeconds = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 24 || om > 60) return undefined;
    offsetSeconds = (m[9] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  return {text, unixNano: unixNanoOf(year, month, day, hour, min, sec, nsec, offsetSeconds), offsetSeconds};
}

const RFC3339_LAYOUT = '2006-01-02T15:04:05Z07:00';

/**
 * `time.Parse(time.RFC3339, s)`, throwing ValueError with Go's texts (`parsing time "x" as
 * "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"`, `parsing time "…": month out of
 * range`, `…: extra text: "…"`).
 */
export function parseRFC3339(s: string): GoTime {
  let rest = s;
  const cannot = (elem: string) => new ValueError(`parsing time ${timeQuote(s)} as ${timeQuote(RFC3339_LAYOUT)}: cannot parse ${timeQuote(rest)} as ${timeQuote(elem)}`);
  const range = (what: string) => new ValueError(`parsing time ${timeQuote(s)}: ${what} out of range`);
  const num = (len: number, elem: string): number => {
    const m = new RegExp(`^\\d{${len}}`).exec(rest);
    if (!m) throw cannot(elem);
    rest = rest.slice(len);
    return Number(m[0]);
  };
  const lit = (l: string) => {
    if (!rest.startsWith(l)) throw cannot(l);
    rest = rest.slice(l.length);
  };
  const year = num(4, '2006');
  lit('-');
  const month = num(2, '01');
  if (month < 1 || month > 12) throw range('month');
  lit('-');
  const day = num(2, '02');
  lit('T');
  const hour = num(2, '15');
  if (hour > 23) throw range('hour');
  lit(':');
  const minute = num(2, '04');
  if (minute > 59) throw range('minute');
  lit(':');
  const second = num(2, '05');
  if (second > 59) throw range('second');
  let nsec = 0;
  const frac = /^[.,](\d+)/.exec(rest);
  if (frac) {
    nsec = Number(frac[1]!.slice(0, 9).padEnd(9, '0'));
    rest = rest.slice(frac[0].length);
  }
  let offsetSeconds = 0;
  if (rest.startsWith('Z')) {
    rest = rest.slice(1);
  } else {
    const z = /^([+-])(\d{2}):(\d{2})/.exec(rest);
    if (!z) throw cannot('Z07:00');
    const hh = Number(z[2]);
    const mm = Number(z[3]);
    if (hh > 24) throw range('time zone offset hour');
    if (mm > 60) throw range('time zone offset minute');
    offsetSeconds = (z[1] === '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    rest = rest.slice(z[0].length);
  }
  if (rest !== '') throw new ValueError(`parsing time ${timeQuote(s)}: extra text: ${timeQuote(rest)}`);
  if (day < 1 || day > daysIn(month, year)) throw range('day');
  return {text: s, unixNano: unixNanoOf(year, month, day, hour, minute, second, nsec, offsetSeconds), offsetSeconds};
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * `t.Local().Format(layout)` for layouts made of `Mon`, `Jan`, `2`, `15`, `04`, `05` and
 * other text (receptor uses `Mon Jan 2 15:04:05`).
 */
export function formatLocal(epochMs: number, layout: string): string {
  const d = new Date(epochMs);
  return layout.replace(/Mon|Jan|15|04|05|2/g, (tok) => {
    switch (tok) {
      case 'Mon':
        return DAY_NAMES[d.getDay()]!;
      case 'Jan':
        return MONTH_NAMES[d.getMonth()]!;
      case '15':
        return pad(d.getHours(), 2);
      case '04':
        return pad(d.getMinutes(), 2);
      case '05':
        return pad(d.getSeconds(), 2);
      default:
        return String(d.getDate());
    }
  });
}
