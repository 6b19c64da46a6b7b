import {expect} from 'chai';
import {DerError, explicit, ia5String, oid, printableString, sequence, tlv, utf8String} from '../../../src/core/pki/der.js';
import {
  certificateNames,
  checkNodeIdInCert,
  encodeReceptorOtherName,
  encodeSubjectAltName,
  formatIpAddress,
  NodeIdNotInCertError,
  OID_RECEPTOR_NAME,
  parseIpAddress,
  parseSubjectAltName,
  ReceptorCertNameError,
  tlsConfigErrorPrefix,
  verifyReceptorName,
} from '../../../src/core/pki/names.js';
import {createCa, createCsr, generateRsaKey, signCsr} from '../../../src/core/pki/x509.js';

/** netceptor-vectors.md V9: DNS name `localhost` + Receptor node ID `foo`. */
const V9 = '301f82096c6f63616c686f7374a01206092b0601040192081301a0050c03666f6f';
/** config.md §5.15: dnsname=localhost ipaddress=127.0.0.1 nodeid=foo. */
const CONFIG_SAN = '302582096c6f63616c686f737487047f000001a01206092b0601040192081301a0050c03666f6f';

describe('certificate names (subjectAltName, Receptor node IDs)', () => {
  describe('encodeSubjectAltName', () => {
    it('produces exactly the V9 bytes', () => {
      expect(encodeSubjectAltName({dnsNames: ['localhost'], nodeIds: ['foo']}).toString('hex')).to.equal(V9);
    });
    it('produces exactly the config.md §5.15 bytes (DNS, IP, node ID in that order)', () => {
      // given in a different order on purpose: the layout is always DNS names, IPs, node IDs
      expect(encodeSubjectAltName({nodeIds: ['foo'], ipAddresses: ['127.0.0.1'], dnsNames: ['localhost']}).toString('hex')).to.equal(CONFIG_SAN);
    });
    it('keeps several node IDs in order, each as its own otherName', () => {
      const san = encodeSubjectAltName({nodeIds: ['a', 'b']});
      expect(san.toString('hex')).to.equal('3024' + 'a01006092b0601040192081301a0030c0161' + 'a01006092b0601040192081301a0030c0162');
      expect(parseSubjectAltName(san).nodeIds).to.deep.equal(['a', 'b']);
    });
    it('writes the otherName OID as 06 09 2b 06 01 04 01 92 08 13 01', () => {
      expect(encodeReceptorOtherName('foo').toString('hex')).to.equal('a01206092b0601040192081301a0050c03666f6f');
      expect(oid(OID_RECEPTOR_NAME).toString('hex')).to.equal('06092b0601040192081301');
    });
    it('uses long-form lengths correctly for long node IDs', () => {
      const id = 'n'.repeat(200);
      const san = encodeSubjectAltName({nodeIds: [id]});
      expect(parseSubjectAltName(san).nodeIds).to.deep.equal([id]);
    });
    it('encodes IPv4 as 4 bytes and IPv6 as 16, IPv4-mapped IPv6 as 4 (Go To4)', () => {
      expect(encodeSubjectAltName({ipAddresses: ['10.1.2.3']}).toString('hex')).to.equal('300687040a010203');
      expect(encodeSubjectAltName({ipAddresses: ['::1']}).toString('hex')).to.equal('30128710' + '00'.repeat(15) + '01');
      expect(encodeSubjectAltName({ipAddresses: ['::ffff:1.2.3.4']}).toString('hex')).to.equal('300687040' + '1020304');
    });
    it("rejects invalid IP addresses with Go's text", () => {
      for (const bad of ['bogus', '1.2.3', '1.2.3.256', '1.2.3.04', 'fe80::1%eth0', '1::2::3', '12345::', '', '1.2.3.4 ']) {
        expect(() => encodeSubjectAltName({ipAddresses: [bad]}), bad).to.throw(`invalid IP address: ${bad}`);
      }
    });
    it('rejects non-ASCII DNS names like Go does when it parses the request', () => {
      expect(() => encodeSubjectAltName({dnsNames: ['bücher.example']})).to.throw('x509: SAN dNSName is malformed');
    });
    it('encodes an empty name list as an empty SEQUENCE', () => {
      expect(encodeSubjectAltName({}).toString('hex')).to.equal('3000');
    });
  });

  describe('IP address text', () => {
    const round: Array<[string, string]> = [
      ['127.0.0.1', '127.0.0.1'],
      ['::1', '::1'],
      ['::', '::'],
      ['2001:DB8::1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['1::', '1::'],
      ['::ffff:10.0.0.1', '10.0.0.1'],
      ['::1.2.3.4', '::102:304'],
      ['fe80::a:b', 'fe80::a:b'],
    ];
    for (const [input, shown] of round) {
      it(`${input} → ${shown}`, () => expect(formatIpAddress(parseIpAddress(input)!)).to.equal(shown));
    }
    it('formats a 16-byte IPv4-mapped address as IPv4 and odd lengths with "?"', () => {
      expect(formatIpAddress(Buffer.from('00000000000000000000ffff7f000001', 'hex'))).to.equal('127.0.0.1');
      expect(formatIpAddress(Buffer.from([1, 2]))).to.equal('?0102');
    });
  });

  describe('parseSubjectAltName', () => {
    it('parses V9 and the config.md SAN', () => {
      expect(parseSubjectAltName(Buffer.from(V9, 'hex'))).to.deep.equal({dnsNames: ['localhost'], ipAddresses: [], nodeIds: ['foo']});
      expect(parseSubjectAltName(Buffer.from(CONFIG_SAN, 'hex'))).to.deep.equal({dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['foo']});
    });
    it('accepts node IDs as PrintableString or IA5String (like Go)', () => {
      const on = (str: Buffer) => tlv(0xa0, Buffer.concat([oid(OID_RECEPTOR_NAME), explicit(0, str)]));
      const san = sequence(on(printableString('p1')), on(ia5String('i1')), on(utf8String('u1')));
      expect(parseSubjectAltName(san).nodeIds).to.deep.equal(['p1', 'i1', 'u1']);
    });
    it('ignores other otherName types, emails, URIs and empty node IDs', () => {
      const otherOid = tlv(0xa0, Buffer.concat([oid('1.3.6.1.4.1.311.20.2.3'), explicit(0, utf8String('upn@x'))]));
      const email = tlv(0x81, Buffer.from('a@b.c'));
      const uri = tlv(0x86, Buffer.from('spiffe://x/y'));
      const empty = tlv(0xa0, Buffer.concat([oid(OID_RECEPTOR_NAME), explicit(0, utf8String(''))]));
      expect(parseSubjectAltName(sequence(otherOid, email, uri, empty, encodeReceptorOtherName('x')))).to.deep.equal({dnsNames: [], ipAddresses: [], nodeIds: ['x']});
    });
    it("refuses malformed names with Go's texts or a DerError", () => {
      expect(() => parseSubjectAltName(sequence(tlv(0x87, Buffer.from([1, 2, 3]))))).to.throw('x509: cannot parse IP address of length 3');
      expect(() => parseSubjectAltName(sequence(tlv(0x82, Buffer.from([0xc3, 0xbc]))))).to.throw('x509: SAN dNSName is malformed');
      const notString = tlv(0xa0, Buffer.concat([oid(OID_RECEPTOR_NAME), explicit(0, Buffer.from('020101', 'hex'))]));
      expect(() => parseSubjectAltName(sequence(notString))).to.throw(DerError);
      expect(() => parseSubjectAltName(Buffer.from('3003820161ff', 'hex'))).to.throw(DerError);
      expect(() => parseSubjectAltName(Buffer.from('0400', 'hex'))).to.throw(DerError);
      expect(() => parseSubjectAltName(Buffer.from('30020400', 'hex'))).to.throw(DerError);
    });
  });

  describe('with real certificates', () => {
    let caPem: string;
    let nodePem: string;
    let multiPem: string;

    before(async () => {
      const ca = await createCa({commonName: 'names CA', bits: 1024});
      caPem = ca.certPem;
      const key = await generateRsaKey(1024);
      const csr = await createCsr({commonName: 'B', key, dnsNames: ['localhost'], nodeIds: ['X']});
      nodePem = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem}).certPem;
      const csr2 = await createCsr({commonName: 'multi', key, nodeIds: ['X', 'Y']});
      multiPem = signCsr({csrPem: csr2.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem}).certPem;
    });

    it('certificateNames reads PEM or DER, and nothing from a CA without SAN', () => {
      expect(certificateNames(nodePem)).to.deep.equal({dnsNames: ['localhost'], ipAddresses: [], nodeIds: ['X']});
      const der = Buffer.from(
        nodePem
          .split('\n')
          .filter((l) => !l.startsWith('-----'))
          .join(''),
        'base64',
      );
      expect(certificateNames(der).nodeIds).to.deep.equal(['X']);
      expect(certificateNames(caPem)).to.deep.equal({dnsNames: [], ipAddresses: [], nodeIds: []});
    });

    it("checkNodeIdInCert passes for the node's own ID", () => {
      expect(() => checkNodeIdInCert(nodePem, 'X', {section: 's', certPath: '/p/x.crt', kind: 'server'})).not.to.throw();
    });

    it("checkNodeIdInCert gives Go's start-up text (prefix added by the caller)", () => {
      const go = 'nodeID=B not found in certificate name(s); names found=[X]; cfg section=s; server cert=/p/x.crt';
      try {
        checkNodeIdInCert(nodePem, 'B', {section: 's', certPath: '/p/x.crt', kind: 'server'});
        expect.fail('should throw');
      } catch (err) {
        expect(err).to.be.instanceOf(NodeIdNotInCertError);
        expect((err as Error).message).to.equal(go);
        expect((err as NodeIdNotInCertError).prefixedMessage).to.equal(`error preparing tls server config: ${go}`);
      }
    });

    it('says names found=[] without node IDs, joins several with spaces, and says "server cert" for clients too', () => {
      expect(() => checkNodeIdInCert(caPem, 'A', {section: 'c', certPath: 'ca.crt', kind: 'client'})).to.throw(
        'nodeID=A not found in certificate name(s); names found=[]; cfg section=c; server cert=ca.crt',
      );
      try {
        checkNodeIdInCert(multiPem, 'Z', {section: 'cl', certPath: 'm.crt', kind: 'client'});
        expect.fail('should throw');
      } catch (err) {
        expect((err as NodeIdNotInCertError).prefixedMessage).to.equal(
          'error preparing tls client config: nodeID=Z not found in certificate name(s); names found=[X Y]; cfg section=cl; server cert=m.crt',
        );
      }
      expect(tlsConfigErrorPrefix('server')).to.equal('error preparing tls server config: ');
    });

    it("checkNodeIdInCert without PEM gives Go's (misspelt) text", () => {
      expect(() => checkNodeIdInCert('not a pem', 'A', {section: 's', certPath: 'x', kind: 'server'})).to.throw('failed to parse certfifcate PEM');
    });

    it("verifyReceptorName returns undefined or Go's ReceptorCertNameError", () => {
      expect(verifyReceptorName(nodePem, 'X')).to.equal(undefined);
      const one = verifyReceptorName(nodePem, 'W');
      expect(one).to.be.instanceOf(ReceptorCertNameError);
      expect(one!.message).to.equal('x509: certificate is valid for Receptor node ID X, not W');
      expect((one as ReceptorCertNameError).logMessage).to.equal('RVF ReceptorNameError: expected W but found X');
      expect(verifyReceptorName(multiPem, 'W')!.message).to.equal('x509: certificate is valid for Receptor node IDs X, Y, not W');
      expect(verifyReceptorName(caPem, 'W')!.message).to.equal('x509: certificate is not valid for any Receptor node IDs, but wanted to match W');
      expect((verifyReceptorName(caPem, 'A') as ReceptorCertNameError).logMessage).to.equal('RVF ReceptorNameError: expected A but found ');
    });

    it('verifyReceptorName returns (does not throw) an error for garbage', () => {
      expect(verifyReceptorName(Buffer.from('3003020101', 'hex'), 'A')).to.be.instanceOf(Error);
    });
  });
});
