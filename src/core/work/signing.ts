/**
 * Work signing and verification (workceptor.md §9): RS512 JSON Web Tokens minted with the
 * `work-signing` private key and checked with the `work-verification` public key.
 *
 * Go receptor does this with golang-jwt v4 (`RegisteredClaims`) and its own PEM loader
 * (pkg/certificates). Peers and clients see the error texts, so they follow Go:
 *
 * - Keys are read from disk on every use. A key file is a sequence of PEM blocks decoded the
 *   way Go's `encoding/pem` does it (text before a block is skipped, but anything left after
 *   the last block — even a blank line — is `failed to decode PEM block`); every block must be
 *   of a known type, and the file must hold exactly one item of the expected kind.
 * - Token parsing follows golang-jwt v4's `ParseWithClaims`: strict unpadded base64url
 *   segments (Go's decoder, including its error offsets), header and claims decoded with
 *   `encoding/json` semantics, any registered `alg` looked up, `exp`/`iat`/`nbf` checked
 *   without leeway, then the signature; a signature error hides a claims error.
 *
 * Times are handled as nanoseconds (BigInt) so the `token is expired by <duration>` text is
 * Go's `time.Duration` formatting of the exact difference.
 */
import {constants, type KeyObject, sign as cryptoSign, verify as cryptoVerify} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {strconvQuote} from '../go/strconv.js';
import {durationString} from '../go/time.js';
import {foldName, GoJsonError, parseGoJson, writeGoJson, type JsonValue} from '../go/json.js';
import {pathErrorText} from '../go/errno.js';
import {base64Decode} from '../go/base64.js';
import {loadPrivateKey, loadPublicKey} from '../pki/pem-file.js';

export const DEFAULT_TOKEN_LIFETIME_MS = 5 * 60_000;

export interface WorkSigningConfig {
  privateKeyPath: string;
  lifetimeMs: number;
}

export interface WorkVerificationConfig {
  publicKeyPath: string;
}

// ---------------------------------------------------------------------------------------
// Key files (Go receptor's certificates.LoadFromPEMFile / LoadPrivateKey / LoadPublicKey)
// ---------------------------------------------------------------------------------------

/** A Go `*PathError` text for a failed file system call: `<op> <path>: <errno text>`. */
function pathError(err: unknown, op: string, path: string): string {
  return pathErrorText(err, (err as NodeJS.ErrnoException)?.syscall ?? op, path);
}

function readKeyFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(pathError(err, 'open', path));
  }
}

/** Go's `certificates.LoadPrivateKey` of a file path. */
function loadRsaPrivateKeyFile(path: string): KeyObject {
  return loadPrivateKey(readKeyFile(path));
}

/** Go's `certificates.LoadPublicKey` of a file path. */
function loadRsaPublicKeyFile(path: string): KeyObject {
  return loadPublicKey(readKeyFile(path));
}

// ---------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------

const TOKEN_HEADER = '{"alg":"RS512","typ":"JWT"}';

/**
 * Mints a compact JWS: header {"alg":"RS512","typ":"JWT"}, claims {"aud":[audience],"exp":<unix s>}
 * exactly in that key order, base64url without padding, RSASSA-PKCS1-v1_5 with SHA-512. Loads
 * the key file on each call. Errors carry Go's texts: `cannot sign work: signing key is empty`,
 * `could not load signing key file: <err>`.
 */
export function signWork(cfg: WorkSigningConfig | undefined, audience: string, now: Date = new Date()): string {
  if (!cfg || cfg.privateKeyPath === '') throw new Error('cannot sign work: signing key is empty');
  // jwt.NewNumericDate truncates to whole seconds
  const exp = Math.floor((now.getTime() + cfg.lifetimeMs) / 1000);
  let key: KeyObject;
  try {
    key = loadRsaPrivateKeyFile(cfg.privateKeyPath);
  } catch (err) {
    throw new Error(`could not load signing key file: ${(err as Error).message}`);
  }
  const claims = writeGoJson(
    new Map<string, readonly string[] | bigint>([
      ['aud', [audience]],
      ['exp', BigInt(exp)],
    ]),
  );
  const input = `${b64url(Buffer.from(TOKEN_HEADER))}.${b64url(Buffer.from(claims, 'utf8'))}`;
  let sig: Buffer;
  try {
    sig = cryptoSign('sha512', Buffer.from(input), {key, padding: constants.RSA_PKCS1_PADDING});
  } catch {
    // The only way a loaded RSA key fails here is a modulus too small for a SHA-512 DigestInfo.
    throw new Error('crypto/rsa: message too long for RSA key size');
  }
  return `${input}.${b64url(sig)}`;
}

function b64url(b: Buffer): string {
  return b.toString('base64url');
}

// ---------------------------------------------------------------------------------------
// Token parsing and validation (golang-jwt v4, RegisteredClaims)
// ---------------------------------------------------------------------------------------

