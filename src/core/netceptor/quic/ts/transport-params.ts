/**
 * QUIC v1 transport parameters (RFC 9000 §18.2; max_datagram_frame_size from RFC 9221, which
 * quic-go knows). Decoding refuses duplicates, bad lengths, out-of-range values and
 * parameters the sender's role may not send, all with TRANSPORT_PARAMETER_ERROR; unknown
 * (including grease, 31*N+27) ids are skipped.
 */
import {DEFAULT_TRANSPORT_PARAMS, type QuicTransportParams} from '../engine.js';
import {TransportError, wireError, type WireError} from './errors.js';
import {ByteReader, ByteWriter, varintLength} from './varint.js';

export const TransportParamId = {
  original_destination_connection_id: 0x00,
  max_idle_timeout: 0x01,
  stateless_reset_token: 0x02,
  max_udp_payload_size: 0x03,
  initial_max_data: 0x04,
  initial_max_stream_data_bidi_local: 0x05,
  initial_max_stream_data_bidi_remote: 0x06,
  initial_max_stream_data_uni: 0x07,
  initial_max_streams_bidi: 0x08,
  initial_max_streams_uni: 0x09,
  ack_delay_exponent: 0x0a,
  max_ack_delay: 0x0b,
  disable_active_migration: 0x0c,
  preferred_address: 0x0d,
  active_connection_id_limit: 0x0e,
  initial_source_connection_id: 0x0f,
  retry_source_connection_id: 0x10,
  max_datagram_frame_size: 0x20,
} as const;

export interface PreferredAddress {
  ipv4: Buffer;
  ipv4Port: number;
  ipv6: Buffer;
  ipv6Port: number;
  connectionId: Buffer;
  statelessResetToken: Buffer;
}

/** All v1 parameters; absent numeric ones hold the RFC defaults after decoding. */
export interface TransportParameters {
  originalDestinationConnectionId?: Buffer;
  maxIdleTimeoutMs: number;
  statelessResetToken?: Buffer;
  maxUdpPayloadSize: number;
  initialMaxData: number;
  initialMaxStreamDataBidiLocal: number;
  initialMaxStreamDataBidiRemote: number;
  initialMaxStreamDataUni: number;
  initialMaxStreamsBidi: number;
  initialMaxStreamsUni: number;
  ackDelayExponent: number;
  maxAckDelayMs: number;
  disableActiveMigration: boolean;
  preferredAddress?: PreferredAddress;
  activeConnectionIdLimit: number;
  initialSourceConnectionId?: Buffer;
  retrySourceConnectionId?: Buffer;
  maxDatagramFrameSize?: number;
}

/** RFC 9000 §18.2 defaults for parameters not sent. */
export function defaultTransportParameters(): TransportParameters {
  return {
    maxIdleTimeoutMs: 0,
    maxUdpPayloadSize: 65527,
    initialMaxData: 0,
    initialMaxStreamDataBidiLocal: 0,
    initialMaxStreamDataBidiRemote: 0,
    initialMaxStreamDataUni: 0,
    initialMaxStreamsBidi: 0,
    initialMaxStreamsUni: 0,
    ackDelayExponent: 3,
    maxAckDelayMs: 25,
    disableActiveMigration: false,
    activeConnectionIdLimit: 2,
  };
}

type NumericKey =
  | 'maxIdleTimeoutMs'
  | 'maxUdpPayloadSize'
  | 'initialMaxData'
  | 'initialMaxStreamDataBidiLocal'
  | 'initialMaxStreamDataBidiRemote'
  | 'initialMaxStreamDataUni'
  | 'initialMaxStreamsBidi'
  | 'initialMaxStreamsUni'
  | 'ackDelayExponent'
  | 'maxAckDelayMs'
  | 'activeConnectionIdLimit';

