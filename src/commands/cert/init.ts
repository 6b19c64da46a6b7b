import {Flags} from '@oclif/core';
import {ReceptorCommand} from '../../core/cli/base.js';
import {certInit, toReceptorError, type CertInitResult} from '../../core/pki/tools.js';

export default class CertInit extends ReceptorCommand {
  static override summary = 'Create a self-signed certificate authority (like receptor --cert-init).';
  static override description = `Generates an RSA key and a self-signed CA certificate: a random 128-bit serial number, subject = issuer = CN=<common name>, valid from now for 10 years unless --not-before/--not-after are given (RFC 3339), key usage Digital Signature + Certificate Sign (critical), extended key usage TLS client + server, basic constraints CA:TRUE (critical). The certificate (PEM CERTIFICATE) and key (PEM RSA PRIVATE KEY, PKCS#1) are written with mode 0600, replacing existing files.`;
  static override examples = [
    '<%= config.bin %> cert init --common-name "Receptor CA" --bits 2048 --out-cert ca.crt --out-key ca.key',
    '<%= config.bin %> cert init --commonname "Receptor CA" --bits 4096 --not-after 2030-01-01T00:00:00Z --out-cert ca.crt --out-key ca.key --json',
  ];
  static override flags = {
    'common-name': Flags.string({summary: 'Common name to assign to the certificate.', aliases: ['commonname'], required: true}),
    bits: Flags.integer({summary: 'RSA key size in bits (0 means 2048).', required: true}),
    'not-before': Flags.string({summary: 'Effective (NotBefore) date/time, RFC 3339. Default: now.', aliases: ['notbefore']}),
    'not-after': Flags.string({summary: 'Expiration (NotAfter) date/time, RFC 3339. Default: now + 10 years.', aliases: ['notafter']}),
    'out-cert': Flags.string({summary: 'File to save the CA certificate to.', aliases: ['outcert'], required: true}),
    'out-key': Flags.string({summary: 'File to save the CA private key to.', aliases: ['outkey'], required: true}),
  };

  async run(): Promise<CertInitResult> {
    const {flags} = await this.parse(CertInit);
    let result: CertInitResult;
    try {
      result = await certInit({
        commonName: flags['common-name'],
        bits: flags.bits,
        notBefore: flags['not-before'],
        notAfter: flags['not-after'],
        outCert: flags['out-cert'],
        outKey: flags['out-key'],
      });
    } catch (err) {
      throw toReceptorError(err);
    }
    const c = result.certificate;
    this.log(`Wrote CA certificate ${result.outCert} and ${result.keyBits}-bit key ${result.outKey}`);
    this.log(`  Subject: ${c.subject}`);
    this.log(`  Serial: ${c.serial}`);
    this.log(`  Valid: ${c.notBefore} to ${c.notAfter}`);
    this.log(`  SHA-256 fingerprint: ${c.fingerprintSha256}`);
    return result;
  }
}
