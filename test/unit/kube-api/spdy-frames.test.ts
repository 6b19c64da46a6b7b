// SPDY/3.1 framing: encode/decode round trips, header blocks through the shared zlib contexts with
// the SPDY/3 dictionary (checked against bytes moby/spdystream's Go framer wrote), and bounds.
import {expect} from 'chai';
import fc from 'fast-check';
import zlib from 'node:zlib';
import {
  DEFAULT_WINDOW,
  FLAG_FIN,
  FrameDecoder,
  HEADER_DICTIONARY,
  HeaderCompressor,
  HeaderDecompressor,
  MAX_CONTROL_PAYLOAD,
  SpdyProtocolError,
  decodeHeaderBlock,
  encodeData,
  encodeGoAway,
  encodeHeaderBlock,
  encodeHeaders,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  inflateFrame,
  type Frame,
  type RawFrame,
} from '../../support/kube-api/spdy/frames.js';

/**
 * Written by moby/spdystream v0.2.0's spdy.Framer (Go): SYN_STREAM 1 {streamtype: error},
 * SYN_STREAM 3 {streamtype: stdin} (the second block continues the first's zlib stream),
 * DATA 3 "hello\n", DATA 3 with FIN.
 */
const GO_FRAMES =
  '80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff' +
  '800300010000001700000003000000000000c22e555c92929907000000ffff' +
  '000000030000000668656c6c6f0a' +
  '0000000301000000';

