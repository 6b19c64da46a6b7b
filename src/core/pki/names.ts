/**
 * Names in certificates: the subjectAltName extension with DNS names, IP addresses and Receptor
 * node IDs (netceptor-wire.md §2.7, vector V9, config.md §5.15), Go receptor's start-up check that
 * a configured certificate carries the node's own ID (config.md §5.4/§5.5), and the node-ID check
 * of "above the mesh" TLS (netceptor-wire.md §11.5).
 */
import {
  DerError,
  DerReader,
  TagClass,
  children,
  decode,
  isStringNode,
  isUniversal,
  oid,
  readBoolean,
  readOctetString,
  readOid,
  readString,
  reader,
  sequence,
  Tag,
  tlv,
  utf8String,
  explicit,
  type DerNode,
} from './der.js';
import {pemDecodeFirst} from '../go/pem.js';

export const OID_SUBJECT_ALT_NAME = '2.5.29.17';
/** Receptor node ID otherName type-id (DER `06 09 2b 06 01 04 01 92 08 13 01`). */
export const OID_RECEPTOR_NAME = '1.3.6.1.4.1.2312.19.1';

/** The names a certificate or request is valid for. */
export interface CertNames {
  dnsNames: string[];
  /** In Go's `net.IP.String()` form (`127.0.0.1`, `::1`). */
  ipAddresses: string[];
  nodeIds: string[];
}

export interface CertNamesInput {
  dnsNames?: readonly string[];
  /** Text IP addresses, parsed like Go's `net.ParseIP`. */
  ipAddresses?: readonly string[];
  nodeIds?: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// IP addresses (Go net.ParseIP / net.IP.String semantics)
// ---------------------------------------------------------------------------------------------

function parseIPv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined; // Go rejects leading zeros
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

function parseIPv6(s: string): number[] | undefined {
  if (s.includes('%')) return undefined; // zones are not IP addresses for net.ParseIP
  let head = s;
  let tailV4: number[] | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIPv4(s.slice(lastColon + 1));
    if (!tailV4) return undefined;
    head = s.slice(0, lastColon + 1) + '0:0'; // placeholder groups, replaced below
  }
  const dbl = head.indexOf('::');
  if (dbl >= 0 && head.indexOf('::', dbl + 1) >= 0) return undefined;
  const parseGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right || left.length + right.length > 7) return undefined;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  if (tailV4) bytes.splice(12, 4, ...tailV4);
  return bytes;
}

/**
 * Parses an IP address like Go's `net.ParseIP(...).To4()`-or-16: IPv4 (and IPv4-mapped IPv6
 * such as `::ffff:1.2.3.4`) give 4 bytes, other IPv6 addresses 16. Undefined when invalid.
 */
export function parseIpAddress(text: string): Buffer | undefined {
  const v4 = text.includes(':') ? undefined : parseIPv4(text);
  if (v4) return Buffer.from(v4);
  if (!text.includes(':')) return undefined;
  const v6 = parseIPv6(text);
  if (!v6) return undefined;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return Buffer.from(mapped ? v6.slice(12) : v6);
}

/** Formats 4- or 16-byte IP addresses like Go's `net.IP.String()`. */
export function formatIpAddress(ip: Buffer): string {
  if (ip.length === 4) return [...ip].join('.');
  if (ip.length !== 16) return `?${ip.toString('hex')}`;
  if (ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff) return [...ip.subarray(12)].join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(ip.readUInt16BE(i));
  // longest run of at least two zero groups (first one on a tie)
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number) => g.toString(16);
  if (bestStart < 0) return groups.map(hex).join(':');
  const left = groups.slice(0, bestStart).map(hex).join(':');
  const right = groups
    .slice(bestStart + bestLen)
    .map(hex)
    .join(':');
  return `${left}::${right}`;
}

// ---------------------------------------------------------------------------------------------
// subjectAltName
// ---------------------------------------------------------------------------------------------

/** One Receptor node-ID otherName GeneralName: `[0] { OID 1.3.6.1.4.1.2312.19.1, [0] { UTF8String } }`. */
export function encodeReceptorOtherName(nodeId: string): Buffer {
  return tlv(0xa0, Buffer.concat([oid(OID_RECEPTOR_NAME), explicit(0, utf8String(nodeId))]));
}

/**
 * The DER value of a subjectAltName extension (GeneralNames) in receptor's layout: DNS names,
 * then IP addresses, then node IDs, each group in the given order.
 * Throws `invalid IP address: <x>` for an unparsable address and
 * `x509: SAN dNSName is malformed` for a DNS name that is not ASCII (Go fails the same way when
 * it re-parses the request).
 */
