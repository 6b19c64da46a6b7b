/** The data-directory link through which installed plugins import the running receptor-mesh. */
import {expect} from 'chai';
import {mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {linkHostPackage} from '../../../src/core/config/plugin-host.js';

describe('linkHostPackage', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'plugin-host-'));
    mkdirSync(join(dir, 'data', 'node_modules'), {recursive: true});
    mkdirSync(join(dir, 'host'));
    mkdirSync(join(dir, 'other'));
  });
  afterEach(() => rmSync(dir, {recursive: true, force: true}));
  const link = () => join(dir, 'data', 'node_modules', 'receptor-mesh');

  it('links the package to the host, and again when the link points elsewhere', () => {
    linkHostPackage(join(dir, 'data'), join(dir, 'host'), 'receptor-mesh');
    expect(readlinkSync(link())).to.equal(join(dir, 'host'));
    rmSync(link());
    symlinkSync(join(dir, 'other'), link());
    linkHostPackage(join(dir, 'data'), join(dir, 'host') + '/', 'receptor-mesh');
    expect(readlinkSync(link())).to.equal(join(dir, 'host'));
    expect(readdirSync(join(dir, 'data', 'node_modules'))).to.deep.equal(['receptor-mesh']);
  });

  it('leaves a real folder of that name alone', () => {
    mkdirSync(link());
    linkHostPackage(join(dir, 'data'), join(dir, 'host'), 'receptor-mesh');
    expect(() => readlinkSync(link())).to.throw(/EINVAL/);
  });

  it('does nothing without a node_modules folder (nothing installed)', () => {
    rmSync(join(dir, 'data', 'node_modules'), {recursive: true});
    linkHostPackage(join(dir, 'data'), join(dir, 'host'), 'receptor-mesh');
    expect(readdirSync(join(dir, 'data'))).to.deep.equal([]);
  });
});
