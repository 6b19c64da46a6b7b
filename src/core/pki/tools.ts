/**
 * receptor's certificate tools (config.md §5.15), shared by the `cert-init`, `cert-makereq`,
 * `cert-signreq` action items and the `cert init|makereq|signreq` commands. Error texts are Go
 * receptor's.
 */
import fs from 'node:fs';
import {ReceptorError} from '../errors.js';
import {
  createCa,
  createCsr,
  describeCertificate,
  findRsaPrivateKey,
  loadCertificatePem,
  loadRsaPrivateKey,
  parseCsr,
  rsaKeyBits,
  signCsr,
  type CertificateSummary,
  type ParsedCsr,
} from './x509.js';
import {parseIpAddress, type CertNames} from './names.js';
import {CertToolError, checkMakeReqKeyOptions, type MakeReqKeyOptions} from './tool-options.js';
import {pathErrorText} from '../go/errno.js';
import {parseRFC3339, unixMilli} from '../go/time.js';
import {ValueError} from '../go/value-error.js';

export {CertToolError, checkMakeReqKeyOptions, type MakeReqKeyOptions} from './tool-options.js';

// ---------------------------------------------------------------------------------------------
// Files and times
// ---------------------------------------------------------------------------------------------

/** A Node fs error in Go's `open <path>: <reason>` form. */
function goFileError(op: 'open' | 'read', path: string, err: unknown): CertToolError {
  return new CertToolError(pathErrorText(err, op, path));
}

/** Reads a file; errors are worded like Go's os.ReadFile. */
export function readInputFile(path: string): string {
  try {
    return fs.readFileSync(path, 'latin1');
  } catch (err) {
    // Go opens first, then reads: a directory fails at the read
    throw goFileError((err as NodeJS.ErrnoException)?.code === 'EISDIR' ? 'read' : 'open', path, err);
  }
}

/** Writes (or overwrites) a file with mode 0600, like Go's SaveToPEMFile; the mode is forced on existing files too. */
export function writeSecretFile(path: string, data: string): void {
  try {
    fs.writeFileSync(path, data, {mode: 0o600});
    fs.chmodSync(path, 0o600);
  } catch (err) {
    throw goFileError('open', path, err);
  }
}

function optionalTime(s: string | undefined): Date | undefined {
  if (s === undefined || s === '') return undefined;
  try {
    return new Date(unixMilli(parseRFC3339(s)));
  } catch (err) {
    throw err instanceof ValueError ? new CertToolError(err.message, true) : err;
  }
}

function asToolError(err: unknown): CertToolError {
  if (err instanceof CertToolError) return err;
  return new CertToolError(err instanceof Error ? err.message : String(err));
}

// ---------------------------------------------------------------------------------------------
// cert-init
// ---------------------------------------------------------------------------------------------

export interface CertInitParams {
  commonName: string;
  /** RSA key size; 0 means 2048. */
  bits: number;
  /** RFC 3339; empty = now. */
  notBefore?: string;
  /** RFC 3339; empty = now + 10 years. */
  notAfter?: string;
  outCert: string;
  outKey: string;
  now?: Date;
}

export interface CertInitResult {
  outCert: string;
  outKey: string;
  keyBits: number;
  certificate: CertificateSummary;
}

/** `cert-init`: creates a self-signed CA and writes its certificate and PKCS#1 key (mode 0600). */
export async function certInit(p: CertInitParams): Promise<CertInitResult> {
  const notBefore = optionalTime(p.notBefore);
  const notAfter = optionalTime(p.notAfter);
  if (p.commonName === '') throw new CertToolError('must provide CommonName', true);
  let ca;
  try {
    ca = await createCa({commonName: p.commonName, bits: p.bits, notBefore, notAfter, now: p.now});
  } catch (err) {
    throw asToolError(err);
  }
  writeSecretFile(p.outCert, ca.certPem);
  writeSecretFile(p.outKey, ca.keyPem);
  return {outCert: p.outCert, outKey: p.outKey, keyBits: rsaKeyBits(ca.key), certificate: describeCertificate(ca.certDer)};
}

// ---------------------------------------------------------------------------------------------
// cert-makereq
// ---------------------------------------------------------------------------------------------

export interface MakeReqParams extends MakeReqKeyOptions {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  nodeIds: string[];
  outReq: string;
}

export interface MakeReqResult {
  outReq: string;
  /** Set when a new key was generated and written. */
  outKey?: string;
  /** Set when an existing key was used. */
  inKey?: string;
  subject: string;
  keyBits: number;
  names: CertNames;
}

/** `cert-makereq`: creates a CSR (new key written to `outKey`, or the key read from `inKey`). */
export async function certMakeReq(p: MakeReqParams): Promise<MakeReqResult> {
  checkMakeReqKeyOptions(p);
  for (const ip of p.ipAddresses) if (!parseIpAddress(ip)) throw new CertToolError(`invalid IP address: ${ip}`, true);
  if (p.commonName === '') throw new CertToolError('must provide CommonName', true);
  let key;
  if (p.inKey) {
    const text = readInputFile(p.inKey);
    try {
      key = findRsaPrivateKey(text, p.inKey);
    } catch (err) {
      throw asToolError(err);
    }
  }
  let csr;
  try {
    csr = await createCsr({commonName: p.commonName, key, bits: p.bits, dnsNames: p.dnsNames, ipAddresses: p.ipAddresses, nodeIds: p.nodeIds});
  } catch (err) {
    throw asToolError(err);
  }
  writeSecretFile(p.outReq, csr.csrPem);
  if (p.outKey) writeSecretFile(p.outKey, csr.keyPem);
  const parsed = parseCsr(csr.csrDer);
  return {
    outReq: p.outReq,
    ...(p.outKey ? {outKey: p.outKey} : {inKey: p.inKey}),
    subject: parsed.subject,
    keyBits: rsaKeyBits(csr.key),
    names: parsed.names,
  };
}

