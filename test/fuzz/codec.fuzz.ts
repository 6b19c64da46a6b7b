/**
 * Fuzz target 1: the netceptor frame codec and the TCP framer. Random and mutated bytes decode
 * or fail with a DecodeError (never an internal one); valid messages round-trip byte-exact; the
 * framer, fed any chunking of any byte stream, holds at most one partial frame.
 */
import {expect} from 'chai';
import fc from 'fast-check';
import {MAX_TCP_MESSAGE, TcpFrameError, TcpFramer, encodeTcpFrame} from '../../src/core/netceptor/tcp-framer.js';
import {decodeMessage, encodeData, encodeReject, encodeRoutingUpdate, encodeServiceAdvertisement, MSG_TYPE_DATA} from '../../src/core/netceptor/codec.js';
import {dataMessage, decodeSafely, mutate, mutation, reencode, routingUpdate, serviceAd, validMessage} from '../support/arbitraries.js';
import {fuzz, fuzzSettings} from '../support/fuzz.js';
import {tally} from '../support/tally.js';

/** Largest number of bytes a framer may hold: a length prefix and a message short of one byte. */
const FRAMER_CAP = 2 + MAX_TCP_MESSAGE - 1;

const anyBytes = fc.oneof(
  fc.uint8Array({maxLength: 400}),
  fc.tuple(validMessage, fc.array(mutation, {minLength: 1, maxLength: 6})).map(([m, ms]) => mutate(m, ms)),
  fc.tuple(fc.integer({min: 0, max: 5}), fc.json()).map(([t, j]) => Buffer.concat([Buffer.from([t]), Buffer.from(j)])),
);

/** Splits `data` at the given (sorted, deduplicated) cut points. */
function chunk(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('fuzz: netceptor codec and TCP framer', function () {
  this.timeout(0);
  before(() => tally('targets'));

  it('decodeMessage: any bytes decode or fail with a non-internal DecodeError; decoded messages re-encode', () => {
    fuzz(fuzzSettings('codec-decode', 0x1c0de, 3000), anyBytes, (bytes) => {
      const m = decodeSafely(bytes);
      if (m !== undefined) reencode(m);
    });
  });

  it('valid messages round-trip byte-exact', () => {
    const encoded = fc.oneof(dataMessage.map(encodeData), routingUpdate.map(encodeRoutingUpdate), serviceAd.map(encodeServiceAdvertisement), fc.constant(encodeReject()));
    fuzz(fuzzSettings('codec-roundtrip', 0x2c0de, 2000), encoded, (bytes) => {
      const m = decodeMessage(bytes);
      const back = reencode(m);
      expect(back, `type ${m.type}`).to.not.equal(undefined);
      expect(Buffer.compare(back!, bytes), `re-encoded type ${m.type} differs`).to.equal(0);
      if (m.type === MSG_TYPE_DATA) expect(Buffer.compare(m.payload, bytes.subarray(36))).to.equal(0);
    });
  });

  it('TcpFramer: any chunking of framed messages and garbage yields the messages and never buffers past one frame', () => {
    const stream = fc.record({
      messages: fc.array(
        fc.oneof(
          {weight: 4, arbitrary: fc.uint8Array({minLength: 1, maxLength: 300})},
          {weight: 1, arbitrary: fc.integer({min: 1, max: MAX_TCP_MESSAGE}).map((n) => new Uint8Array(n))},
        ),
        {maxLength: 8},
      ),
      garbage: fc.option(fc.uint8Array({minLength: 1, maxLength: 64})),
      cuts: fc.array(fc.nat(), {maxLength: 40}),
    });
    fuzz(fuzzSettings('tcp-framer', 0x3c0de, 1000), stream, ({messages, garbage, cuts}) => {
      const framed = Buffer.concat([...messages.map((m) => encodeTcpFrame(m)), garbage ?? Buffer.alloc(0)]);
      const f = new TcpFramer();
      const got: Buffer[] = [];
      let failed = false;
      for (const c of chunk(framed, cuts)) {
        try {
          got.push(...f.push(c));
        } catch (err) {
          expect(err).to.be.instanceOf(TcpFrameError);
          got.push(...(err as TcpFrameError).messages);
          failed = true;
          break;
        }
        expect(f.buffered, 'framer buffered bytes').to.be.at.most(FRAMER_CAP);
      }
      // The well-formed prefix always comes out whole and in order.
      expect(got.length).to.be.at.least(messages.length);
      for (let i = 0; i < messages.length; i++) expect(Buffer.compare(got[i]!, Buffer.from(messages[i]!)), `message ${i}`).to.equal(0);
      if (garbage === null) {
        expect(failed).to.equal(false);
        expect(f.buffered).to.equal(0);
      }
    });
  });
});
