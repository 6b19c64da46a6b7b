/**
 * Which peer node IDs this node accepts (ours, stricter than Go: Go accepts any string on the
 * wire except its own ID, but refuses an empty ID and `localhost` in its own config).
 */

/** Longest accepted node ID in UTF-8 bytes: a DNS name (Go's default node ID is the host name) fits. */
export const MAX_NODE_ID_BYTES = 255;

// C0 controls, DEL and C1 controls: unaddressable from a shell and they corrupt log lines.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** Why `id` is not an acceptable peer node ID, or undefined when it is. */
export function nodeIdProblem(id: string): string | undefined {
  if (id === '') return 'its node ID is empty';
  if (id.toLowerCase() === 'localhost') return 'its node ID "localhost" is reserved';
  if (CONTROL.test(id)) return 'its node ID contains control characters';
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > MAX_NODE_ID_BYTES) return `its node ID is ${bytes} bytes long (at most ${MAX_NODE_ID_BYTES})`;
  return undefined;
}

/** `id` made safe to print: control characters escaped, cut to 64 characters. */
export function printableNodeId(id: string): string {
  const esc = id.replace(/[\u0000-\u001f\u007f-\u009f]/gu, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return esc.length > 64 ? `${esc.slice(0, 64)}…(${id.length} chars)` : esc;
}
