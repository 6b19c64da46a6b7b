/** The opt-in diagnostics file of the soak (RECEPTOR_DIAG_FILE, src/core/diag.ts). */
import {expect} from 'chai';
import {existsSync, mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {pino} from 'pino';
import {diagSample, startDiagnostics, type DiagSample} from '../../src/core/diag.js';
import {settingsFromEnv} from '../../src/core/settings.js';
import {waitFor} from '../support/cli.js';

describe('diagnostics file (RECEPTOR_DIAG_FILE)', () => {
  it('a sample counts referenced timers apart from handles, and open fds', () => {
    const before = diagSample();
    const t = setTimeout(() => {}, 60_000);
    const withTimer = diagSample();
    clearTimeout(t);
    expect(withTimer.timers).to.equal(before.timers + 1);
    expect(withTimer.handles).to.equal(before.handles);
    expect(withTimer.pid).to.equal(process.pid);
    expect(withTimer.rssBytes).to.be.greaterThan(withTimer.heapUsedBytes);
    expect(withTimer.fds).to.be.a('number').and.greaterThan(2);
  });

  it('is rewritten every interval until stopped; its own timer is not counted', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'receptor-diag-')), 'd.json');
    const baseline = diagSample().timers;
    const stop = startDiagnostics(file, 20, pino({level: 'silent'}));
    try {
      const first = JSON.parse(readFileSync(file, 'utf8')) as DiagSample;
      expect(first.timers).to.equal(baseline);
      await waitFor(
        () => (JSON.parse(readFileSync(file, 'utf8')) as DiagSample).time > first.time,
        5000,
        () => 'a second sample',
      );
    } finally {
      stop();
    }
    const last = readFileSync(file, 'utf8');
    await new Promise((r) => setTimeout(r, 100)); // several intervals: nothing more is written after stop
    expect(readFileSync(file, 'utf8')).to.equal(last);
    expect(existsSync(`${file}.tmp`)).to.equal(false);
  });

  it('is off unless RECEPTOR_DIAG_FILE is set; the interval takes a positive integer', () => {
    expect(settingsFromEnv({}).diagFile).to.equal(undefined);
    expect(settingsFromEnv({RECEPTOR_DIAG_FILE: ''}).diagFile).to.equal(undefined);
    const s = settingsFromEnv({RECEPTOR_DIAG_FILE: '/tmp/x.json', RECEPTOR_DIAG_INTERVAL_MS: '500'});
    expect([s.diagFile, s.diagIntervalMs]).to.deep.equal(['/tmp/x.json', 500]);
    expect(settingsFromEnv({RECEPTOR_DIAG_INTERVAL_MS: '-3'}).diagIntervalMs).to.equal(undefined);
  });
});
