/**
 * fast-check fuzzing of the wire layer, 10^5 cases in all: frames, packets and transport
 * parameters round-trip, and arbitrary or mutated bytes never make a decoder throw.
 */
import {expect} from 'chai';
import fc from 'fast-check';
import {TransportError} from '../../../src/core/netceptor/quic/ts/errors.js';
import {ackRangesFrom, decodeFrame, decodeFrames, encodeFrame, frameSize, type AckRange, type Frame} from '../../../src/core/netceptor/quic/ts/frames.js';
import {initialKeys} from '../../../src/core/netceptor/quic/ts/keys.js';
import {buildLongHeader, buildShortHeader, isStatelessReset, parseHeader, splitCoalesced, verifyRetry} from '../../../src/core/netceptor/quic/ts/packet.js';
import {PacketProtector} from '../../../src/core/netceptor/quic/ts/protection.js';
import {decodeTransportParameters, encodeTransportParameters, type TransportParameters} from '../../../src/core/netceptor/quic/ts/transport-params.js';
import {readVarint, encodeVarint} from '../../../src/core/netceptor/quic/ts/varint.js';
import * as V from './rfc9001-vectors.js';

const nat = fc.maxSafeNat();
const small = fc.nat({max: 1 << 20});
const bytes = (min: number, max: number): fc.Arbitrary<Buffer> => fc.uint8Array({minLength: min, maxLength: max}).map((u) => Buffer.from(u));

const ackArb: fc.Arbitrary<Frame> = fc
  .record({
    base: small,
    parts: fc.array(fc.tuple(fc.nat({max: 1000}), fc.nat({max: 1000})), {minLength: 1, maxLength: 20}),
    ackDelay: nat,
    ecn: fc.option(fc.record({ect0: nat, ect1: nat, ce: nat}), {nil: undefined}),
  })
  .map(({base, parts, ackDelay, ecn}) => {
    // build upwards from base: each part is (length, gap to the next range)
    const ranges: AckRange[] = [];
    let lo = base;
    for (const [len, gap] of parts) {
      ranges.push({smallest: lo, largest: lo + len});
      lo = lo + len + gap + 2;
    }
    ranges.reverse();
    return ecn === undefined ? {type: 'ack' as const, ackDelay, ranges} : {type: 'ack' as const, ackDelay, ranges, ecn};
  });

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.nat({max: 50}).map((n) => ({type: 'padding' as const, length: n + 1})),
  fc.constant({type: 'ping' as const}),
  ackArb,
  fc.record({type: fc.constant('reset_stream' as const), streamId: nat, errorCode: nat, finalSize: nat}),
  fc.record({type: fc.constant('stop_sending' as const), streamId: nat, errorCode: nat}),
  fc.record({type: fc.constant('crypto' as const), offset: small, data: bytes(0, 64)}),
  fc.record({type: fc.constant('new_token' as const), token: bytes(1, 64)}),
  fc.record({streamId: nat, offset: small, data: bytes(0, 64), fin: fc.boolean(), hasLength: fc.boolean(), hasOffset: fc.boolean()}).map((s) => ({
    type: 'stream' as const,
    ...s,
    offset: s.hasOffset ? s.offset : 0,
  })),
  fc.record({type: fc.constant('max_data' as const), maximum: nat}),
  fc.record({type: fc.constant('max_stream_data' as const), streamId: nat, maximum: nat}),
  fc.record({type: fc.constant('max_streams' as const), bidi: fc.boolean(), maximum: nat}),
  fc.record({type: fc.constant('data_blocked' as const), limit: nat}),
  fc.record({type: fc.constant('stream_data_blocked' as const), streamId: nat, limit: nat}),
  fc.record({type: fc.constant('streams_blocked' as const), bidi: fc.boolean(), limit: nat}),
  fc.record({sequence: nat, back: nat, connectionId: bytes(1, 20), statelessResetToken: bytes(16, 16)}).map(({sequence, back, connectionId, statelessResetToken}) => ({
    type: 'new_connection_id' as const,
    sequence,
    retirePriorTo: Math.min(back, sequence),
    connectionId,
    statelessResetToken,
  })),
  fc.record({type: fc.constant('retire_connection_id' as const), sequence: nat}),
  fc.record({type: fc.constant('path_challenge' as const), data: bytes(8, 8)}),
  fc.record({type: fc.constant('path_response' as const), data: bytes(8, 8)}),
  fc.record({type: fc.constant('connection_close' as const), application: fc.constant(false as const), errorCode: nat, frameType: nat, reason: bytes(0, 40)}),
  fc.record({type: fc.constant('connection_close' as const), application: fc.constant(true as const), errorCode: nat, reason: bytes(0, 40)}),
  fc.constant({type: 'handshake_done' as const}),
);

