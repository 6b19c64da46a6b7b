/**
 * Found by the fuzz suite (control target): `ping <2 MiB name>` from a control client cost
 * ~0.4 s of CPU per MiB, all of it hashing a name no node can have (peer IDs are at most
 * MAX_NODE_ID_BYTES), and the name stayed in the node's name table.
 */
import {expect} from 'chai';
import {MAX_NODE_ID_BYTES} from '../../../src/core/netceptor/node-id.js';
import type {Netceptor} from '../../../src/core/netceptor/node.js';
import {ping} from '../../../src/core/netceptor/ping.js';
import {makeNode} from '../../support/mesh.js';

const namesOf = (n: Netceptor): number => (n as unknown as {names: Map<unknown, unknown>}).names.size;

describe('sending to an over-long node name', () => {
  it('fails with no route, without hashing or remembering the name', async () => {
    const n = makeNode('foo');
    try {
      const before = namesOf(n);
      const cpu0 = process.cpuUsage();
      const r = await ping(n, 'x'.repeat(16 << 20));
      const cpu = process.cpuUsage(cpu0);
      expect(r.error).to.equal('no route to node');
      expect(namesOf(n), 'name table').to.equal(before);
      // Hashing 16 MiB took seconds of CPU; the refusal is cheap.
      expect((cpu.user + cpu.system) / 1000).to.be.below(1000);
      // A name of the longest valid length is still learned (it may become routable).
      await ping(n, 'y'.repeat(MAX_NODE_ID_BYTES));
      expect(namesOf(n)).to.equal(before + 1);
    } finally {
      await n.shutdown();
    }
  });
});
