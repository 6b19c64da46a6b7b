/** The control protocol's line reader: chunk boundaries, CR handling, the limit, raw bytes after a line. */
import {expect} from 'chai';
import {LineReader, LineTooLongError} from '../../../src/core/wire/line-reader.js';

function feed(r: LineReader, ...parts: Array<string | Buffer>): void {
  for (const p of parts) r.push(typeof p === 'string' ? Buffer.from(p) : p);
}

function drain(r: LineReader): string[] {
  const out: string[] = [];
  for (let l = r.nextLine(); l !== undefined; l = r.nextLine()) out.push(l);
  return out;
}

describe('LineReader', () => {
  it('takes lines split over chunks and several lines from one chunk', () => {
    const r = new LineReader();
    feed(r, 'hel', 'lo');
    expect(r.nextLine()).to.equal(undefined);
    feed(r, '\nwor', 'ld\nthree\nfo');
    expect(drain(r)).to.deep.equal(['hello', 'world', 'three']);
    expect(r.size).to.equal(2);
    feed(r, 'ur\n');
    expect(drain(r)).to.deep.equal(['four']);
    expect(r.size).to.equal(0);
  });

  it('gives the same lines for every way of cutting the input', () => {
    const text = 'Receptor Control, node foo\r\n{"a":1}\n\nERROR: x\n';
    for (let cut = 0; cut <= text.length; cut++) {
      for (let cut2 = cut; cut2 <= text.length; cut2++) {
        const r = new LineReader({cr: 'trailing'});
        feed(r, text.slice(0, cut), text.slice(cut, cut2), text.slice(cut2));
        expect(drain(r)).to.deep.equal(['Receptor Control, node foo', '{"a":1}', '', 'ERROR: x']);
      }
    }
  });

  it('does not split a UTF-8 character cut between chunks', () => {
    const bytes = Buffer.from('µs ✓\n');
    const r = new LineReader();
    for (const b of bytes) r.push(Buffer.from([b]));
    expect(r.nextLine()).to.equal('µs ✓');
  });

  it('handles CR as asked: all removed, one trailing removed, or kept', () => {
    const input = 'a\rb\r\nc\r\n';
    const all = new LineReader({cr: 'all'});
    const trailing = new LineReader({cr: 'trailing'});
    const keep = new LineReader({cr: 'keep'});
    for (const r of [all, trailing, keep]) feed(r, input);
    expect(drain(all)).to.deep.equal(['ab', 'c']);
    expect(drain(trailing)).to.deep.equal(['a\rb', 'c']);
    expect(drain(keep)).to.deep.equal(['a\rb\r', 'c\r']);
  });

  it('keeps the bytes after a line for the raw phase, whatever the chunking', () => {
    const r = new LineReader();
    const raw = Buffer.from([0x00, 0x0a, 0xff, 0x0d, 0x0a, 0x41]);
    feed(r, 'Streaming results for work unit x\n', raw.subarray(0, 2));
    feed(r, raw.subarray(2));
    expect(r.nextLine()).to.equal('Streaming results for work unit x');
    expect(r.peek()).to.deep.equal(raw);
    expect(r.takeRest()).to.deep.equal(raw);
    expect(r.size).to.equal(0);
    expect(r.takeRest()).to.deep.equal(Buffer.alloc(0));
    expect(r.nextLine()).to.equal(undefined);
  });

  it('gives the unterminated last line at end of input', () => {
    const r = new LineReader({cr: 'all'});
    feed(r, 'one\ntw', 'o\r');
    expect(r.nextLine()).to.equal('one');
    expect(r.nextLine()).to.equal(undefined);
    expect(r.takePartial()).to.equal('two');
    expect(r.takePartial()).to.equal(undefined);
  });

  it('throws LineTooLongError for an unfinished line over the limit and leaves the buffer alone', () => {
    const r = new LineReader({maxLineLength: 8, label: 'request line'});
    feed(r, 'ok\n', '12345', '678');
    expect(r.nextLine()).to.equal('ok');
    expect(r.nextLine()).to.equal(undefined); // exactly at the limit
    feed(r, '9');
    const err = (() => {
      try {
        r.nextLine();
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).to.be.instanceOf(LineTooLongError);
    expect((err as LineTooLongError).message).to.equal('request line longer than 8 bytes');
    expect((err as LineTooLongError).limit).to.equal(8);
    expect(r.size).to.equal(9);
    expect(() => r.takePartial()).to.throw(LineTooLongError);
  });

  it('applies the limit to a complete line too, and not to the lines before it', () => {
    const r = new LineReader({maxLineLength: 4, label: 'reply line'});
    feed(r, 'abcd\nabcde\n');
    expect(r.nextLine()).to.equal('abcd');
    expect(() => r.nextLine()).to.throw(LineTooLongError, 'reply line longer than 4 bytes');
  });

  it('has no limit by default', () => {
    const r = new LineReader();
    const big = Buffer.alloc(3 << 20, 0x61);
    for (let i = 0; i < big.length; i += 65536) r.push(big.subarray(i, i + 65536));
    expect(r.nextLine()).to.equal(undefined);
    r.push(Buffer.from('\n'));
    expect(r.nextLine()).to.have.length(3 << 20);
  });

  it('accepts Uint8Array chunks and ignores empty ones', () => {
    const r = new LineReader();
    r.push(new Uint8Array(0));
    r.push(new TextEncoder().encode('x\n'));
    expect(r.nextLine()).to.equal('x');
  });
});
