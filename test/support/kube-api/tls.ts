/** A CA and a serving certificate for 127.0.0.1/localhost, made with the project's own PKI code. */
import {createCa, createCsr, signCsr} from '../../../src/core/pki/x509.js';

export interface ServingCert {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export async function makeServingCert(): Promise<ServingCert> {
  const ca = await createCa({commonName: 'kube-api-test CA'});
  const csr = await createCsr({commonName: 'kube-apiserver', dnsNames: ['localhost', 'kubernetes', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1']});
  const signed = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.key});
  return {caPem: ca.certPem, certPem: signed.certPem, keyPem: csr.keyPem};
}
