/** The layers together: frames → header → protection → datagram → parse → unprotect → frames. */
import {expect} from 'chai';
import {checkFramesAllowed, decodeFrames, encodeFrames, type Frame} from '../../../src/core/netceptor/quic/ts/frames.js';
import {initialKeys} from '../../../src/core/netceptor/quic/ts/keys.js';
import {buildLongHeader, buildShortHeader, longHeaderReservedBits, packetNumberLength, splitCoalesced, truncatePacketNumber} from '../../../src/core/netceptor/quic/ts/packet.js';
import {PacketProtector} from '../../../src/core/netceptor/quic/ts/protection.js';
import * as V from './rfc9001-vectors.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('quic-ts layers together', () => {
  it('the RFC 9001 A.2 payload decodes to one CRYPTO frame plus PADDING, allowed in Initial', () => {
    const payload = Buffer.concat([hex(V.A2_CRYPTO_FRAME), Buffer.alloc(1162 - hex(V.A2_CRYPTO_FRAME).length)]);
    const res = decodeFrames(payload);
    if (!res.ok) throw new Error(res.reason);
    expect(res.frames.map((f) => f.type)).to.deep.equal(['crypto', 'padding']);
    const crypto = res.frames[0];
    expect(crypto?.type === 'crypto' && crypto.data.length).to.equal(0xf1);
    expect(crypto?.type === 'crypto' && crypto.data[0]).to.equal(1); // ClientHello
    expect(checkFramesAllowed(res.frames, 'initial')).to.equal(null);
    expect(encodeFrames(res.frames).equals(payload)).to.equal(true);
  });

  it('a client datagram (Initial padded to 1200 + short header) goes through and back', () => {
    const dcid = hex('0011223344556677');
    const scid = hex('8899aabb');
    const keys = initialKeys(dcid);
    const initialFrames: Frame[] = [{type: 'crypto', offset: 0, data: Buffer.alloc(300, 0x16)}];
    let body = encodeFrames(initialFrames);
    const pn = 0;
    const pnLength = packetNumberLength(pn, -1);
    const probe = buildLongHeader({type: 'initial', dcid, scid, truncatedPn: 0, pnLength, payloadLength: 1200, lengthFieldLength: 2});
    // pad the Initial so the datagram reaches 1200 bytes (RFC 9000 §14.1)
    body = Buffer.concat([body, Buffer.alloc(1200 - probe.header.length - body.length - 16)]);
    const {header, pnOffset} = buildLongHeader({
      type: 'initial',
      dcid,
      scid,
      truncatedPn: truncatePacketNumber(pn, pnLength),
      pnLength,
      payloadLength: body.length + 16,
      lengthFieldLength: 2,
    });
    const initial = new PacketProtector(keys.client).seal(header, pnOffset, pnLength, pn, body);
    expect(initial.length).to.equal(1200);

    const sh = buildShortHeader({dcid, truncatedPn: 7, pnLength: 1, keyPhase: false});
    const oneRtt = new PacketProtector(keys.client).seal(sh.header, sh.pnOffset, 1, 7, encodeFrames([{type: 'ping'}, {type: 'padding', length: 3}]));
    const dgram = Buffer.concat([initial, oneRtt]);

    const split = splitCoalesced(dgram, dcid.length);
    expect(split.error).to.equal(undefined);
    expect(split.packets.length).to.equal(2);
    const [p0, p1] = split.packets;
    if (p0?.header.form !== 'long' || p0.header.type !== 'initial' || p1?.header.form !== 'short') throw new Error('shape');
    // the server reads with the client Initial keys
    const opened = new PacketProtector(keys.client).open(p0.bytes, p0.header.pnOffset, -1);
    if (opened === null) throw new Error('Initial did not open');
    expect(longHeaderReservedBits(opened.firstByte)).to.equal(0);
    const frames = decodeFrames(opened.payload);
    if (!frames.ok) throw new Error(frames.reason);
    expect(frames.frames[0]).to.deep.equal(initialFrames[0]);
    expect(checkFramesAllowed(frames.frames, 'initial')).to.equal(null);
    const short = new PacketProtector(keys.client).open(p1.bytes, p1.header.pnOffset, 6);
    expect(short?.pn).to.equal(7);
    const sf = short === null ? null : decodeFrames(short.payload);
    expect(sf?.ok && sf.frames).to.deep.equal([{type: 'ping'}, {type: 'padding', length: 3}]);
  });
});
