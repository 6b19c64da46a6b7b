/** Nanosecond wall clock and the time formats kubelet and the apiserver write. */
import {hrtime} from 'node:process';

const wallBase = BigInt(Date.now()) * 1_000_000n;
const monoBase = hrtime.bigint();

/** Nanoseconds since the epoch: wall clock at start plus a monotonic offset (never goes back). */
export function nowNs(): bigint {
  return wallBase + (hrtime.bigint() - monoBase);
}

/** kubelet's log timestamp layout `2006-01-02T15:04:05.000000000Z07:00` (RFC3339NanoFixed), in UTC. */
export function formatNs(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(Number(secs) * 1000).toISOString().slice(0, 19) + '.' + frac + 'Z';
}

/** metav1.Time as JSON: RFC 3339 with seconds. */
export function rfc3339(d: Date = new Date()): string {
  return d.toISOString().slice(0, 19) + 'Z';
}

/** RFC 3339 (fraction optional, any offset) to nanoseconds; null when it does not parse. */
export function parseRfc3339Ns(s: string): bigint | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return null;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (Number.isNaN(ms)) return null;
  let ns = BigInt(ms) * 1_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
  if (m[8] !== 'Z' && m[8] !== 'z') {
    const sign = m[8][0] === '-' ? -1n : 1n;
    const offMin = BigInt(+m[8].slice(1, 3) * 60 + +m[8].slice(4, 6));
    ns -= sign * offMin * 60_000_000_000n;
  }
  return ns;
}
