import {expect} from 'chai';
import {ServiceAdStore, type ServiceAdInput} from '../../../src/core/netceptor/service-ads.js';

interface Ad extends ServiceAdInput {
  connType: number;
  tags: Record<string, string> | null;
}

/** 2026-11-25T08:27:23.612022326Z as nanoseconds. */
const T0 = 1_795_595_243_612_022_326n;

function ad(nodeId: string, service: string, timeNs: bigint, extra: Partial<Ad> = {}): Ad {
  return {nodeId, service, timeNs, cancel: false, connType: 1, tags: {type: 'Control Service'}, ...extra};
}

function cancel(nodeId: string, service: string, timeNs: bigint): Ad {
  return ad(nodeId, service, timeNs, {cancel: true, tags: null});
}

describe('netceptor service advertisements (§7.3)', () => {
  it('stores a first ad and re-floods it', () => {
    const s = new ServiceAdStore<Ad>();
    expect(s.receive(ad('bar', 'control', T0))).to.deep.equal({outcome: 'added', flood: true});
    expect(s.get('bar', 'control')).to.deep.equal(ad('bar', 'control', T0));
    expect(s.size).to.equal(1);
  });

  it('drops an ad whose Time is not strictly later (no flood)', () => {
    const s = new ServiceAdStore<Ad>();
    s.receive(ad('bar', 'control', T0));
    expect(s.receive(ad('bar', 'control', T0, {connType: 2}))).to.deep.equal({outcome: 'stale', flood: false});
    expect(s.receive(ad('bar', 'control', T0 - 1n))).to.deep.equal({outcome: 'stale', flood: false});
    expect(s.get('bar', 'control')?.connType).to.equal(1);
  });

  it('accepts an ad 1 ns later and replaces the entry', () => {
    const s = new ServiceAdStore<Ad>();
    s.receive(ad('bar', 'control', T0));
    expect(s.receive(ad('bar', 'control', T0 + 1n, {connType: 2}))).to.deep.equal({outcome: 'updated', flood: true});
    expect(s.get('bar', 'control')?.connType).to.equal(2);
    expect(s.get('bar', 'control')?.timeNs).to.equal(T0 + 1n);
  });

  it('keeps entries per (node, service)', () => {
    const s = new ServiceAdStore<Ad>();
    expect(s.receive(ad('bar', 'control', T0)).outcome).to.equal('added');
    expect(s.receive(ad('bar', 'proxy', T0 - 5n)).outcome).to.equal('added');
    expect(s.receive(ad('baz', 'control', T0 - 5n)).outcome).to.equal('added');
    expect(s.size).to.equal(3);
  });

  describe('cancel', () => {
    it('a newer cancel deletes the entry and is re-flooded', () => {
      const s = new ServiceAdStore<Ad>();
      s.receive(ad('bar', 'control', T0));
      expect(s.receive(cancel('bar', 'control', T0 + 10n))).to.deep.equal({outcome: 'cancelled', flood: true});
      expect(s.get('bar', 'control')).to.equal(undefined);
      expect(s.size).to.equal(0);
      expect(s.nodes()).to.deep.equal([]);
    });

    it('a cancel not newer than the entry is dropped and the entry kept', () => {
      const s = new ServiceAdStore<Ad>();
      s.receive(ad('bar', 'control', T0));
      expect(s.receive(cancel('bar', 'control', T0))).to.deep.equal({outcome: 'stale', flood: false});
      expect(s.receive(cancel('bar', 'control', T0 - 1n))).to.deep.equal({outcome: 'stale', flood: false});
      expect(s.get('bar', 'control')).to.not.equal(undefined);
    });

    it('a cancel for an unknown service is re-flooded once (like Go), then its echo is dropped', () => {
      const s = new ServiceAdStore<Ad>();
      expect(s.receive(cancel('bar', 'gone', T0))).to.deep.equal({outcome: 'cancel-unknown', flood: true});
      // the same cancel coming back round a cycle
      expect(s.receive(cancel('bar', 'gone', T0))).to.deep.equal({outcome: 'stale-cancel', flood: false});
      expect(s.receive(cancel('bar', 'gone', T0 - 7n))).to.deep.equal({outcome: 'stale-cancel', flood: false});
      // a genuinely newer cancel still passes
      expect(s.receive(cancel('bar', 'gone', T0 + 1n))).to.deep.equal({outcome: 'cancel-unknown', flood: true});
      expect(s.receive(cancel('bar', 'gone', T0 + 1n)).flood).to.equal(false);
      expect(s.size).to.equal(0);
    });

    it('the echo of a cancel that removed an entry is dropped', () => {
      const s = new ServiceAdStore<Ad>();
      s.receive(ad('bar', 'control', T0));
      s.receive(cancel('bar', 'control', T0 + 5n));
      expect(s.receive(cancel('bar', 'control', T0 + 5n))).to.deep.equal({outcome: 'stale-cancel', flood: false});
    });

    it('a newer ad after a cancel is stored again, and older cancels stay dropped', () => {
      const s = new ServiceAdStore<Ad>();
      s.receive(ad('bar', 'control', T0));
      s.receive(cancel('bar', 'control', T0 + 5n));
      expect(s.receive(ad('bar', 'control', T0 + 9n))).to.deep.equal({outcome: 'added', flood: true});
      expect(s.receive(cancel('bar', 'control', T0 + 7n))).to.deep.equal({outcome: 'stale', flood: false});
      expect(s.receive(cancel('bar', 'control', T0 + 10n)).outcome).to.equal('cancelled');
    });

    it('a non-cancel ad older than the tombstone is still stored, as Go stores it', () => {
      const s = new ServiceAdStore<Ad>();
      s.receive(cancel('bar', 'control', T0 + 5n));
      expect(s.receive(ad('bar', 'control', T0))).to.deep.equal({outcome: 'added', flood: true});
    });
  });

  describe('local ads and queries', () => {
    it('set() stores unconditionally; remove() with a cancel time leaves a tombstone', () => {
      const s = new ServiceAdStore<Ad>();
      s.set(ad('foo', 'control', T0));
      s.set(ad('foo', 'control', T0 - 100n, {connType: 2}));
      expect(s.get('foo', 'control')?.connType).to.equal(2);
      expect(s.remove('foo', 'control', T0 + 1n)).to.equal(true);
      expect(s.remove('foo', 'control')).to.equal(false);
      // our own cancel flooded back to us
      expect(s.receive(cancel('foo', 'control', T0 + 1n)).flood).to.equal(false);
    });

    it('remove() without a time leaves no tombstone', () => {
      const s = new ServiceAdStore<Ad>();
      s.set(ad('foo', 'control', T0));
      s.remove('foo', 'control');
      expect(s.receive(cancel('foo', 'control', T0)).outcome).to.equal('cancel-unknown');
    });

    it('lists ads by node then service, keeps the full ad object, and queries by node', () => {
      const s = new ServiceAdStore<Ad>();
      s.receive(ad('zed', 'b', T0));
      s.receive(ad('bar', 'proxy', T0, {tags: {type: 'TCP Proxy', address: 'x:1'}}));
      s.receive(ad('bar', 'control', T0));
      s.receive(ad('zed', 'a', T0));
      expect(s.list().map((a) => `${a.nodeId}/${a.service}`)).to.deep.equal(['bar/control', 'bar/proxy', 'zed/a', 'zed/b']);
      expect(s.byNode('bar').map((a) => a.service)).to.deep.equal(['control', 'proxy']);
      expect(s.byNode('bar')[1].tags).to.deep.equal({type: 'TCP Proxy', address: 'x:1'});
      expect(s.byNode('nobody')).to.deep.equal([]);
      expect(s.nodes()).to.deep.equal(['bar', 'zed']);
    });

    it('ads persist: nothing expires and nothing is dropped with a node', () => {
      const s = new ServiceAdStore<Ad>();
      s.receive(ad('bar', 'control', 1n));
      expect(s.receive(ad('bar', 'control', 2n)).outcome).to.equal('updated');
      expect(s.list()).to.have.length(1);
    });
  });
});
