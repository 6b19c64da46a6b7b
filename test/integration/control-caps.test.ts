/**
 * Control-service resource caps over real unix sockets: the node-wide budget for unfinished
 * request lines, the per-listener session cap, and the idle timeout of sessions waiting for
 * a request (never of a streaming `work results`).
 */
import {expect} from 'chai';
import net from 'node:net';
import {setLineBudget, type LineBudget} from '../../src/core/control/server.js';
import {LineClient} from '../support/control.js';
import {until} from '../support/mesh.js';
import {ask, commandType, startWorkNode, submitWork, type WorkNode} from '../support/work.js';

/** A raw client: what it received, and whether the node closed it. */
interface Held {
  socket: net.Socket;
  out: string;
  closed: boolean;
}

function open(sock: string): Held {
  const h: Held = {socket: net.connect(sock), out: '', closed: false};
  h.socket.on('data', (d) => (h.out += d.toString()));
  h.socket.on('end', () => (h.closed = true));
  h.socket.on('close', () => (h.closed = true));
  h.socket.on('error', () => {});
  return h;
}

const logged = (lines: string[], text: string) => lines.filter((l) => l.includes(text)).length;

describe('control service caps', function () {
  this.timeout(30_000);
  let n: WorkNode | undefined;
  const held: Held[] = [];

  afterEach(async () => {
    for (const h of held.splice(0)) h.socket.destroy();
    await n?.close();
    n = undefined;
  });

  it('closes the sessions that would pass the unfinished-line budget; the node still answers status', async () => {
    const lines: string[] = [];
    let budget: LineBudget | undefined;
    n = await startWorkNode('foo', {logLines: lines, prepare: (rt) => void (budget = setLineBudget(rt, 1 << 20))});
    const part = 'x'.repeat(200 << 10); // 5 of these fit in 1 MiB, the 6th does not
    for (let i = 0; i < 8; i++) {
      const h = open(n.sock);
      held.push(h);
      await until(() => h.out.startsWith('Receptor Control'), `greeting ${i}`);
      h.socket.write(part);
      // Each holder is either fully charged or refused before the next one starts.
      await until(() => h.closed || budget!.total >= (i + 1) * part.length || i >= 5, `session ${i} charged or closed`);
      if (i >= 5) await until(() => h.closed, `session ${i} closed by the cap`);
    }
    expect(held.slice(0, 5).map((h) => h.closed)).to.deep.equal([false, false, false, false, false]);
    for (const h of held.slice(5)) {
      expect(h.out.split('\n')[1]).to.equal(`ERROR: control service is holding too much unfinished request data (limit ${1 << 20} bytes for all sessions)`);
    }
    expect(budget!.total).to.equal(5 * part.length);
    expect(logged(lines, 'hold too many unfinished request lines')).to.equal(1); // once per cause, not per session
    // Other clients are still served (how fast is a bench matter, not a test's).
    expect(JSON.parse(await ask(n.sock, 'status')).NodeID).to.equal('foo');
    // A holder that finishes its line gets its answer and gives its share back.
    held[0]!.socket.write(' \n');
    await until(() => held[0]!.out.includes('ERROR: Unknown command'), 'holder 0 answered');
    await until(() => budget!.total === 4 * part.length, 'share released after the line');
    for (const h of held.slice(1, 5)) h.socket.destroy();
    await until(() => budget!.total === 0, 'budget empty once the holders are gone');
  });

  it('keeps the 16 MiB single-line limit', async () => {
    n = await startWorkNode('foo');
    const h = open(n.sock);
    held.push(h);
    await until(() => h.out.startsWith('Receptor Control'), 'greeting');
    h.socket.write(Buffer.alloc((16 << 20) + 1, 0x61));
    await until(() => h.closed, 'closed after the too-long line');
    expect(h.out.split('\n')[1]).to.match(/^ERROR: .*request line/);
  });

  it('refuses sessions past maxsessions at once, logs once per burst, admits again when one ends', async () => {
    const lines: string[] = [];
    n = await startWorkNode('foo', {logLines: lines, control: {maxsessions: 3}});
    const ok = [new LineClient(n.sock), new LineClient(n.sock), new LineClient(n.sock)];
    for (const c of ok) expect(await c.line()).to.equal('Receptor Control, node foo');
    const refused = [open(n.sock), open(n.sock)];
    held.push(...refused);
    await until(() => refused.every((h) => h.closed), 'extra sessions closed');
    expect(refused.map((h) => h.out)).to.deep.equal(['', '']);
    expect(logged(lines, 'sessions; refusing new ones')).to.equal(1);
    ok[0]!.close();
    await until(() => logged(lines, 'refused 2 connection(s) while full') === 1, 'burst summary');
    const again = new LineClient(n.sock);
    expect(await again.line()).to.equal('Receptor Control, node foo');
    again.send('status\n');
    expect(JSON.parse(await again.line()).NodeID).to.equal('foo');
    for (const c of [...ok, again]) c.close();
  });

  it('closes a session idle before a request, never one streaming work results', async () => {
    n = await startWorkNode('foo', {types: [commandType('tick', 'sh', `-c 'echo started; exec sleep 30'`)], control: {idletimeout: '300ms'}});
    const {id} = await submitWork(n.sock, {node: 'localhost', worktype: 'tick'});
    expect(id).to.not.equal('');
    const results = open(n.sock);
    held.push(results);
    results.socket.write(`work results ${id} 0\n`);
    await until(() => results.out.includes('started\n'), 'results streaming');
    // A session that asked once, then waits: its idle time starts after the reply.
    const asked = new LineClient(n.sock);
    expect(await asked.line()).to.equal('Receptor Control, node foo');
    asked.send('status\n');
    expect(JSON.parse(await asked.line()).NodeID).to.equal('foo');
    const t0 = Date.now();
    expect(await asked.line()).to.equal('ERROR: no request for 300 ms, closing the session');
    expect(Date.now() - t0).to.be.at.least(250);
    await until(() => asked.socket.destroyed || asked.socket.readableEnded, 'idle session closed');
    // Two idle timeouts after the stream started, it is still open.
    const idle = open(n.sock);
    held.push(idle);
    await until(() => idle.closed, 'second idle session closed');
    expect(results.closed).to.equal(false);
    expect(results.out).to.equal(`Receptor Control, node foo\nStreaming results for work unit ${id}\nstarted\n`);
    asked.close();
    expect(await ask(n.sock, `work cancel ${id}`)).to.match(/cancelled|Cancelled/);
  });

  it('refuses a bad idletimeout at start-up', async () => {
    const {controlServiceType} = await import('../../src/plugins/control-service/index.js');
    const base = {service: 'control', filename: '/tmp/x.sock', permissions: 0o600, tls: '', tcplisten: '', tcptls: '', maxsessions: 0};
    expect(() => controlServiceType.validate!({...base, idletimeout: 'ten'})).to.throw('time: invalid duration "ten"');
    expect(() => controlServiceType.validate!({...base, idletimeout: '-1s'})).to.throw(/must not be negative/);
    expect(() => controlServiceType.validate!({...base, idletimeout: '0'})).to.not.throw();
  });
});
