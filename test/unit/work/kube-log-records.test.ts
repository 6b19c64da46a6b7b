/** The timestamped log parser and the resume rule: any split, any break, no line lost or doubled. */
import {expect} from 'chai';
import {LogResume, TimestampedLogParser, sinceTimeOf, timestampKey, type LogRecord} from '../../../src/core/work/kubernetes/log-records.js';

/** kubelet's output format (RFC3339NanoFixed). */
function ts(sec: number, nano: number): string {
  const d = new Date(Date.UTC(2026, 11, 7, 12, 0, 0) + sec * 1000).toISOString().slice(0, 19);
  return `${d}.${String(nano).padStart(9, '0')}Z`;
}

interface Rec {
  t: string;
  content: string;
}

function render(recs: Rec[]): Buffer {
  return Buffer.from(recs.map((r) => `${r.t} ${r.content}`).join(''), 'utf8');
}

function parseAll(buf: Buffer, cuts: number[]): LogRecord[] {
  const p = new TimestampedLogParser();
  const out: LogRecord[] = [];
  let at = 0;
  for (const c of [...cuts, buf.length]) {
    out.push(...p.feed(buf.subarray(at, c)));
    at = c;
  }
  out.push(...p.endClean());
  return out;
}

describe('kubernetes log records', () => {
  it('timestamp keys sort like time and sinceTime has second precision', () => {
    expect(timestampKey('2026-12-07T12:00:01.5Z')).to.equal('2026-12-07T12:00:01.500000000');
    expect(timestampKey('2026-12-07T12:00:01Z')).to.equal('2026-12-07T12:00:01.000000000');
    expect(timestampKey('2026-12-07T13:00:01.000000001+01:00')).to.equal('2026-12-07T12:00:01.000000001');
    expect(timestampKey('hello')).to.equal(undefined);
    expect(sinceTimeOf('2026-12-07T12:00:01.999999999')).to.equal('2026-12-07T12:00:01Z');
  });

  it('splits full and partial (LF-less) records at any chunk boundary', () => {
    const recs: Rec[] = [
      {t: ts(0, 1), content: 'first line\n'},
      {t: ts(0, 2), content: 'a long line, part one '},
      {t: ts(0, 3), content: 'and part two\n'},
      {t: ts(1, 0), content: 'has 2026-12-07T11:00:00.000000000Z inside (earlier: not a boundary)\n'},
      {t: ts(1, 5), content: '\n'},
      {t: ts(2, 0), content: 'no newline at the end'},
    ];
    const buf = render(recs);
    for (let cut = 0; cut <= buf.length; cut++) {
      const got = parseAll(buf, [cut]);
      expect(
        got.map((r) => r.content.toString()),
        `cut ${cut}`,
      ).to.deep.equal(recs.map((r) => r.content));
      expect(got.map((r) => r.ts)).to.deep.equal(recs.map((r) => timestampKey(r.t)));
    }
    // Byte by byte.
    const cuts = Array.from({length: buf.length}, (_, i) => i);
    expect(Buffer.concat(parseAll(buf, cuts).map((r) => r.content)).toString()).to.equal(recs.map((r) => r.content).join(''));
  });

  it('a 32 MiB line in 64 KiB chunks is one record, parsed in linear time', () => {
    const body = Buffer.alloc(32 * 1024 * 1024, 0x61);
    const stream = Buffer.concat([Buffer.from(`${ts(0, 1)} `), body, Buffer.from(`\n${ts(0, 2)} next\n`)]);
    const p = new TimestampedLogParser();
    // Linear, checked by structure rather than by the clock: the pending line's buffer grows by
    // doubling (a handful of copies, not one per chunk), and each feed searches only the new
    // bytes (plus a timestamp's length), not the whole pending line again.
    const inner = p as unknown as {store: Buffer; buf: Buffer; scanned: number};
    const stores = new Set<ArrayBufferLike>();
    const got: LogRecord[] = [];
    for (let i = 0; i < stream.length; i += 65536) {
      got.push(...p.feed(stream.subarray(i, i + 65536)));
      stores.add(inner.store.buffer);
      if (got.length === 0) expect(inner.buf.length - inner.scanned, `unsearched bytes after chunk ${i / 65536}`).to.be.at.most(64);
    }
    expect(stores.size, 'buffer reallocations for 512 chunks').to.be.at.most(12);
    expect(got.length).to.equal(2);
    expect(got[0].content.length).to.equal(body.length + 1);
    expect(got[1].content.toString()).to.equal('next\n');
  });

  it('a broken stream drops its incomplete trailing record', () => {
    const p = new TimestampedLogParser();
    const got = p.feed(Buffer.from(`${ts(0, 1)} one\n${ts(0, 2)} tw`));
    expect(got.map((r) => r.content.toString())).to.deep.equal(['one\n']);
    expect(p.endBroken()).to.be.greaterThan(0);
    expect(p.feed(Buffer.from(`${ts(0, 2)} two\n`)).map((r) => r.content.toString())).to.deep.equal(['two\n']);
  });

  it('lines without a timestamp are kept', () => {
    const p = new TimestampedLogParser();
    const got = p.feed(Buffer.from(`plain\nnot-a-time and more\n${ts(0, 1)} x\n`));
    expect(got.map((r) => [r.ts, r.content.toString()])).to.deep.equal([
      [undefined, 'plain\n'],
      [undefined, 'not-a-time and more\n'],
      [timestampKey(ts(0, 1)), 'x\n'],
    ]);
  });

  /** A server as kubelet: records with ts >= sinceTime (second precision). */
  function serve(all: Rec[], since: string | undefined): Buffer {
    const s = since ? timestampKey(since)! : '';
    return render(all.filter((r) => timestampKey(r.t)! >= s));
  }

  it('resumes after breaks at every offset without losing or doubling a record, equal timestamps included', () => {
    const all: Rec[] = [];
    for (let i = 0; i < 40; i++) {
      // Seven records per second, pairs sharing a nanosecond timestamp; each connection breaks after `step`
      // bytes, which must exceed one second of log (sinceTime resends the whole second).
      all.push({t: ts(Math.floor(i / 7), Math.floor(i / 2)), content: `line ${i}${i % 5 === 0 ? '' : '\n'}`});
    }
    const want = all.map((r) => r.content).join('');
    for (const step of [400, 433, 512, 777, 1000]) {
      const resume = new LogResume();
      let out = '';
      for (let round = 0; round < 10_000; round++) {
        const body = serve(all, resume.sinceTime());
        resume.reconnect();
        const p = new TimestampedLogParser();
        const n = Math.min(body.length, step);
        const whole = n === body.length;
        for (const r of p.feed(body.subarray(0, n))) if (resume.accept(r.ts)) out += r.content.toString();
        if (whole) {
          for (const r of p.endClean()) if (resume.accept(r.ts)) out += r.content.toString();
          break;
        }
        p.endBroken();
      }
      expect(out, `step ${step}`).to.equal(want);
    }
  });

  it('a resume position restores a restarted reader', () => {
    const r1 = new LogResume();
    expect(r1.accept('2026-12-07T12:00:00.000000001')).to.equal(true);
    expect(r1.accept('2026-12-07T12:00:00.000000001')).to.equal(true);
    const r2 = new LogResume(r1.position());
    expect(r2.sinceTime()).to.equal('2026-12-07T12:00:00Z');
    expect(r2.accept('2026-12-07T12:00:00.000000000')).to.equal(false);
    expect(r2.accept('2026-12-07T12:00:00.000000001')).to.equal(false);
    expect(r2.accept('2026-12-07T12:00:00.000000001')).to.equal(false);
    expect(r2.accept('2026-12-07T12:00:00.000000001')).to.equal(true);
    expect(r2.accept('2026-12-07T12:00:00.000000002')).to.equal(true);
  });
});
