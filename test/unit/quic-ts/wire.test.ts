/** Varints (RFC 9000 §16, A.1), packet numbers (A.2, A.3), packet headers, Retry (RFC 9001 A.4), stateless reset. */
import {expect} from 'chai';
import {initialKeys} from '../../../src/core/netceptor/quic/ts/keys.js';
import {
  buildLongHeader,
  buildRetry,
  buildShortHeader,
  buildStatelessReset,
  buildVersionNegotiation,
  decodePacketNumber,
  isStatelessReset,
  parseHeader,
  packetNumberLength,
  retryIntegrityTag,
  shortHeaderBits,
  splitCoalesced,
  truncatePacketNumber,
  verifyRetry,
} from '../../../src/core/netceptor/quic/ts/packet.js';
import {PacketProtector} from '../../../src/core/netceptor/quic/ts/protection.js';
import {ByteReader, encodeVarint, readVarint, varintLength, writeVarint} from '../../../src/core/netceptor/quic/ts/varint.js';
import * as V from './rfc9001-vectors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('quic-ts varint (RFC 9000 §16, A.1)', () => {
  it('decodes the RFC examples', () => {
    expect(readVarint(hex('c2197c5eff14e88c'), 0)).to.deep.equal({value: Number(151288809941952652n), length: 8});
    expect(readVarint(hex('9d7f3e7d'), 0)).to.deep.equal({value: 494878333, length: 4});
    expect(readVarint(hex('7bbd'), 0)).to.deep.equal({value: 15293, length: 2});
    expect(readVarint(hex('25'), 0)).to.deep.equal({value: 37, length: 1});
    expect(readVarint(hex('4025'), 0)).to.deep.equal({value: 37, length: 2});
  });

  it('encodes the RFC examples and the boundaries', () => {
    expect(encodeVarint(494878333).toString('hex')).to.equal('9d7f3e7d');
    expect(encodeVarint(15293).toString('hex')).to.equal('7bbd');
    expect(encodeVarint(37).toString('hex')).to.equal('25');
    expect(encodeVarint(37, 2).toString('hex')).to.equal('4025');
    expect(encodeVarint(63).toString('hex')).to.equal('3f');
    expect(encodeVarint(64).toString('hex')).to.equal('4040');
    expect(encodeVarint(16383).toString('hex')).to.equal('7fff');
    expect(encodeVarint(16384).toString('hex')).to.equal('80004000');
    expect(encodeVarint(2 ** 30 - 1).toString('hex')).to.equal('bfffffff');
    expect(encodeVarint(2 ** 30).toString('hex')).to.equal('c000000040000000');
    expect(encodeVarint(Number.MAX_SAFE_INTEGER).toString('hex')).to.equal('c01fffffffffffff');
    expect(readVarint(hex('c01fffffffffffff'), 0)?.value).to.equal(Number.MAX_SAFE_INTEGER);
    expect(varintLength(2 ** 40)).to.equal(8);
  });

  it('returns null on short input and refuses values that cannot be encoded', () => {
    expect(readVarint(hex(''), 0)).to.equal(null);
    expect(readVarint(hex('40'), 0)).to.equal(null);
    expect(readVarint(hex('9d7f3e'), 0)).to.equal(null);
    expect(readVarint(hex('c2197c5eff14e8'), 0)).to.equal(null);
    expect(readVarint(hex('25'), 1)).to.equal(null);
    expect(() => encodeVarint(-1)).to.throw(RangeError);
    expect(() => encodeVarint(2 ** 53)).to.throw(RangeError);
    expect(() => encodeVarint(64, 1)).to.throw(RangeError);
    expect(() => writeVarint(Buffer.alloc(1), 0, 64)).to.throw(RangeError);
    const r = new ByteReader(hex('4025ff'), 0, 2);
    expect(r.varint()).to.equal(37);
    expect(r.uint8()).to.equal(null);
  });
});

describe('quic-ts packet numbers (RFC 9000 A.2, A.3)', () => {
  it('A.2: chooses the encoded length from the largest acknowledged', () => {
    expect(packetNumberLength(0xac5c02, 0xabe8b3)).to.equal(2);
    expect(packetNumberLength(0xace8fe, 0xabe8b3)).to.equal(3);
    expect(packetNumberLength(0, -1)).to.equal(1);
    expect(packetNumberLength(2 ** 40, -1)).to.equal(4);
    expect(truncatePacketNumber(0xac5c02, 2)).to.equal(0x5c02);
  });

  it('A.3: decodes 0x9b32 after 0xa82f30ea as 0xa82f9b32', () => {
    expect(decodePacketNumber(0xa82f30ea, 0x9b32, 16)).to.equal(0xa82f9b32);
  });

  it('round-trips around the window edges', () => {
    for (const largest of [-1, 0, 1, 127, 128, 255, 256, 65535, 0xabe8b3, 2 ** 31, 2 ** 40]) {
      for (const delta of [1, 2, 50, 127]) {
        const pn = largest + delta;
        const len = packetNumberLength(pn, largest);
        expect(decodePacketNumber(largest, truncatePacketNumber(pn, len), len * 8)).to.equal(pn);
      }
    }
    // a late packet just below the expected one
    expect(decodePacketNumber(300, truncatePacketNumber(290, 1), 8)).to.equal(290);
  });
});