const NUMERIC: ReadonlyArray<[number, NumericKey]> = [
  [TransportParamId.max_idle_timeout, 'maxIdleTimeoutMs'],
  [TransportParamId.max_udp_payload_size, 'maxUdpPayloadSize'],
  [TransportParamId.initial_max_data, 'initialMaxData'],
  [TransportParamId.initial_max_stream_data_bidi_local, 'initialMaxStreamDataBidiLocal'],
  [TransportParamId.initial_max_stream_data_bidi_remote, 'initialMaxStreamDataBidiRemote'],
  [TransportParamId.initial_max_stream_data_uni, 'initialMaxStreamDataUni'],
  [TransportParamId.initial_max_streams_bidi, 'initialMaxStreamsBidi'],
  [TransportParamId.initial_max_streams_uni, 'initialMaxStreamsUni'],
  [TransportParamId.ack_delay_exponent, 'ackDelayExponent'],
  [TransportParamId.max_ack_delay, 'maxAckDelayMs'],
  [TransportParamId.active_connection_id_limit, 'activeConnectionIdLimit'],
];
const NUMERIC_BY_ID = new Map<number, NumericKey>(NUMERIC);

/** Range rule of a numeric parameter (§18.2); a reason when the value is refused. */
function numericProblem(key: NumericKey, v: bigint): string | null {
  switch (key) {
    case 'maxUdpPayloadSize':
      return v < 1200n ? 'max_udp_payload_size below 1200' : null;
    case 'ackDelayExponent':
      return v > 20n ? 'ack_delay_exponent above 20' : null;
    case 'maxAckDelayMs':
      return v >= 1n << 14n ? 'max_ack_delay of 2^14 or more' : null;
    case 'activeConnectionIdLimit':
      return v < 2n ? 'active_connection_id_limit below 2' : null;
    case 'initialMaxStreamsBidi':
    case 'initialMaxStreamsUni':
      return v > 1n << 60n ? 'initial_max_streams above 2^60' : null;
    default:
      return null;
  }
}

export interface EncodeOptions {
  /** A reserved parameter to send (id 31*N+27) so that peers keep skipping unknown ids. */
  grease?: {id: number; value: Uint8Array};
  /** Also write numeric parameters equal to their defaults. */
  writeDefaults?: boolean;
}

/** Encodes the parameters (the quic_transport_parameters extension body). */
export function encodeTransportParameters(p: TransportParameters, opts: EncodeOptions = {}): Buffer {
  const w = new ByteWriter(128);
  const bytesParam = (id: number, b: Uint8Array): void => {
    w.varint(id).varint(b.length).bytes(b);
  };
  if (p.originalDestinationConnectionId !== undefined) bytesParam(TransportParamId.original_destination_connection_id, p.originalDestinationConnectionId);
  const defaults = defaultTransportParameters();
  for (const [id, key] of NUMERIC) {
    const v = p[key];
    if (v === defaults[key] && opts.writeDefaults !== true) continue;
    w.varint(id).varint(varintLength(v)).varint(v);
  }
  if (p.statelessResetToken !== undefined) {
    if (p.statelessResetToken.length !== 16) throw new RangeError('stateless_reset_token must be 16 bytes');
    bytesParam(TransportParamId.stateless_reset_token, p.statelessResetToken);
  }
  if (p.disableActiveMigration) w.varint(TransportParamId.disable_active_migration).varint(0);
  if (p.preferredAddress !== undefined) {
    const a = p.preferredAddress;
    if (a.ipv4.length !== 4 || a.ipv6.length !== 16 || a.statelessResetToken.length !== 16 || a.connectionId.length < 1 || a.connectionId.length > 20) {
      throw new RangeError('malformed preferred_address');
    }
    const b = new ByteWriter(64);
    b.bytes(a.ipv4).uint16(a.ipv4Port).bytes(a.ipv6).uint16(a.ipv6Port).uint8(a.connectionId.length).bytes(a.connectionId).bytes(a.statelessResetToken);
    bytesParam(TransportParamId.preferred_address, b.view());
  }
  if (p.initialSourceConnectionId !== undefined) bytesParam(TransportParamId.initial_source_connection_id, p.initialSourceConnectionId);
  if (p.retrySourceConnectionId !== undefined) bytesParam(TransportParamId.retry_source_connection_id, p.retrySourceConnectionId);
  if (p.maxDatagramFrameSize !== undefined) {
    w.varint(TransportParamId.max_datagram_frame_size).varint(varintLength(p.maxDatagramFrameSize)).varint(p.maxDatagramFrameSize);
  }
  if (opts.grease !== undefined) bytesParam(opts.grease.id, opts.grease.value);
  return w.toBuffer();
}

