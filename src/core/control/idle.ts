/** The control-service `idletimeout` field (ours; Go's control service has no idle timeout). */
import {parseDuration} from '../go/time.js';

/** Default idle timeout of a session waiting for a request line. */
export const DEFAULT_CONTROL_IDLE_MS = 10 * 60_000;

/** The field in milliseconds: '' the default, '0' never. Throws Go's ParseDuration text, or on a negative. */
export function parseIdleTimeout(text: string): number {
  if (text === '') return DEFAULT_CONTROL_IDLE_MS;
  const ms = parseDuration(text);
  if (ms < 0) throw new Error(`idle timeout ${text} must not be negative`);
  return ms;
}
