/** QUIC v1 frames (RFC 9000 §19): bytes as quic-go v0.40.0's encoders produce them, round trips, errors, §12.4 table. */
import {expect} from 'chai';
import {TransportError} from '../../../src/core/netceptor/quic/ts/errors.js';
import {
  ackRangesFrom,
  closeFrameFor,
  decodeAckDelay,
  encodeAckDelay,
  checkFramesAllowed,
  decodeFrame,
  decodeFrames,
  encodeFrame,
  encodeFrames,
  frameAllowedIn,
  frameSize,
  isAckEliciting,
  isAckElicitingPacket,
  maxCryptoDataFor,
  maxStreamDataFor,
  streamFrameOverhead,
  type Frame,
} from '../../../src/core/netceptor/quic/ts/frames.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const b = (s: string): Buffer => Buffer.from(s);

// Produced by quic-go v0.40.0 internal/wire Frame.Append (Version1) for the same field values.
const QUIC_GO: Array<[string, Frame, string]> = [
  [
    'ack with two gaps, 8 ms delay at exponent 3',
    {
      type: 'ack',
      ackDelay: 1000,
      ranges: [
        {smallest: 90, largest: 100},
        {smallest: 50, largest: 80},
        {smallest: 0, largest: 10},
      ],
    },
    '02406443e8020a081e260a',
  ],
  ['ack_ecn', {type: 'ack', ackDelay: 0, ranges: [{smallest: 1000, largest: 5000}], ecn: {ect0: 10, ect1: 20, ce: 30}}, '03538800004fa00a141e'],
  ['reset_stream', {type: 'reset_stream', streamId: 0x1337, errorCode: 0x42, finalSize: 0x987654}, '045337404280987654'],
  ['stop_sending', {type: 'stop_sending', streamId: 0xdeadbeef, errorCode: 0xdecafbad}, '05c0000000deadbeefc0000000decafbad'],
  ['crypto', {type: 'crypto', offset: 0x123456, data: b('foobar')}, '068012345606666f6f626172'],
  ['new_token', {type: 'new_token', token: b('token')}, '0705746f6b656e'],
  ['stream OFF|LEN|FIN', {type: 'stream', streamId: 0x1337, offset: 0x123456, data: b('foobar'), fin: true, hasLength: true, hasOffset: true}, '0f53378012345606666f6f626172'],
  ['stream without length', {type: 'stream', streamId: 4, offset: 0, data: b('foo'), fin: false, hasLength: false, hasOffset: false}, '0804666f6f'],
  ['max_data', {type: 'max_data', maximum: 0xdeadbeefcafe}, '10c000deadbeefcafe'],
  ['max_stream_data (quic-go value lowered below 2^53, see below)', {type: 'max_stream_data', streamId: 0xdecafbad, maximum: 0xdeadbeefcafe}, '11c0000000decafbadc000deadbeefcafe'],
  ['max_streams bidi', {type: 'max_streams', bidi: true, maximum: 0xdeadbeef}, '12c0000000deadbeef'],
  ['max_streams uni', {type: 'max_streams', bidi: false, maximum: 0x1337}, '135337'],
  ['data_blocked', {type: 'data_blocked', limit: 0x1337}, '145337'],
  ['stream_data_blocked', {type: 'stream_data_blocked', streamId: 0xdecafbad, limit: 0x1337}, '15c0000000decafbad5337'],
  ['streams_blocked uni', {type: 'streams_blocked', bidi: false, limit: 0x1234567}, '1781234567'],
  [
    'new_connection_id',
    {type: 'new_connection_id', sequence: 0x1337, retirePriorTo: 0x42, connectionId: hex('010203040506'), statelessResetToken: hex('0f0e0d0c0b0a09080706050403020100')},
    '1853374042060102030405060f0e0d0c0b0a09080706050403020100',
  ],
  ['retire_connection_id', {type: 'retire_connection_id', sequence: 0x1337}, '195337'],
  ['path_challenge', {type: 'path_challenge', data: hex('deadbeefcafe1337')}, '1adeadbeefcafe1337'],
  ['path_response', {type: 'path_response', data: hex('deadbeefcafe1337')}, '1bdeadbeefcafe1337'],
  ['connection_close (transport)', {type: 'connection_close', application: false, errorCode: 0xbeef, frameType: 0x12345, reason: b('foobar')}, '1c8000beef8001234506666f6f626172'],
  ['connection_close (application)', {type: 'connection_close', application: true, errorCode: 0xcafe, reason: b('foobar')}, '1d8000cafe06666f6f626172'],
  ['handshake_done', {type: 'handshake_done'}, '1e'],
  ['ping', {type: 'ping'}, '01'],
];

