/** The unit store: status file encoding, allocation, lookup, start-up scan, unknown types. */
import {expect} from 'chai';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createLogger} from '../../../src/core/log.js';
import {commandTypeDef} from '../../../src/core/work/command.js';
import {decodeStatus, encodeStatus, isComplete, readStatus, stateName, updateBasicStatus, writeStatus} from '../../../src/core/work/status.js';
import {UnknownTypeUnit} from '../../../src/core/work/unit.js';
import {Workceptor} from '../../../src/core/work/workceptor.js';

const cmd = (workType: string, extra: Partial<Parameters<typeof commandTypeDef>[0]> = {}) =>
  commandTypeDef({workType, command: 'cat', params: '', allowRuntimeParams: false, verifySignature: false, ...extra});

function manager(dataDir = mkdtempSync(join(tmpdir(), 'receptor-wc-'))): Workceptor {
  return new Workceptor({nodeId: 'foo', dataDir, logger: createLogger('silent')});
}

describe('work: status file (workceptor.md §4)', () => {
  it('encodes in Go struct order, compact, with a trailing LF and Go string escaping', () => {
    expect(encodeStatus({State: 1, Detail: 'Running: PID 12895', StdoutSize: 0, WorkType: 'sleep', ExtraData: {Pid: 12887, Params: '30 15'}})).to.equal(
      '{"State":1,"Detail":"Running: PID 12895","StdoutSize":0,"WorkType":"sleep","ExtraData":{"Pid":12887,"Params":"30 15"}}\n',
    );
    expect(encodeStatus({State: 2, Detail: 'a<b>&', StdoutSize: 6, WorkType: 'echo', ExtraData: null})).to.equal(
      '{"State":2,"Detail":"a\\u003cb\\u003e\\u0026","StdoutSize":6,"WorkType":"echo","ExtraData":null}\n',
    );
  });

  it('reads any JSON object (spaces, unknown keys, missing keys)', () => {
    expect(decodeStatus('{ "State": 3, "Detail": "x", "Extra": 1 }')).to.deep.equal({State: 3, Detail: 'x', StdoutSize: 0, WorkType: '', ExtraData: null});
    expect(() => decodeStatus('[1]')).to.throw('not a JSON object');
    expect(() => decodeStatus('{')).to.throw('invalid status file');
  });

  it('state names and completeness: Canceled is not complete', () => {
    expect([0, 1, 2, 3, 4, 9].map(stateName)).to.deep.equal(['Pending', 'Running', 'Succeeded', 'Failed', 'Canceled', 'Unknown: 9']);
    expect([0, 1, 2, 3, 4].map(isComplete)).to.deep.equal([false, false, true, true, false]);
  });

  it('basic update keeps WorkType and ExtraData; size -1 keeps StdoutSize; no temp files left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'receptor-st-'));
    writeStatus(dir, {State: 0, Detail: 'Unit Created', StdoutSize: 5, WorkType: 'echo', ExtraData: {Pid: 0, Params: ''}});
    updateBasicStatus(dir, 1, 'Running: PID 7', -1);
    expect(readStatus(dir)).to.deep.equal({State: 1, Detail: 'Running: PID 7', StdoutSize: 5, WorkType: 'echo', ExtraData: {Pid: 0, Params: ''}});
    expect(readdirSync(dir)).to.deep.equal(['status']);
  });
});

