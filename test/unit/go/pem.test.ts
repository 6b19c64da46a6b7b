import {expect} from 'chai';
import {pemDecode, pemDecodeAll, pemDecodeFirst, pemEncode} from '../../../src/core/go/pem.js';

describe('Go encoding/pem (the one PEM decoder)', () => {
  it('encodes with 64-column lines and decodes back', () => {
    const der = Buffer.alloc(100, 0xab);
    const pem = pemEncode('CERTIFICATE', der);
    const lines = pem.trimEnd().split('\n');
    expect(lines[0]).to.equal('-----BEGIN CERTIFICATE-----');
    expect(lines[1]).to.have.length(64);
    expect(lines.at(-1)).to.equal('-----END CERTIFICATE-----');
    expect(pem.endsWith('\n')).to.equal(true);
    const [block] = pemDecodeAll(`junk before\n${pem}\n${pemEncode('RSA PRIVATE KEY', Buffer.from([1]))}`);
    expect(block!.type).to.equal('CERTIFICATE');
    expect(block!.der.equals(der)).to.equal(true);
    expect(pemDecodeAll(pem + pem)).to.have.length(2);
    expect(pemDecodeAll('nothing here')).to.deep.equal([]);
    expect(pemDecodeFirst('nothing here')).to.equal(undefined);
  });

  it('handles CRLF, headers and bad base64 (a malformed block is skipped, as pem.Decode does)', () => {
    const pem = pemEncode('X', Buffer.from('hello')).replace(/\n/g, '\r\n');
    expect(pemDecodeAll(pem)[0]!.der.toString()).to.equal('hello');
    const withHeaders = '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\naGVsbG8=\n-----END RSA PRIVATE KEY-----\n';
    const b = pemDecodeAll(withHeaders)[0]!;
    expect(b.headers['Proc-Type']).to.equal('4,ENCRYPTED');
    expect(b.headers['DEK-Info']).to.equal('AES-128-CBC,00');
    expect(b.der.toString()).to.equal('hello');
    const bad = '-----BEGIN X-----\n!!!!\n-----END X-----\n';
    expect(pemDecodeAll(bad)).to.deep.equal([]);
    expect(pemDecodeFirst(bad)).to.equal(undefined);
    expect(pemDecodeAll(bad + pemEncode('Y', Buffer.from('ok'))).map((x) => x.type)).to.deep.equal(['Y']);
  });

  it('returns the bytes after the END line, and the whole input when there is no block', () => {
    const pem = pemEncode('X', Buffer.from('a'));
    expect(pemDecode(`${pem}\n`).rest.toString()).to.equal('\n');
    expect(pemDecode(`${pem}tail`).rest.toString()).to.equal('tail');
    expect(pemDecode('no pem').rest.toString()).to.equal('no pem');
  });

  it('needs the END line to name the same type and end the line', () => {
    expect(pemDecodeFirst('-----BEGIN X-----\naGk=\n-----END Y-----\n')).to.equal(undefined);
    expect(pemDecodeFirst('-----BEGIN X-----\naGk=\n-----END X----- junk\n')).to.equal(undefined);
    expect(pemDecodeFirst('-----BEGIN X-----\naGk=\n-----END X-----  \n')!.der.toString()).to.equal('hi');
  });
});
