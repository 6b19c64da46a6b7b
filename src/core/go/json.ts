/**
 * A small JSON reader and writer that behave like Go's `encoding/json` where netceptor's
 * bytes depend on it (netceptor-wire.md §3).
 *
 * Reader (`parseGoJson`): RFC 8259 syntax exactly as Go's scanner checks it (whitespace is
 * space, tab, CR, LF; no trailing garbage; nesting deeper than 10000 is refused). Numbers
 * are kept as their literal text, so uint64 members can become BigInt losslessly and
 * non-integer literals can be refused for them. Strings are unescaped the way Go does it:
 * invalid UTF-8 bytes and unpaired surrogate escapes become U+FFFD, one per bad byte.
 * Object members keep their order and duplicates; `decodeStruct` then applies Go's struct
 * rules (case-insensitive member names, unknown members ignored). It is iterative, so no
 * input can overflow the call stack; it only ever throws `GoJsonError`.
 *
 * Writer (`writeGoJson`): compact output; object members in the order given (pass a Map;
 * use `sortedMap` for Go map types, whose keys Go sorts bytewise); Go string escaping with
 * HTML escapes; float64 formatted like Go; BigInt as a plain integer literal; `null` for nil.
 * `toGoJsonOut` maps plain values onto it (objects as structs, `asGoMap`/Map as Go maps).
 *
 * One concern kept whole (over 500 lines): reader, struct rules and writer share one value
 * model and Go's encoding/json decisions.
 * Layer rule (see README.md): core/go imports nothing from other src/core folders.
 */
import {isUtf8} from 'node:buffer';

export type GoJsonErrorCode = 'syntax' | 'depth' | 'type' | 'unsupported';

/** The only error this module throws. `offset` is the byte offset for syntax errors. */
export class GoJsonError extends Error {
  readonly code: GoJsonErrorCode;
  readonly offset: number | undefined;
  constructor(code: GoJsonErrorCode, message: string, offset?: number) {
    super(message);
    this.name = 'GoJsonError';
    this.code = code;
    this.offset = offset;
  }
}

/** A parsed JSON value. Numbers keep their literal text. */
export type JsonValue =
  | {readonly kind: 'null'}
  | {readonly kind: 'bool'; readonly value: boolean}
  | {readonly kind: 'number'; readonly text: string}
  /** `escaped`: the literal contained a backslash escape (Go's time.Time sees the raw text). */
  | {readonly kind: 'string'; readonly value: string; readonly escaped: boolean}
  | {readonly kind: 'array'; readonly items: JsonValue[]}
  | {readonly kind: 'object'; readonly members: JsonMember[]};

export interface JsonMember {
  readonly key: string;
  readonly value: JsonValue;
}

/** Go's `maxNestingDepth`. */
export const GO_JSON_MAX_DEPTH = 10000;

// ---------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------

type Frame = {kind: 'array'; items: JsonValue[]} | {kind: 'object'; members: JsonMember[]; key: string};

function quoteChar(c: number | undefined): string {
  if (c === undefined) return 'end of input';
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const s = JSON.stringify(String.fromCharCode(c));
  return `'${s.slice(1, -1)}'`;
}

