/**
 * Random identifiers: routing-update IDs and ephemeral service names (netceptor-wire.md §12.3).
 * 8 characters drawn uniformly from [0-9a-zA-Z] with the crypto RNG.
 */
import {randomBytes} from 'node:crypto';

export const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Length of UpdateIDs and ephemeral service names. */
export const ID_LENGTH = 8;

/** Services handled inside netceptor on every node (§9.1); no application may use them. */
export const RESERVED_SERVICES: ReadonlySet<string> = new Set(['ping', 'unreach']);

/** Largest multiple of the alphabet size that fits in a byte: bytes at or above it are re-drawn. */
const UNBIASED_LIMIT = 256 - (256 % ID_ALPHABET.length);

/**
 * A random string of `length` characters from ID_ALPHABET. Bytes ≥ 248 are discarded
 * (rejection sampling), so every character is equally likely.
 */
/** Random bytes from a pooled buffer (one getrandom call per 4 KiB instead of per ID). */
let pool = Buffer.alloc(0);
let poolPos = 0;
export function pooledRandomBytes(n: number): Uint8Array {
  if (n > 1024) return randomBytes(n);
  if (poolPos + n > pool.length) {
    pool = randomBytes(4096);
    poolPos = 0;
  }
  const out = pool.subarray(poolPos, poolPos + n);
  poolPos += n;
  return out;
}

export function randomId(length = ID_LENGTH, source: (n: number) => Uint8Array = pooledRandomBytes): string {
  let out = '';
  while (out.length < length) {
    for (const b of source(length - out.length + 2)) {
      if (b >= UNBIASED_LIMIT) continue;
      out += ID_ALPHABET[b % ID_ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}

export function isReservedService(name: string): boolean {
  return RESERVED_SERVICES.has(name);
}

/**
 * An unused random service name (the mesh's "ephemeral port"): re-drawn while it is
 * reserved or `inUse` reports it taken.
 */
export function ephemeralServiceName(inUse: (name: string) => boolean, generate: () => string = randomId): string {
  for (;;) {
    const name = generate();
    if (!isReservedService(name) && !inUse(name)) return name;
  }
}