/** An error whose text golang-jwt would report (wrapped by receptor as `could not verify signature: …`). */
class JwtError extends Error {}

interface Claims {
  aud: string[];
  exp?: bigint; // nanoseconds since the Unix epoch, whole seconds
  nbf?: bigint;
  iat?: bigint;
}

interface Method {
  hash?: 'sha256' | 'sha384' | 'sha512';
  pss?: boolean;
  /** Non-RSA methods: the error golang-jwt's Verify gives for an RSA public key. */
  keyError?: string;
  /** Whether that Verify decodes the signature segment before looking at the key. */
  decodesFirst?: boolean;
}

const INVALID_KEY_TYPE = 'key is of invalid type';

/** Every method golang-jwt v4 registers, as its Verify behaves with an `*rsa.PublicKey`. */
const METHODS: ReadonlyMap<string, Method> = new Map<string, Method>([
  ['RS256', {hash: 'sha256'}],
  ['RS384', {hash: 'sha384'}],
  ['RS512', {hash: 'sha512'}],
  ['PS256', {hash: 'sha256', pss: true}],
  ['PS384', {hash: 'sha384', pss: true}],
  ['PS512', {hash: 'sha512', pss: true}],
  ['HS256', {keyError: INVALID_KEY_TYPE}],
  ['HS384', {keyError: INVALID_KEY_TYPE}],
  ['HS512', {keyError: INVALID_KEY_TYPE}],
  ['ES256', {keyError: INVALID_KEY_TYPE, decodesFirst: true}],
  ['ES384', {keyError: INVALID_KEY_TYPE, decodesFirst: true}],
  ['ES512', {keyError: INVALID_KEY_TYPE, decodesFirst: true}],
  ['EdDSA', {keyError: INVALID_KEY_TYPE}],
  ['none', {keyError: "'none' signature type is not allowed"}],
]);

/** jwt.DecodeSegment: unpadded base64url of the segment's UTF-8 bytes. */
function decodeSegment(seg: string): Buffer {
  try {
    return base64Decode(Buffer.from(seg, 'utf8'), 'rawurl');
  } catch (err) {
    throw new JwtError((err as Error).message);
  }
}

/** Go's dynamic type name for a JSON value decoded into `interface{}`. */
function goInterfaceType(v: JsonValue): string {
  switch (v.kind) {
    case 'number':
      return 'float64';
    case 'string':
      return 'string';
    case 'bool':
      return 'bool';
    case 'object':
      return 'map[string]interface {}';
    case 'array':
      return '[]interface {}';
    default:
      return '<nil>'; // Go panics formatting this error; we answer instead
  }
}

/** The first number (document order) that does not fit a float64, as decoding into `interface{}` reports it. */
function interfaceNumberError(v: JsonValue): string | undefined {
  switch (v.kind) {
    case 'number':
      return Number.isFinite(Number(v.text)) ? undefined : `json: cannot unmarshal number ${v.text} into Go value of type float64`;
    case 'array':
      for (const x of v.items) {
        const e = interfaceNumberError(x);
        if (e) return e;
      }
      return undefined;
    case 'object':
      for (const m of v.members) {
        const e = interfaceNumberError(m.value);
        if (e) return e;
      }
      return undefined;
    default:
      return undefined;
  }
}

function syntaxMessage(err: unknown): string {
  return err instanceof GoJsonError ? err.message : String((err as Error)?.message ?? err);
}

/** json.Unmarshal into `map[string]interface{}`: the header members (null → none). */
function decodeHeader(bytes: Buffer): Map<string, JsonValue> {
  let v: JsonValue;
  try {
    v = parseGoJson(bytes);
  } catch (err) {
    throw new JwtError(syntaxMessage(err));
  }
  const header = new Map<string, JsonValue>();
  if (v.kind === 'null') return header;
  if (v.kind !== 'object') throw new JwtError(`json: cannot unmarshal ${v.kind} into Go value of type map[string]interface {}`);
  const numErr = interfaceNumberError(v);
  if (numErr) throw new JwtError(numErr);
  for (const m of v.members) header.set(m.key, m.value);
  return header;
}

/**
 * json.Decoder.Decode: reads one value and ignores whatever follows it; end of input before
 * a value is `EOF`, inside one `unexpected EOF`.
 */
function decodeFirstValue(bytes: Buffer): JsonValue {
  try {
    return parseGoJson(bytes);
  } catch (err) {
    if (!(err instanceof GoJsonError) || err.code !== 'syntax') throw new JwtError(syntaxMessage(err));
    if (err.message.endsWith(' after top-level value') && err.offset !== undefined) {
      try {
        return parseGoJson(bytes.subarray(0, err.offset));
      } catch (inner) {
        throw new JwtError(syntaxMessage(inner));
      }
    }
    if (err.message === 'unexpected end of JSON input') {
      throw new JwtError(/^[ \t\r\n]*$/.test(bytes.toString('latin1')) ? 'EOF' : 'unexpected EOF');
    }
    throw new JwtError(err.message);
  }
}

