import {expect} from 'chai';
import {ActionRegistry} from '../../../src/core/config/registry.js';
import {buildRegistry} from '../../../src/core/config/plugins.js';
import type {ActionTypeDef} from '../../../src/core/config/types.js';

const def = (over: Partial<ActionTypeDef> = {}): ActionTypeDef => ({key: 'thing', description: 'd', fields: [], create: () => ({}), ...over});

describe('config: action registry', () => {
  it('refuses a duplicate key and names both plugins', () => {
    expect(() =>
      buildRegistry([
        {plugin: 'receptor-mesh', pluginType: 'core', isRoot: true, types: [def()]},
        {plugin: 'receptor-plugin-x', pluginType: 'user', isRoot: false, types: [def()]},
      ]),
    ).to.throw('action type "thing" is registered by two plugins: receptor-mesh and receptor-plugin-x');
  });

  it('looks keys up exactly, or case-insensitively for the command line', () => {
    const r = new ActionRegistry();
    r.add(def({key: 'tcp-peer'}), 'p');
    expect(r.get('tcp-peer')?.plugin).to.equal('p');
    expect(r.get('TCP-Peer')).to.equal(undefined);
    expect(r.lookupInsensitive('TCP-Peer')?.def.key).to.equal('tcp-peer');
  });

  const invalid: Array<[string, Partial<ActionTypeDef>, string]> = [
    ['an upper-case key', {key: 'Thing'}, 'key must be lower-case'],
    ['no create()', {create: undefined as never}, 'create must be a function'],
    ['a bad field type', {fields: [{name: 'a', type: 'uint' as never, description: ''}]}, 'field a has unknown type "uint"'],
    [
      'a duplicate field',
      {
        fields: [
          {name: 'a', type: 'int', description: ''},
          {name: 'a', type: 'int', description: ''},
        ],
      },
      'field a is declared twice',
    ],
    [
      'two bare fields',
      {
        fields: [
          {name: 'a', type: 'int', bare: true, description: ''},
          {name: 'b', type: 'int', bare: true, description: ''},
        ],
      },
      'at most one field may take the bare value',
    ],
  ];
  for (const [what, over, msg] of invalid) {
    it(`refuses ${what}, naming the plugin`, () => {
      expect(() => new ActionRegistry().add(def(over), 'plug-z'))
        .to.throw(`plugin plug-z registered an invalid action type`)
        .and.to.match(new RegExp(msg.replace(/[()[\]"]/g, '.')));
    });
  }
});
