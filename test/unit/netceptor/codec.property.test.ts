import {expect} from 'chai';
import fc from 'fast-check';
import {
  DecodeError,
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
} from '../../../src/core/netceptor/codec.js';
import {formatRFC3339Nano, unmarshalTimeJSON} from '../../../src/core/go/time.js';
import {dataMessage, decodeSafely, goTime, mutate, mutation, reencode, routingUpdate, serviceAd, unreachable, validMessage} from '../../support/arbitraries.js';

const RUNS = {numRuns: 1500};

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
