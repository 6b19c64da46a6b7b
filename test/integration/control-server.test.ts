/**
 * The control service against the captured receptorctl sessions: every non-work request is
 * replayed chunk by chunk and each reply is compared with the captured one by value (key
 * order included), with times, RTTs, host figures and the version normalised after checking
 * each. Work sessions are replayed by the work tests.
 */
import {expect} from 'chai';
import {availableParallelism, totalmem} from 'node:os';
import {durationString} from '../../src/core/go/time.js';
import {implementationString, reportedVersion} from '../../src/core/version.js';
import {CONN_TYPE_STREAM} from '../../src/core/netceptor/codec.js';
import type {Netceptor} from '../../src/core/netceptor/node.js';
import {capturedSessions, converse, LineClient, startControl, type ControlFixture} from '../support/control.js';
import {FAST, link, makeNode, until} from '../support/mesh.js';

const sessions = capturedSessions();

/** Go's version string in the capture (ours reports reportedVersion() in its place). */
const GO_VERSION = 'v1.4.9+git52be4019';
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

/**
 * Replaces what differs between runs by nature with placeholders, after checking each such
 * value on its own: advertisement times (RFC 3339), RTTs (Time in ns and TimeStr, Go's
 * Duration.String() of it), host CPU count and memory, and the version (Go's in the capture,
 * reportedVersion() in ours). Everything else stays as it is.
 */
function normalize(v: unknown, side: 'ours' | 'theirs', path = '$'): unknown {
  if (Array.isArray(v)) return v.map((x, i) => normalize(x, side, `${path}[${i}]`));
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) {
    const at = `${side} ${path}.${k}`;
    if (k === 'Time' && typeof x === 'string') {
      expect(x, at).to.match(RFC3339_NANO);
      out[k] = '<time>';
    } else if (k === 'Time' && typeof x === 'number' && typeof o.TimeStr === 'string') {
      expect(Number.isInteger(x) && x > 0, at).to.equal(true);
      expect(o.TimeStr, `${at}Str`).to.equal(durationString(BigInt(x)));
      out[k] = '<rtt ns>';
    } else if (k === 'TimeStr' && typeof o.Time === 'number') out[k] = '<rtt>';
    else if (k === 'SystemCPUCount' || k === 'SystemMemoryMiB') {
      expect(Number.isInteger(x) && (x as number) > 0, at).to.equal(true);
      if (side === 'ours') expect(x, at).to.equal(k === 'SystemCPUCount' ? availableParallelism() : Math.floor(totalmem() / 1048576));
      out[k] = `<${k}>`;
    } else if (k === 'Version') {
      expect(x, at).to.equal(side === 'ours' ? reportedVersion().version : GO_VERSION);
      out[k] = '<version>';
    } else out[k] = normalize(x, side, `${path}.${k}`);
  }
  return out;
}

/** Equal by value after normalize(): same keys in the same order, arrays of equal length. */
function sameValue(ours: unknown, theirs: unknown): void {
  expect(JSON.stringify(normalize(ours, 'ours'))).to.equal(JSON.stringify(normalize(theirs, 'theirs')));
}

function compareReplies(ours: string, theirs: string, node: string): void {
  const a = ours.split('\n').filter(Boolean);
  const b = theirs.split('\n').filter(Boolean);
  expect(a.length, `reply lines\nours: ${ours}\ntheirs: ${theirs}`).to.equal(b.length);
  a.forEach((line, i) => {
    const want = b[i];
    if (want.startsWith('Receptor Control')) return expect(line).to.equal(`Receptor Control, node ${node}`);
    if (want.startsWith('ERROR')) return expect(line).to.equal(want);
    sameValue(JSON.parse(line), JSON.parse(want));
  });
}

