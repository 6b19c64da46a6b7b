/** config.md §4: Init for all → Prepare for all → Run for all, in item order; first error aborts. */
import {expect} from 'chai';
import {instantiate, runAllPhases} from '../../../src/core/config/lifecycle.js';
import {loadConfig} from '../../../src/core/config/load.js';
import {ActionRegistry} from '../../../src/core/config/registry.js';
import type {ActionTypeDef} from '../../../src/core/config/types.js';
import {createLogger} from '../../../src/core/log.js';
import {NodeRuntime} from '../../../src/core/runtime.js';
import {builtinTypes} from '../../../src/plugins/register.js';

function setup(calls: string[], failAt?: string) {
  const recorder: ActionTypeDef<{name: string}> = {
    key: 'rec',
    description: 'records phases',
    fields: [{name: 'name', type: 'string', bare: true, description: 'n'}],
    create(v) {
      const step = (phase: string) => () => {
        calls.push(`${phase}:${v.name}`);
        if (failAt === `${phase}:${v.name}`) throw new Error(`${v.name} broke in ${phase}`);
      };
      return {init: step('init'), prepare: step('prepare'), run: step('run')};
    },
  };
  const reg = new ActionRegistry();
  for (const t of builtinTypes()) reg.add(t, 'receptor-mesh');
  reg.add(recorder as ActionTypeDef, 'test');
  const rt = new NodeRuntime(createLogger('silent'), {configFiles: [], argv: [], selfCommand: []});
  return {reg, rt};
}

describe('config: lifecycle phases', () => {
  it('runs each phase over all items before the next phase, in item order', async () => {
    const calls: string[] = [];
    const {reg, rt} = setup(calls);
    const {items} = loadConfig(['--rec', 'a', '--node', 'id=n1', '--rec', 'b', '--local-only'], reg);
    await runAllPhases(instantiate(items), rt);
    expect(calls).to.deep.equal(['init:a', 'init:b', 'prepare:a', 'prepare:b', 'run:a', 'run:b']);
    expect(rt.node.id).to.equal('n1');
    expect(rt.node.backends.map((b) => b.kind)).to.deep.equal(['local-only']);
  });

  it('stops at the first error, naming the item', async () => {
    const calls: string[] = [];
    const {reg, rt} = setup(calls, 'prepare:a');
    const {items} = loadConfig(['--node', 'id=n1', '--rec', 'a', '--rec', 'b'], reg);
    let err: Error | undefined;
    await runAllPhases(instantiate(items), rt).catch((e: Error) => (err = e));
    expect(err?.message).to.equal('a broke in prepare (rec at command line --rec (argument 3))');
    expect(calls).to.deep.equal(['init:a', 'init:b', 'prepare:a']);
  });

  it('log-level maps onto pino levels and trace lowers it to trace', async () => {
    const {reg, rt} = setup([]);
    const {items} = loadConfig(['--log-level', 'Warning', '--node', 'id=n'], reg);
    await runAllPhases(instantiate(items), rt);
    expect(rt.logger.level).to.equal('warn');
    const b = setup([]);
    const t = loadConfig(['--log-level', 'debug', '--trace', '--node', 'id=n'], b.reg);
    await runAllPhases(instantiate(t.items), b.rt);
    expect(b.rt.logger.level).to.equal('trace');
  });

  it('the node has no backends unless an item adds one', async () => {
    const {reg, rt} = setup([]);
    const {items} = loadConfig(['--node', 'id=n'], reg);
    await runAllPhases(instantiate(items), rt);
    expect(rt.node.backends).to.have.length(0);
  });

  it('shutdown hooks run in reverse order and abort the shared signal', async () => {
    const {rt} = setup([]);
    const order: number[] = [];
    rt.onShutdown(() => void order.push(1));
    rt.onShutdown(async () => void order.push(2));
    rt.onShutdown(() => {
      throw new Error('hook failure is contained');
    });
    await rt.shutdown();
    expect(order).to.deep.equal([2, 1]);
    expect(rt.signal.aborted).to.equal(true);
  });
});
