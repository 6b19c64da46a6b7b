/** Reload applies only what changed (config.md §7, issue 12): the diff and the reloader on a real runtime. */
import {expect} from 'chai';
import {writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {instantiate, PHASES, runPhase} from '../../../src/core/config/lifecycle.js';
import {loadConfig} from '../../../src/core/config/load.js';
import {ActionRegistry} from '../../../src/core/config/registry.js';
import type {ActionTypeDef, BackendHandle, Runtime} from '../../../src/core/config/types.js';
import {createLogger} from '../../../src/core/log.js';
import {createReloader, diffItems, itemIdentity} from '../../../src/core/reload.js';
import {NodeRuntime} from '../../../src/core/runtime.js';
import {builtinTypes} from '../../../src/plugins/register.js';
import {tempFiles} from '../../support/config-fixtures.js';

const ids = (xs: Array<{identity: string}>) => xs.map((x) => x.identity);

describe('reload: what changed', () => {
  describe('diffItems', () => {
    it('keeps matched items, stops unmatched running ones, starts unmatched new ones', () => {
      const running = [{identity: 'a'}, {identity: 'b'}, {identity: 'c'}];
      const d = diffItems(running, [{identity: 'c'}, {identity: 'x'}, {identity: 'a'}]);
      expect(d.kept).to.deep.equal([running[2], running[0]]);
      expect(d.removed).to.deep.equal([running[1]]);
      expect(ids(d.added)).to.deep.equal(['x']);
    });

    it('counts identical items (a multiset): a third copy is added, a dropped copy removed', () => {
      const running = [{identity: 'a'}, {identity: 'a'}];
      const more = diffItems(running, [{identity: 'a'}, {identity: 'a'}, {identity: 'a'}]);
      expect(more.kept).to.have.length(2);
      expect(more.removed).to.deep.equal([]);
      expect(ids(more.added)).to.deep.equal(['a']);
      const fewer = diffItems(running, [{identity: 'a'}]);
      expect(fewer.kept).to.deep.equal([running[0]]);
      expect(fewer.removed).to.deep.equal([running[1]]);
      expect(fewer.added).to.deep.equal([]);
    });
  });

  describe('itemIdentity', () => {
    const reg = new ActionRegistry();
    for (const t of builtinTypes()) reg.add(t, 'receptor-mesh');
    const identities = (yaml: string) => {
      const file = join(tempFiles({'c.yml': yaml}), 'c.yml');
      return loadConfig(['-c', file], reg)
        .items.filter((it) => it.def.reloadable)
        .map(itemIdentity);
    };

    it('ignores key order, spelling of values and defaults written out; any value change counts', () => {
      const [a] = identities('- tcp-listener:\n    port: 7000\n    bindaddr: 127.0.0.1\n');
      const [b] = identities('- tcp-listener:\n    bindaddr: 127.0.0.1\n    cost: 1.0\n    port: "7000"\n');
      const [c] = identities('- tcp-listener:\n    port: 7001\n    bindaddr: 127.0.0.1\n');
      const [d] = identities('- tcp-peer:\n    address: 127.0.0.1:7000\n    redial: false\n');
      const [e] = identities('- tcp-peer:\n    address: 127.0.0.1:7000\n');
      expect(a).to.equal(b);
      expect(a).to.not.equal(c);
      expect(d).to.not.equal(e);
    });
  });

  describe('createReloader', () => {
    /** A reloadable stand-in backend: registers a handle named after its value, fails when told to. */
    const fakeBackend: ActionTypeDef<{name: string; fail: boolean}> = {
      key: 'fake-backend',
      description: 'a backend stand-in',
      reloadable: true,
      fields: [
        {name: 'name', type: 'string', bare: true, required: true, description: 'n'},
        {name: 'fail', type: 'bool', default: false, description: 'fail to start'},
      ],
      create(v) {
        const start = (rt: Runtime) => {
          if (v.fail) throw new Error(`${v.name} cannot start`);
          rt.node.addBackend({kind: 'fake', description: v.name});
        };
        return {run: start, reload: start};
      },
    };

    async function startNode(yaml: (body: string) => string) {
      const dir = tempFiles({});
      const file = join(dir, 'n.yml');
      writeFileSync(file, yaml(''));
      const reg = new ActionRegistry();
      for (const t of builtinTypes()) reg.add(t, 'receptor-mesh');
      reg.add(fakeBackend as ActionTypeDef, 'test');
      const argv = ['-c', file];
      const rt = new NodeRuntime(createLogger('silent'), {configFiles: [file], argv, selfCommand: []});
      const reloader = createReloader(rt, reg, argv, file);
      const live = instantiate(loadConfig(argv, reg).items);
      for (const phase of PHASES) await runPhase(phase, live, rt, undefined, phase === 'run' ? reloader.track : undefined);
      return {rt, reloader, write: (body: string) => writeFileSync(file, yaml(body))};
    }

    it('leaves unchanged items running (the same backend objects) and restarts only what changed', async () => {
      const dir = tempFiles({});
      const yaml = (body: string) => `- node:\n    id: n1\n    datadir: ${dir}\n` + (body || '- fake-backend: a\n- fake-backend: b\n- fake-backend: b\n');
      const {rt, reloader, write} = await startNode(yaml);
      try {
        const names = () => rt.node.backends.map((b) => b.description);
        const before: readonly BackendHandle[] = [...rt.node.backends];
        expect(names()).to.deep.equal(['a', 'b', 'b']);

        expect(await reloader.reload()).to.deep.equal({});
        expect(rt.node.backends).to.deep.equal(before);
        expect(rt.node.backends.every((b, i) => b === before[i])).to.equal(true);

        // One copy of b dropped, c added, a unchanged.
        write('- fake-backend: c\n- fake-backend: b\n- fake-backend: a\n');
        expect(await reloader.reload()).to.deep.equal({});
        expect(names()).to.deep.equal(['a', 'b', 'c']);
        expect(rt.node.backends[0]).to.equal(before[0]);
        expect(rt.node.backends[1]).to.equal(before[1]);

        // A new item that cannot start: code 4 with its reason; the others keep running, the next new one still starts.
        write('- fake-backend: c\n- fake-backend: b\n- fake-backend: a\n- fake-backend:\n    name: d\n    fail: true\n- fake-backend: e\n');
        expect(await reloader.reload()).to.deep.equal({error: 'd cannot start', code: 4});
        expect(names()).to.deep.equal(['a', 'b', 'c', 'e']);
        expect(rt.node.backends[0]).to.equal(before[0]);

        // The failed item, fixed, is started by the next reload.
        write('- fake-backend: c\n- fake-backend: b\n- fake-backend: a\n- fake-backend: d\n- fake-backend: e\n');
        expect(await reloader.reload()).to.deep.equal({});
        expect(names()).to.deep.equal(['a', 'b', 'c', 'e', 'd']);

        // A refused change (ERRORCODE 3) touches nothing.
        const kept = [...rt.node.backends];
        write('- fake-backend: z\n- log-level: debug\n');
        expect((await reloader.reload()).code).to.equal(3);
        expect(rt.node.backends).to.deep.equal(kept);
      } finally {
        await rt.shutdown();
      }
    });
  });
});
