/**
 * The TypeScript QUIC engine: a {@link QuicEngine} on node:crypto only, for platforms where the
 * native quiche binding is missing. Connections are in ./connection.ts.
 */
import {createPrivateKey} from 'node:crypto';
import {performance} from 'node:perf_hooks';
import type {HostPort, QuicConfigOptions, QuicEngine, QuicEngineConfig, QuicPacketHeader} from '../engine.js';
import {defaultRandom, TsConnection, type TsConnectionConfig} from './connection.js';
import {QUIC_V1} from './keys.js';
import {parseHeader} from './packet.js';

export interface TsQuicEngineOptions {
  /** Monotonic clock in milliseconds (default performance.now). */
  now?: () => number;
  /** Random bytes (default crypto.randomBytes). */
  random?: (n: number) => Buffer;
  /**
   * Start a key update after this many packets sealed with one key (default: just before the
   * AEAD confidentiality limit, RFC 9001 §6.6); for tests of the key update.
   */
  keyUpdatePackets?: number;
}

class TsEngineConfig implements QuicEngineConfig {
  constructor(readonly engineConfig: TsConnectionConfig) {}
}

/** DER of every CERTIFICATE block of a PEM text, in order. */
export function pemCertificates(pem: string | Buffer): Buffer[] {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  const out: Buffer[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64'));
  return out;
}

export class TsQuicEngine implements QuicEngine {
  readonly name = 'ts';
  private readonly now: () => number;
  private readonly random: (n: number) => Buffer;

  constructor(readonly opts: TsQuicEngineOptions = {}) {
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? defaultRandom;
    this.keyUpdatePackets = opts.keyUpdatePackets;
  }

  private readonly keyUpdatePackets: number | undefined;

  private connOpts(): {now: () => number; random: (n: number) => Buffer; keyUpdatePackets?: number} {
    return this.keyUpdatePackets !== undefined ? {now: this.now, random: this.random, keyUpdatePackets: this.keyUpdatePackets} : {now: this.now, random: this.random};
  }

  createConfig(opts: QuicConfigOptions): QuicEngineConfig {
    const {tls} = opts;
    if (opts.role === 'server' && (!tls.certPem || !tls.keyPem)) throw new Error('a QUIC server needs a certificate and a key');
    if ((tls.certPem === undefined) !== (tls.keyPem === undefined)) throw new Error('a QUIC TLS certificate needs its key (and vice versa)');
    const certChain = tls.certPem !== undefined ? pemCertificates(tls.certPem) : [];
    if (tls.certPem !== undefined && certChain.length === 0) throw new Error('no certificate in the QUIC TLS certificate PEM');
    const cfg: TsConnectionConfig = {
      role: opts.role,
      alpn: [...opts.alpn],
      params: {...opts.params},
      certChain,
      ca: tls.caPem !== undefined ? pemCertificates(tls.caPem) : [],
      verifyPeer: tls.verifyPeer,
      verifyAllowFail: tls.verifyAllowFail ?? false,
    };
    if (tls.keyPem !== undefined) cfg.privateKey = createPrivateKey(tls.keyPem);
    return new TsEngineConfig(cfg);
  }

  connect(config: QuicEngineConfig, serverName: string | null, scid: Buffer, local: HostPort, remote: HostPort): TsConnection {
    void local;
    void remote;
    const cfg = (config as TsEngineConfig).engineConfig;
    if (cfg.role !== 'client') throw new Error('TsQuicEngine.connect needs a client configuration');
    return new TsConnection({config: cfg, scid, serverName, ...this.connOpts()});
  }

  accept(config: QuicEngineConfig, scid: Buffer, odcid: Buffer | null, local: HostPort, remote: HostPort): TsConnection {
    void odcid; // no Retry: the original DCID is read from the client's first Initial
    void local;
    void remote;
    const cfg = (config as TsEngineConfig).engineConfig;
    if (cfg.role !== 'server') throw new Error('TsQuicEngine.accept needs a server configuration');
    return new TsConnection({config: cfg, scid, serverName: null, ...this.connOpts()});
  }

  parseHeader(packet: Buffer, dcidLen: number): QuicPacketHeader | null {
    const r = parseHeader(packet, 0, dcidLen);
    if (!r.ok) return null;
    const h = r.header;
    if (h.form === 'short') return {type: 'short', version: 0, dcid: h.dcid, scid: Buffer.alloc(0)};
    switch (h.type) {
      case 'version-negotiation':
        return {type: 'version-negotiation', version: 0, dcid: h.dcid, scid: h.scid};
      case 'unsupported-version':
        // Only the invariant fields: the driver checks isVersionSupported.
        return {type: 'initial', version: h.version, dcid: h.dcid, scid: h.scid};
      default:
        return {type: h.type, version: h.version, dcid: h.dcid, scid: h.scid};
    }
  }

  isVersionSupported(version: number): boolean {
    return version === QUIC_V1;
  }
}