export type TransportParamsResult = {ok: true; params: TransportParameters} | WireError;

const tpError = (reason: string): WireError => wireError(TransportError.TRANSPORT_PARAMETER_ERROR, reason);

/**
 * Decodes the peer's parameters. `sentBy` is the peer's role: a client may not send the
 * server-only ones; the server must send original_destination_connection_id and both must send
 * initial_source_connection_id (§7.3). `requireCids: false` skips that (e.g. remembered params).
 */
export function decodeTransportParameters(data: Uint8Array, sentBy: 'client' | 'server', requireCids = true): TransportParamsResult {
  const p = defaultTransportParameters();
  const seen = new Set<number>();
  const r = new ByteReader(data);
  while (r.remaining > 0) {
    const id = r.varint();
    const len = r.varint();
    if (id === null || len === null) return tpError('truncated transport parameter');
    if (len > r.remaining) return tpError(`transport parameter 0x${id.toString(16)} longer than the remaining data`);
    // Ids above 2^53 are not exact as numbers; they are unknown anyway, so not checked for repeats.
    if (Number.isSafeInteger(id)) {
      if (seen.has(id)) return tpError(`duplicate transport parameter 0x${id.toString(16)}`);
      seen.add(id);
    }
    const body = new ByteReader(data, r.off, r.off + len);
    r.off += len;
    const numericKey = NUMERIC_BY_ID.get(id);
    if (numericKey !== undefined || id === TransportParamId.max_datagram_frame_size) {
      const exact = body.varintBig();
      if (exact === null || body.remaining !== 0) return tpError(`bad length for transport parameter 0x${id.toString(16)}`);
      const v = Number(exact);
      if (numericKey === undefined) {
        p.maxDatagramFrameSize = v;
        continue;
      }
      const problem = numericProblem(numericKey, exact);
      if (problem !== null) return tpError(problem);
      p[numericKey] = v;
      continue;
    }
    const serverOnly = (name: string): WireError | null => (sentBy === 'client' ? tpError(`client sent ${name}`) : null);
    switch (id) {
      case TransportParamId.original_destination_connection_id: {
        const e = serverOnly('original_destination_connection_id');
        if (e !== null) return e;
        if (len > 20) return tpError('connection ID longer than 20 bytes');
        p.originalDestinationConnectionId = body.bytes(len) as Buffer;
        break;
      }
      case TransportParamId.stateless_reset_token: {
        const e = serverOnly('stateless_reset_token');
        if (e !== null) return e;
        if (len !== 16) return tpError('stateless_reset_token is not 16 bytes');
        p.statelessResetToken = body.bytes(16) as Buffer;
        break;
      }
      case TransportParamId.disable_active_migration:
        if (len !== 0) return tpError('disable_active_migration is not empty');
        p.disableActiveMigration = true;
        break;
      case TransportParamId.preferred_address: {
        const e = serverOnly('preferred_address');
        if (e !== null) return e;
        const ipv4 = body.bytes(4);
        const ipv4Port = body.uint16();
        const ipv6 = body.bytes(16);
        const ipv6Port = body.uint16();
        const cidLen = body.uint8();
        if (ipv4 === null || ipv4Port === null || ipv6 === null || ipv6Port === null || cidLen === null) return tpError('truncated preferred_address');
        if (cidLen < 1 || cidLen > 20) return tpError('preferred_address connection ID length outside 1-20');
        const connectionId = body.bytes(cidLen);
        const statelessResetToken = body.bytes(16);
        if (connectionId === null || statelessResetToken === null || body.remaining !== 0) return tpError('bad preferred_address length');
        p.preferredAddress = {ipv4, ipv4Port, ipv6, ipv6Port, connectionId, statelessResetToken};
        break;
      }
      case TransportParamId.initial_source_connection_id:
        if (len > 20) return tpError('connection ID longer than 20 bytes');
        p.initialSourceConnectionId = body.bytes(len) as Buffer;
        break;
      case TransportParamId.retry_source_connection_id: {
        const e = serverOnly('retry_source_connection_id');
        if (e !== null) return e;
        if (len > 20) return tpError('connection ID longer than 20 bytes');
        p.retrySourceConnectionId = body.bytes(len) as Buffer;
        break;
      }
      default:
        break; // unknown or grease: skipped
    }
  }
  if (requireCids) {
    if (sentBy === 'server' && p.originalDestinationConnectionId === undefined) return tpError('missing original_destination_connection_id');
    if (p.initialSourceConnectionId === undefined) return tpError('missing initial_source_connection_id');
  }
  return {ok: true, params: p};
}