/** strconv.ParseFloat's range check plus the JSON number grammar (encoding/json isValidNumber). */
const JSON_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const INT64_MIN = -(2n ** 63n);
const NS_PER_S = 1_000_000_000n;

/**
 * NumericDate.UnmarshalJSON: a JSON number (or a string holding one) of Unix seconds,
 * truncated to whole seconds as jwt.NewNumericDate does. Returns nanoseconds.
 */
function decodeNumericDate(v: JsonValue): bigint {
  let text: string;
  if (v.kind === 'number') {
    text = v.text;
  } else if (v.kind === 'string') {
    if (!JSON_NUMBER.test(v.value)) {
      const literal = v.escaped ? JSON.stringify(v.value) : `"${v.value}"`;
      throw new JwtError(`could not parse NumericData: json: invalid number literal, trying to unmarshal ${strconvQuote(literal)} into Number`);
    }
    text = v.value;
  } else {
    throw new JwtError(`could not parse NumericData: json: cannot unmarshal ${v.kind} into Go value of type json.Number`);
  }
  const f = Number(text);
  if (!Number.isFinite(f)) {
    throw new JwtError(`could not convert json number value to float: strconv.ParseFloat: parsing ${strconvQuote(text)}: value out of range`);
  }
  // time.Unix(int64(whole), int64(frac*1e9)).Truncate(time.Second); int64 conversion of
  // an out-of-range float gives math.MinInt64 on amd64.
  const whole = Math.trunc(f);
  if (Math.abs(whole) >= 2 ** 63) return INT64_MIN * NS_PER_S;
  const ns = BigInt(whole) * NS_PER_S + BigInt(Math.trunc((f - whole) * 1e9));
  const floorSec = ns >= 0n ? ns / NS_PER_S : -((-ns + NS_PER_S - 1n) / NS_PER_S);
  return floorSec * NS_PER_S;
}

/** ClaimStrings.UnmarshalJSON: a string or an array of strings; null leaves the value alone. */
function decodeAudience(v: JsonValue, current: string[]): string[] {
  const numErr = interfaceNumberError(v);
  if (numErr) throw new JwtError(numErr);
  switch (v.kind) {
    case 'null':
      return current;
    case 'string':
      return [v.value];
    case 'array':
      return v.items.map((x) => {
        if (x.kind !== 'string') throw new JwtError(`json: unsupported type: ${goInterfaceType(x)}`);
        return x.value;
      });
    default:
      throw new JwtError(`json: unsupported type: ${goInterfaceType(v)}`);
  }
}

const CLAIM_FIELDS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'] as const;
const CLAIM_BY_FOLD = new Map(CLAIM_FIELDS.map((f) => [foldName(f), f]));

/**
 * Decoding into `jwt.RegisteredClaims`: member names match case-insensitively, unknown ones
 * are skipped, later duplicates win. Errors of the custom decoders (aud, times) stop decoding
 * at once; plain type mismatches are remembered and the first is reported at the end, as
 * encoding/json does.
 */
function decodeClaims(v: JsonValue): Claims {
  const claims: Claims = {aud: []};
  if (v.kind === 'null') return claims;
  if (v.kind !== 'object') throw new JwtError(`json: cannot unmarshal ${v.kind} into Go value of type jwt.RegisteredClaims`);
  let saved: string | undefined;
  for (const m of v.members) {
    const field = CLAIM_BY_FOLD.get(foldName(m.key));
    if (field === undefined) continue;
    const value = m.value;
    switch (field) {
      case 'iss':
      case 'sub':
      case 'jti':
        if (value.kind !== 'null' && value.kind !== 'string') {
          saved ??= `json: cannot unmarshal ${value.kind} into Go struct field RegisteredClaims.${field} of type string`;
        }
        break;
      case 'aud':
        claims.aud = decodeAudience(value, claims.aud);
        break;
      default:
        if (value.kind === 'null') delete claims[field];
        else claims[field] = decodeNumericDate(value);
    }
  }
  if (saved) throw new JwtError(saved);
  return claims;
}

const MAX_DURATION = 2n ** 63n - 1n;
const MIN_DURATION = -(2n ** 63n);

/** RegisteredClaims.Valid: the last failing check (exp, then iat, then nbf) gives the text. */
function claimsError(c: Claims, nowNs: bigint): string | undefined {
  let err: string | undefined;
  if (c.exp !== undefined && !(nowNs < c.exp)) {
    let d = nowNs - c.exp;
    if (d > MAX_DURATION) d = MAX_DURATION;
    if (d < MIN_DURATION) d = MIN_DURATION;
    err = `token is expired by ${durationString(d)}`;
  }
  if (c.iat !== undefined && !(nowNs >= c.iat)) err = 'token used before issued';
  if (c.nbf !== undefined && !(nowNs >= c.nbf)) err = 'token is not valid yet';
  return err;
}

