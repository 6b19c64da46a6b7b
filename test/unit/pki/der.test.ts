import {expect} from 'chai';
import fc from 'fast-check';
import {
  bitString,
  boolean,
  children,
  decode,
  DerError,
  DerReader,
  encodeIdentifier,
  encodeLength,
  explicit,
  generalizedTime,
  ia5String,
  implicit,
  integer,
  namedBitString,
  nullValue,
  octetString,
  oid,
  printableString,
  readBitString,
  readBoolean,
  readInteger,
  readNamedBits,
  readNull,
  readOctetString,
  readOid,
  readString,
  readTime,
  retagImplicit,
  sequence,
  set,
  setOf,
  tagged,
  TagClass,
  tlv,
  utcTime,
  utf8String,
  x509Time,
} from '../../../src/core/pki/der.js';

const hex = (b: Buffer) => b.toString('hex');
const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('DER encoder/decoder', () => {
  describe('lengths and identifiers', () => {
    const cases: Array<[number, string]> = [
      [0, '00'],
      [1, '01'],
      [127, '7f'],
      [128, '8180'],
      [255, '81ff'],
      [256, '820100'],
      [65536, '83010000'],
    ];
    for (const [n, e] of cases) it(`length ${n} → ${e}`, () => expect(hex(encodeLength(n))).to.equal(e));
    it('rejects negative lengths', () => expect(() => encodeLength(-1)).to.throw(DerError));
    it('encodes low and high tag numbers', () => {
      expect(hex(encodeIdentifier(TagClass.context, true, 0))).to.equal('a0');
      expect(hex(encodeIdentifier(TagClass.context, false, 7))).to.equal('87');
      expect(hex(encodeIdentifier(TagClass.universal, false, 31))).to.equal('1f1f');
      expect(hex(encodeIdentifier(TagClass.context, false, 200))).to.equal('9f8148');
      const n = decode(tagged(TagClass.context, false, 200, Buffer.from('x')));
      expect(n.tagNumber).to.equal(200);
      expect(n.tagClass).to.equal(TagClass.context);
    });
  });

  describe('INTEGER', () => {
    const cases: Array<[bigint | number, string]> = [
      [0, '020100'],
      [1, '020101'],
      [127, '02017f'],
      [128, '02020080'],
      [256, '02020100'],
      [-1, '0201ff'],
      [-128, '020180'],
      [-129, '0202ff7f'],
      [1795598318n, '02046b06a7ee'],
      [2n ** 64n, '0209010000000000000000'],
    ];
    for (const [v, e] of cases) {
      it(`${v} → ${e} and back`, () => {
        expect(hex(integer(v))).to.equal(e);
        expect(readInteger(decode(h(e)))).to.equal(BigInt(v));
      });
    }
    it('takes a Buffer as an unsigned magnitude', () => {
      expect(hex(integer(Buffer.from([0x80])))).to.equal('02020080');
      expect(hex(integer(Buffer.from([0, 0, 5])))).to.equal('020105');
      expect(hex(integer(Buffer.alloc(0)))).to.equal('020100');
    });
    it('round-trips any bigint', () => {
      fc.assert(fc.property(fc.bigInt({min: -(2n ** 200n), max: 2n ** 200n}), (v) => readInteger(decode(integer(v))) === v));
    });
    it('rejects non-minimal and empty INTEGERs', () => {
      expect(() => readInteger(decode(h('02020001')))).to.throw(DerError, 'non-minimal');
      expect(() => readInteger(decode(h('0202ff80')))).to.throw(DerError, 'non-minimal');
      expect(() => readInteger(decode(h('0200')))).to.throw(DerError, 'empty');
      expect(() => integer(1.5)).to.throw(DerError);
    });
  });

  describe('OBJECT IDENTIFIER', () => {
    it('encodes sha256WithRSAEncryption and the Receptor node-ID OID', () => {
      expect(hex(oid('1.2.840.113549.1.1.11'))).to.equal('06092a864886f70d01010b');
      expect(hex(oid('1.3.6.1.4.1.2312.19.1'))).to.equal('06092b0601040192081301');
      expect(hex(oid('2.5.29.17'))).to.equal('0603551d11');
      expect(hex(oid('2.999.3'))).to.equal('0603883703');
    });
    it('round-trips', () => {
      for (const o of ['1.2.840.113549.1.1.11', '1.3.6.1.4.1.2312.19.1', '2.5.4.3', '0.9.2342.19200300.100.1.25', '2.999.1', '1.2.18446744073709551617']) {
        expect(readOid(decode(oid(o)))).to.equal(o);
      }
    });
    it('rejects invalid OIDs', () => {
      for (const o of ['', '1', '1..2', '3.1', '1.40', 'a.b']) expect(() => oid(o), o).to.throw(DerError);
      expect(() => readOid(decode(h('0600')))).to.throw(DerError, 'empty');
      expect(() => readOid(decode(h('060188')))).to.throw(DerError, 'truncated');
      expect(() => readOid(decode(h('06032a8001')))).to.throw(DerError, 'non-minimal');
    });
  });

  describe('simple types', () => {
    it('NULL, BOOLEAN, OCTET STRING', () => {
      expect(hex(nullValue())).to.equal('0500');
      expect(readNull(decode(nullValue()))).to.equal(null);
      expect(hex(boolean(true))).to.equal('0101ff');
      expect(hex(boolean(false))).to.equal('010100');
      expect(readBoolean(decode(boolean(true)))).to.equal(true);
      expect(() => readBoolean(decode(h('010101')))).to.throw(DerError, 'DER');
      expect(hex(octetString(Buffer.from([1, 2])))).to.equal('04020102');
      expect(hex(readOctetString(decode(h('04020102'))))).to.equal('0102');
    });
    it('BIT STRING and named bits (KeyUsage)', () => {
      expect(hex(bitString(Buffer.from([0xaa, 0xbb])))).to.equal('030300aabb');
      expect(hex(bitString(Buffer.from([0xff]), 3))).to.equal('030203f8'); // unused bits cleared
      expect(hex(namedBitString([0, 5]))).to.equal('03020284'); // digitalSignature + keyCertSign
      expect(hex(namedBitString([0]))).to.equal('03020780'); // digitalSignature
      expect(hex(namedBitString([8]))).to.equal('0303070080');
      expect(hex(namedBitString([]))).to.equal('030100');
      expect(readNamedBits(decode(namedBitString([0, 5])))).to.deep.equal([0, 5]);
      expect(readBitString(decode(h('030300aabb'))).bytes.toString('hex')).to.equal('aabb');
      expect(() => readBitString(decode(h('030108')))).to.throw(DerError);
      expect(() => bitString(Buffer.alloc(0), 1)).to.throw(DerError);
    });
    it('strings', () => {
      expect(hex(utf8String('foo'))).to.equal('0c03666f6f');
      expect(hex(printableString('Test CA'))).to.equal('130754657374204341');
      expect(hex(ia5String('localhost'))).to.equal('16096c6f63616c686f7374');
      expect(() => printableString('a@b')).to.throw(DerError);
      expect(() => ia5String('ü')).to.throw(DerError);
      expect(readString(decode(utf8String('nøde')))).to.equal('nøde');
      expect(readString(decode(h('1e0400660066')))).to.equal('ff'); // BMPString
      expect(() => readString(decode(h('0c02c328')))).to.throw(DerError, 'UTF-8');
      expect(() => readString(decode(h('020101')))).to.throw(DerError);
    });
  });

  describe('times (RFC 5280)', () => {
    it('UTCTime through 2049, GeneralizedTime from 2050 and before 1950', () => {
      const d = new Date('2026-11-25T10:16:55.789Z');
      expect(utcTime(d).toString('latin1', 2)).to.equal('261125101655Z');
      expect(x509Time(d)[0]).to.equal(0x17);
      expect(x509Time(new Date('2049-12-31T23:59:59Z'))[0]).to.equal(0x17);
      const g = x509Time(new Date('2050-01-01T00:00:00Z'));
      expect(g[0]).to.equal(0x18);
      expect(g.toString('latin1', 2)).to.equal('20500101000000Z');
      expect(x509Time(new Date('1949-12-31T23:59:59Z'))[0]).to.equal(0x18);
      expect(() => utcTime(new Date('2050-01-01T00:00:00Z'))).to.throw(DerError);
      expect(() => utcTime(new Date(NaN))).to.throw(DerError);
    });
    it('reads both forms back (seconds precision)', () => {
      for (const iso of ['2026-11-25T10:16:55.000Z', '1950-01-01T00:00:00.000Z', '2049-12-31T23:59:59.000Z', '2050-06-01T12:00:00.000Z', '9999-12-31T23:59:59.000Z']) {
        expect(readTime(decode(x509Time(new Date(iso)))).toISOString()).to.equal(iso);
      }
      expect(readTime(decode(generalizedTime(new Date('0005-03-01T00:00:00Z')))).toISOString()).to.equal('0005-03-01T00:00:00.000Z');
    });
    it('maps UTCTime years 50–99 to 19xx, accepts offsets, rejects nonsense', () => {
      const t = (s: string, tag = 0x17) => readTime(decode(tlv(tag, Buffer.from(s, 'latin1'))));
      expect(t('500101000000Z').toISOString()).to.equal('1950-01-01T00:00:00.000Z');
      expect(t('491231235959Z').toISOString()).to.equal('2049-12-31T23:59:59.000Z');
      expect(t('2601011200+0100').toISOString()).to.equal('2026-01-01T11:00:00.000Z');
      expect(t('20260101120000.5Z', 0x18).toISOString()).to.equal('2026-01-01T12:00:00.500Z');
      for (const bad of ['261301000000Z', '260230000000Z', '26010100000Z', 'xx0101000000Z', '260101000000']) {
        expect(() => t(bad), bad).to.throw(DerError);
      }
    });
  });

  describe('constructed and tagged values', () => {
    it('SEQUENCE, SET, SET OF (sorted), EXPLICIT and IMPLICIT tags', () => {
      expect(hex(sequence(integer(1), nullValue()))).to.equal('300502010105' + '00');
      expect(hex(set(integer(2), integer(1)))).to.equal('3106020102020101');
      expect(hex(setOf(integer(2), integer(1)))).to.equal('3106020101020102');
      expect(hex(explicit(0, utf8String('foo')))).to.equal('a0050c03666f6f');
      expect(hex(implicit(2, Buffer.from('localhost')))).to.equal('82096c6f63616c686f7374');
      expect(hex(implicit(0, integer(5), true))).to.equal('a003020105');
      expect(hex(retagImplicit(0, sequence(integer(5))))).to.equal('a003020105');
      expect(hex(retagImplicit(7, octetString(Buffer.from([127, 0, 0, 1]))))).to.equal('87047f000001');
    });
    it('children and readers', () => {
      const node = decode(sequence(integer(1), explicit(3, boolean(true)), utf8String('x')));
      const kids = children(node);
      expect(kids.map((k) => k.tagNumber)).to.deep.equal([2, 3, 12]);
      const r = new DerReader(node.content);
      expect(readInteger(r.expect(TagClass.universal, 2, false, 'int'))).to.equal(1n);
      expect(r.optionalContext(1)).to.equal(undefined);
      const t = r.optionalContext(3)!;
      expect(readBoolean(decode(t.content))).to.equal(true);
      expect(() => r.expect(TagClass.universal, 2, false, 'second int')).to.throw(DerError, 'second int: unexpected tag');
      expect(() => r.next()).to.throw(DerError, 'unexpected end');
      expect(() => children(decode(integer(1)))).to.throw(DerError, 'not constructed');
    });
  });

  describe('malformed input', () => {
    const bad: Array<[string, string]> = [
      ['', 'unexpected end'],
      ['30', 'truncated length'],
      ['3004020101', 'exceeds'],
      ['3080020101 0000', 'indefinite'],
      ['30810102 01', 'non-minimal length'],
      ['3082000102', 'non-minimal length'],
      ['308500000000010000', 'length too large'],
      ['0201010000', 'trailing data'],
      ['1f', 'truncated tag'],
      ['1f8001', 'non-minimal tag'],
      ['1f0500', 'non-minimal tag'],
      ['1f8fffffff7f00', 'tag number too large'],
    ];
    for (const [input, msg] of bad) {
      it(`${input || '(empty)'} → DerError "${msg}"`, () => expect(() => decode(h(input))).to.throw(DerError, msg));
    }
    it('never throws anything but DerError on random input', () => {
      fc.assert(
        fc.property(fc.uint8Array({maxLength: 64}), (bytes) => {
          try {
            const walk = (b: Buffer) => {
              const n = decode(b);
              if (n.constructed) for (const c of children(n)) walk(c.raw);
            };
            walk(Buffer.from(bytes));
          } catch (err) {
            if (!(err instanceof DerError)) throw err;
          }
        }),
        {numRuns: 2000},
      );
    });
    it('reader bounds are checked', () => {
      expect(() => new DerReader(Buffer.alloc(2), 3)).to.throw(DerError);
      expect(() => new DerReader(Buffer.alloc(2), 0, 5)).to.throw(DerError);
      expect(() => decode('x' as unknown as Buffer)).to.throw(DerError);
    });
    it('reports offsets', () => {
      try {
        decode(h('3005020101ff'));
        expect.fail('should throw');
      } catch (err) {
        expect(err).to.be.instanceOf(DerError);
        expect((err as DerError).offset).to.equal(0);
      }
    });
  });
});
