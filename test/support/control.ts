/** In-process control service over a real unix socket, on in-memory mesh nodes. */
import net from 'node:net';
import {mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createLogger} from '../../src/core/log.js';
import {NodeRuntime} from '../../src/core/runtime.js';
import {listenUnix, type Listening} from '../../src/core/control/listeners.js';
import {runControlSession} from '../../src/core/control/server.js';
import {registerBuiltinCommands} from '../../src/core/control/service.js';
import type {Netceptor} from '../../src/core/netceptor/node.js';

export interface ControlFixture {
  rt: NodeRuntime;
  path: string;
  listening: Listening;
  close(): Promise<void>;
}

export async function startControl(node: Netceptor): Promise<ControlFixture> {
  const rt = new NodeRuntime(createLogger('silent'), {configFiles: [], argv: [], selfCommand: []});
  rt.setNode(node);
  registerBuiltinCommands(rt);
  const path = join(mkdtempSync(join(tmpdir(), 'receptor-ctl-')), 'ctl.sock');
  const listening = await listenUnix(path, 0o600, (s) => {
    s.on('error', () => {});
    void runControlSession(s, {isUnix: true, remote: 'unix', transport: 'unix'}, rt, rt.logger);
  });
  return {rt, path, listening, close: () => listening.close()};
}

/** Sends chunks (each written separately), half-closes, and returns everything the server wrote. */
export function converse(path: string, chunks: string[] | Buffer[], opts: {halfClose?: boolean} = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('error', reject);
    s.on('close', () => resolve(out));
    s.once('connect', async () => {
      for (const c of chunks) {
        s.write(c);
        await new Promise((r) => setImmediate(r));
      }
      if (opts.halfClose !== false) s.end();
    });
  });
}

/** Opens a session and lets a test send lines and await reply lines one by one. */
export class LineClient {
  private buf = '';
  private waiters: Array<() => void> = [];
  readonly socket: net.Socket;
  constructor(path: string) {
    this.socket = net.connect(path);
    this.socket.on('data', (d) => {
      this.buf += d.toString();
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on('error', () => {});
  }
  async line(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        return l;
      }
      if (Date.now() > deadline) throw new Error(`no line within ${timeoutMs} ms (have ${JSON.stringify(this.buf)})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  send(text: string): void {
    this.socket.write(text);
  }
  close(): void {
    this.socket.destroy();
  }
}

/** One direction's chunk (or `eof`) of a captured control session. */
export interface Exchange {
  dir: string;
  data?: string;
  event?: string;
}

/** A captured receptorctl session (vectors/control.sessions.json). */
export interface Session {
  conn: number;
  exchange: Exchange[];
}

/** The captured receptorctl sessions against Go node foo. */
export function capturedSessions(): Session[] {
  return JSON.parse(readFileSync(new URL('../vectors/captures/control.sessions.json', import.meta.url), 'utf8')) as Session[];
}
