import {Flags} from '@oclif/core';
import {ReceptorCommand} from '../../core/cli/base.js';
import {certMakeReq, toReceptorError, type MakeReqResult} from '../../core/pki/tools.js';

export default class CertMakeReq extends ReceptorCommand {
  static override summary = 'Create a certificate request (like receptor --cert-makereq).';
  static override description = `Creates a PKCS#10 request (PEM CERTIFICATE REQUEST, signed with SHA256-RSA) whose only requested extension is a subjectAltName with the given DNS names, IP addresses and Receptor node IDs (otherName 1.3.6.1.4.1.2312.19.1). Give exactly one of --out-key (a new key of --bits bits is generated and saved there) or --in-key (an existing RSA key is used; --bits must then be left out). Files are written with mode 0600, replacing existing files.`;
  static override examples = [
    '<%= config.bin %> cert makereq --common-name foo --bits 2048 --node-id foo --dns-name localhost --ip-address 127.0.0.1 --out-req foo.csr --out-key foo.key',
    '<%= config.bin %> cert makereq --common-name foo --node-id foo --in-key foo.key --out-req foo.csr --json',
  ];
  static override flags = {
    'common-name': Flags.string({summary: 'Common name to assign to the certificate.', aliases: ['commonname'], required: true}),
    bits: Flags.integer({summary: 'Key size for a new key (required with --out-key, not allowed with --in-key).'}),
    'dns-name': Flags.string({summary: 'DNS name to add (repeatable).', aliases: ['dnsname'], multiple: true, multipleNonGreedy: true}),
    'ip-address': Flags.string({summary: 'IP address to add (repeatable).', aliases: ['ipaddress'], multiple: true, multipleNonGreedy: true}),
    'node-id': Flags.string({summary: 'Receptor node ID to add (repeatable).', aliases: ['nodeid'], multiple: true, multipleNonGreedy: true}),
    'out-req': Flags.string({summary: 'File to save the certificate request to.', aliases: ['outreq'], required: true}),
    'in-key': Flags.string({summary: 'Existing private key to use for the request.', aliases: ['inkey']}),
    'out-key': Flags.string({summary: 'File to save a newly generated private key to.', aliases: ['outkey']}),
  };

  async run(): Promise<MakeReqResult> {
    const {flags} = await this.parse(CertMakeReq);
    let result: MakeReqResult;
    try {
      result = await certMakeReq({
        commonName: flags['common-name'],
        bits: flags.bits ?? 0,
        dnsNames: flags['dns-name'] ?? [],
        ipAddresses: flags['ip-address'] ?? [],
        nodeIds: flags['node-id'] ?? [],
        outReq: flags['out-req'],
        inKey: flags['in-key'],
        outKey: flags['out-key'],
      });
    } catch (err) {
      throw toReceptorError(err);
    }
    this.log(`Wrote certificate request ${result.outReq}${result.outKey ? ` and ${result.keyBits}-bit key ${result.outKey}` : ` for key ${result.inKey}`}`);
    this.log(`  Subject: ${result.subject}`);
    for (const n of result.names.dnsNames) this.log(`  DNS Name: ${n}`);
    for (const n of result.names.ipAddresses) this.log(`  IP Address: ${n}`);
    for (const n of result.names.nodeIds) this.log(`  Receptor Node ID: ${n}`);
    return result;
  }
}
