import {expect} from 'chai';
import {freePort} from '../support/ports.js';
import {InteropNode, mixedPairs, requireGo, tempDir, waitRoutes} from './support.js';

describe('interop smoke: two nodes over TCP', function () {
  this.timeout(60_000);
  before(function () {
    requireGo(this);
  });
  for (const [a, b] of mixedPairs()) {
    it(`${a.label} listens, ${b.label} dials`, async () => {
      const dir = tempDir();
      const port = await freePort();
      const A = await new InteropNode(a, 'alpha', dir, {items: [{'tcp-listener': {port, bindaddr: '127.0.0.1'}}]}).start();
      const B = await new InteropNode(b, 'beta', dir, {items: [{'tcp-peer': {address: `127.0.0.1:${port}`}}]}).start();
      try {
        const s = await waitRoutes(A, ['beta']);
        expect(s.RoutingTable!.beta).to.equal('beta');
        await waitRoutes(B, ['alpha']);
      } finally {
        await Promise.all([A.stop(), B.stop()]);
      }
    });
  }
});
