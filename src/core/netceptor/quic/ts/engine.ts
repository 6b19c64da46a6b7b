/**
 * The TypeScript QUIC engine: a {@link QuicEngine} on node:crypto only, for platforms where the
 * native quiche binding is missing. Connections are in ./connection.ts.
 */
import type {HostPort, QuicConfigOptions, QuicEngine, QuicEngineConfig, QuicEngineConnection, QuicPacketHeader} from '../engine.js';

export interface TsQuicEngineOptions {
  /** Monotonic clock in milliseconds (default performance.now). */
  now?: () => number;
  /** Random bytes (default crypto.randomBytes). */
  random?: (n: number) => Buffer;
}

export class TsQuicEngine implements QuicEngine {
  readonly name = 'ts';

  constructor(readonly opts: TsQuicEngineOptions = {}) {}

  createConfig(opts: QuicConfigOptions): QuicEngineConfig {
    void opts;
    throw new Error('TsQuicEngine: not implemented');
  }

  connect(config: QuicEngineConfig, serverName: string | null, scid: Buffer, local: HostPort, remote: HostPort): QuicEngineConnection {
    void config;
    void serverName;
    void scid;
    void local;
    void remote;
    throw new Error('TsQuicEngine: not implemented');
  }

  accept(config: QuicEngineConfig, scid: Buffer, odcid: Buffer | null, local: HostPort, remote: HostPort): QuicEngineConnection {
    void config;
    void scid;
    void odcid;
    void local;
    void remote;
    throw new Error('TsQuicEngine: not implemented');
  }

  parseHeader(packet: Buffer, dcidLen: number): QuicPacketHeader | null {
    void packet;
    void dcidLen;
    return null;
  }

  isVersionSupported(version: number): boolean {
    return version === 1;
  }
}
