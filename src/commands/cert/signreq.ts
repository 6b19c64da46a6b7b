import {Flags} from '@oclif/core';
import {ReceptorCommand} from '../../core/cli/base.js';
import {ReceptorError} from '../../core/errors.js';
import {certSignReq, readLineFrom, toReceptorError, type SignReqResult} from '../../core/pki/tools.js';

export default class CertSignReq extends ReceptorCommand {
  static override summary = 'Sign a certificate request with a CA (like receptor --cert-signreq).';
  static override description = `Issues a certificate for the request: a random 128-bit serial number, issuer = the CA's subject, valid from now for 1 year unless --not-before/--not-after are given (RFC 3339), key usage Digital Signature (critical), extended key usage TLS client + server, an authority key identifier, and the request's subjectAltName copied unchanged. A request without any DNS name, IP address or node ID is refused.

Unless --verify is given, the request is shown and "Sign certificate (yes/no)? " is asked on the terminal (y/yes signs, anything else stops with "user declined"). With --json there is no prompt, so --verify is required. The certificate is written with mode 0600, replacing an existing file.`;
  static override examples = [
    '<%= config.bin %> cert signreq --req foo.csr --ca-cert ca.crt --ca-key ca.key --out-cert foo.crt',
    '<%= config.bin %> cert signreq --req foo.csr --ca-cert ca.crt --ca-key ca.key --out-cert foo.crt --verify --json',
  ];
  static override flags = {
    req: Flags.string({summary: 'Certificate request PEM file.', required: true}),
    'ca-cert': Flags.string({summary: 'CA certificate PEM file.', aliases: ['cacert'], required: true}),
    'ca-key': Flags.string({summary: 'CA private key PEM file.', aliases: ['cakey'], required: true}),
    'not-before': Flags.string({summary: 'Effective (NotBefore) date/time, RFC 3339. Default: now.', aliases: ['notbefore']}),
    'not-after': Flags.string({summary: 'Expiration (NotAfter) date/time, RFC 3339. Default: now + 1 year.', aliases: ['notafter']}),
    'out-cert': Flags.string({summary: 'File to save the signed certificate to.', aliases: ['outcert'], required: true}),
    verify: Flags.boolean({summary: 'Sign without asking for confirmation.', default: false}),
  };

  async run(): Promise<SignReqResult> {
    const {flags} = await this.parse(CertSignReq);
    if (this.jsonEnabled() && !flags.verify) {
      throw new ReceptorError('E_USAGE', '--json cannot be combined with the confirmation prompt; add --verify to sign without asking');
    }
    let result: SignReqResult;
    try {
      result = await certSignReq(
        {
          req: flags.req,
          caCert: flags['ca-cert'],
          caKey: flags['ca-key'],
          notBefore: flags['not-before'],
          notAfter: flags['not-after'],
          outCert: flags['out-cert'],
          verify: flags.verify,
        },
        {write: (text) => process.stdout.write(text), readLine: () => readLineFrom(process.stdin)},
      );
    } catch (err) {
      throw toReceptorError(err);
    }
    const c = result.certificate;
    this.log(`Wrote certificate ${result.outCert}`);
    this.log(`  Subject: ${c.subject}`);
    this.log(`  Issuer: ${c.issuer}`);
    this.log(`  Serial: ${c.serial}`);
    this.log(`  Valid: ${c.notBefore} to ${c.notAfter}`);
    this.log(`  SHA-256 fingerprint: ${c.fingerprintSha256}`);
    return result;
  }
}