function isWs(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function hexVal(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Decodes UTF-8 the way Go's `utf8.DecodeRune` loop does inside `encoding/json`: every byte
 * that does not start a valid sequence becomes one U+FFFD. Valid input decodes normally.
 */
export function decodeUtf8Go(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start);
  let ascii = true;
  for (let i = 0; i < view.length; i++) {
    if (view[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return view.toString('latin1');
  if (isUtf8(view)) return view.toString('utf8');
  let out = '';
  let i = 0;
  while (i < view.length) {
    const [cp, size] = decodeRune(view, i);
    out += String.fromCodePoint(cp);
    i += size;
  }
  return out;
}

/** One rune at `i`: [code point, bytes used]; [0xfffd, 1] for an invalid sequence. */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  let cp: number;
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    need = 1;
    cp = c0 & 0x1f;
  } else if (c0 >= 0xe0 && c0 <= 0xef) {
    need = 2;
    cp = c0 & 0x0f;
    if (c0 === 0xe0) lo = 0xa0;
    if (c0 === 0xed) hi = 0x9f;
  } else if (c0 >= 0xf0 && c0 <= 0xf4) {
    need = 3;
    cp = c0 & 0x07;
    if (c0 === 0xf0) lo = 0x90;
    if (c0 === 0xf4) hi = 0x8f;
  } else {
    return [0xfffd, 1];
  }
  for (let k = 1; k <= need; k++) {
    const c = b[i + k];
    if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return [0xfffd, 1];
    cp = (cp << 6) | (c & 0x3f);
  }
  return [cp, need + 1];
}

class Parser {
  private i: number;
  constructor(
    private readonly b: Uint8Array,
    start: number,
  ) {
    this.i = start;
  }

  private fail(context: string): never {
    const c = this.b[this.i];
    if (c === undefined) throw new GoJsonError('syntax', 'unexpected end of JSON input', this.i);
    throw new GoJsonError('syntax', `invalid character ${quoteChar(c)} ${context}`, this.i);
  }

  private skipWs(): void {
    while (isWs(this.b[this.i])) this.i++;
  }

  parse(): JsonValue {
    const stack: Frame[] = [];
    for (;;) {
      // Parse the start of a value.
      this.skipWs();
      const c = this.b[this.i];
      let value: JsonValue | undefined;
      if ((c === 0x7b || c === 0x5b) && stack.length >= GO_JSON_MAX_DEPTH) {
        throw new GoJsonError('depth', 'exceeded max depth', this.i);
      }
      if (c === 0x7b /* { */) {
        this.i++;
        this.skipWs();
        if (this.b[this.i] === 0x7d) {
          this.i++;
          value = {kind: 'object', members: []};
        } else {
          stack.push({kind: 'object', members: [], key: this.readKey()});
          continue;
        }
      } else if (c === 0x5b /* [ */) {
        this.i++;
        this.skipWs();
        if (this.b[this.i] === 0x5d) {
          this.i++;
          value = {kind: 'array', items: []};
        } else {
          stack.push({kind: 'array', items: []});
          continue;
        }
      } else {
        value = this.scalar();
      }
      // A value is complete: attach it to its container, closing containers as they end.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.skipWs();
          if (this.i !== this.b.length) this.fail('after top-level value');
          return value;
        }
        this.skipWs();
        const d = this.b[this.i];
        if (top.kind === 'array') {
          top.items.push(value);
          if (d === 0x2c) {
            this.i++;
            break;
          }
          if (d !== 0x5d) this.fail('after array element');
          this.i++;
          value = {kind: 'array', items: top.items};
        } else {
          top.members.push({key: top.key, value});
          if (d === 0x2c) {
            this.i++;
            this.skipWs();
            top.key = this.readKey();
            break;
          }
          if (d !== 0x7d) this.fail('after object key:value pair');
          this.i++;
          value = {kind: 'object', members: top.members};
        }
        stack.pop();
      }
    }
  }

  /** `"key"` then `:`; leaves the position at the member's value. */
  private readKey(): string {
    if (this.b[this.i] !== 0x22) this.fail('looking for beginning of object key string');
    const key = this.string().value;
    this.skipWs();
    if (this.b[this.i] !== 0x3a) this.fail('after object key');
    this.i++;
    return key;
  }

  private scalar(): JsonValue {
    const c = this.b[this.i];
    if (c === 0x22) return this.string();
    if (c === 0x2d || isDigit(c)) return this.number();
    if (c === 0x74) return this.literal('true', {kind: 'bool', value: true});
    if (c === 0x66) return this.literal('false', {kind: 'bool', value: false});
    if (c === 0x6e) return this.literal('null', {kind: 'null'});
    return this.fail('looking for beginning of value');
  }

  private literal(word: string, value: JsonValue): JsonValue {
    for (let k = 1; k < word.length; k++) {
      this.i++;
      if (this.b[this.i] !== word.charCodeAt(k)) this.fail(`in literal ${word} (expecting '${word[k]}')`);
    }
    this.i++;
    return value;
  }

  private number(): JsonValue {
    const start = this.i;
    if (this.b[this.i] === 0x2d) {
      this.i++;
      if (!isDigit(this.b[this.i])) this.fail('in numeric literal');
    }
    if (this.b[this.i] === 0x30) this.i++;
    else while (isDigit(this.b[this.i])) this.i++;
    if (this.b[this.i] === 0x2e) {
      this.i++;
      if (!isDigit(this.b[this.i])) this.fail('after decimal point in numeric literal');
      while (isDigit(this.b[this.i])) this.i++;
    }
    if (this.b[this.i] === 0x65 || this.b[this.i] === 0x45) {
      this.i++;
      if (this.b[this.i] === 0x2b || this.b[this.i] === 0x2d) this.i++;
      if (!isDigit(this.b[this.i])) this.fail('in exponent of numeric literal');
      while (isDigit(this.b[this.i])) this.i++;
    }
    return {kind: 'number', text: decodeUtf8Go(this.b, start, this.i)};
  }

  private string(): {kind: 'string'; value: string; escaped: boolean} {
    const b = this.b;
    this.i++; // opening quote
    let runStart = this.i;
    let out = '';
    let escaped = false;
    for (;;) {
      const c = b[this.i];
      if (c === undefined) this.fail('in string literal');
      if (c === 0x22) {
        if (this.i > runStart) out += decodeUtf8Go(b, runStart, this.i);
        this.i++;
        return {kind: 'string', value: out, escaped};
      }
      if (c < 0x20) this.fail('in string literal');
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      // Backslash escape.
      escaped = true;
      if (this.i > runStart) out += decodeUtf8Go(b, runStart, this.i);
      this.i++;
      const e = b[this.i];
      const simple = e === undefined ? undefined : SIMPLE_ESCAPES.get(e);
      if (simple !== undefined) {
        out += simple;
        this.i++;
      } else if (e === 0x75 /* u */) {
        this.i++;
        let r = this.hex4();
        if (r >= 0xd800 && r < 0xe000) {
          // Go: a high surrogate followed by an escaped low surrogate is one rune;
          // anything else is U+FFFD and the following text is read normally.
          const lo = r < 0xdc00 ? this.peekLowSurrogate() : -1;
          if (lo >= 0) {
            r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
            this.i += 6;
          } else {
            r = 0xfffd;
          }
        }
        out += String.fromCodePoint(r);
      } else {
        this.fail('in string escape code');
      }
      runStart = this.i;
    }
  }

  private hex4(): number {
    let r = 0;
    for (let k = 0; k < 4; k++) {
      const h = hexVal(this.b[this.i]);
      if (h < 0) this.fail('in \\u hexadecimal character escape');
      r = (r << 4) | h;
      this.i++;
    }
    return r;
  }

  /** The value of a `\uDC00`–`\uDFFF` escape right at the position, or -1 (position kept). */
  private peekLowSurrogate(): number {
    const b = this.b;
    if (b[this.i] !== 0x5c || b[this.i + 1] !== 0x75) return -1;
    let r = 0;
    for (let k = 2; k < 6; k++) {
      const h = hexVal(b[this.i + k]);
      if (h < 0) return -1;
      r = (r << 4) | h;
    }
    return r >= 0xdc00 && r < 0xe000 ? r : -1;
  }
}

