/**
 * The control-service session protocol (control-service.md §3): byte-exact line framing,
 * text and JSON request forms, Go-compatible reply encoding.
 */
import {parseGoJson, toGoJsonOut, writeGoJson, type JsonValue} from '../go/json.js';

/**
 * Longest request line a session buffers (Go has no limit; an endless line would exhaust
 * memory). A longer one ends the session with an error.
 */
export const MAX_REQUEST_LINE = 16 << 20;

/** An error whose message goes to the client as `ERROR: <message>`. */
export class ControlError extends Error {}

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

/**
 * Encodes a reply like Go's encoding/json on a map: top-level keys sorted bytewise,
 * nested plain objects in insertion (struct) order, GoMap/Map values sorted. One line.
 */
export function encodeReply(reply: Record<string, unknown>): string {
  return writeGoJson(toGoJsonOut(reply, true)) + '\n';
}