const cidArb = bytes(0, 20);

describe('quic-ts fuzz (fast-check)', function () {
  this.timeout(60_000);

  it('varints round-trip (10k)', () => {
    fc.assert(
      fc.property(nat, (v) => {
        const e = encodeVarint(v);
        expect(readVarint(e, 0)).to.deep.equal({value: v, length: e.length});
      }),
      {numRuns: 10_000},
    );
  });

  it('every frame round-trips and frameSize is exact (20k)', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const e = encodeFrame(f);
        expect(frameSize(f)).to.equal(e.length);
        const d = decodeFrame(e, 0);
        if (!d.ok) throw new Error(d.reason);
        expect(d.next).to.equal(e.length);
        const want = f.type === 'stream' ? {...f, hasLength: f.hasLength, hasOffset: f.hasOffset} : f;
        expect(d.frame).to.deep.equal(want);
      }),
      {numRuns: 20_000},
    );
  });

  it('ACK ranges from received packet numbers cover exactly those numbers and round-trip (5k)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({max: 500}), {minLength: 1, maxLength: 100}), (pns) => {
        const ranges = ackRangesFrom(pns, 1000);
        const covered = new Set<number>();
        for (const r of ranges) for (let x = r.smallest; x <= r.largest; x++) covered.add(x);
        expect([...covered].sort((a, b) => a - b)).to.deep.equal([...new Set(pns)].sort((a, b) => a - b));
        const f: Frame = {type: 'ack', ackDelay: 0, ranges};
        const d = decodeFrame(encodeFrame(f), 0);
        expect(d.ok && d.frame).to.deep.equal(f);
      }),
      {numRuns: 5_000},
    );
  });

  it('arbitrary payload bytes decode to frames or a FRAME_ENCODING_ERROR / PROTOCOL_VIOLATION value (25k)', () => {
    const prefix = fc.oneof(
      fc.constant(Buffer.alloc(0)),
      fc.integer({min: 0, max: 0x1f}).map((t) => Buffer.of(t)),
    );
    fc.assert(
      fc.property(prefix, bytes(0, 80), (p, rest) => {
        const res = decodeFrames(Buffer.concat([p, rest]));
        if (!res.ok) expect([TransportError.FRAME_ENCODING_ERROR, TransportError.PROTOCOL_VIOLATION]).to.include(res.code);
        else for (const f of res.frames) expect(frameSize(f)).to.be.greaterThan(0);
      }),
      {numRuns: 25_000},
    );
  });

  it('packet headers: built headers parse back; arbitrary datagrams never throw (20k)', () => {
    const built = fc.record({
      type: fc.constantFrom('initial' as const, '0rtt' as const, 'handshake' as const),
      dcid: cidArb,
      scid: cidArb,
      token: bytes(0, 30),
      truncatedPn: fc.nat({max: 0xff}),
      pnLength: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const),
      payloadLength: fc.nat({max: 300}),
    });
    fc.assert(
      fc.property(built, (s) => {
        const spec = {...s, token: s.type === 'initial' ? s.token : Buffer.alloc(0)};
        const {header, pnOffset} = buildLongHeader(spec);
        const pkt = Buffer.concat([header, Buffer.alloc(s.payloadLength)]);
        const res = parseHeader(pkt, 0, 0);
        if (!res.ok || res.header.form !== 'long' || (res.header.type !== 'initial' && res.header.type !== '0rtt' && res.header.type !== 'handshake')) {
          throw new Error('did not parse back');
        }
        expect(res.header.pnOffset).to.equal(pnOffset);
        expect(res.header.packetLength).to.equal(pkt.length);
        expect(res.header.dcid.equals(s.dcid)).to.equal(true);
      }),
      {numRuns: 5_000},
    );
    fc.assert(
      fc.property(bytes(0, 120), fc.nat({max: 20}), (d, cidLen) => {
        const {packets, trailing} = splitCoalesced(d, cidLen);
        expect(packets.reduce((n, p) => n + p.bytes.length, 0) + trailing).to.equal(d.length);
        isStatelessReset(d, [d.subarray(Math.max(0, d.length - 16))]);
        verifyRetry(d, d.subarray(0, 8));
      }),
      {numRuns: 15_000},
    );
  });

  it('mutated protected packets open to null or the packet, never throw (5k)', () => {
    const keys = initialKeys(Buffer.from('8394c8f03e515708', 'hex'));
    const a2 = Buffer.from(V.A2_PACKET, 'hex');
    const short = new PacketProtector(keys.client).seal(
      buildShortHeader({dcid: Buffer.alloc(8, 1), truncatedPn: 5, pnLength: 1, keyPhase: false}).header,
      9,
      1,
      5,
      Buffer.alloc(30, 1),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.nat(), fc.integer({min: 1, max: 255})), {maxLength: 4}), fc.nat({max: 40}), (useA2, flips, cut) => {
        const pkt = Buffer.from(useA2 ? a2 : short);
        for (const [i, x] of flips) pkt[i % pkt.length] = (pkt[i % pkt.length] as number) ^ x;
        const input = cut > 30 ? pkt.subarray(0, pkt.length - cut) : pkt;
        const opened = new PacketProtector(keys.client).open(input, useA2 ? 18 : 9, useA2 ? -1 : 4);
        // any change to header or payload breaks the AEAD (the header is its AAD)
        const original = useA2 ? a2 : short;
        if (input.equals(original)) expect(opened?.pn).to.equal(useA2 ? 2 : 5);
        else expect(opened).to.equal(null);
      }),
      {numRuns: 5_000},
    );
  });

  it('transport parameters round-trip; arbitrary bytes never throw (20k)', () => {
    const paramsArb: fc.Arbitrary<TransportParameters> = fc.record({
      originalDestinationConnectionId: fc.option(cidArb, {nil: undefined}),
      maxIdleTimeoutMs: nat,
      statelessResetToken: fc.option(bytes(16, 16), {nil: undefined}),
      maxUdpPayloadSize: fc.integer({min: 1200, max: Number.MAX_SAFE_INTEGER}),
      initialMaxData: nat,
      initialMaxStreamDataBidiLocal: nat,
      initialMaxStreamDataBidiRemote: nat,
      initialMaxStreamDataUni: nat,
      initialMaxStreamsBidi: nat,
      initialMaxStreamsUni: nat,
      ackDelayExponent: fc.nat({max: 20}),
      maxAckDelayMs: fc.nat({max: 2 ** 14 - 1}),
      disableActiveMigration: fc.boolean(),
      preferredAddress: fc.option(
        fc.record({
          ipv4: bytes(4, 4),
          ipv4Port: fc.nat({max: 65535}),
          ipv6: bytes(16, 16),
          ipv6Port: fc.nat({max: 65535}),
          connectionId: bytes(1, 20),
          statelessResetToken: bytes(16, 16),
        }),
        {nil: undefined},
      ),
      activeConnectionIdLimit: fc.integer({min: 2, max: Number.MAX_SAFE_INTEGER}),
      initialSourceConnectionId: cidArb,
      retrySourceConnectionId: fc.option(cidArb, {nil: undefined}),
      maxDatagramFrameSize: fc.option(nat, {nil: undefined}),
    });
    const strip = (p: TransportParameters): TransportParameters => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as unknown as TransportParameters;
    fc.assert(
      fc.property(paramsArb, fc.nat({max: 1000}), (p, g) => {
        const enc = encodeTransportParameters(p, {grease: {id: 27 + 31 * g, value: Buffer.alloc(g % 7)}});
        const res = decodeTransportParameters(enc, 'server', false);
        if (!res.ok) throw new Error(res.reason);
        expect(strip(res.params)).to.deep.equal(strip(p));
      }),
      {numRuns: 5_000},
    );
    fc.assert(
      fc.property(bytes(0, 100), fc.boolean(), (d, server) => {
        const res = decodeTransportParameters(d, server ? 'server' : 'client');
        if (!res.ok) expect(res.code).to.equal(TransportError.TRANSPORT_PARAMETER_ERROR);
      }),
      {numRuns: 15_000},
    );
  });
});
