/** Packet number encoding and decoding (RFC 9000 §17.1, Appendix A.2 and A.3). */

/**
 * Bytes needed to send fullPn when largestAcked (-1 for none) is the largest acknowledged
 * packet number: twice the unacknowledged range plus one bit, rounded up to bytes (A.2).
 */
export function packetNumberLength(fullPn: number, largestAcked: number): 1 | 2 | 3 | 4 {
  const numUnacked = largestAcked < 0 ? fullPn + 1 : fullPn - largestAcked;
  const minBits = Math.log2(numUnacked) + 1;
  const bytes = Math.ceil(minBits / 8);
  return bytes <= 1 ? 1 : bytes === 2 ? 2 : bytes === 3 ? 3 : 4;
}

/** The low `length` bytes of fullPn, as written on the wire. */
export function truncatePacketNumber(fullPn: number, length: number): number {
  return fullPn % 2 ** (length * 8);
}

/** Recovers the full packet number (A.3). largestPn is -1 when nothing was received yet. */
export function decodePacketNumber(largestPn: number, truncatedPn: number, pnBits: number): number {
  const expected = largestPn + 1;
  const win = 2 ** pnBits;
  const hwin = win / 2;
  const candidate = expected - (expected % win) + truncatedPn;
  if (candidate <= expected - hwin && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}
