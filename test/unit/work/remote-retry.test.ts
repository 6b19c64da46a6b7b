/**
 * The remote worker's connection back-off with Go's own timings (1 s, ×1.5, capped at 60 s),
 * driven by a manual clock: the timings are checked as shipped, not shrunk for the test.
 */
import {expect} from 'chai';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pino} from 'pino';
import {ManualClock} from '../../../src/core/clock.js';
import {remoteTimings} from '../../../src/core/work/remote.js';
import {remoteTypeDef} from '../../../src/core/work/remote-type.js';
import {Workceptor} from '../../../src/core/work/workceptor.js';
import {until} from '../../support/mesh.js';

describe('remote work: connection retry back-off (manual clock)', () => {
  let dir: string;
  let wc: Workceptor | undefined;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'receptor-retry-'))));
  afterEach(() => {
    wc?.shutdown();
    wc = undefined;
    rmSync(dir, {recursive: true, force: true});
  });

  it('ships Go values: first retry 1 s, growth 1.5, cap 60 s', () => {
    expect({first: remoteTimings.retryFirstMs, factor: remoteTimings.retryFactor, max: remoteTimings.retryMaxMs}).to.deep.equal({first: 1000, factor: 1.5, max: 60_000});
  });

  it('retries after exactly 1 s, 1.5 s, 2.25 s … and then every 60 s, never earlier', async () => {
    const clock = new ManualClock();
    const lines: Array<{msg: string}> = [];
    const logger = pino({level: 'debug'}, {write: (l: string) => void lines.push(JSON.parse(l) as {msg: string})});
    wc = new Workceptor({nodeId: 'a', dataDir: dir, logger, clock});
    await wc.registerType(remoteTypeDef);
    // No mesh layer: every connection attempt fails at once and is retried.
    const u = await wc.allocateRemote({node: 'b', workType: 'echo', params: {}, tlsClient: '', ttl: '', signWork: false});
    const failures = () => lines.filter((l) => l.msg === 'Connection to b failed with error: this node has no mesh layer').length;
    expect(await u.start()).to.equal('pending');
    await until(() => failures() === 1, 'the first background attempt (immediate)');
    const delays: number[] = [];
    for (let d = 1000; delays.length < 14; d = Math.min(d * 1.5, 60_000)) delays.push(d);
    expect(delays.slice(-3)).to.deep.equal([60_000, 60_000, 60_000]);
    for (const d of delays) {
      const n = failures();
      clock.advance(Math.ceil(d) - 1);
      await new Promise((r) => setImmediate(r));
      expect(failures(), `no attempt before ${d} ms`).to.equal(n);
      clock.advance(1);
      await until(() => failures() === n + 1, `the attempt after ${d} ms`, 5000);
    }
  });
});
