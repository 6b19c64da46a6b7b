import {expect} from 'chai';
import {ephemeralServiceName, ID_ALPHABET, isReservedService, randomId, RESERVED_SERVICES} from '../../../src/core/netceptor/ids.js';

describe('netceptor random IDs (§12.3)', () => {
  it('uses the 62-character alphabet in Go’s order', () => {
    expect(ID_ALPHABET).to.equal('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ');
    expect(new Set(ID_ALPHABET).size).to.equal(62);
  });

  it('draws 8 characters from the alphabet by default', () => {
    for (let i = 0; i < 200; i++) expect(randomId()).to.match(/^[0-9a-zA-Z]{8}$/);
    expect(randomId(3)).to.have.length(3);
    expect(randomId(0)).to.equal('');
  });

  it('re-draws bytes ≥ 248 instead of taking them modulo 62', () => {
    const chunks = [Uint8Array.from([248, 255, 0, 61]), Uint8Array.from([62, 249, 247, 123, 124, 185, 186, 1, 2])];
    const source = () => chunks.shift() ?? Uint8Array.from([0]);
    // 0→'0', 61→'Z', 62→'0', 247→'Z', 123→'Z', 124→'0', 185→'Z', 186→'0'
    expect(randomId(8, source)).to.equal('0Z0ZZ0Z0');
  });

  it('is roughly uniform (chi-square over 62 symbols)', () => {
    const counts = new Map<string, number>();
    const draws = 62 * 400;
    let text = '';
    while (text.length < draws) text += randomId(64);
    for (const ch of text.slice(0, draws)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).to.equal(62);
    const expected = draws / 62;
    let chi2 = 0;
    for (const c of counts.values()) chi2 += (c - expected) ** 2 / expected;
    // 61 degrees of freedom: p < 1e-6 beyond ~125
    expect(chi2).to.be.below(130);
  });

  it('rarely repeats', () => {
    const ids = new Set(Array.from({length: 2000}, () => randomId()));
    expect(ids.size).to.equal(2000);
  });

  it('reserves ping and unreach only', () => {
    expect([...RESERVED_SERVICES].sort()).to.deep.equal(['ping', 'unreach']);
    expect(isReservedService('ping')).to.equal(true);
    expect(isReservedService('unreach')).to.equal(true);
    expect(isReservedService('control')).to.equal(false);
  });

  it('ephemeral names skip reserved and in-use names', () => {
    const candidates = ['ping', 'unreach', 'taken123', 'free0001', 'never'];
    const taken = new Set(['taken123']);
    const name = ephemeralServiceName(
      (n) => taken.has(n),
      () => candidates.shift()!,
    );
    expect(name).to.equal('free0001');
    expect(candidates).to.deep.equal(['never']);
  });

  it('ephemeral names default to random 8-character names', () => {
    const seen: string[] = [];
    const name = ephemeralServiceName((n) => {
      seen.push(n);
      return false;
    });
    expect(name).to.match(/^[0-9a-zA-Z]{8}$/);
    expect(seen).to.deep.equal([name]);
  });
});
