/**
 * TLS for `tls://` control addresses, the way receptorctl does it: settings from
 * `--config FILE --tls-client NAME` or the direct options, turned into Node TLS options.
 */
import {readFileSync} from 'node:fs';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import {cmdlineParseBool} from '../go/cmdline.js';
import {ValueError} from '../go/value-error.js';
import {pemDecodeAll, pemEncode} from '../go/pem.js';
import {parseYaml11, readConfigText} from '../config/yaml-file.js';
import {errorMessage, ReceptorError} from '../errors.js';

/** TLS settings for `tls://` addresses (file paths, like receptorctl's options). */
export interface ControlTlsSettings {
  /** CA bundle (PEM) used instead of the system trust store. */
  rootcas?: string;
  /** Client certificate (PEM); used only together with `key`. */
  cert?: string;
  /** Client private key (PEM). */
  key?: string;
  /** Turn off the host-name check only; the chain is still verified (receptorctl semantics). */
  insecureSkipVerify?: boolean;
  /** Require TLS 1.3 (from a tls-client item's `mintls13`). */
  minTls13?: boolean;
}

function pemBlocks(text: string): string[] {
  return pemDecodeAll(text)
    .filter((b) => b.type === 'CERTIFICATE')
    .map((b) => pemEncode(b.type, b.der));
}

function readTlsFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    throw new ReceptorError('E_USAGE', `could not read ${what} file ${path}: ${why}`);
  }
}

/** Where the TLS settings come from: receptorctl's --config/--tls-client or the direct options. */
export interface ControlTlsOptions {
  config?: string;
  tlsClient?: string;
  rootcas?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify?: boolean;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Case-insensitive key lookup (receptor matches field names case-insensitively). */
function field(m: Record<string, unknown>, name: string): unknown {
  if (name in m) return m[name];
  const k = Object.keys(m).find((x) => x.toLowerCase() === name);
  return k === undefined ? undefined : m[k];
}

function tlsClientItems(doc: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  if (Array.isArray(doc)) {
    // v1: a list of single-key maps; receptorctl looks for the `tls-client` items.
    for (const el of doc) {
      if (!isMap(el)) continue;
      const v = field(el, 'tls-client');
      if (isMap(v)) out.push(v);
    }
  } else if (isMap(doc)) {
    // v2 (an extension; receptorctl reads only v1): `tls-clients: [ {...}, ... ]`.
    const list = field(doc, 'tls-clients');
    if (Array.isArray(list)) for (const v of list) if (isMap(v)) out.push(v);
  }
  return out;
}

function boolField(v: unknown, what: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    try {
      return cmdlineParseBool(v);
    } catch (err) {
      if (err instanceof ValueError) throw new ReceptorError('E_USAGE', `${what}: ${err.message}`);
      throw err;
    }
  }
  throw new ReceptorError('E_USAGE', `${what} must be a boolean`);
}

function stringField(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  throw new ReceptorError('E_USAGE', `${what} must be a string`);
}

/**
 * Resolves the TLS settings for a `tls://` control address the way receptorctl does:
 * `--config FILE --tls-client NAME` takes rootcas/cert/key/insecureskipverify (and, as an
 * extension, mintls13) from the `tls-client` item called NAME; otherwise the direct options.
 * Errors (E_USAGE): --config with --rootcas/--cert/--key, --config without --tls-client,
 * unknown tls-client name, unreadable file.
 * A tls-client without cert/key is accepted (no client certificate is sent).
 */
export function resolveControlTls(o: ControlTlsOptions): ControlTlsSettings {
  if (o.config && (o.rootcas || o.key || o.cert))
    throw new ReceptorError('E_USAGE', `--config ${o.config} cannot be combined with --rootcas, --cert or --key (the TLS settings come from its tls-client item)`);
  if (o.config && !o.tlsClient) throw new ReceptorError('E_USAGE', `--config ${o.config} needs --tls-client NAME (the tls-client item of that file to connect with)`);
  if (!o.config) {
    if (Boolean(o.cert) !== Boolean(o.key)) throw new ReceptorError('E_USAGE', '--cert and --key must be given together');
    return {rootcas: o.rootcas || undefined, cert: o.cert || undefined, key: o.key || undefined, insecureSkipVerify: o.insecureSkipVerify ?? false};
  }
  let doc: unknown;
  try {
    doc = parseYaml11(readConfigText(o.config), o.config);
  } catch (err) {
    throw new ReceptorError('E_USAGE', errorMessage(err), {cause: err});
  }
  const item = tlsClientItems(doc).find((it) => {
    const name = field(it, 'name');
    return name !== undefined && name !== null && String(name) === o.tlsClient;
  });
  if (!item) throw new ReceptorError('E_USAGE', `no tls-client named ${o.tlsClient} in ${o.config}`);
  const what = (f: string) => `tls-client ${o.tlsClient} in ${o.config}: ${f}`;
  const cert = stringField(field(item, 'cert'), what('cert'));
  const key = stringField(field(item, 'key'), what('key'));
  if (Boolean(cert) !== Boolean(key)) throw new ReceptorError('E_USAGE', `${what('cert and key')} must be given together`);
  return {
    rootcas: stringField(field(item, 'rootcas'), what('rootcas')),
    cert,
    key,
    insecureSkipVerify: boolField(field(item, 'insecureskipverify'), what('insecureskipverify')) ?? o.insecureSkipVerify ?? false,
    minTls13: boolField(field(item, 'mintls13'), what('mintls13')) ?? false,
  };
}

/** Builds Node TLS options from receptorctl-style settings. */
export function tlsConnectOptions(host: string, port: number, s: ControlTlsSettings = {}): tls.ConnectionOptions {
  // allowHalfOpen is passed on to the TLSSocket by tls.connect (missing from the typings).
  const opts: tls.ConnectionOptions & {allowHalfOpen?: boolean} = {host, port, minVersion: s.minTls13 ? 'TLSv1.3' : 'TLSv1.2', allowHalfOpen: true};
  if (net.isIP(host) === 0) opts.servername = host;
  if (s.rootcas) {
    const text = readTlsFile(s.rootcas, 'rootcas');
    const blocks = pemBlocks(text);
    if (blocks.length === 0) throw new ReceptorError('E_USAGE', `no certificates found in rootcas file ${s.rootcas}`);
    opts.ca = blocks;
  }
  if (s.cert && s.key) {
    opts.cert = readTlsFile(s.cert, 'cert');
    opts.key = readTlsFile(s.key, 'key');
  }
  // Host-name check off, chain verification kept (rejectUnauthorized stays true).
  if (s.insecureSkipVerify) opts.checkServerIdentity = () => undefined;
  return opts;
}
