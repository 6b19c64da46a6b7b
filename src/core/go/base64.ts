/**
 * Go's encoding/base64 decoder, quantum by quantum, for the two encodings receptor meets:
 * `StdEncoding` (PEM bodies) and `RawURLEncoding` (JWT segments). CR and LF are skipped
 * anywhere, trailing bits of a short final quantum are ignored (Go is not strict there), and
 * errors carry Go's byte offsets, because those texts reach peers.
 */

/** Go's `base64.CorruptInputError`: `illegal base64 data at input byte <offset>`. */
export class CorruptInputError extends Error {
  constructor(readonly offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
    this.name = 'CorruptInputError';
  }
}

function decodeMap(alphabet: string): Int16Array {
  const m = new Int16Array(256).fill(-1);
  for (let i = 0; i < alphabet.length; i++) m[alphabet.charCodeAt(i)] = i;
  return m;
}

const LETTERS_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const URL_MAP = decodeMap(`${LETTERS_DIGITS}-_`);
const STD_MAP = decodeMap(`${LETTERS_DIGITS}+/`);
const CR = 0x0d;
const LF = 0x0a;
const PAD = 0x3d;

/** Which Go encoding: `std` = `base64.StdEncoding` (padded), `rawurl` = `base64.RawURLEncoding`. */
export type GoBase64Encoding = 'std' | 'rawurl';

/** `enc.Decode` (Go's encoding/base64); throws {@link CorruptInputError}. */
export function base64Decode(src: Uint8Array, encoding: GoBase64Encoding): Buffer {
  const padded = encoding === 'std';
  const map = padded ? STD_MAP : URL_MAP;
  const out: number[] = [];
  let si = 0;
  while (si < src.length) {
    const q = [0, 0, 0, 0];
    let dlen = 4;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return Buffer.from(out);
        if (j === 1 || padded) throw new CorruptInputError(si - j);
        dlen = j;
        break;
      }
      const c = src[si]!;
      si++;
      const v = map[c]!;
      if (v >= 0) {
        q[j] = v;
        continue;
      }
      if (c === LF || c === CR) {
        j--;
        continue;
      }
      if (!padded || c !== PAD) throw new CorruptInputError(si - 1);
      // Padding: only after two or three symbols, and nothing but newlines after it.
      if (j < 2) throw new CorruptInputError(si - 1);
      if (j === 2) {
        while (si < src.length && (src[si] === LF || src[si] === CR)) si++;
        if (si === src.length) throw new CorruptInputError(src.length);
        if (src[si] !== PAD) throw new CorruptInputError(si - 1);
        si++;
      }
      while (si < src.length && (src[si] === LF || src[si] === CR)) si++;
      if (si < src.length) throw new CorruptInputError(si);
      dlen = j;
      break;
    }
    const val = (q[0]! << 18) | (q[1]! << 12) | (q[2]! << 6) | q[3]!;
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    for (let k = 0; k < dlen - 1; k++) out.push(bytes[k]!);
  }
  return Buffer.from(out);
}
