/**
 * Random `work` requests (JSON and text forms, with random payloads) never crash the node:
 * every request gets a reply line, and the node keeps answering afterwards.
 */
import {expect} from 'chai';
import fc from 'fast-check';
import {converse} from '../support/control.js';
import {ask, commandType, startWorkNode, type WorkNode} from '../support/work.js';

const SUBS = ['submit', 'list', 'status', 'results', 'cancel', 'release', 'force-release', 'SUBMIT', 'bogus', ''];
const KEYS = ['node', 'worktype', 'unitid', 'startpos', 'params', 'tlsclient', 'ttl', 'signwork', 'signature', 'secret_x', 'other'];

const value = fc.oneof(
  fc.constantFrom('localhost', 'foo', 'bar', 'echo', 'nope', '', '0', '-1', 'true', '1s', 'abc'),
  fc.string({maxLength: 12}),
  fc.integer({min: -5, max: 1 << 20}),
  fc.double({noNaN: true}),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({maxLength: 3}), {maxLength: 2}),
);

const jsonRequest = fc
  .record({sub: fc.option(fc.constantFrom(...SUBS, 5 as unknown as string)), fields: fc.dictionary(fc.constantFrom(...KEYS), value, {maxKeys: 5})})
  .map(({sub, fields}) => JSON.stringify({command: 'work', ...(sub === null ? {} : {subcommand: sub}), ...fields}));

const textRequest = fc
  .tuple(fc.constantFrom(...SUBS), fc.array(fc.oneof(fc.constantFrom('localhost', 'echo', 'nope', '0', 'x'), fc.string({maxLength: 6})), {maxLength: 4}))
  .map(([sub, words]) => ['work', sub, ...words].join(' ').replace(/[\r\n]/g, ''));

describe('integration: random work requests never crash the node', function () {
  this.timeout(120_000);
  let n: WorkNode;
  before(async () => {
    n = await startWorkNode('foo', {types: [commandType('echo', 'cat')]});
  });
  after(async () => {
    await n.close();
  });

  it('answers every request with a line and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(jsonRequest, textRequest), fc.uint8Array({maxLength: 64}), async (line, payload) => {
        const out = await converse(n.sock, [Buffer.concat([Buffer.from(line + '\n'), Buffer.from(payload)])]);
        const lines = out.split('\n');
        expect(lines[0]).to.equal('Receptor Control, node foo');
        expect(lines.length, `no reply to ${line}`).to.be.at.least(2);
      }),
      {numRuns: 150},
    );
    expect(JSON.parse(await ask(n.sock, 'status')).NodeID).to.equal('foo');
    // Whatever got submitted can be cleaned up.
    for (const u of n.wc.list()) await ask(n.sock, `work force-release ${u.id}`);
    expect(await ask(n.sock, 'work list')).to.equal('{}');
  });
});
