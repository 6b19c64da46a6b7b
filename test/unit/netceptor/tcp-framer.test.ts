import {expect} from 'chai';
import fc from 'fast-check';
import {MAX_TCP_MESSAGE, TcpFrameError, TcpFramer, encodeTcpFrame} from '../../../src/core/netceptor/tcp-framer.js';

const hex = (bufs: Buffer[]): string[] => bufs.map((b) => b.toString('hex'));

describe('TcpFramer (u16 little-endian length framing, §2.2)', () => {
  it('frames with a little-endian length (spec examples)', () => {
    expect(encodeTcpFrame(Buffer.from([1, 2, 3, 4, 5, 6])).toString('hex')).to.equal('0600010203040506');
    expect(encodeTcpFrame(Buffer.alloc(271)).subarray(0, 2).toString('hex')).to.equal('0f01');
    expect(encodeTcpFrame(Buffer.alloc(MAX_TCP_MESSAGE)).subarray(0, 2).toString('hex')).to.equal('ffff');
  });

  it('refuses to frame empty or over-long messages', () => {
    expect(() => encodeTcpFrame(Buffer.alloc(0)))
      .to.throw(TcpFrameError)
      .with.property('code', 'empty');
    expect(() => encodeTcpFrame(Buffer.alloc(MAX_TCP_MESSAGE + 1)))
      .to.throw(TcpFrameError)
      .with.property('code', 'too-large');
  });

  it('yields one message per whole frame and several from one chunk', () => {
    const f = new TcpFramer();
    const chunk = Buffer.concat([encodeTcpFrame(Buffer.from('ab')), encodeTcpFrame(Buffer.from('c')), encodeTcpFrame(Buffer.from('def'))]);
    expect(hex(f.push(chunk))).to.deep.equal(['6162', '63', '646566']);
    expect(f.buffered).to.equal(0);
  });

  it('returns views into the chunk for frames wholly inside it (no copy)', () => {
    const f = new TcpFramer();
    const chunk = encodeTcpFrame(Buffer.from('hello'));
    const [m] = f.push(chunk);
    expect(m!.buffer).to.equal(chunk.buffer);
  });

  it('reassembles frames split anywhere, including inside the length prefix', () => {
    const msgs = [Buffer.from('a'), Buffer.alloc(300, 7), Buffer.from('xyz')];
    const stream = Buffer.concat(msgs.map(encodeTcpFrame));
    for (let cut1 = 0; cut1 <= stream.length; cut1++) {
      for (const cut2 of [cut1, Math.min(stream.length, cut1 + 1), Math.min(stream.length, cut1 + 2), stream.length]) {
        const f = new TcpFramer();
        const out = [...f.push(stream.subarray(0, cut1)), ...f.push(stream.subarray(cut1, cut2)), ...f.push(stream.subarray(cut2))];
        expect(hex(out)).to.deep.equal(hex(msgs));
        expect(f.buffered).to.equal(0);
      }
    }
  });

  it('byte-at-a-time delivery works and reports buffered bytes', () => {
    const f = new TcpFramer();
    const frame = encodeTcpFrame(Buffer.from('abc'));
    expect(f.push(frame.subarray(0, 1))).to.deep.equal([]);
    expect(f.buffered).to.equal(1);
    expect(f.push(frame.subarray(1, 2))).to.deep.equal([]);
    expect(f.buffered).to.equal(2);
    expect(f.push(frame.subarray(2, 4))).to.deep.equal([]);
    expect(f.buffered).to.equal(4);
    expect(hex(f.push(frame.subarray(4)))).to.deep.equal(['616263']);
    expect(f.push(Buffer.alloc(0))).to.deep.equal([]);
  });

  it('accepts a plain Uint8Array chunk', () => {
    const f = new TcpFramer();
    const frame = encodeTcpFrame(Buffer.from('ok'));
    const u8 = new Uint8Array(frame.length + 4);
    u8.set(frame, 4);
    expect(hex(f.push(new Uint8Array(u8.buffer, 4, frame.length)))).to.deep.equal(['6f6b']);
  });

  it('refuses a zero-length frame, hands back the messages before it, and stays failed', () => {
    const f = new TcpFramer();
    const chunk = Buffer.concat([encodeTcpFrame(Buffer.from('ok')), Buffer.from([0, 0]), encodeTcpFrame(Buffer.from('later'))]);
    try {
      f.push(chunk);
      expect.fail('should have thrown');
    } catch (err) {
      expect(err).to.be.instanceOf(TcpFrameError);
      expect((err as TcpFrameError).code).to.equal('zero-length');
      expect(hex((err as TcpFrameError).messages)).to.deep.equal(['6f6b']);
    }
    expect(f.failed).to.equal(true);
    expect(() => f.push(encodeTcpFrame(Buffer.from('x'))))
      .to.throw(TcpFrameError)
      .with.property('messages')
      .that.deep.equals([]);
  });

  it('refuses a zero-length prefix split across chunks', () => {
    const f = new TcpFramer();
    expect(f.push(Buffer.from([0]))).to.deep.equal([]);
    expect(() => f.push(Buffer.from([0, 5]))).to.throw(TcpFrameError);
  });

  it('reassembles any message sequence under any chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({minLength: 1, maxLength: 700}), {maxLength: 8}), fc.array(fc.nat(), {maxLength: 12}), (msgs, cuts) => {
        const stream = Buffer.concat(msgs.map((m) => encodeTcpFrame(m)));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const f = new TcpFramer();
        const out: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, stream.length]) {
          out.push(...f.push(stream.subarray(prev, p)));
          prev = p;
        }
        expect(hex(out)).to.deep.equal(msgs.map((m) => Buffer.from(m).toString('hex')));
        expect(f.buffered).to.equal(0);
      }),
    );
  });
});
