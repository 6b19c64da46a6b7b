/**
 * The control-service session protocol (control-service.md §3): byte-exact line framing,
 * text and JSON request forms, Go-compatible reply encoding.
 */
import {compareBytewise, parseGoJson, writeGoJson, type GoJsonOut, type JsonValue} from '../netceptor/go-json.js';

/**
 * Longest request line a session buffers (Go has no limit; an endless line would exhaust
 * memory). A longer one ends the session with an error.
 */
export const MAX_REQUEST_LINE = 16 << 20;

/** An error whose message goes to the client as `ERROR: <message>`. */
import {ControlError} from '../errors.js';
export {ControlError};

export type Request =
  | {form: 'text'; command: string; params: string}
  | {form: 'json'; command: string; args: Record<string, unknown>};

/** The outcome of parsing one request line (errors are the ERROR lines to send). */
export type ParsedLine = {request: Request} | {errors: string[]} | {empty: true};

/** Converts a parsed JSON value to plain JS the way Go's map[string]interface{} sees it. */
export function jsonToPlain(v: JsonValue): unknown {
  switch (v.kind) {
    case 'null':
      return null;
    case 'bool':
      return v.value;
    case 'number':
      return Number(v.text);
    case 'string':
      return v.value;
    case 'array':
      return v.items.map(jsonToPlain);
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const m of v.members) o[m.key] = jsonToPlain(m.value);
      return o;
    }
  }
}

/** Parses one request line (CR bytes already removed, no LF). */
export function parseRequestLine(line: string): ParsedLine {
  if (line === '') return {empty: true};
  if (line[0] !== '{') {
    const sp = line.indexOf(' ');
    const command = (sp < 0 ? line : line.slice(0, sp)).toLowerCase();
    return {request: {form: 'text', command, params: sp < 0 ? '' : line.slice(sp + 1)}};
  }
  // Go writes the specific error and then also "Unknown command" (quirk Q1, kept).
  let value: unknown;
  try {
    value = jsonToPlain(parseGoJson(line));
  } catch (err) {
    return {errors: [(err as Error).message, 'Unknown command']};
  }
  const args = value as Record<string, unknown>;
  if (!('command' in args)) return {errors: ['JSON did not contain a command', 'Unknown command']};
  if (typeof args.command !== 'string') return {errors: ['command must be a string', 'Unknown command']};
  return {request: {form: 'json', command: args.command, args}};
}

/**
 * Splits incoming bytes into request lines without ever losing the bytes after a line:
 * whatever follows the last LF stays buffered for the next line or for a raw-mode handler.
 */
export class LineBuffer {
  private buf: Buffer = Buffer.alloc(0);

  /** Bytes buffered (the unfinished line and anything after it). */
  get size(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** The next complete line (CRs removed), or undefined. */
  nextLine(): string | undefined {
    const i = this.buf.indexOf(0x0a);
    if (i < 0) return undefined;
    const line = this.buf.subarray(0, i);
    this.buf = this.buf.subarray(i + 1);
    return stripCr(line);
  }

  /** At EOF: the unterminated last line, if any (Go executes it). */
  takePartial(): string | undefined {
    if (this.buf.length === 0) return undefined;
    const line = stripCr(this.buf);
    this.buf = Buffer.alloc(0);
    return line;
  }

  /** Bytes read past the last line (handed to raw mode). */
  takeRest(): Buffer {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
}

function stripCr(b: Buffer): string {
  return (b.includes(0x0d) ? Buffer.from(b.filter((x) => x !== 0x0d)) : b).toString('utf8');
}

/** Marks a nested object whose keys Go emits sorted (a Go map rather than a struct). */
export class GoMap {
  constructor(readonly entries: Record<string, unknown>) {}
}

export function goMap(entries: Record<string, unknown>): GoMap {
  return new GoMap(entries);
}

function toOut(v: unknown, sortKeys: boolean): GoJsonOut {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((x) => toOut(x, false));
  if (v instanceof GoMap) return toOut(v.entries, true);
  if (v instanceof Map) return toOut(Object.fromEntries(v), true);
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  if (sortKeys) entries.sort(([a], [b]) => compareBytewise(a, b));
  return new Map(entries.map(([k, x]) => [k, toOut(x, false)]));
}

/**
 * Encodes a reply like Go's encoding/json on a map: top-level keys sorted bytewise,
 * nested plain objects in insertion (struct) order, GoMap/Map values sorted. One line.
 */
export function encodeReply(reply: Record<string, unknown>): string {
  return writeGoJson(toOut(reply, true)) + '\n';
}

/** Go's time.Duration.String() for a nanosecond count. */
export function goDurationString(ns: bigint): string {
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

function fraction(v: bigint, unit: bigint): string {
  const whole = v / unit;
  const rest = v % unit;
  if (rest === 0n) return `${whole}`;
  const digits = unit.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}
