import {expect} from 'chai';
import {formatGoDuration, goFormatFloat, goParseBool, goParseFloat, goParseInt, parseGoDuration} from '../../../src/core/config/go-values.js';

describe('Go value conversions', () => {
  describe('goParseInt (strconv.ParseInt base 0)', () => {
    const ok: Array<[string, number]> = [
      ['42', 42], ['-7', -7], ['+9', 9], ['0600', 384], ['0x10', 16], ['0X1F', 31], ['0o660', 432], ['0O17', 15],
      ['0b101', 5], ['0', 0], ['0x_1f', 31], ['0_600', 384],
    ];
    for (const [s, n] of ok) it(`parses ${s} as ${n}`, () => expect(goParseInt(s)).to.equal(n));
    for (const s of ['abc', '', '1_000', '12a', '0x', '08', '--1', '1.5']) {
      it(`rejects ${JSON.stringify(s)} with Go's text`, () => {
        expect(() => goParseInt(s)).to.throw(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
      });
    }
    it('reports out of range', () => {
      expect(() => goParseInt('99999999999999999999')).to.throw('value out of range');
    });
  });

  describe('goParseBool (receptor accepts yes/no too)', () => {
    for (const s of ['1', 't', 'T', 'Y', 'true', 'TRUE', 'True', 'yes', 'Yes', 'YES']) it(`${s} is true`, () => expect(goParseBool(s)).to.equal(true));
    for (const s of ['0', 'f', 'F', 'N', 'false', 'FALSE', 'False', 'no', 'No', 'NO']) it(`${s} is false`, () => expect(goParseBool(s)).to.equal(false));
    it('rejects other words', () => expect(() => goParseBool('maybe')).to.throw('could not parse maybe as boolean'));
  });

  it('goParseFloat parses and rejects', () => {
    expect(goParseFloat('1.5')).to.equal(1.5);
    expect(goParseFloat('2e3')).to.equal(2000);
    expect(() => goParseFloat('x1')).to.throw('strconv.ParseFloat: parsing "x1": invalid syntax');
  });

  it('goFormatFloat is %f', () => {
    expect(goFormatFloat(1.5)).to.equal('1.500000');
    expect(goFormatFloat(0.1)).to.equal('0.100000');
  });

  describe('Go durations', () => {
    const cases: Array<[string, number]> = [['21s', 21000], ['1.5h', 5_400_000], ['30m10s', 1_810_000], ['250ms', 250], ['1h30m', 5_400_000], ['0', 0]];
    for (const [s, ms] of cases) it(`${s} = ${ms} ms`, () => expect(parseGoDuration(s)).to.equal(ms));
    it('rejects bad durations', () => {
      expect(() => parseGoDuration('xx')).to.throw('time: invalid duration "xx"');
      expect(() => parseGoDuration('10')).to.throw('missing unit');
    });
    it('formats like Go', () => {
      expect(formatGoDuration(90_000)).to.equal('1m30s');
      expect(formatGoDuration(1500)).to.equal('1.5s');
      expect(formatGoDuration(250)).to.equal('250ms');
      expect(formatGoDuration(3_600_000)).to.equal('1h0m0s');
    });
  });
});