const SIMPLE_ESCAPES = new Map<number, string>([
  [0x22, '"'],
  [0x5c, '\\'],
  [0x2f, '/'],
  [0x62, '\b'],
  [0x66, '\f'],
  [0x6e, '\n'],
  [0x72, '\r'],
  [0x74, '\t'],
]);

/**
 * Parses exactly one JSON value (surrounding whitespace allowed) from `input`, starting at
 * byte `start`. Throws only GoJsonError (`syntax` or `depth`).
 */
export function parseGoJson(input: Uint8Array | string, start = 0): JsonValue {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  return new Parser(bytes, start).parse();
}

// ---------------------------------------------------------------------------------------
// Go struct decoding helpers
// ---------------------------------------------------------------------------------------

/**
 * Go's case-insensitive member-name key (`encoding/json` foldName): ASCII letters are
 * upper-cased and other runes become `ToUpper(ToLower(r))`. Only four non-ASCII runes fold
 * onto ASCII letters (Kelvin sign, long s, dotless i, capital I with dot); everything else
 * non-ASCII is kept, which can never equal an ASCII field name.
 */
export function foldName(name: string): string {
  let out = '';
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x61 && cp <= 0x7a) out += String.fromCharCode(cp - 0x20);
    else out += FOLD_SPECIAL.get(cp) ?? ch;
  }
  return out;
}