export function encodeSubjectAltName(names: CertNamesInput): Buffer {
  const parts: Buffer[] = [];
  for (const dns of names.dnsNames ?? []) {
    if (!/^[\x00-\x7f]*$/.test(dns)) throw new Error('x509: SAN dNSName is malformed');
    parts.push(tlv(0x82, Buffer.from(dns, 'latin1')));
  }
  for (const ipText of names.ipAddresses ?? []) {
    const ip = parseIpAddress(ipText);
    if (!ip) throw new Error(`invalid IP address: ${ipText}`);
    parts.push(tlv(0x87, ip));
  }
  for (const id of names.nodeIds ?? []) parts.push(encodeReceptorOtherName(id));
  return sequence(...parts);
}

/** Extracts the node ID of one otherName (`[0]` constructed) GeneralName, or undefined for other types. */
function decodeOtherName(node: DerNode): string | undefined {
  const r = reader(node);
  const typeId = readOid(r.expect(TagClass.universal, Tag.OID, false, 'otherName type-id'));
  const value = r.expect(TagClass.context, 0, true, 'otherName value');
  r.finish('otherName');
  if (typeId !== OID_RECEPTOR_NAME) return undefined;
  const vr = reader(value);
  const str = vr.next();
  vr.finish('Receptor node ID');
  if (!isStringNode(str)) throw new DerError(`Receptor node ID: expected a character string`);
  return readString(str);
}

/**
 * Parses a subjectAltName extension value. DNS names must be ASCII (`x509: SAN dNSName is
 * malformed`), IP addresses 4 or 16 bytes (`x509: cannot parse IP address of length <n>`);
 * node IDs are accepted from any ASN.1 string type (UTF8String, PrintableString, IA5String…)
 * like Go. Empty node IDs are skipped, other GeneralName types (email, URI, …) are ignored.
 */
export function parseSubjectAltName(extValue: Buffer): CertNames {
  const out: CertNames = {dnsNames: [], ipAddresses: [], nodeIds: []};
  const top = decode(extValue);
  if (!isUniversal(top, Tag.SEQUENCE) || !top.constructed) throw new DerError('subjectAltName: expected SEQUENCE');
  for (const gn of children(top)) {
    if (gn.tagClass !== TagClass.context) throw new DerError('subjectAltName: GeneralName must be context-tagged');
    if (gn.tagNumber === 2 && !gn.constructed) {
      for (const b of gn.content) if (b > 0x7f) throw new Error('x509: SAN dNSName is malformed');
      out.dnsNames.push(gn.content.toString('latin1'));
    } else if (gn.tagNumber === 7 && !gn.constructed) {
      if (gn.content.length !== 4 && gn.content.length !== 16) throw new Error(`x509: cannot parse IP address of length ${gn.content.length}`);
      out.ipAddresses.push(formatIpAddress(gn.content));
    } else if (gn.tagNumber === 0 && gn.constructed) {
      const id = decodeOtherName(gn);
      if (id) out.nodeIds.push(id);
    }
  }
  return out;
}

/** One certificate extension. */
export interface Extension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING contents. */
  value: Buffer;
  /** The complete Extension encoding. */
  raw: Buffer;
}

/** Decodes an `Extensions` SEQUENCE; duplicate extensions are refused like Go does. */
export function parseExtensions(seq: DerNode): Extension[] {
  if (!isUniversal(seq, Tag.SEQUENCE) || !seq.constructed) throw new DerError('Extensions: expected SEQUENCE');
  const out: Extension[] = [];
  const seen = new Set<string>();
  for (const e of children(seq)) {
    const r = reader(e);
    const id = readOid(r.expect(TagClass.universal, Tag.OID, false, 'extension id'));
    let critical = false;
    const p = r.peek();
    if (p && isUniversal(p, Tag.BOOLEAN)) critical = readBoolean(r.next());
    const value = readOctetString(r.expect(TagClass.universal, Tag.OCTET_STRING, false, 'extension value'));
    r.finish('Extension');
    if (seen.has(id)) throw new Error('x509: certificate contains duplicate extensions');
    seen.add(id);
    out.push({oid: id, critical, value, raw: e.raw});
  }
  return out;
}

/** DER bytes of a certificate given as DER or PEM (the first `CERTIFICATE` block). */
export function certificateDer(cert: Buffer | string): Buffer {
  if (Buffer.isBuffer(cert) && cert.length > 0 && cert[0] === 0x30) return cert;
  const block = pemDecodeFirst(cert);
  if (!block) throw new Error('failed to parse certificate PEM');
  return block.der;
}

/** The extensions of a DER certificate (walks the TBSCertificate up to its `[3]` field). */
export function certificateExtensions(certDer: Buffer): Extension[] {
  const certNode = decode(certDer);
  if (!isUniversal(certNode, Tag.SEQUENCE) || !certNode.constructed) throw new DerError('certificate: expected SEQUENCE');
  const cr = reader(certNode);
  const tbs = cr.expect(TagClass.universal, Tag.SEQUENCE, true, 'TBSCertificate');
  const r: DerReader = reader(tbs);
  while (r.hasMore()) {
    const n = r.next();
    if (n.tagClass === TagClass.context && n.tagNumber === 3) {
      const inner = reader(n);
      const seq = inner.next();
      inner.finish('extensions');
      return parseExtensions(seq);
    }
  }
  return [];
}

