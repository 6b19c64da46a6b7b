/**
 * fast-check arbitraries for netceptor messages, shared by the property tests
 * (test/unit/netceptor/*.property.test.ts) and the fuzz suite (test/fuzz).
 */
import {expect} from 'chai';
import fc from 'fast-check';
import {
  DecodeError,
  EncodeError,
  MSG_TYPE_DATA,
  MSG_TYPE_ROUTING_UPDATE,
  MSG_TYPE_SERVICE_ADVERTISEMENT,
  decodeMessage,
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
} from '../../src/core/netceptor/codec.js';
import {timeFromUnixNano, unmarshalTimeJSON} from '../../src/core/go/time.js';

export const UINT64_MAX = (1n << 64n) - 1n;
export const uint64 = fc.oneof(fc.bigInt(0n, UINT64_MAX), fc.bigInt(1n << 53n, UINT64_MAX), fc.constantFrom(0n, 1n, UINT64_MAX));
export const text = fc.string({unit: 'binary', maxLength: 16});
export const nodeName = fc.oneof(text, fc.constantFrom('foo', 'bar', 'baz', '<&>', 'ÄÖÜ-node', '😀'));
export const serviceName = fc.string({unit: 'binary', maxLength: 8}).filter((s) => Buffer.byteLength(s, 'utf8') <= 8 && !s.endsWith('\u0000'));
export const cost = fc.double({noNaN: true, noDefaultInfinity: true});

export const dataMessage: fc.Arbitrary<DataMessage> = fc.record({
  hopsToLive: fc.integer({min: 0, max: 255}),
  fromHash: uint64,
  toHash: uint64,
  fromService: serviceName,
  toService: serviceName,
  payload: fc.uint8Array({maxLength: 300}),
});

export const routingUpdate: fc.Arbitrary<RoutingUpdate> = fc.record({
  nodeId: nodeName,
  updateId: text,
  updateEpoch: uint64,
  updateSequence: uint64,
  connections: fc.array(fc.tuple(nodeName, cost), {maxLength: 6}).map((e) => new Map(e)),
  forwardingNode: nodeName,
  suspectedDuplicate: uint64,
});

export const MIN_NS = unmarshalTimeJSON('0000-01-01T00:00:00Z')!.unixNano;
export const MAX_NS = unmarshalTimeJSON('9999-12-31T23:59:59.999999999Z')!.unixNano;
export const goTime = fc
  .tuple(fc.oneof(fc.bigInt(MIN_NS, MAX_NS), fc.bigInt(0n, 4_000_000_000n * 1_000_000_000n)), fc.integer({min: -1439, max: 1439}), fc.boolean())
  .map(([ns, minutes, utc]) => {
    const offset = utc ? 0 : minutes * 60;
    try {
      return timeFromUnixNano(ns, offset);
    } catch {
      return timeFromUnixNano(ns, 0); // local year would leave 0–9999
    }
  });

export const serviceAd: fc.Arbitrary<ServiceAdvertisement> = fc.record({
  nodeId: nodeName,
  service: text,
  time: goTime,
  connType: fc.integer({min: 0, max: 255}),
  tags: fc.option(fc.array(fc.tuple(text, text), {maxLength: 4}).map((e) => new Map(e))),
  workCommands: fc.option(fc.array(fc.record({workType: text, secure: fc.boolean()}), {maxLength: 3})),
  cancel: fc.boolean(),
});

export const unreachable: fc.Arbitrary<UnreachableMessage> = fc.record({
  fromNode: nodeName,
  toNode: nodeName,
  fromService: text,
  toService: text,
  problem: fc.oneof(text, fc.constantFrom('service unknown', 'message expired', 'blocked by firewall')),
});

export const validMessage: fc.Arbitrary<Buffer> = fc.oneof(
  dataMessage.map(encodeData),
  routingUpdate.map(encodeRoutingUpdate),
  serviceAd.map(encodeServiceAdvertisement),
  fc.constant(encodeReject()),
  unreachable.map((u) => encodeData({hopsToLive: 29, fromHash: 1n, toHash: 2n, fromService: 'unreach', toService: 'unreach', payload: encodeUnreachable(u)})),
);

export type Mutation = {kind: 'set' | 'insert' | 'delete' | 'truncate'; pos: number; byte: number};
export const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('set', 'insert', 'delete', 'truncate'),
  pos: fc.nat(),
  byte: fc.integer({min: 0, max: 255}),
});

export function mutate(msg: Buffer, ms: Mutation[]): Buffer {
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

/** Decodes; a failure must be a DecodeError that is not an internal bug. Returns the message or undefined. */
export function decodeSafely(bytes: Uint8Array): NetceptorMessage | undefined {
  try {
    return decodeMessage(bytes);
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(DecodeError);
    expect((err as DecodeError).code, (err as Error).message).to.not.equal('internal');
    return undefined;
  }
}

/** Re-encodes a decoded message; allowed to refuse only with EncodeError. */
export function reencode(m: NetceptorMessage): Buffer | undefined {
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
