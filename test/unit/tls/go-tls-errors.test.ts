import {expect} from 'chai';
import {goTlsError, goTlsErrorText, goVerifyErrorText} from '../../../src/core/tls/go-tls-errors.js';

const nodeErr = (code: string, message: string) => Object.assign(new Error(message), {code});

describe("Go's crypto/tls texts for Node TLS errors", () => {
  it('chain errors of a dial read like Go (not "unable to verify the first certificate")', () => {
    const e = nodeErr('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate');
    expect(goTlsErrorText(e)).to.equal('tls: failed to verify certificate: x509: certificate signed by unknown authority');
    expect(goTlsErrorText(nodeErr('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'))).to.equal(
      'tls: failed to verify certificate: x509: certificate signed by unknown authority',
    );
    expect(goTlsErrorText(nodeErr('CERT_HAS_EXPIRED', 'certificate has expired'))).to.equal('tls: failed to verify certificate: x509: certificate has expired or is not yet valid');
    const wrapped = goTlsError(e);
    expect(wrapped.message).to.equal('tls: failed to verify certificate: x509: certificate signed by unknown authority');
    expect((wrapped as Error & {code?: string}).code).to.equal('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(goVerifyErrorText('SOMETHING_ELSE')).to.equal('tls: failed to verify certificate: x509: SOMETHING_ELSE');
  });

  it("an alert from the peer reads as Go's remote error", () => {
    const alert = (n: number, what: string) =>
      nodeErr('ERR_SSL_X', `80ECB1F1:error:0A000412:SSL routines:ssl3_read_bytes:${what}:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number ${n}\n`);
    expect(goTlsErrorText(alert(42, 'sslv3 alert bad certificate'))).to.equal('remote error: tls: bad certificate');
    expect(goTlsErrorText(alert(48, 'tlsv1 alert unknown ca'))).to.equal('remote error: tls: unknown certificate authority');
    expect(goTlsErrorText(alert(116, 'tlsv13 alert certificate required'))).to.equal('remote error: tls: certificate required');
    expect(goTlsErrorText(alert(70, 'tlsv1 alert protocol version'))).to.equal('remote error: tls: protocol version not supported');
  });

  it('a client without a certificate: Go text by server policy', () => {
    const e = nodeErr('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'error:0A0000C7:SSL routines:tls_process_client_certificate:peer did not return a certificate');
    expect(goTlsErrorText(e, {requireClientCert: true})).to.equal("tls: client didn't provide a certificate");
    expect(goTlsErrorText(e)).to.equal('RVF failed: peer certificate missing');
  });

  it('anything else keeps its message (and goTlsError the same error)', () => {
    const e = nodeErr('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1');
    expect(goTlsErrorText(e)).to.equal('connect ECONNREFUSED 127.0.0.1:1');
    expect(goTlsError(e)).to.equal(e);
  });
});