const FOLD_SPECIAL = new Map<number, string>([
  [0x212a, 'K'],
  [0x017f, 'S'],
  [0x0131, 'I'],
  [0x0130, 'I'],
]);

/** Go's name for the JSON kind in UnmarshalTypeError messages. */
export function jsonKindName(v: JsonValue): string {
  switch (v.kind) {
    case 'bool':
      return 'bool';
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    case 'array':
      return 'array';
    case 'object':
      return 'object';
    default:
      return 'null';
  }
}

/** An UnmarshalTypeError-like GoJsonError. `where` is e.g. `routingUpdate.UpdateEpoch`. */
export function typeError(what: string, where: string, goType: string): GoJsonError {
  const target = where.includes('.') ? `Go struct field ${where}` : 'Go value';
  return new GoJsonError('type', `json: cannot unmarshal ${what} into ${target} of type ${goType}`);
}

const foldedFields = new WeakMap<readonly string[], Map<string, string>>();

/**
 * Go struct decoding: `null` leaves every field at its zero value; any other non-object is
 * a type error. Each member whose name folds to one of `fields` is passed to `onField`, in
 * input order, with the declared field name (so a repeated member is seen again: Go lets
 * the last one win). Unknown members are ignored.
 */
export function decodeStruct(v: JsonValue, typeName: string, fields: readonly string[], onField: (field: string, value: JsonValue) => void): void {
  if (v.kind === 'null') return;
  if (v.kind !== 'object') throw typeError(jsonKindName(v), typeName, typeName);
  let byFold = foldedFields.get(fields);
  if (byFold === undefined) {
    byFold = new Map(fields.map((f) => [foldName(f), f] as const));
    foldedFields.set(fields, byFold);
  }
  for (const m of v.members) {
    const field = byFold.get(foldName(m.key));
    if (field !== undefined) onField(field, m.value);
  }
}

/** A Go `string` member: the value, or undefined for `null` (Go leaves the field alone). */
export function goString(v: JsonValue, where: string): string | undefined {
  if (v.kind === 'null') return undefined;
  if (v.kind !== 'string') throw typeError(jsonKindName(v), where, 'string');
  return v.value;
}

/** A Go `bool` member, or undefined for `null`. */
export function goBool(v: JsonValue, where: string): boolean | undefined {
  if (v.kind === 'null') return undefined;
  if (v.kind !== 'bool') throw typeError(jsonKindName(v), where, 'bool');
  return v.value;
}

const UINT_LITERAL = /^(?:0|[1-9][0-9]*)$/;

/**
 * A Go unsigned integer member (`uint64` by default, `uint8` for `byte`): only a plain
 * integer literal in range is accepted (Go refuses `3.0e16`, `1.0`, `-1`); undefined for null.
 */
export function goUint(v: JsonValue, where: string, bits: 8 | 16 | 32 | 64 = 64): bigint | undefined {
  if (v.kind === 'null') return undefined;
  const goType = bits === 8 ? 'uint8' : `uint${bits}`;
  if (v.kind !== 'number') throw typeError(jsonKindName(v), where, goType);
  if (UINT_LITERAL.test(v.text) && v.text.length <= 20) {
    const n = BigInt(v.text);
    if (n < 1n << BigInt(bits)) return n;
  }
  throw typeError(`number ${v.text}`, where, goType);
}

/** A Go `float64` member (correctly rounded like strconv.ParseFloat; overflow refused), or undefined for null. */
export function goFloat64(v: JsonValue, where: string): number | undefined {
  if (v.kind === 'null') return undefined;
  if (v.kind !== 'number') throw typeError(jsonKindName(v), where, 'float64');
  const n = Number(v.text);
  if (!Number.isFinite(n)) throw typeError(`number ${v.text}`, where, 'float64');
  return n;
}

/** A Go `map[string]V` member: `null` → null; an object merges into `prev` (as Go does). */
export function goStringMap<V>(v: JsonValue, prev: Map<string, V> | null, where: string, goType: string, elem: (e: JsonValue) => V): Map<string, V> | null {
  if (v.kind === 'null') return null;
  if (v.kind !== 'object') throw typeError(jsonKindName(v), where, goType);
  const out = prev ?? new Map<string, V>();
  for (const m of v.members) out.set(m.key, elem(m.value));
  return out;
}

