/** End-to-end: work configuration errors stop the node before it starts, with Go's messages. */
import {expect} from 'chai';
import {runCli} from '../support/cli.js';

describe('e2e: work configuration errors', function () {
  this.timeout(60_000);
  const cases: Array<[string, string[], string]> = [
    [
      'work-python is refused like Go (deprecated)',
      ['--work-python', 'worktype=a', 'plugin=b', 'function=c'],
      "Error: [DEPRECATION WARNING] 'work-python' option is not currently being used. This feature will be removed from receptor in a future release",
    ],
    [
      'verifysignature without work-verification',
      ['--work-command', 'worktype=w', 'command=cat', 'verifysignature=true'],
      "Error: VerifySignature for work command 'w' is true, but the work verification public key is not specified",
    ],
    ['a work type registered twice', ['--work-command', 'worktype=w', 'command=cat', '--work-command', 'worktype=w', 'command=cat'], 'Error: work type w already registered'],
    ['a bad tokenexpiration', ['--work-signing', 'priv.pem', 'tokenexpiration=xx'], "Error: failed to parse TokenExpiration -- valid examples include '1.5h', '30m', '30m10s'"],
    ['a missing key file', ['--work-verification', 'nofile.pem'], 'Error: nofile.pem does not exist'],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await runCli(['--node', 'id=x', '--local-only', ...args]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain(message);
      expect(r.stderr).to.not.contain('    at ');
    });
  }
});
