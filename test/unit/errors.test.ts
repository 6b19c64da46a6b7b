/** The error catalogue (src/core/errors.ts): unique documented codes, every Error class accounted for, codes that reach --json. */
import {expect} from 'chai';
import {readdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {renderErrorTable, withErrorTable} from '../../scripts/error-codes.js';
import {describeError} from '../../src/core/cli/errors.js';
import {ControlRemoteError, remoteErrorCode} from '../../src/core/control/client.js';
import {connectError} from '../../src/core/control/work-client.js';
import {CONTAINED_ERRORS, ConfigError, ERROR_CATALOGUE, errorCodeOf, INTERNAL_ERRORS, isErrorCode, PhaseError, ReceptorError, WorkError} from '../../src/core/errors.js';
import {DecodeError} from '../../src/core/netceptor/codec.js';
import {FirewallRuleError} from '../../src/core/netceptor/firewall.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, {withFileTypes: true}).flatMap((d) => (d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
}

describe('error catalogue', () => {
  const codes = Object.keys(ERROR_CATALOGUE);

  it('codes are unique, well-formed and documented in one line with an exit code', () => {
    expect(new Set(codes).size).to.equal(codes.length);
    for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).to.match(/^E_[A-Z][A-Z0-9_]*[A-Z0-9]$/);
      expect(e.description, code).to.match(/^\S.*\.$/);
      expect(e.description, code).to.not.include('\n');
      expect(Number.isInteger(e.exitCode) && e.exitCode > 0, code).to.equal(true);
    }
    expect(new Set(codes.map((c) => c.toLowerCase())).size).to.equal(codes.length);
  });

  it("README's Error codes table is the catalogue's (npm run docs:errors regenerates it)", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(withErrorTable(readme)).to.equal(readme);
    for (const code of codes) expect(renderErrorTable()).to.include(`| \`${code}\` |`);
  });

  it('keeps E_USAGE (exit 1 by default; parse errors give 2) and the coarse codes commands rely on', () => {
    for (const c of ['E_USAGE', 'E_CONNECT', 'E_REMOTE', 'E_PLUGIN', 'E_PHASE', 'E_COMMAND', 'E_INTERNAL']) expect(isErrorCode(c), c).to.equal(true);
    expect(new ReceptorError('E_USAGE', 'x').exitCode).to.equal(1);
    expect(new ReceptorError('E_USAGE', 'x', {exitCode: 2}).exitCode).to.equal(2);
    expect(isErrorCode('E_CONFIG')).to.equal(false);
  });

  it('every Error class in src extends the catalogue base, or is listed as contained or internal', () => {
    const direct = new Set<string>();
    for (const file of sourceFiles(join(root, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/class (\w+) extends Error\b/g)) direct.add(m[1]);
    }
    direct.delete('ReceptorError');
    for (const name of direct) {
      expect(
        Object.hasOwn(CONTAINED_ERRORS, name) || Object.hasOwn(INTERNAL_ERRORS, name),
        `${name} extends Error: make it a ReceptorError, or list it in CONTAINED_ERRORS / INTERNAL_ERRORS`,
      ).to.equal(true);
    }
    for (const code of Object.values(CONTAINED_ERRORS)) expect(isErrorCode(code), code).to.equal(true);
  });

  it('errorCodeOf: own code, a contained class by name, else E_INTERNAL', () => {
    expect(errorCodeOf(new WorkError('unknown work unit x', 'E_UNKNOWN_UNIT'))).to.equal('E_UNKNOWN_UNIT');
    expect(errorCodeOf(new WorkError('remote work had not previously started'))).to.equal('E_WORK');
    expect(errorCodeOf(new DecodeError('short-data', 'message too short'))).to.equal('E_PEER_MESSAGE');
    expect(errorCodeOf(new FirewallRuleError(1, 'unknown action: x'))).to.equal('E_FIREWALL_RULE');
    expect(errorCodeOf(new Error('boom'))).to.equal('E_INTERNAL');
    expect(errorCodeOf('text')).to.equal('E_INTERNAL');
  });

  it('a phase failure takes its cause code, else E_PHASE; exit 1 either way', () => {
    const listen = new PhaseError('error listening on TCP: x (tcp-server at f, item 2)', new ReceptorError('E_LISTEN', 'error listening on TCP: x'));
    expect([listen.code, listen.exitCode]).to.deep.equal(['E_LISTEN', 1]);
    const plain = new PhaseError('boom (x)', new Error('boom'));
    expect([plain.code, plain.exitCode]).to.deep.equal(['E_PHASE', 1]);
  });

  it('--json carries the specific code with the same exit code', () => {
    const cfg = new ConfigError('error loading config file: unknown v2 config key x', {key: 'x'}, 'E_CONFIG_UNKNOWN_KEY');
    expect(describeError(cfg)).to.deep.equal({code: 'E_CONFIG_UNKNOWN_KEY', message: cfg.message, exitCode: 1});
    expect(describeError(new DecodeError('short-data', 'message too short'))).to.deep.include({code: 'E_PEER_MESSAGE', exitCode: 1});
    // a ReceptorError from another copy of the module is recognised by its code's shape
    const foreign = Object.assign(new Error('unknown work unit x'), {code: 'E_UNKNOWN_UNIT', exitCode: 1});
    expect(describeError(foreign)).to.deep.equal({code: 'E_UNKNOWN_UNIT', message: 'unknown work unit x', exitCode: 1});
  });

  describe("the client's codes for Go's reply texts (the texts stay Go's)", () => {
    const cases: Array<[string, string]> = [
      ['ERROR: unknown work unit abc', 'E_UNKNOWN_UNIT'],
      ['ERROR: Failed to start work unit: unknown work type bogus', 'E_UNKNOWN_WORK_TYPE'],
      ['ERROR: INTERNAL_ERROR (local): no route to node', 'E_NO_ROUTE'],
      ['ERROR: INTERNAL_ERROR (local): service unknown', 'E_UNKNOWN_SERVICE'],
      ['ERROR: Unknown command', 'E_UNKNOWN_COMMAND'],
      ['ERROR: could not parse response: ERROR: could not verify signature: signature is empty', 'E_SIGNATURE'],
      ['ERROR: work results requires a unit ID', 'E_REMOTE'],
      ['{"bogus": 1}', 'E_CONTROL_REPLY'],
    ];
    for (const [line, code] of cases) {
      it(`${line} → ${code}`, () => {
        const msg = line.startsWith('ERROR: ') ? line.slice(7) : line;
        expect(remoteErrorCode(line, msg)).to.equal(code);
        const err = new ControlRemoteError(msg, line);
        expect([err.code, err.message, err.remoteMessage, err.line]).to.deep.equal([code, msg, msg, line]);
      });
    }

    it('connect: a remote node without the service answers "context canceled" (E_UNKNOWN_SERVICE), no route is E_NO_ROUTE', () => {
      const gone = connectError('b', 'svc', 'ERROR: context canceled');
      expect([gone.code, gone.message, gone.remoteMessage]).to.deep.equal(['E_UNKNOWN_SERVICE', 'cannot connect to service svc on node b: service unknown', 'context canceled']);
      expect(connectError('b', 'svc', 'ERROR: INTERNAL_ERROR (local): no route to node').code).to.equal('E_NO_ROUTE');
    });
  });
});
