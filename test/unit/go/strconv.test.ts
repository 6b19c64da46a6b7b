import {expect} from 'chai';
import {cmdlineParseBool} from '../../../src/core/go/cmdline.js';
import {fmtF} from '../../../src/core/go/fmt.js';
import {strconvParseFloat, strconvParseInt, strconvQuote} from '../../../src/core/go/strconv.js';
import {ValueError} from '../../../src/core/go/value-error.js';

describe('go/strconv, go/cmdline, go/fmt: value conversions', () => {
  it('strconvQuote is strconv.Quote', () => {
    expect(strconvQuote('a"b\\c\n\x01é')).to.equal('"a\\"b\\\\c\\n\\x01é"');
    expect(strconvQuote('\x07\x08\f\r\t\v\x7f')).to.equal('"\\a\\b\\f\\r\\t\\v\\x7f"');
    expect(strconvQuote('\u0085\u00ad\u2028\ufeff')).to.equal('"\\u0085\\u00ad\\u2028\\ufeff"');
    expect(strconvQuote('')).to.equal('""');
  });

  describe('strconvParseInt (strconv.ParseInt base 0)', () => {
    const ok: Array<[string, number]> = [
      ['42', 42],
      ['-7', -7],
      ['+9', 9],
      ['0600', 384],
      ['0x10', 16],
      ['0X1F', 31],
      ['0o660', 432],
      ['0O17', 15],
      ['0b101', 5],
      ['0', 0],
      ['0x_1f', 31],
      ['0_600', 384],
    ];
    for (const [s, n] of ok) it(`parses ${s} as ${n}`, () => expect(strconvParseInt(s)).to.equal(n));
    for (const s of ['abc', '', '1_000', '12a', '0x', '08', '--1', '1.5']) {
      it(`rejects ${JSON.stringify(s)} with Go's text`, () => {
        expect(() => strconvParseInt(s)).to.throw(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
      });
    }
    it('reports out of range', () => {
      expect(() => strconvParseInt('99999999999999999999')).to.throw('value out of range');
    });
  });

  describe('cmdlineParseBool (receptor accepts yes/no too)', () => {
    for (const s of ['1', 't', 'T', 'Y', 'true', 'TRUE', 'True', 'yes', 'Yes', 'YES']) it(`${s} is true`, () => expect(cmdlineParseBool(s)).to.equal(true));
    for (const s of ['0', 'f', 'F', 'N', 'false', 'FALSE', 'False', 'no', 'No', 'NO']) it(`${s} is false`, () => expect(cmdlineParseBool(s)).to.equal(false));
    it('rejects other words', () => expect(() => cmdlineParseBool('maybe')).to.throw('could not parse maybe as boolean'));
  });

  it('strconvParseFloat parses and rejects', () => {
    expect(strconvParseFloat('1.5')).to.equal(1.5);
    expect(strconvParseFloat('2e3')).to.equal(2000);
    expect(() => strconvParseFloat('x1')).to.throw(ValueError, 'strconv.ParseFloat: parsing "x1": invalid syntax');
  });

  it('fmtF is %f', () => {
    expect(fmtF(1.5)).to.equal('1.500000');
    expect(fmtF(0.1)).to.equal('0.100000');
    expect(fmtF(Infinity)).to.equal('+Inf');
    expect(fmtF(NaN)).to.equal('NaN');
  });
});
