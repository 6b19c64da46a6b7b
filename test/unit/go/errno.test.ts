/** Go's errno texts and the error texts built on them. */
import {expect} from 'chai';
import {errnoString, errnoText, listenOpError, pathErrorText} from '../../../src/core/go/errno.js';

describe('go/errno: system error texts', () => {
  it("errno texts are Go's", () => {
    expect(errnoString(2)).to.equal('no such file or directory');
    expect(errnoString(8)).to.equal('exec format error');
    expect(errnoString(13)).to.equal('permission denied');
    expect(errnoString(20)).to.equal('not a directory');
    expect(errnoString(26)).to.equal('text file busy');
    expect(errnoString(41)).to.equal('errno 41');
    const enoent = Object.assign(new Error('spawn /x ENOENT'), {errno: -2, code: 'ENOENT'});
    expect(errnoText(enoent)).to.equal('no such file or directory');
    expect(errnoText(Object.assign(new Error('x'), {code: 'EACCES'}))).to.equal('permission denied');
    expect(errnoText(new Error('plain'))).to.equal('plain');
  });

  it('pathErrorText is *fs.PathError.Error()', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), {errno: -2, code: 'ENOENT', syscall: 'open', path: '/x'});
    expect(pathErrorText(enoent, 'open', '/x')).to.equal('open /x: no such file or directory');
    expect(pathErrorText(Object.assign(new Error('x'), {code: 'EISDIR'}), 'read', '/d')).to.equal('read /d: is a directory');
  });

  it('listenOpError reads like a failed net.Listen and keeps the Node fields', () => {
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use :::2222'), {errno: -98, code: 'EADDRINUSE', syscall: 'listen'});
    const e = listenOpError(inUse, 'tcp', undefined, 2222) as NodeJS.ErrnoException;
    expect(e.message).to.equal('listen tcp 0.0.0.0:2222: bind: address already in use');
    expect(e.code).to.equal('EADDRINUSE');
    expect(e.cause).to.equal(inUse);
    expect(listenOpError(inUse, 'udp', '127.0.0.1', 9).message).to.equal('listen udp 127.0.0.1:9: bind: address already in use');
  });
});