describe('control service: captured receptorctl sessions', function () {
  this.timeout(30_000);
  let foo: Netceptor;
  let bar: Netceptor;
  let ctl: ControlFixture;

  before(async () => {
    foo = makeNode('foo', {timings: FAST});
    bar = makeNode('bar', {timings: FAST});
    link(foo, bar);
    for (const n of [foo, bar]) {
      n.listenPacketAndAdvertise('control', CONN_TYPE_STREAM, {type: 'Control Service'});
      n.setWorkCommands([
        {workType: 'echo', secure: false},
        {workType: 'sleep', secure: false},
      ]);
    }
    await until(() => foo.statusAdvertisements().length === 2 && foo.statusRoutingTable().bar === 'bar', 'mesh ready');
    ctl = await startControl(foo);
    ctl.rt.registry('reload').register('reload', async () => ({}));
  });
  after(async () => {
    await ctl.close();
    await foo.shutdown();
    await bar.shutdown();
  });

  const replayed = [1, 2, 3, 4, 5, 24, 25, 27];
  for (const n of replayed) {
    const s = sessions.find((x) => x.conn === n)!;
    it(`conn ${n}: ${s.exchange
      .filter((e) => e.dir.startsWith('receptorctl') && e.data)
      .map((e) => JSON.stringify(e.data))
      .join(' ')}`, async () => {
      const sent = s.exchange.filter((e) => e.dir === 'receptorctl->foo' && e.data).map((e) => e.data!);
      const want = s.exchange
        .filter((e) => e.dir === 'foo->receptorctl' && e.data)
        .map((e) => e.data!)
        .join('');
      compareReplies(await converse(ctl.path, sent), want, 'foo');
    });
  }

  it('conn 26: error lines for bogus JSON and text requests (work lines excluded until work exists)', async () => {
    const s = sessions.find((x) => x.conn === 26)!;
    const pairs: Array<[string, string]> = [];
    let pending: string | undefined;
    for (const e of s.exchange) {
      if (!e.data) continue;
      if (e.dir === 'receptorctl->foo') pending = e.data;
      else if (pending !== undefined) {
        pairs.push([pending, e.data]);
        pending = undefined;
      }
    }
    const kept = pairs.filter(([req]) => !req.startsWith('work'));
    expect(kept.map(([r]) => r)).to.deep.equal(['{"command":"bogus"}\n', '{"nocommand":1}\n', '{not json\n', 'ping\n', '\r\nSTATUS\n']);
    const ours = await converse(
      ctl.path,
      kept.map(([r]) => r),
    );
    compareReplies(ours, `Receptor Control, node foo\n${kept.map(([, r]) => r).join('')}`, 'foo');
  });

  describe('session protocol (§3)', () => {
    it('answers several commands per session in order, even when sent in one write', async () => {
      const out = await converse(ctl.path, ['ping localhost\nstatus\n']);
      const lines = out.trim().split('\n');
      expect(lines).to.have.length(3);
      expect(JSON.parse(lines[1])).to.deep.include({From: 'foo', Success: true});
      expect(JSON.parse(lines[2]).NodeID).to.equal('foo');
    });

    it('drops CRs, ignores empty lines, executes an unterminated last line at EOF', async () => {
      const out = await converse(ctl.path, ['\n\r\n', 'sta', 'tus']);
      const lines = out.trim().split('\n');
      expect(lines).to.have.length(2);
      expect(JSON.parse(lines[1]).NodeID).to.equal('foo');
    });

    it('splits only on ASCII space; a leading space or TAB is an unknown command', async () => {
      const out = await converse(ctl.path, [' status\nping\tlocalhost\nping  localhost\n']);
      expect(out.split('\n').slice(1, 4)).to.deep.equal(['ERROR: Unknown command', 'ERROR: Unknown command', '{"Error":"no route to node","Success":false}']);
    });

    it('JSON forms: case-sensitive command, trailing garbage, non-string command, requested_fields', async () => {
      const out = await converse(ctl.path, [
        '{"command":"STATUS"}\n{"command":"status"} trailing\n{"command":5}\n[1]\n{"command":"status","requested_fields":["NodeID","Version","Nope"]}\n{"command":"status","requested_fields":["Implementation"]}\n{"command":"status","requested_fields":[]}\n{"command":"status","requested_fields":[1]}\n{"command":"status","requested_fields":"Version"}\nstatus now\n',
      ]);
      expect(out.split('\n').slice(1, -1)).to.deep.equal([
        'ERROR: Unknown command',
        "ERROR: invalid character 't' after top-level value",
        'ERROR: Unknown command',
        'ERROR: command must be a string',
        'ERROR: Unknown command',
        'ERROR: Unknown command',
        `{"NodeID":"foo","Version":"${reportedVersion().version}"}`,
        `{"Implementation":"${implementationString()}"}`, // ours, only when asked for by name
        '{}',
        'ERROR: each element of requested_fields must be a string',
        'ERROR: each element of requested_fields must be a string',
        'ERROR: status command does not take parameters',
      ]);
    });

    it('ping and traceroute argument errors and JSON forms', async () => {
      const out = await converse(ctl.path, [
        '{"command":"ping"}\n{"command":"ping","target":5}\ntraceroute\n{"command":"traceroute","target":true}\n{"command":"ping","target":"bar"}\n{"command":"traceroute","target":"bar"}\n',
      ]);
      const lines = out.split('\n').slice(1, -1);
      expect(lines.slice(0, 4)).to.deep.equal([
        'ERROR: no ping target',
        'ERROR: ping target must be string',
        'ERROR: no traceroute target',
        'ERROR: traceroute target must be string',
      ]);
      expect(JSON.parse(lines[4])).to.deep.include({From: 'bar', Success: true});
      expect(Object.keys(JSON.parse(lines[5]))).to.deep.equal(['0', '1']);
    });

    it('streams traceroute hops as they arrive when asked (extension), then the normal reply', async () => {
      const out = await converse(ctl.path, ['{"command":"traceroute","target":"bar","streamhops":true}\n']);
      const lines = out
        .split('\n')
        .slice(1, -1)
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.Hop)).to.deep.equal(['0', '1', undefined]);
      expect(lines[1]).to.deep.include({From: 'bar', Hop: '1'});
      expect(Object.keys(lines[2])).to.deep.equal(['0', '1']);
    });

    it('a request line longer than 16 MiB ends the session with an error (no unbounded buffering)', async () => {
      const out = await converse(ctl.path, [Buffer.alloc(17 << 20, 0x61)]);
      expect(out.split('\n')[1]).to.equal(`ERROR: request line longer than ${16 << 20} bytes`);
    });

    it('handles a very long line, an abrupt disconnect mid-command, and keeps other sessions working', async () => {
      const big = await converse(ctl.path, [`ping ${'x'.repeat(1 << 20)}\n`]);
      expect(big.split('\n')[1]).to.equal('{"Error":"no route to node","Success":false}');
      const c = new LineClient(ctl.path);
      expect(await c.line()).to.equal('Receptor Control, node foo');
      c.send('traceroute bar\n');
      c.close(); // gone before the reply
      const d = new LineClient(ctl.path);
      await d.line();
      d.send('ping bar\n');
      expect(JSON.parse(await d.line())).to.deep.include({From: 'bar', Success: true});
      d.close();
    });

    it('connect argument errors (text and JSON forms) keep the session going', async () => {
      const out = await converse(ctl.path, [
        'connect\nconnect bar\nconnect a b c d\n{"command":"connect"}\n{"command":"connect","node":1}\n{"command":"connect","node":"bar"}\n{"command":"connect","node":"bar","service":2}\n{"command":"connect","node":"bar","service":"x","tls":3}\nconnect bar x nosuchtls\nping localhost\n',
      ]);
      expect(out.split('\n').slice(1, 10)).to.deep.equal([
        'ERROR: no connect target',
        'ERROR: no connect target',
        'ERROR: too many parameters',
        'ERROR: no connect target node',
        'ERROR: connect target node must be string',
        'ERROR: no connect target service',
        'ERROR: connect target service must be string',
        'ERROR: connect tls name must be string',
        'ERROR: unknown TLS config nosuchtls',
      ]);
      expect(JSON.parse(out.split('\n')[10])).to.deep.include({From: 'foo', Success: true});
    });

    it('reload replies come from the registered handler', async () => {
      ctl.rt.registry('reload');
      const out = await converse(ctl.path, ['reload extra stuff\n{"command":"reload","x":1}\n']);
      expect(out.split('\n').slice(1, 3)).to.deep.equal(['{"Success":true}', '{"Success":true}']);
    });
  });
});