// ---------------------------------------------------------------------------------------------
// cert-signreq
// ---------------------------------------------------------------------------------------------

/** Where `cert-signreq` shows the request and asks for confirmation. */
export interface SignPrompt {
  write(text: string): void;
  /** One line of input without its newline; null at end of input with nothing read. */
  readLine(): Promise<string | null>;
}

export interface SignReqParams {
  req: string;
  caCert: string;
  caKey: string;
  notBefore?: string;
  notAfter?: string;
  outCert: string;
  /** true = sign without asking. */
  verify: boolean;
  now?: Date;
}

export interface SignReqResult {
  outCert: string;
  request: {
    subject: string;
    publicKeyAlgorithm: string;
    publicKeyBits?: number;
    signatureAlgorithm: string;
  };
  certificate: CertificateSummary;
}

/** The "Requested certificate:" block Go prints before asking (config.md §5.15). */
export function formatRequestSummary(csr: ParsedCsr): string {
  const algo = csr.publicKeyAlgorithm === 'RSA' && csr.publicKeyBits !== undefined ? `RSA (${csr.publicKeyBits} bits)` : csr.publicKeyAlgorithm;
  const lines = [
    'Requested certificate:',
    `  Subject: ${csr.subject}`,
    `  Encryption Algorithm: ${algo}`,
    `  Signature Algorithm: ${csr.signatureAlgorithm}`,
    '  Names:',
    ...csr.names.dnsNames.map((n) => `    DNS Name: ${n}`),
    ...csr.names.ipAddresses.map((n) => `    IP Address: ${n}`),
    ...csr.names.nodeIds.map((n) => `    Receptor Node ID: ${n}`),
  ];
  return lines.join('\n') + '\n';
}

export const SIGN_PROMPT = 'Sign certificate (yes/no)? ';

/**
 * Checks the answer to the prompt like Go's `fmt.Scanln` + comparison: `y`/`yes` in any case
 * accepted; anything else → `user declined`; an empty line → `unexpected newline`; two words →
 * `expected newline`; end of input → `EOF`.
 */
export function checkConfirmation(line: string | null): void {
  if (line === null) throw new CertToolError('EOF', true);
  const words = line
    .replace(/\r$/, '')
    .trim()
    .split(/[ \t]+/)
    .filter((w) => w !== '');
  if (words.length === 0) throw new CertToolError('unexpected newline', true);
  if (words.length > 1) throw new CertToolError('expected newline', true);
  const answer = words[0]!.toLowerCase();
  if (answer !== 'y' && answer !== 'yes') throw new CertToolError('user declined', true);
}

/** `cert-signreq`: signs a CSR with the CA, after confirmation unless `verify` is set. */
export async function certSignReq(p: SignReqParams, prompt?: SignPrompt): Promise<SignReqResult> {
  const notBefore = optionalTime(p.notBefore);
  const notAfter = optionalTime(p.notAfter);
  let caCertDer: Buffer;
  let caKey;
  let csr: ParsedCsr;
  try {
    caCertDer = loadCertificatePem(readInputFile(p.caCert));
    caKey = loadRsaPrivateKey(readInputFile(p.caKey));
    csr = parseCsr(readInputFile(p.req));
  } catch (err) {
    throw asToolError(err);
  }
  const {names} = csr;
  if (names.dnsNames.length === 0 && names.ipAddresses.length === 0 && names.nodeIds.length === 0) {
    throw new CertToolError('cannot sign: no names found in certificate');
  }
  // Sign before asking so a mismatched CA key/cert is reported without a pointless prompt;
  // nothing is written until the answer is in.
  let signed;
  try {
    signed = signCsr({csrPem: csr, caCertPem: caCertDer, caKeyPem: caKey, notBefore, notAfter, now: p.now});
  } catch (err) {
    throw asToolError(err);
  }
  if (!p.verify) {
    if (!prompt) throw new CertToolError('cannot ask for confirmation here; set verify=true to sign without asking', true);
    prompt.write(formatRequestSummary(csr) + SIGN_PROMPT);
    checkConfirmation(await prompt.readLine());
  }
  writeSecretFile(p.outCert, signed.certPem);
  return {
    outCert: p.outCert,
    request: {
      subject: csr.subject,
      publicKeyAlgorithm: csr.publicKeyAlgorithm,
      ...(csr.publicKeyBits !== undefined ? {publicKeyBits: csr.publicKeyBits} : {}),
      signatureAlgorithm: csr.signatureAlgorithm,
    },
    certificate: describeCertificate(signed.certDer),
  };
}

/**
 * Reads one line from a stream (process.stdin by default) and stops reading afterwards, so the
 * process can still exit. Resolves null at end of input when nothing was read; a last line
 * without a newline is returned as is.
 */
export function readLineFrom(stream: NodeJS.ReadableStream = process.stdin): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
    };
    const onData = (chunk: Buffer | string) => {
      buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      const i = buf.indexOf('\n');
      if (i >= 0) {
        cleanup();
        resolve(buf.slice(0, i));
      }
    };
    const onEnd = () => {
      cleanup();
      resolve(buf.length > 0 ? buf : null);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}

/**
 * For the `cert …` commands: option mistakes are E_USAGE, unreadable or unusable inputs
 * E_CERT (a CertToolError carries its code); a ReceptorError passes through.
 */
export function toReceptorError(err: unknown): ReceptorError {
  if (err instanceof ReceptorError) return err;
  return new ReceptorError('E_CERT', err instanceof Error ? err.message : String(err), {cause: err});
}
