/**
 * The control-service session protocol (control-service.md §3): the server's error type and the
 * Go map marker. The line formats shared with remote work live in core/wire.
 */
export {encodeReply, jsonToPlain, MAX_REQUEST_LINE, parseRequestLine, type ParsedLine, type Request} from '../wire/control-codec.js';

/** An error whose message goes to the client as `ERROR: <message>`. */
export class ControlError extends Error {}

/** Marks a nested object whose keys Go emits sorted (a Go map rather than a struct). */
export class GoMap {
  constructor(readonly entries: Record<string, unknown>) {}
}

export function goMap(entries: Record<string, unknown>): GoMap {
  return new GoMap(entries);
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
