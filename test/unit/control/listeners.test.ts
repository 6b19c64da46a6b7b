/** The unix control socket is never more open than its `permissions`, not even before the chmod. */
import {expect} from 'chai';
import {mkdtempSync, statSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {listenUnix} from '../../../src/core/control/listeners.js';

describe('control listeners: unix socket permissions', () => {
  it('under umask 000 the socket is created with the configured mode (Go chmods after binding)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'receptor-sock-')), 'ctl.sock');
    const original = net.Server.prototype.listen;
    let atBind: number | undefined;
    // the mode the socket has as soon as listen() has bound it, before listenUnix's chmod
    net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
      const r = (original as (...a: unknown[]) => net.Server).apply(this, args);
      if (args[0] === path) atBind = statSync(path).mode & 0o777;
      return r;
    } as typeof original;
    const oldMask = process.umask(0);
    try {
      for (const mode of [0o600, 0o660]) {
        atBind = undefined;
        const l = await listenUnix(path, mode, (s) => s.destroy());
        await l.close();
        expect(atBind, mode.toString(8)).to.equal(mode);
      }
      expect(process.umask(0)).to.equal(0); // restored
    } finally {
      process.umask(oldMask);
      net.Server.prototype.listen = original;
    }
  });
});