describe('work: the work manager (workceptor.md §2, §6, §10)', () => {
  it('allocates 8-character [0-9a-zA-Z] IDs with the initial status and files', () => {
    const wc = manager();
    const def = cmd('echo');
    void wc.registerType(def);
    const u = wc.allocateLocal('echo', {}, '');
    expect(u.id).to.match(/^[0-9a-zA-Z]{8}$/);
    expect(readFileSync(join(u.dir, 'status'), 'utf8')).to.equal('{"State":0,"Detail":"Unit Created","StdoutSize":0,"WorkType":"echo","ExtraData":{"Pid":0,"Params":""}}\n');
    expect(readFileSync(join(u.dir, 'status.lock'), 'utf8')).to.equal('');
    expect(wc.unit(u.id)).to.equal(u);
    expect(wc.list()).to.deep.equal([u]);
  });

  it('allocation errors use the spec texts and leave no directory behind', async () => {
    const wc = manager();
    await wc.registerType(cmd('echo'));
    expect(() => wc.allocateLocal('nope', {}, '')).to.throw('unknown work type nope');
    expect(() => wc.allocateLocal('echo', {}, '5s')).to.throw('ttl option is intended for remote work only');
    expect(() => wc.allocateLocal('echo', {params: 'x'}, '')).to.throw('extra params provided but not allowed');
    expect(existsSync(wc.unitsDir) ? readdirSync(wc.unitsDir) : []).to.deep.equal([]);
    await wc.registerType(cmd('p', {params: '30', allowRuntimeParams: true}));
    const u = wc.allocateLocal('p', {params: '1', other: 'ignored'}, '');
    expect(u.status().ExtraData).to.deep.equal({Pid: 0, Params: '30 1'});
    await wc.registerType(cmd('q', {allowRuntimeParams: true}));
    expect(wc.allocateLocal('q', {params: '1'}, '').status().ExtraData).to.deep.equal({Pid: 0, Params: '1'});
  });

  it('refuses a second registration of a type; shouldVerify follows verifysignature and the remote sign flag', async () => {
    const wc = manager();
    await wc.registerType(cmd('echo'));
    await wc.registerType(cmd('secure', {verifySignature: true}));
    let err: Error | undefined;
    await wc.registerType(cmd('echo')).catch((e: Error) => (err = e));
    expect(err?.message).to.equal('work type echo already registered');
    expect([
      wc.shouldVerify('echo', true),
      wc.shouldVerify('secure', false),
      wc.shouldVerify('nope', true),
      wc.shouldVerify('remote', true),
      wc.shouldVerify('remote', false),
    ]).to.deep.equal([false, true, false, true, false]);
    expect(wc.advertisedTypes()).to.deep.equal([
      {workType: 'echo', secure: false},
      {workType: 'secure', secure: true},
    ]);
    expect(wc.isLocal('foo') && wc.isLocal('LocalHost') && !wc.isLocal('FOO')).to.equal(true);
  });

  it('unknown IDs: `unknown work unit <id>`; a unit created on disk by someone else is found by a rescan', async () => {
    const wc = manager();
    await wc.registerType(cmd('echo'));
    expect(() => wc.unit('nosuchunit')).to.throw('unknown work unit nosuchunit');
    const dir = join(wc.unitsDir, 'AbC123xy');
    mkdirSync(dir, {recursive: true});
    writeStatus(dir, {State: 2, Detail: 'exit status 0', StdoutSize: 0, WorkType: 'echo', ExtraData: null});
    expect(wc.unit('AbC123xy').status().Detail).to.equal('exit status 0');
  });

  it('start-up scan: unknown types are listed with "Unknown WorkType" and replaced when the type registers; dirs without status are skipped', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'receptor-wc-'));
    const units = join(dataDir, 'foo');
    for (const [id, type, state] of [
      ['unitAAAA', 'later', 2],
      ['unitBBBB', 'echo', 0],
    ] as const) {
      mkdirSync(join(units, id), {recursive: true});
      writeStatus(join(units, id), {State: state, Detail: 'x', StdoutSize: 0, WorkType: type, ExtraData: null});
    }
    mkdirSync(join(units, 'emptyDir'));
    writeFileSync(join(units, 'notADir'), '');
    const wc = manager(dataDir);
    await wc.scan();
    expect(wc.list().map((u) => u.id)).to.deep.equal(['unitAAAA', 'unitBBBB']);
    expect(wc.unit('unitAAAA')).to.be.instanceOf(UnknownTypeUnit);
    expect(wc.unit('unitAAAA').publicStatus().ExtraData).to.equal('Unknown WorkType');
    // The status file itself is not touched by the override.
    expect(readStatus(join(units, 'unitAAAA')).ExtraData).to.equal(null);
    await wc.registerType(cmd('echo'));
    // A unit that was Pending when the node stopped fails at restart.
    expect(wc.unit('unitBBBB').status()).to.include({State: 3, Detail: 'Pending at restart'});
    await wc.registerType(cmd('later'));
    expect(wc.unit('unitAAAA')).to.not.be.instanceOf(UnknownTypeUnit);
    expect(wc.unit('unitAAAA').status()).to.include({State: 2, Detail: 'x'});
    expect(await wc.unit('unitAAAA').release(false)).to.equal('released');
    expect(existsSync(join(units, 'unitAAAA'))).to.equal(false);
    expect(() => wc.unit('unitAAAA')).to.throw('unknown work unit unitAAAA');
  });

  it('a unit whose runner is gone after a restart is failed instead of staying Running forever', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'receptor-wc-'));
    const dir = join(dataDir, 'foo', 'unitCCCC');
    mkdirSync(dir, {recursive: true});
    writeStatus(dir, {State: 1, Detail: 'Running: PID 1', StdoutSize: 0, WorkType: 'echo', ExtraData: {Pid: 2 ** 22 + 12345, Params: ''}});
    const wc = manager(dataDir);
    await wc.registerType(cmd('echo'));
    expect(wc.unit('unitCCCC').status()).to.include({State: 3, Detail: 'Failed to restart: command runner is gone'});
  });
});
