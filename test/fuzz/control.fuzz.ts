/**
 * Fuzz target 3: the control line protocol. A real control server (unix socket, in process,
 * with a work manager and a harmless `true` work type) gets sessions of random lines for every
 * command, text and JSON forms, random words and fields, huge and binary lines. Each session
 * gets a reply or an error (or the server closes it), and the next session is served.
 */
import {expect} from 'chai';
import fc from 'fast-check';
import net from 'node:net';
import {fuzzAsync, fuzzSettings, HANG_LIMIT_MS} from '../support/fuzz.js';
import {tally} from '../support/tally.js';
import {commandType, startWorkNode, submitWork, type WorkNode} from '../support/work.js';

const COMMANDS = ['ping', 'status', 'traceroute', 'connect', 'work', 'reload'];
const SUBCOMMANDS = ['submit', 'list', 'status', 'results', 'cancel', 'release', 'force-release'];

/** Every server reply line starts with one of these (or is JSON, or the raw results stream). */
const REPLY = /^(ERROR: |\{|Work unit created|Reply from |Connecting|\d+: |Streaming results|Reload |ping )/;

const word = fc.oneof(
  fc.constantFrom('foo', 'bar', 'control', 'true', 'cmd', '0', '-1', '99999999999999999999', '1.5', '""', '{}', '[]', 'null', '..', '../x', '/etc'),
  fc.string({unit: 'grapheme-ascii', maxLength: 12}).filter((s) => !/[\s]/.test(s)),
  fc.string({unit: 'binary', maxLength: 8}).filter((s) => !/[\r\n]/.test(s)),
);

const jsonValue = fc.oneof(fc.jsonValue({maxDepth: 2}), fc.constantFrom<unknown>('foo', 'true', 'control', -1, 2 ** 64, '0', '', null));

/** One request line, as a description (built in the case so failures print short). */
type LineSpec = {text: string[]} | {json: Array<[string, unknown]>} | {huge: number} | {binary: Uint8Array};
const lineSpec: fc.Arbitrary<LineSpec> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      text: fc
        .tuple(fc.oneof(fc.constantFrom(...COMMANDS), word), fc.constantFrom(...SUBCOMMANDS, ''), fc.array(word, {maxLength: 4}))
        .map(([c, s, rest]) => [c, s, ...rest].filter((w) => w !== '')),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      json: fc
        .tuple(
          fc.oneof(fc.constantFrom(...COMMANDS), word),
          fc.option(fc.constantFrom(...SUBCOMMANDS)),
          fc.array(fc.tuple(fc.constantFrom('node', 'service', 'unitid', 'startpos', 'worktype', 'tlsclient', 'ttl', 'signwork', 'signature', 'params', 'count', 'x'), jsonValue), {
            maxLength: 5,
          }),
        )
        .map(([c, s, fields]): Array<[string, unknown]> => [['command', c], ...(s === null ? [] : [['subcommand', s] as [string, unknown]]), ...fields]),
    }),
  },
  {weight: 1, arbitrary: fc.record({huge: fc.integer({min: 1, max: 2 << 20})})},
  {weight: 1, arbitrary: fc.record({binary: fc.uint8Array({minLength: 1, maxLength: 200})})},
);

function buildLine(spec: LineSpec): Buffer {
  if ('text' in spec) return Buffer.from(spec.text.join(' ') + '\n');
  if ('json' in spec) return Buffer.from('{' + spec.json.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',') + '}\n');
  if ('huge' in spec) return Buffer.concat([Buffer.from('ping '), Buffer.alloc(spec.huge, 'x'), Buffer.from('\n')]);
  return Buffer.from(spec.binary);
}

/** Writes the lines, half-closes and collects what the server sends until it closes (or the deadline). */
function session(path: string, lines: Buffer[], deadlineMs: number): Promise<{out: string; closed: boolean}> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({out: Buffer.concat(parts).toString('latin1'), closed: false});
    }, deadlineMs);
    s.on('data', (d) => parts.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({out: Buffer.concat(parts).toString('latin1'), closed: true});
    });
    s.once('connect', () => {
      for (const l of lines) s.write(l);
      s.end();
    });
  });
}

describe('fuzz: control line protocol', function () {
  this.timeout(0);
  let w: WorkNode;
  let unitId = '';

  before(async () => {
    tally('targets');
    // The runner is `true` too: no process of this node runs anything.
    w = await startWorkNode('foo', {types: [commandType('true', 'true', '', {allowRuntimeParams: true})], selfCommand: ['true']});
    unitId = (await submitWork(w.sock, {node: 'foo', worktype: 'true'})).id;
    expect(unitId).to.match(/^[A-Za-z0-9]+$/);
  });
  after(async () => {
    await w?.close();
  });

  it('every session gets a reply or an error, and the server serves the next one', async () => {
    const idWord = fc.constantFrom(() => unitId);
    const spec = fc.array(
      fc.oneof(
        {weight: 6, arbitrary: lineSpec},
        {weight: 1, arbitrary: fc.tuple(fc.constantFrom('status', 'results', 'cancel', 'release'), idWord).map(([sub, id]): LineSpec => ({text: ['work', sub, id()]}))},
      ),
      {minLength: 1, maxLength: 3},
    );
    let open = 0;
    await fuzzAsync(fuzzSettings('control', 0xc7a1, 200), spec, async (specs) => {
      const lines = specs.map(buildLine);
      const {out, closed} = await session(w.sock, lines, HANG_LIMIT_MS - 1000);
      if (!closed) open++;
      // The first line that is not empty gets an answer: a reply or an error, never silence.
      // Empty lines get none, as in Go (its reader drops CRs, and an empty line is skipped;
      // a last line without LF is run at EOF).
      const answerable = Buffer.concat(lines)
        .toString('latin1')
        .replace(/\r/g, '')
        .split('\n')
        .some((l) => l.length > 0);
      const [greeting, first] = out.split('\n');
      expect(greeting).to.equal('Receptor Control, node foo');
      if (answerable) expect(first, 'reply to the first line that is not empty').to.match(REPLY);
      else expect(out, 'no reply to empty lines').to.equal('Receptor Control, node foo\n');
      // The server still serves the next session.
      const {out: pong} = await session(w.sock, [Buffer.from('ping foo\n')], HANG_LIMIT_MS - 1000);
      expect(pong).to.match(/^Receptor Control, node foo\n\{"From":"foo",.*"Success":true/);
      // Units made by random submits are dropped again, so the datadir stays small.
      for (const u of w.wc.list()) if (u.id !== unitId) await session(w.sock, [Buffer.from(`work force-release ${u.id}\n`)], HANG_LIMIT_MS - 1000);
    });
    console.log(`  control: ${open} sessions still open at their deadline (streams, connects)`);
  });
});
