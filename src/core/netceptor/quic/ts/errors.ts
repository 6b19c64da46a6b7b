/** QUIC v1 transport error codes (RFC 9000 §20.1). */
export const TransportError = {
  NO_ERROR: 0x00,
  INTERNAL_ERROR: 0x01,
  CONNECTION_REFUSED: 0x02,
  FLOW_CONTROL_ERROR: 0x03,
  STREAM_LIMIT_ERROR: 0x04,
  STREAM_STATE_ERROR: 0x05,
  FINAL_SIZE_ERROR: 0x06,
  FRAME_ENCODING_ERROR: 0x07,
  TRANSPORT_PARAMETER_ERROR: 0x08,
  CONNECTION_ID_LIMIT_ERROR: 0x09,
  PROTOCOL_VIOLATION: 0x0a,
  INVALID_TOKEN: 0x0b,
  APPLICATION_ERROR: 0x0c,
  CRYPTO_BUFFER_EXCEEDED: 0x0d,
  KEY_UPDATE_ERROR: 0x0e,
  AEAD_LIMIT_REACHED: 0x0f,
  NO_VIABLE_PATH: 0x10,
} as const;

export type TransportErrorCode = (typeof TransportError)[keyof typeof TransportError];

/** CRYPTO_ERROR range 0x0100-0x01ff: 0x0100 + TLS alert (RFC 9000 §20.1, RFC 9001 §4.8). */
export const CRYPTO_ERROR_BASE = 0x100;
export const CRYPTO_ERROR_MAX = 0x1ff;

export function cryptoError(tlsAlert: number): number {
  return CRYPTO_ERROR_BASE + (tlsAlert & 0xff);
}

export function isCryptoError(code: number): boolean {
  return code >= CRYPTO_ERROR_BASE && code <= CRYPTO_ERROR_MAX;
}

/** The TLS alert of a CRYPTO_ERROR code, or null for other codes. */
export function cryptoErrorAlert(code: number): number | null {
  return isCryptoError(code) ? code - CRYPTO_ERROR_BASE : null;
}

const NAMES = new Map<number, string>(Object.entries(TransportError).map(([k, v]) => [v, k]));

/** Name as quic-go and the RFC print it, e.g. "FLOW_CONTROL_ERROR" or "CRYPTO_ERROR 0x12a". */
export function transportErrorName(code: number): string {
  const name = NAMES.get(code);
  if (name !== undefined) return name;
  if (isCryptoError(code)) return `CRYPTO_ERROR 0x${code.toString(16)}`;
  return `unknown error code: 0x${code.toString(16)}`;
}

/** A decode failure carried as a value: a transport error code and a reason. */
export interface WireError {
  ok: false;
  code: number;
  reason: string;
  /** Frame type being parsed when the error was found, when known (CONNECTION_CLOSE field). */
  frameType?: number;
}

export function wireError(code: number, reason: string, frameType?: number): WireError {
  return frameType === undefined ? {ok: false, code, reason} : {ok: false, code, reason, frameType};
}
