/**
 * The control-service line formats both sides need (control-service.md §3): request-line
 * parsing for the server, Go-compatible JSON line encoding for server replies and for the
 * requests remote work sends to another node, and the line limits.
 */
import {parseGoJson, toGoJsonOut, writeGoJson, type JsonValue} from '../go/json.js';

/**
 * Longest request line a session buffers (Go has no limit; an endless line would exhaust
 * memory). A longer one ends the session with an error.
 */
export const MAX_REQUEST_LINE = 16 << 20;

/** Longest reply line remote work accepts from another node (a status line is ~400 bytes). */
export const MAX_REPLY_LINE = 1 << 20;

export type Request = {form: 'text'; command: string; params: string} | {form: 'json'; command: string; args: Record<string, unknown>};

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
 * Encodes a reply like Go's encoding/json on a map: top-level keys sorted bytewise,
 * nested plain objects in insertion (struct) order, GoMap/Map values sorted. One line.
 */
export function encodeReply(reply: Record<string, unknown>): string {
  return writeGoJson(toGoJsonOut(reply, true)) + '\n';
}
