import {expect} from 'chai';
import fc from 'fast-check';
import {
  DecodeError,
  EncodeError,
  MSG_TYPE_DATA,
  MSG_TYPE_REJECT,
  MSG_TYPE_ROUTING_UPDATE,
  MSG_TYPE_SERVICE_ADVERTISEMENT,
  decodeMessage,
  decodeUnreachable,
  encodeData,
  encodeReject,
  encodeRoutingUpdate,
  encodeServiceAdvertisement,
  encodeUnreachable,
  type DataMessage,
  type NetceptorMessage,
  type RoutingUpdate,
  type ServiceAdvertisement,
  type UnreachableMessage,
} from '../../../src/core/netceptor/codec.js';
import {formatRFC3339Nano, timeFromUnixNano, unmarshalTimeJSON} from '../../../src/core/go/time.js';

const RUNS = {numRuns: 1500};

/** Decodes; a failure must be a DecodeError that is not an internal bug. Returns the message or undefined. */
function decodeSafely(bytes: Uint8Array): NetceptorMessage | undefined {
  try {
    return decodeMessage(bytes);
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(DecodeError);
    expect((err as DecodeError).code, (err as Error).message).to.not.equal('internal');
    return undefined;
  }
}

/** Re-encodes a decoded message; allowed to refuse only with EncodeError. */
function reencode(m: NetceptorMessage): Buffer | undefined {
  try {
    switch (m.type) {
      case MSG_TYPE_DATA:
        return encodeData(m);
      case MSG_TYPE_ROUTING_UPDATE:
        return encodeRoutingUpdate(m);
      case MSG_TYPE_SERVICE_ADVERTISEMENT:
        return encodeServiceAdvertisement(m);
      default:
        return encodeReject();
    }
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(EncodeError);
    return undefined;
  }
}

// --- generators ------------------------------------------------------------------------

const UINT64_MAX = (1n << 64n) - 1n;
const uint64 = fc.oneof(fc.bigInt(0n, UINT64_MAX), fc.bigInt(1n << 53n, UINT64_MAX), fc.constantFrom(0n, 1n, UINT64_MAX));
const text = fc.string({unit: 'binary', maxLength: 16});
const nodeName = fc.oneof(text, fc.constantFrom('foo', 'bar', 'baz', '<&>', 'ÄÖÜ-node', '😀'));
const serviceName = fc.string({unit: 'binary', maxLength: 8}).filter((s) => Buffer.byteLength(s, 'utf8') <= 8 && !s.endsWith('\u0000'));
const cost = fc.double({noNaN: true, noDefaultInfinity: true});

const dataMessage: fc.Arbitrary<DataMessage> = fc.record({
  hopsToLive: fc.integer({min: 0, max: 255}),
  fromHash: uint64,
  toHash: uint64,
  fromService: serviceName,
  toService: serviceName,
  payload: fc.uint8Array({maxLength: 300}),
});

const routingUpdate: fc.Arbitrary<RoutingUpdate> = fc.record({
  nodeId: nodeName,
  updateId: text,
  updateEpoch: uint64,
  updateSequence: uint64,
  connections: fc.array(fc.tuple(nodeName, cost), {maxLength: 6}).map((e) => new Map(e)),
  forwardingNode: nodeName,
  suspectedDuplicate: uint64,
});

const MIN_NS = unmarshalTimeJSON('0000-01-01T00:00:00Z')!.unixNano;
const MAX_NS = unmarshalTimeJSON('9999-12-31T23:59:59.999999999Z')!.unixNano;
const goTime = fc
  .tuple(fc.oneof(fc.bigInt(MIN_NS, MAX_NS), fc.bigInt(0n, 4_000_000_000n * 1_000_000_000n)), fc.integer({min: -1439, max: 1439}), fc.boolean())
  .map(([ns, minutes, utc]) => {
    const offset = utc ? 0 : minutes * 60;
    try {
      return timeFromUnixNano(ns, offset);
    } catch {
      return timeFromUnixNano(ns, 0); // local year would leave 0–9999
    }
  });