describe('quic-ts packet headers', () => {
  it('builds the RFC 9001 A.2 Initial header and parses the protected packet', () => {
    const {header, pnOffset} = buildLongHeader({
      type: 'initial',
      dcid: hex('8394c8f03e515708'),
      scid: Buffer.alloc(0),
      truncatedPn: 2,
      pnLength: 4,
      payloadLength: 1162 + 16,
      lengthFieldLength: 2,
    });
    expect(header.toString('hex')).to.equal(V.A2_HEADER);
    expect(pnOffset).to.equal(18);
    const res = parseHeader(hex(V.A2_PACKET), 0, 8);
    expect(res.ok).to.equal(true);
    if (!res.ok || res.header.form !== 'long' || res.header.type !== 'initial') throw new Error('not an Initial');
    expect(res.header.dcid.toString('hex')).to.equal('8394c8f03e515708');
    expect(res.header.scid.length).to.equal(0);
    expect(res.header.token.length).to.equal(0);
    expect(res.header.pnOffset).to.equal(18);
    expect(res.header.length).to.equal(1182);
    expect(res.header.packetLength).to.equal(1200);
  });

  it('splits coalesced packets (server Initial + Handshake + junk), opens the Initial, stops at another DCID', () => {
    const hs = buildLongHeader({type: 'handshake', dcid: Buffer.alloc(0), scid: hex('f067a5502a4262b5'), truncatedPn: 0, pnLength: 1, payloadLength: 40});
    const hsPacket = Buffer.concat([hs.header, Buffer.alloc(40, 0x55)]);
    const dgram = Buffer.concat([hex(V.A3_PACKET), hsPacket, hex('00')]);
    const {packets, error, trailing} = splitCoalesced(dgram, 0);
    expect(packets.map((p) => p.bytes.length)).to.deep.equal([hex(V.A3_PACKET).length, hsPacket.length]);
    expect(error).to.equal('fixed-bit-zero');
    expect(trailing).to.equal(1);
    const h0 = packets[0]?.header;
    if (h0?.form !== 'long' || h0.type !== 'initial') throw new Error('headers');
    expect(h0.scid.toString('hex')).to.equal('f067a5502a4262b5');
    expect(packets[1]?.header.form === 'long' && packets[1].header.type).to.equal('handshake');
    const k = initialKeys(hex('8394c8f03e515708'));
    expect(new PacketProtector(k.server).open(packets[0]?.bytes ?? Buffer.alloc(0), h0.pnOffset, -1)?.pn).to.equal(1);
    // the client's Initial carries another DCID: RFC 9000 §12.2, not part of this datagram
    const mixed = splitCoalesced(Buffer.concat([hex(V.A3_PACKET), hex(V.A2_PACKET)]), 0);
    expect(mixed.packets.length).to.equal(1);
    expect(mixed.error).to.equal('dcid-mismatch');
    expect(mixed.trailing).to.equal(1200);
  });

  it('reports malformed long headers as typed errors', () => {
    const good = hex(V.A2_PACKET);
    expect(parseHeader(Buffer.alloc(0), 0, 8)).to.deep.equal({ok: false, error: 'empty'});
    expect(parseHeader(good.subarray(0, 3), 0, 8)).to.deep.equal({ok: false, error: 'truncated'});
    expect(parseHeader(good.subarray(0, 100), 0, 8)).to.deep.equal({ok: false, error: 'length-exceeds-datagram'});
    const longCid = Buffer.from(good);
    longCid[5] = 21;
    expect(parseHeader(longCid, 0, 8)).to.deep.equal({ok: false, error: 'cid-too-long'});
    const noFixed = Buffer.from(good);
    noFixed[0] = 0x80 | ((noFixed[0] as number) & 0x3f);
    expect(parseHeader(noFixed, 0, 8)).to.deep.equal({ok: false, error: 'fixed-bit-zero'});
  });

  it('builds and parses 0-RTT and Handshake headers with tokens refused outside Initial', () => {
    for (const type of ['0rtt', 'handshake'] as const) {
      const {header, pnOffset} = buildLongHeader({type, dcid: hex('0102'), scid: hex('0a0b0c'), truncatedPn: 0x1234, pnLength: 2, payloadLength: 40});
      const pkt = Buffer.concat([header, Buffer.alloc(40)]);
      const res = parseHeader(pkt, 0, 0);
      if (!res.ok || res.header.form !== 'long' || res.header.type !== type) throw new Error(`bad ${type}`);
      expect(res.header.pnOffset).to.equal(pnOffset);
      expect(res.header.length).to.equal(42);
      expect(res.header.scid.toString('hex')).to.equal('0a0b0c');
      expect(() => buildLongHeader({type, dcid: hex('01'), scid: hex('02'), token: hex('aa'), truncatedPn: 0, pnLength: 1, payloadLength: 20})).to.throw(RangeError);
    }
    const init = buildLongHeader({type: 'initial', dcid: hex('01'), scid: hex('02'), token: hex('aabbcc'), truncatedPn: 7, pnLength: 1, payloadLength: 30});
    const res = parseHeader(Buffer.concat([init.header, Buffer.alloc(30)]), 0, 0);
    if (!res.ok || res.header.form !== 'long' || res.header.type !== 'initial') throw new Error('bad initial');
    expect(res.header.token.toString('hex')).to.equal('aabbcc');
  });

  it('builds and parses short headers (spin, key phase)', () => {
    const {header, pnOffset} = buildShortHeader({dcid: hex('1122334455667788'), truncatedPn: 0xab, pnLength: 1, keyPhase: true, spin: true});
    expect(header.toString('hex')).to.equal('641122334455667788ab');
    expect(pnOffset).to.equal(9);
    expect(shortHeaderBits(header[0] as number)).to.deep.equal({spin: true, keyPhase: true, reserved: 0, pnLength: 1});
    const res = parseHeader(Buffer.concat([header, Buffer.alloc(20)]), 0, 8);
    if (!res.ok || res.header.form !== 'short') throw new Error('bad short');
    expect(res.header.dcid.toString('hex')).to.equal('1122334455667788');
    expect(res.header.packetLength).to.equal(30);
    expect(parseHeader(header.subarray(0, 5), 0, 8)).to.deep.equal({ok: false, error: 'truncated'});
  });

  it('RFC 9001 A.4: Retry integrity tag', () => {
    const retry = hex('ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba');
    const odcid = hex('8394c8f03e515708');
    expect(retryIntegrityTag(retry.subarray(0, retry.length - 16), odcid).toString('hex')).to.equal('04a265ba2eff4d829058fb3f0f2496ba');
    expect(buildRetry(Buffer.alloc(0), hex('f067a5502a4262b5'), Buffer.from('token'), odcid, 0x0f).equals(retry)).to.equal(true);
    expect(verifyRetry(retry, odcid)).to.equal(true);
    expect(verifyRetry(retry, hex('8394c8f03e515709'))).to.equal(false);
    const bad = Buffer.from(retry);
    bad[20] = (bad[20] as number) ^ 1;
    expect(verifyRetry(bad, odcid)).to.equal(false);
    expect(verifyRetry(retry.subarray(0, 10), odcid)).to.equal(false);
    const res = parseHeader(retry, 0, 8);
    if (!res.ok || res.header.form !== 'long' || res.header.type !== 'retry') throw new Error('not a Retry');
    expect(res.header.token.toString()).to.equal('token');
    expect(res.header.scid.toString('hex')).to.equal('f067a5502a4262b5');
    expect(res.header.integrityTag.toString('hex')).to.equal('04a265ba2eff4d829058fb3f0f2496ba');
  });

  it('Version Negotiation and unknown versions', () => {
    const vn = buildVersionNegotiation(hex('0102'), hex('030405'), [1, 0x6b3343cf], 0x2a);
    expect(vn.toString('hex')).to.equal('aa0000000002010203030405000000016b3343cf');
    const res = parseHeader(vn, 0, 0);
    if (!res.ok || res.header.form !== 'long' || res.header.type !== 'version-negotiation') throw new Error('not VN');
    expect(res.header.versions).to.deep.equal([1, 0x6b3343cf]);
    expect(parseHeader(vn.subarray(0, vn.length - 1), 0, 0)).to.deep.equal({ok: false, error: 'bad-version-negotiation'});
    // a v2 packet with a 21-byte CID is still parsed for its invariant fields
    const v2 = Buffer.concat([hex('c06b3343cf15'), Buffer.alloc(21, 1), hex('00'), Buffer.alloc(30)]);
    const r2 = parseHeader(v2, 0, 0);
    if (!r2.ok || r2.header.form !== 'long' || r2.header.type !== 'unsupported-version') throw new Error('not unsupported');
    expect(r2.header.version).to.equal(0x6b3343cf);
    expect(r2.header.dcid.length).to.equal(21);
  });

  it('stateless reset: builds and detects by token only on short-header-like datagrams of 21+ bytes', () => {
    const token = hex('00112233445566778899aabbccddeeff');
    const other = hex('ffeeddccbbaa99887766554433221100');
    const reset = buildStatelessReset(token, 40, (n) => Buffer.alloc(n, 0xff));
    expect(reset.length).to.equal(40);
    expect((reset[0] as number) & 0xc0).to.equal(0x40);
    expect(isStatelessReset(reset, [other, token])).to.equal(true);
    expect(isStatelessReset(reset, [other])).to.equal(false);
    expect(isStatelessReset(reset.subarray(reset.length - 20), [token])).to.equal(false);
    const long = Buffer.from(reset);
    long[0] = 0xc0;
    expect(isStatelessReset(long, [token])).to.equal(false);
    expect(buildStatelessReset(token, 5, (n) => Buffer.alloc(n)).length).to.equal(21);
  });
});
