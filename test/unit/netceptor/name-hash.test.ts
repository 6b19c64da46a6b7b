import {expect} from 'chai';
import {highwayHash64, nameHash} from '../../../src/core/netceptor/name-hash.js';

/** netceptor-vectors.md V1: input → uint64 value (wire bytes are its big-endian form). */
const V1: Array<[string, bigint]> = [
  ['foo', 0xef7a78b67f92bdf7n],
  ['bar', 0x14ef88ca522894d1n],
  ['baz', 0x5221986a562a9688n],
  ['Foo', 0xd6d8b67769aa81fdn],
  ['a', 0xbd6efba9eb78e61fn],
  ['', 0x7035da75b9d54469n],
  ['node0', 0x863fbd52b6b38280n],
  ['node1', 0x61052d2b582eb15en],
  ['node2', 0x51bcc6e14eb3fee1n],
  ['node3', 0x2b1efddaab3bdbdcn],
  ['awx-1', 0x2882c7ecac42dc0bn],
  ['hop', 0x8667f24b53be4848n],
  ['localhost', 0x99c4380a442ae062n],
  ['receptor-1.example.com', 0x2a0b93323d6dbf1dn],
  ['abcdefghijklmnopqrstuvwxyz012345', 0xdd0cf3d150e732ben],
  ['abcdefghijklmnopqrstuvwxyz0123456', 0x18a432dd5becd3e8n],
  ['receptor-node-with-a-rather-long-identifier-0123456789', 0xe42694fa9e852badn],
  ['ÄÖÜ-node', 0x4ee2e590c91028acn],
  // V1 note: service names Go also enters in its table.
  ['ping', 0xe98e3242f8b15e51n],
  ['unreach', 0xe05eac0110f1ce44n],
  ['control', 0x3bdee1e3b5f2dbcdn],
  ['h73opPEh', 0x369b296ebf3b919dn],
];

describe('nameHash (HighwayHash-64, zero key)', () => {
  for (const [name, value] of V1) {
    it(`V1: ${JSON.stringify(name)} (${Buffer.byteLength(name)} bytes) → 0x${value.toString(16).padStart(16, '0')}`, () => {
      expect(nameHash(name)).to.equal(value);
    });
  }

  it('puts the value on the wire big-endian (V1 "foo" wire bytes)', () => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(nameHash('foo'));
    expect(b.toString('hex')).to.equal('ef7a78b67f92bdf7');
  });

  it('hashes UTF-8 bytes, not UTF-16 code units', () => {
    const utf8 = Buffer.from('ÄÖÜ-node', 'utf8');
    expect(utf8.toString('hex')).to.equal('c384c396c39c2d6e6f6465');
    expect(highwayHash64(utf8)).to.equal(0x4ee2e590c91028acn);
    expect(highwayHash64(Buffer.from('ÄÖÜ-node', 'latin1'))).to.not.equal(0x4ee2e590c91028acn);
  });

  it('is case-sensitive and does not normalise', () => {
    expect(nameHash('foo')).to.not.equal(nameHash('Foo'));
    // NFC "é" vs NFD "e\u0301" are different byte strings.
    expect(nameHash('caf\u00e9')).to.not.equal(nameHash('cafe\u0301'));
  });

  it('covers every remainder length 0..64 consistently with highwayHash64 over bytes', () => {
    const seen = new Set<bigint>();
    for (let n = 0; n <= 64; n++) {
      const s = 'x'.repeat(n);
      const h = nameHash(s);
      expect(h).to.equal(highwayHash64(Buffer.from(s)));
      expect(h >= 0n && h < 1n << 64n).to.equal(true);
      seen.add(h);
    }
    expect(seen.size).to.equal(65);
  });

  it('hashes a byte array that is a view with a non-zero offset', () => {
    const backing = Buffer.from('XXfooYY');
    expect(highwayHash64(backing.subarray(2, 5))).to.equal(0xef7a78b67f92bdf7n);
    const u8 = new Uint8Array(backing.buffer, backing.byteOffset + 2, 3);
    expect(highwayHash64(u8)).to.equal(0xef7a78b67f92bdf7n);
  });

  it('treats a lone surrogate like U+FFFD (what a Go string would hold)', () => {
    expect(nameHash('a\ud800b')).to.equal(nameHash('a\ufffdb'));
  });

  it('memoizes and stays correct after the cache has evicted entries', () => {
    const first = nameHash('foo');
    for (let i = 0; i < 9000; i++) nameHash(`evict-${i}`);
    expect(nameHash('foo')).to.equal(first);
    expect(nameHash('evict-0')).to.equal(highwayHash64(Buffer.from('evict-0')));
  });
});