const serviceAd: fc.Arbitrary<ServiceAdvertisement> = fc.record({
  nodeId: nodeName,
  service: text,
  time: goTime,
  connType: fc.integer({min: 0, max: 255}),
  tags: fc.option(fc.array(fc.tuple(text, text), {maxLength: 4}).map((e) => new Map(e))),
  workCommands: fc.option(fc.array(fc.record({workType: text, secure: fc.boolean()}), {maxLength: 3})),
  cancel: fc.boolean(),
});

const unreachable: fc.Arbitrary<UnreachableMessage> = fc.record({
  fromNode: nodeName,
  toNode: nodeName,
  fromService: text,
  toService: text,
  problem: fc.oneof(text, fc.constantFrom('service unknown', 'message expired', 'blocked by firewall')),
});

const validMessage: fc.Arbitrary<Buffer> = fc.oneof(
  dataMessage.map(encodeData),
  routingUpdate.map(encodeRoutingUpdate),
  serviceAd.map(encodeServiceAdvertisement),
  fc.constant(encodeReject()),
  unreachable.map((u) => encodeData({hopsToLive: 29, fromHash: 1n, toHash: 2n, fromService: 'unreach', toService: 'unreach', payload: encodeUnreachable(u)})),
);

type Mutation = {kind: 'set' | 'insert' | 'delete' | 'truncate'; pos: number; byte: number};
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('set', 'insert', 'delete', 'truncate'),
  pos: fc.nat(),
  byte: fc.integer({min: 0, max: 255}),
});

function mutate(msg: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(msg);
  for (const m of ms) {
    const p = b.length === 0 ? 0 : m.pos % (b.length + 1);
    if (m.kind === 'set' && b.length > 0) b[p % b.length] = m.byte;
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, p), Buffer.from([m.byte]), b.subarray(p)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1)]);
    else if (m.kind === 'truncate') b = b.subarray(0, p);
  }
  return b;
}

// --- properties ------------------------------------------------------------------------