function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (const x of b) {
    a = (a + x) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

async function decodeAll(bytes: Buffer, split: number[] = []): Promise<Frame[]> {
  const d = new FrameDecoder();
  const inf = new HeaderDecompressor();
  const out: Frame[] = [];
  let prev = 0;
  for (const cut of [...split, bytes.length]) {
    d.push(bytes.subarray(prev, cut));
    prev = cut;
    let f: RawFrame | null;
    while ((f = d.next())) out.push(await inflateFrame(inf, f));
  }
  inf.close();
  return out;
}

describe('kube-api SPDY/3.1 framing', () => {
  it('the header dictionary is SPDY/3’s (1423 bytes, zlib DICTID 0xe3c6a7c2 as in Go’s stream)', () => {
    expect(HEADER_DICTIONARY.length).to.equal(1423);
    expect(adler32(HEADER_DICTIONARY)).to.equal(0xe3c6a7c2);
    expect(Buffer.from(GO_FRAMES, 'hex').subarray(18, 24).toString('hex')).to.equal('78f9e3c6a7c2');
  });

  it('reads what Go’s spdystream framer writes, whatever the read boundaries', async () => {
    const bytes = Buffer.from(GO_FRAMES, 'hex');
    const expected = [
      {type: 'syn_stream', streamId: 1, associatedId: 0, priority: 0, slot: 0, flags: 0, headers: {streamtype: ['error']}},
      {type: 'syn_stream', streamId: 3, associatedId: 0, priority: 0, slot: 0, flags: 0, headers: {streamtype: ['stdin']}},
      {type: 'data', streamId: 3, flags: 0, data: Buffer.from('hello\n')},
      {type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.alloc(0)},
    ];
    expect(await decodeAll(bytes)).to.deep.equal(expected);
    for (let cut = 1; cut < bytes.length; cut++) expect(await decodeAll(bytes, [cut])).to.deep.equal(expected);
    const everyByte = Array.from({length: bytes.length - 1}, (_, i) => i + 1);
    expect(await decodeAll(bytes, everyByte)).to.deep.equal(expected);
  });

  it('our compressed header blocks continue one zlib stream that plain zlib inflates (as Go does)', async () => {
    const c = new HeaderCompressor();
    const a = await encodeSynReply(c, 1, {});
    const b = await encodeSynReply(c, 3, {'x-two': ['1', '2'], streamtype: ['stdout']});
    c.close();
    // One inflate over both blocks, as spdystream's shared zlib reader sees them.
    const stream = Buffer.concat([a.subarray(12), b.subarray(12)]);
    const raw = zlib.inflateSync(stream, {dictionary: HEADER_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH});
    const first = encodeHeaderBlock({});
    expect(raw.subarray(0, first.length)).to.deep.equal(first);
    expect(decodeHeaderBlock(raw.subarray(first.length), 3)).to.deep.equal({'x-two': ['1', '2'], streamtype: ['stdout']});
    expect(a.subarray(12, 18).toString('hex')).to.equal('78f9e3c6a7c2'); // zlib header with the dictionary id
  });

  it('round-trips every frame type', async () => {
    const c = new HeaderCompressor();
    const bytes = Buffer.concat([
      await encodeSynStream(c, {streamId: 5, associatedId: 2, priority: 7, slot: 3, flags: FLAG_FIN, headers: {streamtype: ['resize']}}),
      await encodeSynReply(c, 5, {a: ['b']}, FLAG_FIN),
      await encodeHeaders(c, 5, {c: ['d', 'e']}),
      encodeRstStream(5, 5),
      encodeSettings([
        {id: 7, value: 1 << 20, flags: 1},
        {id: 4, value: 100},
      ]),
      encodePing(7),
      encodeGoAway(5, 1),
      encodeWindowUpdate(0, DEFAULT_WINDOW),
      encodeData(5, Buffer.from('x'.repeat(70_000)), FLAG_FIN),
    ]);
    c.close();
    const frames = await decodeAll(bytes);
    expect(frames.map((f) => f.type)).to.deep.equal(['syn_stream', 'syn_reply', 'headers', 'rst_stream', 'settings', 'ping', 'goaway', 'window_update', 'data']);
    expect(frames[0]).to.deep.equal({type: 'syn_stream', streamId: 5, associatedId: 2, priority: 7, slot: 3, flags: FLAG_FIN, headers: {streamtype: ['resize']}});
    expect(frames[1]).to.deep.equal({type: 'syn_reply', streamId: 5, flags: FLAG_FIN, headers: {a: ['b']}});
    expect(frames[2]).to.deep.equal({type: 'headers', streamId: 5, flags: 0, headers: {c: ['d', 'e']}});
    expect(frames[3]).to.deep.equal({type: 'rst_stream', streamId: 5, status: 5});
    expect(frames[4]).to.deep.equal({
      type: 'settings',
      flags: 0,
      entries: [
        {flags: 1, id: 7, value: 1 << 20},
        {flags: 0, id: 4, value: 100},
      ],
    });
    expect(frames[5]).to.deep.equal({type: 'ping', id: 7});
    expect(frames[6]).to.deep.equal({type: 'goaway', lastGoodStreamId: 5, status: 1});
    expect(frames[7]).to.deep.equal({type: 'window_update', streamId: 0, delta: DEFAULT_WINDOW});
    expect(frames[8]).to.deep.include({type: 'data', streamId: 5, flags: FLAG_FIN});
    expect((frames[8] as {data: Buffer}).data.length).to.equal(70_000);
  });

  it('header blocks round-trip through shared contexts for arbitrary names and values', async () => {
    const name = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
    const value = fc.string({maxLength: 40}).filter((v) => !v.includes('\0'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.dictionary(name, fc.array(value, {minLength: 1, maxLength: 3})), {minLength: 1, maxLength: 5}), async (blocks) => {
        const c = new HeaderCompressor();
        const inf = new HeaderDecompressor();
        try {
          for (const [i, h] of blocks.entries()) {
            const d = new FrameDecoder();
            d.push(await encodeHeaders(c, 2 * i + 1, h));
            const f = await inflateFrame(inf, d.next()!);
            expect(f).to.deep.equal({type: 'headers', streamId: 2 * i + 1, flags: 0, headers: {...h}});
          }
        } finally {
          c.close();
          inf.close();
        }
      }),
      {numRuns: 40},
    );
  });

  describe('bounds: a malformed frame is an error, never a crash or a huge allocation', () => {
    const bad: Array<[string, string]> = [
      ['control frame of version 2', '8002000800000004' + '00000001'],
      ['RST_STREAM of 4 bytes', '8003000300000004' + '00000001'],
      ['RST_STREAM with status 0', '8003000300000008' + '00000001' + '00000000'],
      ['RST_STREAM on stream 0', '8003000300000008' + '00000000' + '00000005'],
      ['PING of 8 bytes', '8003000600000008' + '0000000100000002'],
      ['GOAWAY of 4 bytes', '8003000700000004' + '00000000'],
      ['WINDOW_UPDATE with delta 0', '8003000900000008' + '00000001' + '00000000'],
      ['WINDOW_UPDATE of 12 bytes', '800300090000000c' + '00000001' + '00000001' + '00000000'],
      ['SETTINGS claiming 2 entries in 1', '800300040000000c' + '00000002' + '0000000700010000'],
      ['SYN_STREAM shorter than its fixed part', '8003000100000006' + '000000010000'],
      ['SYN_STREAM on stream 0', '800300010000000a' + '00000000000000000000'],
      ['SYN_REPLY of 2 bytes', '8003000200000002' + '0000'],
      ['DATA on stream 0', '0000000000000001' + '61'],
    ];
    for (const [name, hex] of bad) {
      it(name, async () => {
        const err = await decodeAll(Buffer.from(hex, 'hex')).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(SpdyProtocolError);
      });
    }

    it('rejects an oversized control frame from its 8-byte head, before buffering it', () => {
      const d = new FrameDecoder();
      const head = Buffer.alloc(8);
      head.writeUInt32BE(0x80030001, 0);
      head.writeUInt32BE(MAX_CONTROL_PAYLOAD + 1, 4);
      d.push(head);
      expect(() => d.next()).to.throw(SpdyProtocolError, /exceeds/);
    });

    it('honours a data frame limit', () => {
      const d = new FrameDecoder({maxDataPayload: 10});
      d.push(encodeData(1, Buffer.alloc(11)));
      expect(() => d.next()).to.throw(SpdyProtocolError, /exceeds 10/);
    });

    it('waits for a whole frame without consuming a partial one', () => {
      const d = new FrameDecoder();
      const f = encodeData(1, Buffer.from('abcdef'));
      d.push(f.subarray(0, 10));
      expect(d.next()).to.equal(null);
      expect(d.bufferedBytes).to.equal(10);
      d.push(f.subarray(10));
      expect(d.next()).to.deep.equal({type: 'data', streamId: 1, flags: 0, data: Buffer.from('abcdef')});
    });

    it('ignores unknown control frame types (as the draft says)', async () => {
      const frames = await decodeAll(Buffer.from('8003000a00000003' + '010203', 'hex'));
      expect(frames).to.deep.equal([{type: 'unknown', frameType: 10, flags: 0, payload: Buffer.from([1, 2, 3])}]);
    });

    const blocks: Array<[string, Buffer]> = [
      ['a count larger than the block can hold', Buffer.from('000003e8' + '00000000', 'hex')],
      ['a name length past the end', Buffer.from('00000001' + '000000ff' + '6162', 'hex')],
      ['a value length past the end', Buffer.from('00000001' + '00000001' + '61' + '00001000', 'hex')],
      ['an empty name', Buffer.from('00000001' + '00000000' + '00000000', 'hex')],
      ['an upper-case name', Buffer.from('00000001' + '00000001' + '41' + '00000000', 'hex')],
      ['a duplicate name', Buffer.from('00000002' + '0000000161' + '00000000' + '0000000161' + '00000000', 'hex')],
      ['trailing bytes', Buffer.from('00000000' + '00', 'hex')],
      ['no count', Buffer.from('0000', 'hex')],
    ];
    for (const [name, raw] of blocks) {
      it(`header block with ${name}`, () => {
        expect(() => decodeHeaderBlock(raw, 1)).to.throw(SpdyProtocolError);
      });
    }

    it('a header block that does not inflate, and one that inflates past the limit', async () => {
      const inf = new HeaderDecompressor();
      const err1 = await inf.decompress(Buffer.from('00010203', 'hex'), 1).catch((e: unknown) => e);
      expect(err1).to.be.instanceOf(SpdyProtocolError);
      // The context is poisoned from then on (the connection must close).
      const ok = await encodeSynReply(new HeaderCompressor(), 1, {});
      const err2 = await inf.decompress(ok.subarray(12), 1).catch((e: unknown) => e);
      expect(err2).to.be.instanceOf(SpdyProtocolError);
      inf.close();

      const bomb = zlib.deflateSync(Buffer.alloc(4 * 1024 * 1024), {dictionary: HEADER_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH});
      expect(bomb.length).to.be.below(MAX_CONTROL_PAYLOAD);
      const inf2 = new HeaderDecompressor();
      const err3 = await inf2.decompress(bomb, 1).catch((e: unknown) => e);
      expect(err3).to.be.instanceOf(SpdyProtocolError);
      inf2.close();
    });

    it('encoders refuse what cannot be on the wire', () => {
      expect(() => encodeData(0, Buffer.alloc(1))).to.throw(RangeError);
      expect(() => encodeData(0x80000000, Buffer.alloc(1))).to.throw(RangeError);
      expect(() => encodeWindowUpdate(1, 0)).to.throw(RangeError);
      expect(() => encodeRstStream(0, 1)).to.throw(RangeError);
    });
  });
});