// ---------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------

/** What the writer accepts. A Map is a JSON object, written in the Map's order. */
export type GoJsonOut = null | boolean | number | bigint | string | readonly GoJsonOut[] | ReadonlyMap<string, GoJsonOut>;

/** Orders strings by their UTF-8 bytes (= code point order), as Go sorts map keys. */
export function compareBytewise(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order equals code point order except that surrogates (D800–DFFF) encode code
    // points above every BMP character.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** A Map with the entries' keys sorted bytewise (Go's map encoding order). */
export function sortedMap<V>(entries: Iterable<readonly [string, V]>): Map<string, V> {
  return new Map([...entries].sort((x, y) => compareBytewise(x[0], y[0])));
}

const NEEDS_ESCAPE = /["\\<>&\u0000-\u001f\u2028\u2029\ud800-\udfff]/;
const HEX = '0123456789abcdef';

/** A Go `encoding/json` string literal (HTML-safe escaping, as json.Marshal does). */
export function jsonQuote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += '\\\\';
        continue;
      case 0x08:
        out += '\\b';
        continue;
      case 0x0c:
        out += '\\f';
        continue;
      case 0x0a:
        out += '\\n';
        continue;
      case 0x0d:
        out += '\\r';
        continue;
      case 0x09:
        out += '\\t';
        continue;
    }
    if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
      out += '\\u00' + HEX[c >> 4] + HEX[c & 15];
    } else if (c === 0x2028 || c === 0x2029) {
      out += c === 0x2028 ? '\\u2028' : '\\u2029';
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += '\\ufffd'; // a lone surrogate is not UTF-8; Go writes invalid bytes this way
    } else {
      out += s[i]!;
    }
  }
  return out + '"';
}

/**
 * A float64 as Go's encoder writes it: shortest round-trip digits, exponent form below 1e-6
 * and from 1e21 up (`1e+21`, `1e-7`). That is exactly JavaScript's Number→string, except
 * that Go keeps the sign of negative zero. NaN and ±Inf are refused, as in Go.
 */
export function formatGoFloat64(n: number): string {
  if (!Number.isFinite(n)) throw new GoJsonError('unsupported', `json: unsupported value: ${goInfName(n)}`);
  if (n === 0 && Object.is(n, -0)) return '-0';
  return String(n);
}

function goInfName(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  return n > 0 ? '+Inf' : '-Inf';
}

/** Compact JSON text for `v`. Throws GoJsonError (`unsupported`) for NaN/±Inf. */
export function writeGoJson(v: GoJsonOut): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return formatGoFloat64(v);
    case 'bigint':
      return v.toString();
    case 'string':
      return jsonQuote(v);
  }
  if (isOutArray(v)) return '[' + v.map(writeGoJson).join(',') + ']';
  const parts: string[] = [];
  for (const [k, val] of v) parts.push(jsonQuote(k) + ':' + writeGoJson(val));
  return '{' + parts.join(',') + '}';
}

function isOutArray(v: readonly GoJsonOut[] | ReadonlyMap<string, GoJsonOut>): v is readonly GoJsonOut[] {
  return Array.isArray(v);
}

/** Marks a plain record that Go holds as a map (its keys are written sorted), not a struct. */
export class GoMap {
  constructor(readonly entries: Record<string, unknown>) {}
}

/** Wraps a record so `toGoJsonOut` writes it as a Go map (keys sorted bytewise). */
export function asGoMap(entries: Record<string, unknown>): GoMap {
  return new GoMap(entries);
}

/**
 * A plain value in the writer's model, the way encoding/json sees Go values: plain objects
 * are structs (member order kept, undefined members left out), GoMap and Map are maps (keys
 * sorted bytewise); `isMap` makes the top-level object a map. undefined and null are nil.
 */
export function toGoJsonOut(v: unknown, isMap = false): GoJsonOut {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((x) => toGoJsonOut(x));
  if (v instanceof GoMap) return toGoJsonOut(v.entries, true);
  if (v instanceof Map) return toGoJsonOut(Object.fromEntries([...v].map(([k, x]) => [String(k), x])), true);
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (isMap) entries.sort(([a], [b]) => compareBytewise(a, b));
  return new Map(entries.map(([k, x]) => [k, toGoJsonOut(x)]));
}