describe('codec properties', () => {
  describe('decodeMessage never throws anything but DecodeError', () => {
    it('for random bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({maxLength: 300}), (bytes) => {
          const m = decodeSafely(bytes);
          if (m !== undefined) reencode(m);
        }),
        {numRuns: 3000},
      );
    });

    it('for each type byte followed by random bytes or random JSON', () => {
      fc.assert(
        fc.property(
          fc.integer({min: 0, max: 5}),
          fc.oneof(
            fc.uint8Array({maxLength: 200}),
            fc.json().map((t) => Buffer.from(t)),
          ),
          (type, body) => {
            const m = decodeSafely(Buffer.concat([Buffer.from([type]), body]));
            if (m !== undefined) reencode(m);
          },
        ),
        {numRuns: 3000},
      );
    });

    it('for JSON bodies shaped like our messages, with members of random JSON types', () => {
      const names = [
        'NodeID',
        'UpdateID',
        'UpdateEpoch',
        'UpdateSequence',
        'Connections',
        'ForwardingNode',
        'SuspectedDuplicate',
        'Service',
        'Time',
        'ConnType',
        'Tags',
        'WorkCommands',
        'Cancel',
        'WorkType',
        'Secure',
      ];
      fc.assert(
        fc.property(
          fc.constantFrom(1, 2),
          fc.array(fc.tuple(fc.constantFrom(...names), fc.oneof(fc.jsonValue(), fc.constantFrom<unknown>('2024-10-24T20:36:52Z', 1.5, -1, 3e16, {a: 1}, [{WorkType: 1}])))),
          (type, members) => {
            const body = '{' + members.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',') + '}';
            const m = decodeSafely(Buffer.from(String.fromCharCode(type) + body));
            if (m !== undefined) reencode(m);
          },
        ),
        RUNS,
      );
    });

    it('for mutated valid messages', () => {
      fc.assert(
        fc.property(validMessage, fc.array(mutation, {minLength: 1, maxLength: 4}), (msg, ms) => {
          const m = decodeSafely(mutate(msg, ms));
          if (m !== undefined) reencode(m);
        }),
        {numRuns: 3000},
      );
    });

    it('for unreachable payloads, mutated', () => {
      fc.assert(
        fc.property(unreachable, fc.array(mutation, {maxLength: 4}), (u, ms) => {
          try {
            decodeUnreachable(mutate(encodeUnreachable(u), ms));
          } catch (err) {
            expect(err).to.be.instanceOf(DecodeError);
            expect((err as DecodeError).code).to.not.equal('internal');
          }
        }),
        RUNS,
      );
    });
  });

  describe('encode → decode round trips', () => {
    it('data messages (bigint hashes > 2^53, unicode services, any payload)', () => {
      fc.assert(
        fc.property(dataMessage, (d) => {
          const bytes = encodeData(d);
          const m = decodeMessage(bytes);
          expect(m.type).to.equal(MSG_TYPE_DATA);
          if (m.type !== MSG_TYPE_DATA) return;
          expect({...m, payload: [...m.payload]}).to.deep.equal({type: 0, ...d, payload: [...d.payload]});
          expect(encodeData(m)).to.deep.equal(bytes);
        }),
        RUNS,
      );
    });

    it('routing updates (uint64 values, unicode names, any finite costs)', () => {
      fc.assert(
        fc.property(routingUpdate, (u) => {
          const bytes = encodeRoutingUpdate(u);
          const m = decodeMessage(bytes);
          if (m.type !== MSG_TYPE_ROUTING_UPDATE) throw new Error('wrong type');
          const {type: _type, ...back} = m;
          expect(back).to.deep.equal(u);
          for (const [k, c] of u.connections) expect(Object.is(back.connections.get(k), c), `cost ${c}`).to.equal(true);
          expect(encodeRoutingUpdate(back)).to.deep.equal(bytes);
        }),
        RUNS,
      );
    });

    it('service advertisements (nanosecond times in any zone, null vs empty collections)', () => {
      fc.assert(
        fc.property(serviceAd, (ad) => {
          const bytes = encodeServiceAdvertisement(ad);
          const m = decodeMessage(bytes);
          if (m.type !== MSG_TYPE_SERVICE_ADVERTISEMENT) throw new Error('wrong type');
          const {type: _type, raw, ...back} = m;
          expect(raw).to.deep.equal(bytes);
          expect(back).to.deep.equal(ad);
          expect(encodeServiceAdvertisement(back)).to.deep.equal(bytes);
        }),
        RUNS,
      );
    });

    it('unreachable payloads', () => {
      fc.assert(
        fc.property(unreachable, (u) => {
          const bytes = encodeUnreachable(u);
          expect(decodeUnreachable(bytes)).to.deep.equal(u);
          expect(encodeUnreachable(decodeUnreachable(bytes))).to.deep.equal(bytes);
        }),
        RUNS,
      );
    });

    it('reject', () => {
      expect(decodeMessage(encodeReject()).type).to.equal(MSG_TYPE_REJECT);
    });

    it('GoTime text ↔ instant', () => {
      fc.assert(
        fc.property(goTime, (t) => {
          const back = unmarshalTimeJSON(t.text)!;
          expect(back).to.deep.equal(t);
          expect(formatRFC3339Nano(back.unixNano, back.offsetSeconds)).to.equal(t.text);
        }),
        RUNS,
      );
    });
  });

  it('decoding ignores member-name case, whitespace and unknown members, like Go', () => {
    const ws = fc.constantFrom('', ' ', '\t', '\n', '\r\n ');
    fc.assert(
      fc.property(routingUpdate, fc.array(fc.boolean(), {minLength: 40, maxLength: 40}), ws, ws, (u, caseFlips, w1, w2) => {
        const canonical = encodeRoutingUpdate(u).subarray(1).toString();
        // Re-case the seven member names, add whitespace and an unknown member.
        let i = 0;
        const recased = canonical.replace(/"(NodeID|UpdateID|UpdateEpoch|UpdateSequence|Connections|ForwardingNode|SuspectedDuplicate)":/g, (_m, name: string) => {
          const flipped = [...name].map((ch) => (caseFlips[i++ % caseFlips.length] ? ch.toLowerCase() : ch.toUpperCase())).join('');
          return `${w1}"${flipped}"${w2}:${w1}`;
        });
        const noisy = `${w2}{"Unknown":{"x":[1,2,{"y":null}]},${recased.slice(1)}${w1}`;
        const m = decodeMessage(Buffer.from('\x01' + noisy));
        if (m.type !== MSG_TYPE_ROUTING_UPDATE) throw new Error('wrong type');
        expect(encodeRoutingUpdate(m).subarray(1).toString()).to.equal(canonical);
      }),
      RUNS,
    );
  });
});
