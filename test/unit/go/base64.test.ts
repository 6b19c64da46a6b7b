import {expect} from 'chai';
import {base64Decode, CorruptInputError} from '../../../src/core/go/base64.js';

const dec = (s: string, e: 'std' | 'rawurl') => base64Decode(Buffer.from(s, 'latin1'), e);
const err = (s: string, e: 'std' | 'rawurl') => {
  try {
    dec(s, e);
  } catch (x) {
    expect(x).to.be.instanceOf(CorruptInputError);
    return (x as Error).message;
  }
  return undefined;
};

describe('Go encoding/base64 Decode', () => {
  it('decodes StdEncoding (padded) and RawURLEncoding, skipping CR and LF', () => {
    expect(dec('aGVsbG8=', 'std').toString()).to.equal('hello');
    expect(dec('aGVs\r\nbG8=', 'std').toString()).to.equal('hello');
    expect(dec('aGVsbG8', 'rawurl').toString()).to.equal('hello');
    expect(dec('-_8', 'rawurl').toString('hex')).to.equal('fbff');
    expect(dec('', 'std')).to.have.length(0);
  });

  it("reports Go's byte offsets", () => {
    expect(err('aGVsbG8', 'std')).to.equal('illegal base64 data at input byte 4');
    expect(err('aGVsbG8=', 'rawurl')).to.equal('illegal base64 data at input byte 7');
    expect(err('a', 'rawurl')).to.equal('illegal base64 data at input byte 0');
    expect(err('ab!d', 'std')).to.equal('illegal base64 data at input byte 2');
    expect(err('aGk=x', 'std')).to.equal('illegal base64 data at input byte 4');
  });
});
