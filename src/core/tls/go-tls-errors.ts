/**
 * Go's crypto/tls error texts for what Node (OpenSSL) reports, so that TLS failures read the
 * same in the logs of both implementations (netceptor-wire.md §2.7 lists Go's texts). Small
 * and dependency-free: the backends load it even when no TLS item is configured.
 */

export const PEER_CERT_MISSING_MESSAGE = 'RVF failed: peer certificate missing';
/** Go's tls client puts this in front of chain / hostname errors. */
export const VERIFY_FAILED_PREFIX = 'tls: failed to verify certificate: ';

/**
 * Go's x509 text for an OpenSSL verification error code as Node reports it
 * (`socket.authorizationError`, or the `code` of a failed `tls.connect`), with Go's
 * `tls: failed to verify certificate: ` in front; undefined for a code that is not one.
 */
function x509Text(code: string): string | undefined {
  switch (code) {
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'CERT_UNTRUSTED':
      return 'certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'certificate has expired or is not yet valid';
    case 'INVALID_PURPOSE':
      return 'certificate specifies an incompatible key usage';
    default:
      return undefined;
  }
}

export function goVerifyErrorText(code: string): string {
  return `${VERIFY_FAILED_PREFIX}x509: ${x509Text(code) ?? code}`;
}

/** Go crypto/tls alert texts. */
const TLS_ALERT_TEXT: Record<number, string> = {
  0: 'close notify',
  10: 'unexpected message',
  20: 'bad record MAC',
  21: 'decryption failed',
  22: 'record overflow',
  30: 'decompression failure',
  40: 'handshake failure',
  42: 'bad certificate',
  43: 'unsupported certificate',
  44: 'revoked certificate',
  45: 'expired certificate',
  46: 'unknown certificate',
  47: 'illegal parameter',
  48: 'unknown certificate authority',
  49: 'access denied',
  50: 'error decoding message',
  51: 'error decrypting message',
  60: 'export restriction',
  70: 'protocol version not supported',
  71: 'insufficient security level',
  80: 'internal error',
  86: 'inappropriate fallback',
  90: 'user canceled',
  100: 'no renegotiation',
  109: 'missing extension',
  110: 'unsupported extension',
  111: 'certificate unobtainable',
  112: 'unrecognized name',
  113: 'bad certificate status response',
  114: 'bad certificate hash value',
  115: 'unknown PSK identity',
  116: 'certificate required',
  120: 'no application protocol',
};

/** Go's `tls.AlertError(n).Error()`. */
export function tlsAlertText(alert: number): string {
  const t = TLS_ALERT_TEXT[alert];
  return t === undefined ? `tls: alert(${alert})` : `tls: ${t}`;
}

/**
 * The text Go would report for a TLS handshake failure Node reports as `err`: chain errors as
 * `tls: failed to verify certificate: x509: …`, an alert from the peer as
 * `remote error: tls: <alert>`, a client that sent no certificate as
 * `tls: client didn't provide a certificate` (with `requireclientcert`; with `clientcas`
 * only Go's verification callback refuses it: `RVF failed: peer certificate missing`).
 * Anything else keeps Node's message.
 */
export function goTlsErrorText(err: Error & {code?: unknown}, server: {requireClientCert?: boolean} = {}): string {
  const code = typeof err.code === 'string' ? err.code : '';
  if (x509Text(code)) return goVerifyErrorText(code);
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return server.requireClientCert ? "tls: client didn't provide a certificate" : PEER_CERT_MISSING_MESSAGE;
  const alert = /SSL alert number (\d+)/.exec(err.message);
  if (alert && TLS_ALERT_TEXT[Number(alert[1])] !== undefined) return `remote error: ${tlsAlertText(Number(alert[1]))}`;
  return err.message;
}

/**
 * Go's text for a TLS handshake a listener failed: Node drops a client whose certificate does
 * not verify with a bare "socket hang up"; why is in the socket's `authorizationError`.
 */
export function listenerHandshakeErrorText(err: Error & {code?: unknown}, socket: {authorizationError?: unknown} | undefined, server: {requireClientCert?: boolean} = {}): string {
  if (socket?.authorizationError) return goVerifyErrorText(String(socket.authorizationError));
  return goTlsErrorText(err, server);
}

/** `err` with Go's text (see goTlsErrorText); the same error when the text does not change. */
export function goTlsError(err: Error & {code?: unknown}): Error {
  const text = goTlsErrorText(err);
  if (text === err.message) return err;
  return Object.assign(new Error(text, {cause: err}), {code: err.code});
}