/** Connection ID parameters that go with the engine's QuicTransportParams on the wire. */
export interface TransportCids {
  initialSourceConnectionId: Buffer;
  /** Server only. */
  originalDestinationConnectionId?: Buffer;
  retrySourceConnectionId?: Buffer;
  statelessResetToken?: Buffer;
}

/**
 * Our parameters to send, from the engine's configuration. maxSendUdpPayloadSize and the two
 * window maxima are local settings (flow-control auto-tuning) and have no wire parameter.
 */
export function transportParametersFromEngine(cfg: QuicTransportParams, cids: TransportCids, extra: Partial<TransportParameters> = {}): TransportParameters {
  const p: TransportParameters = {
    ...defaultTransportParameters(),
    maxIdleTimeoutMs: cfg.maxIdleTimeoutMs,
    maxUdpPayloadSize: cfg.maxRecvUdpPayloadSize,
    initialMaxData: cfg.initialMaxData,
    initialMaxStreamDataBidiLocal: cfg.initialMaxStreamDataBidiLocal,
    initialMaxStreamDataBidiRemote: cfg.initialMaxStreamDataBidiRemote,
    initialMaxStreamDataUni: cfg.initialMaxStreamDataUni,
    initialMaxStreamsBidi: cfg.initialMaxStreamsBidi,
    initialMaxStreamsUni: cfg.initialMaxStreamsUni,
    disableActiveMigration: cfg.disableActiveMigration,
    initialSourceConnectionId: cids.initialSourceConnectionId,
    ...extra,
  };
  if (cids.originalDestinationConnectionId !== undefined) p.originalDestinationConnectionId = cids.originalDestinationConnectionId;
  if (cids.retrySourceConnectionId !== undefined) p.retrySourceConnectionId = cids.retrySourceConnectionId;
  if (cids.statelessResetToken !== undefined) p.statelessResetToken = cids.statelessResetToken;
  return p;
}

/**
 * The peer's parameters in the engine's shape. Local-only fields (send payload size cap, window
 * maxima) come from `local`; the peer's max_udp_payload_size caps what we send.
 */
export function transportParametersToEngine(peer: TransportParameters, local: QuicTransportParams = DEFAULT_TRANSPORT_PARAMS): QuicTransportParams {
  return {
    maxIdleTimeoutMs: peer.maxIdleTimeoutMs,
    maxRecvUdpPayloadSize: peer.maxUdpPayloadSize,
    maxSendUdpPayloadSize: Math.min(local.maxSendUdpPayloadSize, peer.maxUdpPayloadSize),
    initialMaxData: peer.initialMaxData,
    initialMaxStreamDataBidiLocal: peer.initialMaxStreamDataBidiLocal,
    initialMaxStreamDataBidiRemote: peer.initialMaxStreamDataBidiRemote,
    initialMaxStreamDataUni: peer.initialMaxStreamDataUni,
    initialMaxStreamsBidi: peer.initialMaxStreamsBidi,
    initialMaxStreamsUni: peer.initialMaxStreamsUni,
    maxStreamWindow: local.maxStreamWindow,
    maxConnectionWindow: local.maxConnectionWindow,
    disableActiveMigration: peer.disableActiveMigration,
  };
}
