/**
 * Go's encoding/pem: the one PEM decoder of the project. Every Go path receptor mirrors
 * (certificates.LoadFromPEMFile, tls.X509KeyPair, CertPool.AppendCertsFromPEM, the node-ID
 * start-up check, work-signing key files) goes through `pem.Decode`, so every PEM input here
 * goes through {@link pemDecode}: text before a block is skipped, a malformed block is skipped,
 * and what follows the END line's newline is the rest.
 */
import {base64Decode} from './base64.js';

/** Go's `pem.Block`. */
export interface PemBlock {
  type: string;
  headers: Record<string, string>;
  der: Buffer;
}

const PEM_START = Buffer.from('\n-----BEGIN ');
const PEM_END = Buffer.from('\n-----END ');
const PEM_EOL = Buffer.from('-----');
const LF = 0x0a;
const CR = 0x0d;

function hasPrefix(b: Buffer, p: Buffer): boolean {
  return b.length >= p.length && b.subarray(0, p.length).equals(p);
}

function hasSuffix(b: Buffer, s: Buffer): boolean {
  return b.length >= s.length && b.subarray(b.length - s.length).equals(s);
}

const isSpaceTab = (c: number | undefined) => c === 0x20 || c === 0x09;

/** One line without its terminator (CR LF or LF), trailing spaces and tabs trimmed; and the rest. */
function getLine(data: Buffer): [Buffer, Buffer] {
  let i = data.indexOf(LF);
  let j: number;
  if (i < 0) {
    i = data.length;
    j = i;
  } else {
    j = i + 1;
    if (i > 0 && data[i - 1] === CR) i--;
  }
  let end = i;
  while (end > 0 && isSpaceTab(data[end - 1])) end--;
  return [data.subarray(0, end), data.subarray(j)];
}

function removeSpacesAndTabs(b: Buffer): Buffer {
  const out: number[] = [];
  for (const c of b) if (!isSpaceTab(c)) out.push(c);
  return Buffer.from(out);
}

/** bytes.TrimSpace for header keys and values (ASCII white space; the text is read as UTF-8). */
const trimSpace = (b: Buffer) => b.toString('utf8').replace(/^[\t\n\v\f\r \u0085\u00a0]+|[\t\n\v\f\r \u0085\u00a0]+$/g, '');

const asBuffer = (data: string | Buffer) => (typeof data === 'string' ? Buffer.from(data, 'utf8') : data);

/** `pem.Decode`: the first valid block and the bytes after its END line; no block → `rest` is the input. */
export function pemDecode(input: string | Buffer): {block?: PemBlock; rest: Buffer} {
  const data = asBuffer(input);
  let rest = data;
  for (;;) {
    if (hasPrefix(rest, PEM_START.subarray(1))) {
      rest = rest.subarray(PEM_START.length - 1);
    } else {
      const at = rest.indexOf(PEM_START);
      if (at < 0) return {rest: data};
      rest = rest.subarray(at + PEM_START.length);
    }
    let typeLine: Buffer;
    [typeLine, rest] = getLine(rest);
    if (!hasSuffix(typeLine, PEM_EOL)) continue;
    typeLine = typeLine.subarray(0, typeLine.length - PEM_EOL.length);

    const headers: Record<string, string> = {};
    let headerCount = 0;
    for (;;) {
      if (rest.length === 0) return {rest: data};
      const [line, next] = getLine(rest);
      const colon = line.indexOf(0x3a);
      if (colon < 0) break;
      headers[trimSpace(line.subarray(0, colon))] = trimSpace(line.subarray(colon + 1));
      headerCount++;
      rest = next;
    }

    let endIndex: number;
    let endTrailerIndex: number;
    if (headerCount === 0 && hasPrefix(rest, PEM_END.subarray(1))) {
      endIndex = 0;
      endTrailerIndex = PEM_END.length - 1;
    } else {
      endIndex = rest.indexOf(PEM_END);
      endTrailerIndex = endIndex + PEM_END.length;
    }
    if (endIndex < 0) continue;

    let endTrailer = rest.subarray(endTrailerIndex);
    const endTrailerLen = typeLine.length + PEM_EOL.length;
    if (endTrailer.length < endTrailerLen) continue;
    const restOfEndLine = endTrailer.subarray(endTrailerLen);
    endTrailer = endTrailer.subarray(0, endTrailerLen);
    if (!hasPrefix(endTrailer, typeLine) || !hasSuffix(endTrailer, PEM_EOL)) continue;
    if (getLine(restOfEndLine)[0].length !== 0) continue;

    let der: Buffer;
    try {
      der = base64Decode(removeSpacesAndTabs(rest.subarray(0, endIndex)), 'std');
    } catch {
      continue;
    }
    const after = getLine(rest.subarray(endIndex + PEM_END.length - 1))[1];
    return {block: {type: typeLine.toString('utf8'), headers, der}, rest: after};
  }
}

/** The loop Go callers write (`for { b, rest = pem.Decode(rest); if b == nil { break } }`): every block, in order. */
export function pemDecodeAll(input: string | Buffer): PemBlock[] {
  const out: PemBlock[] = [];
  let rest = asBuffer(input);
  for (;;) {
    const d = pemDecode(rest);
    if (!d.block) return out;
    out.push(d.block);
    rest = d.rest;
  }
}

/** The first block (`block, _ := pem.Decode(data)`), or undefined. */
export function pemDecodeFirst(input: string | Buffer): PemBlock | undefined {
  return pemDecode(input).block;
}

/** `pem.EncodeToMemory` of a block without headers: 64-column base64 lines, trailing newline. */
export function pemEncode(type: string, der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join('\n')}${lines.length ? '\n' : ''}-----END ${type}-----\n`;
}