/** The DNS names, IP addresses and Receptor node IDs of a certificate (DER or PEM). */
export function certificateNames(cert: Buffer | string): CertNames {
  const san = certificateExtensions(certificateDer(cert)).find((e) => e.oid === OID_SUBJECT_ALT_NAME);
  return san ? parseSubjectAltName(san.value) : {dnsNames: [], ipAddresses: [], nodeIds: []};
}

// ---------------------------------------------------------------------------------------------
// Go receptor's node-ID checks
// ---------------------------------------------------------------------------------------------

export type TlsConfigKind = 'server' | 'client';

/** The prefix Go puts in front of a tls-server / tls-client Prepare error. */
export function tlsConfigErrorPrefix(kind: TlsConfigKind): string {
  return `error preparing tls ${kind} config: `;
}

/**
 * A configured certificate lacks the node's own ID. `message` is Go's text *without* the
 * `error preparing tls <kind> config: ` prefix, which the tls-server / tls-client item adds
 * (see {@link tlsConfigErrorPrefix} and {@link NodeIdNotInCertError.prefixedMessage}).
 */
export class NodeIdNotInCertError extends Error {
  constructor(
    readonly nodeId: string,
    readonly namesFound: string[],
    readonly section: string,
    readonly certPath: string,
    readonly kind: TlsConfigKind,
  ) {
    // Go: fmt.Sprint([]string) → "[a b]"; the tls-client item also says "server cert=".
    super(`nodeID=${nodeId} not found in certificate name(s); names found=[${namesFound.join(' ')}]; cfg section=${section}; server cert=${certPath}`);
    this.name = 'NodeIdNotInCertError';
  }

  /** The complete Go start-up error, e.g. `error preparing tls server config: nodeID=B not found …`. */
  get prefixedMessage(): string {
    return tlsConfigErrorPrefix(this.kind) + this.message;
  }
}

export interface NodeIdCheckContext {
  /** The tls-server / tls-client item's `name`. */
  section: string;
  /** The `cert` path as configured. */
  certPath: string;
  kind: TlsConfigKind;
}

/**
 * Go's start-up check (config.md §5.4/§5.5): the first PEM block of `certPem` must be a
 * certificate whose subjectAltName carries `nodeId` as a Receptor otherName. Throws
 * {@link NodeIdNotInCertError} otherwise, `failed to parse certfifcate PEM` (sic, Go's text) when
 * there is no PEM block, or the parse error of a malformed certificate. The thrown message does
 * NOT include `error preparing tls server config: ` / `error preparing tls client config: `;
 * the caller adds that prefix.
 */
export function checkNodeIdInCert(certPem: string | Buffer, nodeId: string, ctx: NodeIdCheckContext): void {
  const block = pemDecodeFirst(certPem);
  if (!block) throw new Error('failed to parse certfifcate PEM');
  const names = certificateNames(block.der);
  if (!names.nodeIds.includes(nodeId)) {
    throw new NodeIdNotInCertError(nodeId, names.nodeIds, ctx.section, ctx.certPath, ctx.kind);
  }
}

/** Go's `ReceptorCertNameError` (netceptor-wire.md §11.5). */
export class ReceptorCertNameError extends Error {
  constructor(
    readonly validNodes: string[],
    readonly expectedNode: string,
  ) {
    super(
      validNodes.length === 0
        ? `x509: certificate is not valid for any Receptor node IDs, but wanted to match ${expectedNode}`
        : `x509: certificate is valid for Receptor node ID${validNodes.length > 1 ? 's' : ''} ${validNodes.join(', ')}, not ${expectedNode}`,
    );
    this.name = 'ReceptorCertNameError';
  }

  /** What a Go node logs for this failure. */
  get logMessage(): string {
    return `RVF ReceptorNameError: expected ${this.expectedNode} but found ${this.validNodes.join(', ')}`;
  }
}

/**
 * The "above the mesh" check of a peer certificate (netceptor-wire.md §11.5): returns undefined
 * when the certificate (DER or PEM) names `expectedNodeId` as a Receptor node ID, otherwise the
 * error to fail the handshake with — a {@link ReceptorCertNameError} carrying Go's text, or the
 * parse error of a malformed certificate. Returns rather than throws, like Node's
 * `checkServerIdentity`.
 */
export function verifyReceptorName(certDer: Buffer | string, expectedNodeId: string): Error | undefined {
  let names: CertNames;
  try {
    names = certificateNames(certDer);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
  if (names.nodeIds.includes(expectedNodeId)) return undefined;
  return new ReceptorCertNameError(names.nodeIds, expectedNodeId);
}