/** The method's Verify with an RSA public key: the error text, or undefined when it checks out. */
function signatureError(method: Method, signingInput: string, signature: string, key: KeyObject): string | undefined {
  if (method.keyError !== undefined) {
    if (method.decodesFirst) {
      try {
        decodeSegment(signature);
      } catch (err) {
        return (err as Error).message;
      }
    }
    return method.keyError;
  }
  let sig: Buffer;
  try {
    sig = decodeSegment(signature);
  } catch (err) {
    return (err as Error).message;
  }
  const size = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  let ok = false;
  if (sig.length === size) {
    try {
      ok = cryptoVerify(
        method.hash!,
        Buffer.from(signingInput, 'utf8'),
        method.pss ? {key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO} : {key, padding: constants.RSA_PKCS1_PADDING},
        sig,
      );
    } catch {
      ok = false;
    }
  }
  return ok ? undefined : 'crypto/rsa: verification error';
}

/** jwt.ParseWithClaims(token, &RegisteredClaims{}, keyFunc returning `key`). */
function parseToken(token: string, key: KeyObject, nowNs: bigint): Claims {
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('token contains an invalid number of segments');
  let headerBytes: Buffer;
  try {
    headerBytes = decodeSegment(parts[0]!);
  } catch (err) {
    if (token.toLowerCase().startsWith('bearer ')) throw new JwtError("tokenstring should not contain 'bearer '");
    throw err;
  }
  const header = decodeHeader(headerBytes);
  const claims = decodeClaims(decodeFirstValue(decodeSegment(parts[1]!)));
  const alg = header.get('alg');
  if (alg?.kind !== 'string') throw new JwtError('signing method (alg) is unspecified.');
  const method = METHODS.get(alg.value);
  if (!method) throw new JwtError('signing method (alg) is unavailable.');
  const claimsErr = claimsError(claims, nowNs);
  const sigErr = signatureError(method, `${parts[0]}.${parts[1]}`, parts[2]!, key);
  if (sigErr !== undefined) throw new JwtError(sigErr);
  if (claimsErr !== undefined) throw new JwtError(claimsErr);
  return claims;
}

/** verifyAud with `required`: some entry equals the node ID, and not every entry is empty. */
function audienceMatches(aud: readonly string[], nodeId: string): boolean {
  if (aud.length === 0 || aud.join('') === '') return false;
  return aud.includes(nodeId);
}

/**
 * Verifies a work token (workceptor.md §9.3 step 3; called only when verification is
 * required). Throws with Go's texts: `could not verify signature: signature is empty`,
 * `could not verify signature: verifying key not specified`,
 * `could not load verifying key file: <err>`, `could not verify signature: <jwt error>`,
 * `token not valid`, `token audience did not match node ID`.
 */
export function verifyWorkSignature(token: string, cfg: WorkVerificationConfig | undefined, nodeId: string, now: Date = new Date()): void {
  if (token === '') throw new Error('could not verify signature: signature is empty');
  if (!cfg || cfg.publicKeyPath === '') throw new Error('could not verify signature: verifying key not specified');
  let key: KeyObject;
  try {
    key = loadRsaPublicKeyFile(cfg.publicKeyPath);
  } catch (err) {
    throw new Error(`could not load verifying key file: ${(err as Error).message}`);
  }
  let claims: Claims;
  try {
    claims = parseToken(token, key, BigInt(now.getTime()) * 1_000_000n);
  } catch (err) {
    throw new Error(`could not verify signature: ${(err as Error).message}`);
  }
  // golang-jwt marks a token valid exactly when it returns no error, so Go's
  // `token not valid` branch cannot be reached after a successful parse.
  if (!audienceMatches(claims.aud, nodeId)) throw new Error('token audience did not match node ID');
}

/**
 * §9.3 as a whole, with `shouldVerify` decided by the caller: a signature sent to a work type
 * that does not verify is refused (`work type did not expect a signature`, even on a unix
 * socket; an empty one counts as none); a verifying type checks the token except on unix
 * socket connections.
 */
export function checkWorkSignature(opts: {shouldVerify: boolean; isUnix: boolean; signature: string; cfg: WorkVerificationConfig | undefined; nodeId: string; now?: Date}): void {
  if (!opts.shouldVerify) {
    if (opts.signature !== '') throw new Error('work type did not expect a signature');
    return;
  }
  if (!opts.isUnix) verifyWorkSignature(opts.signature, opts.cfg, opts.nodeId, opts.now);
}
