/**
 * Fuzz target 4: work submit payloads through the real workceptor (control socket, in process).
 * Random params, signwork, ttl, node, tlsclient and work types, in JSON and text form, with a
 * random payload; then status/results/cancel/release with random unit IDs (path separators,
 * `..`). Every request gets `Work unit created` or an error; a created unit is listed and
 * releasable; nothing appears in the data directory outside the unit directories.
 */
import {expect} from 'chai';
import fc from 'fast-check';
import {generateKeyPairSync} from 'node:crypto';
import {existsSync, mkdtempSync, readdirSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import net from 'node:net';
import {dirname, join} from 'node:path';
import {fuzzAsync, fuzzSettings, HANG_LIMIT_MS} from '../support/fuzz.js';
import {tally} from '../support/tally.js';
import {commandType, startWorkNode, type WorkNode} from '../support/work.js';

const CREATED = /^Work unit created with ID ([a-zA-Z0-9]+)\. Send stdin data and EOF\.$/;

const str = fc.oneof(
  fc.constantFrom('', 'true', 'false', 'foo', 'bar', 'client', '1s', '-1s', '0', '10m', '1h2m3.5s', '99999999999h', 'a"b', "it's", '$(rm -rf /)', '; true', '\\', '../..', '/'),
  fc.string({unit: 'grapheme', maxLength: 24}),
  fc.string({unit: 'binary', maxLength: 12}),
);
const field = fc.oneof(fc.constant<unknown>(undefined), str, fc.jsonValue({maxDepth: 1}));

const submitSpec = fc.record({
  form: fc.constantFrom('json', 'text'),
  node: fc.oneof({weight: 4, arbitrary: fc.constantFrom<unknown>('foo', 'localhost', undefined)}, {weight: 1, arbitrary: field}),
  worktype: fc.oneof({weight: 4, arbitrary: fc.constantFrom<unknown>('true', 'truep', 'signed')}, {weight: 1, arbitrary: field}),
  params: field,
  signwork: field,
  ttl: field,
  tlsclient: field,
  extra: fc.array(fc.tuple(fc.string({maxLength: 8}), field), {maxLength: 3}),
  payload: fc.uint8Array({maxLength: 2048}),
});

const unitIdWord = fc.oneof(
  fc.constantFrom('..', '../foo', '/etc/passwd', 'a/b', '.', '', 'x'.repeat(300), '%2e%2e', 'AAAAAAAA'),
  fc.string({unit: 'binary', maxLength: 16}).filter((s) => !/[\r\n]/.test(s)),
);
const unitOps = fc.array(fc.tuple(fc.constantFrom('status', 'results', 'cancel', 'release', 'force-release'), unitIdWord, fc.boolean()), {maxLength: 3});

function session(path: string, data: Buffer[], deadlineMs = HANG_LIMIT_MS - 1000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve(Buffer.concat(parts).toString('latin1') + '\n<deadline>');
    }, deadlineMs);
    s.on('data', (d) => parts.push(d));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString('latin1'));
    });
    s.once('connect', () => {
      for (const d of data) s.write(d);
      s.end();
    });
  });
}

type SubmitSpec = typeof submitSpec extends fc.Arbitrary<infer T> ? T : never;

function submitLine(s: SubmitSpec): string {
  const word = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  if (s.form === 'text') return ['work', 'submit', word(s.node), word(s.worktype), word(s.params)].join(' ').replace(/[\r\n]/g, ' ') + '\n';
  const req: Record<string, unknown> = {command: 'work', subcommand: 'submit'};
  for (const k of ['node', 'worktype', 'params', 'signwork', 'ttl', 'tlsclient'] as const) if (s[k] !== undefined) req[k] = s[k];
  for (const [k, v] of s.extra) if (v !== undefined && !(k in req)) req[k] = v;
  return JSON.stringify(req) + '\n';
}

describe('fuzz: work submit payloads', function () {
  this.timeout(0);
  let w: WorkNode;
  let dataTop: string[];

  before(async () => {
    tally('targets');
    // Work types run `true`, and so does the "command runner": nothing harmful runs.
    w = await startWorkNode('foo', {
      types: [commandType('true', 'true'), commandType('truep', 'true', '', {allowRuntimeParams: true}), commandType('signed', 'true', '', {verifySignature: true})],
      selfCommand: ['true'],
      prepare: (rt) => {
        const keys = generateKeyPairSync('rsa', {modulusLength: 2048});
        const dir = mkdtempSync(join(tmpdir(), 'receptor-fuzz-keys-'));
        writeFileSync(join(dir, 'w.priv'), keys.privateKey.export({type: 'pkcs1', format: 'pem'}), {mode: 0o600});
        writeFileSync(join(dir, 'w.pub'), keys.publicKey.export({type: 'spki', format: 'pem'}));
        rt.registry('work-signing').register('default', {privateKeyPath: join(dir, 'w.priv'), lifetimeMs: 60_000});
        rt.registry('work-verification').register('default', {publicKeyPath: join(dir, 'w.pub')});
      },
    });
    dataTop = readdirSync(dirname(w.wc.unitsDir)).sort();
  });
  after(async () => {
    await w?.close();
  });

  it('every submission is created or refused with an error; random unit IDs are refused; nothing leaks', async () => {
    let created = 0;
    await fuzzAsync(fuzzSettings('work', 0x30b5, 300), fc.tuple(submitSpec, unitOps), async ([spec, ops]) => {
      const out = await session(w.sock, [Buffer.from(submitLine(spec)), Buffer.from(spec.payload)]);
      const lines = out.split('\n');
      expect(lines[0]).to.equal('Receptor Control, node foo');
      const m = CREATED.exec(lines[1] ?? '');
      if (m) {
        created++;
        const id = m[1]!;
        expect(w.wc.list().map((u) => u.id)).to.include(id);
        const next = lines[2] ?? '';
        expect(next, 'after the payload').to.match(/^(\{|ERROR: )/);
      } else {
        expect(lines[1], 'a refused submit').to.match(/^ERROR: \S/);
      }
      for (const [sub, id, json] of ops) {
        const line = json ? JSON.stringify({command: 'work', subcommand: sub, unitid: id}) : `work ${sub} ${id}`;
        const reply = (await session(w.sock, [Buffer.from(line + '\n')])).split('\n')[1] ?? '';
        expect(reply, `${line} →`).to.match(/^ERROR: \S/);
      }
      for (const u of w.wc.list()) {
        const r = (await session(w.sock, [Buffer.from(`work force-release ${u.id}\n`)])).split('\n')[1] ?? '';
        expect(r, `force-release ${u.id}`).to.match(/^(\{"released":"[A-Za-z0-9]+"\}|ERROR: )/);
      }
      expect(w.wc.list()).to.deep.equal([]);
      // Only the units directory may have appeared (with the first unit), and it is empty again.
      const extra = readdirSync(dirname(w.wc.unitsDir)).filter((e) => !dataTop.includes(e));
      expect(
        extra.filter((e) => e !== w.id),
        'new data directory entries',
      ).to.deep.equal([]);
      if (existsSync(w.wc.unitsDir)) expect(readdirSync(w.wc.unitsDir), 'unit directories left').to.deep.equal([]);
    });
    console.log(`  work: ${created} units created and released`);
  });
});