describe('quic-ts frames', () => {
  for (const [name, frame, bytes] of QUIC_GO) {
    it(`${name}: encodes as quic-go does, decodes back, size matches`, () => {
      expect(encodeFrame(frame).toString('hex')).to.equal(bytes);
      expect(frameSize(frame)).to.equal(bytes.length / 2);
      const res = decodeFrame(hex(bytes), 0);
      if (!res.ok) throw new Error(res.reason);
      expect(res.next).to.equal(bytes.length / 2);
      expect(res.frame).to.deep.equal(frame);
    });
  }

  it('values above 2^53 (quic-go: MAX_STREAM_DATA 0xdeadbeefcafe42) decode to the nearest double; encoding them is refused', () => {
    const res = decodeFrame(hex('11c0000000decafbadc0deadbeefcafe42'), 0);
    expect(res.ok && res.frame).to.deep.equal({type: 'max_stream_data', streamId: 0xdecafbad, maximum: Number(0xdeadbeefcafe42n)});
    expect(() => encodeFrame({type: 'max_stream_data', streamId: 0, maximum: Number(0xdeadbeefcafe42n)})).to.throw(RangeError);
    // the 2^60 and 2^62 limits are checked exactly
    const max = decodeFrame(hex('12d000000000000000'), 0);
    expect(max.ok && max.frame).to.deep.equal({type: 'max_streams', bidi: true, maximum: 2 ** 60});
    expect(decodeFrame(hex('0e04fffffffffffffffe01aa'), 0).ok).to.equal(true);
    expect(decodeFrame(hex('0e04ffffffffffffffff01aa'), 0).ok).to.equal(false);
  });

  it('all eight STREAM flag forms round-trip', () => {
    for (let flags = 0; flags < 8; flags++) {
      const hasOffset = (flags & 4) !== 0;
      const f: Frame = {type: 'stream', streamId: 9, offset: hasOffset ? 77 : 0, data: b('hello'), fin: (flags & 1) !== 0, hasLength: (flags & 2) !== 0, hasOffset};
      const enc = encodeFrame(f);
      expect(enc[0]).to.equal(0x08 | flags);
      const res = decodeFrames(enc);
      if (!res.ok) throw new Error(res.reason);
      expect(res.frames).to.deep.equal([f]);
    }
    // OFF may be set with offset 0
    const zero = decodeFrame(hex('0c0400'), 0);
    expect(zero.ok && zero.frame).to.deep.equal({type: 'stream', streamId: 4, offset: 0, data: Buffer.alloc(0), fin: false, hasLength: false, hasOffset: true});
  });

  it('merges PADDING runs and decodes a packet of several frames', () => {
    const res = decodeFrames(hex('0100000000061234'.replace('061234', '060002abcd')));
    if (!res.ok) throw new Error(res.reason);
    expect(res.frames).to.deep.equal([{type: 'ping'}, {type: 'padding', length: 4}, {type: 'crypto', offset: 0, data: hex('abcd')}]);
    const enc = encodeFrames(res.frames);
    expect(enc.toString('hex')).to.equal('0100000000060002abcd');
  });

  it('refuses malformed frames with FRAME_ENCODING_ERROR or PROTOCOL_VIOLATION', () => {
    const bad: Array<[string, number]> = [
      ['', TransportError.PROTOCOL_VIOLATION], // empty payload
      ['1f', TransportError.FRAME_ENCODING_ERROR], // unknown type
      ['4001', TransportError.PROTOCOL_VIOLATION], // PING with a 2-byte type
      ['02', TransportError.FRAME_ENCODING_ERROR],
      ['020500000a', TransportError.FRAME_ENCODING_ERROR], // first range below zero
      ['020a000105000a', TransportError.FRAME_ENCODING_ERROR], // second range below zero
      ['0210000140', TransportError.FRAME_ENCODING_ERROR], // range count beyond the payload
      ['0700', TransportError.FRAME_ENCODING_ERROR], // empty NEW_TOKEN
      ['060005ab', TransportError.FRAME_ENCODING_ERROR], // CRYPTO longer than the packet
      ['0e04ffffffffffffffff01', TransportError.FRAME_ENCODING_ERROR], // STREAM end beyond 2^62-1
      ['12d000000000000001', TransportError.FRAME_ENCODING_ERROR], // MAX_STREAMS > 2^60
      ['16d000000000000001', TransportError.FRAME_ENCODING_ERROR],
      ['1801000000', TransportError.FRAME_ENCODING_ERROR], // CID length 0
      ['180102' + '01' + 'aa' + '00'.repeat(16), TransportError.FRAME_ENCODING_ERROR], // retire prior to > sequence
      ['18000015' + 'aa'.repeat(21) + '00'.repeat(16), TransportError.FRAME_ENCODING_ERROR], // CID length 21
      ['1adeadbeef', TransportError.FRAME_ENCODING_ERROR],
      ['1c0001', TransportError.FRAME_ENCODING_ERROR],
      ['1d0105ab', TransportError.FRAME_ENCODING_ERROR],
    ];
    for (const [h, code] of bad) {
      const res = decodeFrames(hex(h));
      expect(res.ok, h).to.equal(false);
      if (!res.ok) expect(res.code, h).to.equal(code);
    }
    const unknown = decodeFrames(hex('1f'));
    expect(!unknown.ok && unknown.frameType).to.equal(0x1f);
  });

  it('applies the §12.4 packet-type table', () => {
    const ack: Frame = {type: 'ack', ackDelay: 0, ranges: [{smallest: 0, largest: 0}]};
    const stream: Frame = {type: 'stream', streamId: 0, offset: 0, data: b('x'), fin: false};
    const close: Frame = {type: 'connection_close', application: false, errorCode: 0, frameType: 0, reason: Buffer.alloc(0)};
    const appClose: Frame = {type: 'connection_close', application: true, errorCode: 0, reason: Buffer.alloc(0)};
    expect(frameAllowedIn(ack, 'initial')).to.equal(true);
    expect(frameAllowedIn(ack, '0rtt')).to.equal(false);
    expect(frameAllowedIn(stream, 'handshake')).to.equal(false);
    expect(frameAllowedIn(stream, '0rtt')).to.equal(true);
    expect(frameAllowedIn(close, 'initial')).to.equal(true);
    expect(frameAllowedIn(appClose, 'initial')).to.equal(false);
    expect(frameAllowedIn({type: 'handshake_done'}, '1rtt')).to.equal(true);
    expect(frameAllowedIn({type: 'handshake_done'}, 'handshake')).to.equal(false);
    expect(frameAllowedIn({type: 'path_response', data: Buffer.alloc(8)}, '0rtt')).to.equal(false);
    expect(frameAllowedIn({type: 'new_token', token: b('t')}, '1rtt')).to.equal(true);
    expect(frameAllowedIn({type: 'crypto', offset: 0, data: b('')}, '0rtt')).to.equal(false);
    expect(checkFramesAllowed([{type: 'padding', length: 3}, stream], 'initial')?.code).to.equal(TransportError.PROTOCOL_VIOLATION);
    expect(checkFramesAllowed([{type: 'padding', length: 3}, {type: 'ping'}], 'initial')).to.equal(null);
  });

  it('ack-eliciting and size helpers', () => {
    expect(isAckEliciting({type: 'ping'})).to.equal(true);
    expect(isAckEliciting({type: 'padding', length: 1})).to.equal(false);
    expect(
      isAckElicitingPacket([
        {type: 'ack', ackDelay: 0, ranges: [{smallest: 0, largest: 0}]},
        {type: 'padding', length: 1},
      ]),
    ).to.equal(false);
    expect(streamFrameOverhead(4, 0, 10)).to.equal(3);
    expect(streamFrameOverhead(4, 100, 100)).to.equal(6);
    for (const budget of [0, 3, 4, 5, 64, 65, 66, 67, 1200, 16390, 16391, 70000]) {
      for (const offset of [0, 63, 64, 1 << 20]) {
        const n = maxStreamDataFor(budget, 4, offset);
        if (n > 0) {
          expect(frameSize({type: 'stream', streamId: 4, offset, data: Buffer.alloc(n), fin: false})).to.be.at.most(budget);
          expect(frameSize({type: 'stream', streamId: 4, offset, data: Buffer.alloc(n + 1), fin: false})).to.be.above(budget);
        }
        const c = maxCryptoDataFor(budget, offset);
        if (c > 0) {
          expect(frameSize({type: 'crypto', offset, data: Buffer.alloc(c)})).to.be.at.most(budget);
          expect(frameSize({type: 'crypto', offset, data: Buffer.alloc(c + 1)})).to.be.above(budget);
        }
      }
    }
    expect(maxStreamDataFor(3, 4, 0)).to.equal(0);
  });

  it('connection-layer helpers: ACK delay scaling, ACK ranges, close frame from a decode error', () => {
    expect(encodeAckDelay(8000, 3)).to.equal(1000);
    expect(decodeAckDelay(1000, 3)).to.equal(8000);
    expect(encodeAckDelay(-5, 3)).to.equal(0);
    expect(ackRangesFrom([5, 1, 2, 3, 9, 10, 3, 0])).to.deep.equal([
      {smallest: 9, largest: 10},
      {smallest: 5, largest: 5},
      {smallest: 0, largest: 3},
    ]);
    expect(ackRangesFrom([1, 3, 5, 7], 2)).to.deep.equal([
      {smallest: 7, largest: 7},
      {smallest: 5, largest: 5},
    ]);
    expect(ackRangesFrom([])).to.deep.equal([]);
    const err = decodeFrames(hex('0700'));
    if (err.ok) throw new Error('expected an error');
    const close = closeFrameFor(err);
    expect(close).to.deep.equal({type: 'connection_close', application: false, errorCode: TransportError.FRAME_ENCODING_ERROR, frameType: 7, reason: Buffer.from(err.reason)});
    const round = decodeFrames(encodeFrame(close));
    expect(round.ok && round.frames[0]).to.deep.equal(close);
  });
});
