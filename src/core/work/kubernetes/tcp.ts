/**
 * Stream method `tcp` (Go's runWorkUsingTCP): the node listens on its default interface, the
 * pod gets RECEPTOR_HOST/RECEPTOR_PORT and connects back; stdin goes out on that connection
 * (then a half-close), stdout comes back until the pod closes it.
 */
import {createReadStream, createWriteStream} from 'node:fs';
import net from 'node:net';
import {networkInterfaces} from 'node:os';
import {STATE_FAILED, STATE_PENDING, STATE_RUNNING, STATE_SUCCEEDED} from '../status.js';
import type {WorkUnit} from '../unit.js';

/** Go's getDefaultInterface: the first address of an up, non-loopback interface. */
export function defaultInterfaceAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (!a.internal && !a.address.startsWith('ff') && !/^2(2[4-9]|3\d)\./.test(a.address)) return a.address;
    }
  }
  return undefined;
}

export interface TcpRun {
  unit: WorkUnit;
  signal: AbortSignal;
  createPod(env: Record<string, string>): Promise<unknown>;
  update(state: number, detail: string, size: number): void;
}

export async function runWorkUsingTcp(r: TcpRun): Promise<void> {
  const {signal, update} = r;
  const host = defaultInterfaceAddress();
  if (!host) {
    update(STATE_FAILED, 'Error listening: could not determine local address', 0);
    return;
  }
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
  } catch (err) {
    update(STATE_FAILED, `Error listening: ${(err as Error).message}`, 0);
    return;
  }
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket | undefined>((resolve) => {
    server.once('connection', (s) => {
      server.close();
      resolve(s);
    });
    signal.addEventListener('abort', () => resolve(undefined), {once: true});
  });
  try {
    await r.createPod({RECEPTOR_HOST: host, RECEPTOR_PORT: String(port)});
  } catch (err) {
    server.close();
    if (!signal.aborted) update(STATE_FAILED, `Error creating pod: ${(err as Error).message}`, 0);
    return;
  }
  const conn = await accepted;
  server.close();
  if (!conn || signal.aborted) {
    conn?.destroy();
    return;
  }
  const onAbort = () => conn.destroy();
  signal.addEventListener('abort', onAbort, {once: true});
  let written = 0;
  const out = createWriteStream(r.unit.stdoutPath, {flags: 'w', mode: 0o600});
  update(STATE_PENDING, 'Sending stdin to pod', 0);
  const stdin = createReadStream(r.unit.stdinPath);
  stdin.on('error', (err) => {
    update(STATE_FAILED, `Error reading stdin: ${err.message}`, written);
    conn.destroy();
  });
  stdin.on('end', () => {
    conn.end();
    update(STATE_RUNNING, 'Pod Running', written);
  });
  stdin.pipe(conn, {end: false});
  await new Promise<void>((resolve) => {
    conn.on('data', (c: Buffer) => {
      written += c.length;
      if (!out.write(c)) {
        conn.pause();
        out.once('drain', () => conn.resume());
      }
    });
    conn.on('end', () => {
      out.end(() => {
        if (!signal.aborted) update(STATE_SUCCEEDED, 'Finished', written);
        resolve();
      });
    });
    conn.on('error', (err) => {
      out.end();
      if (!signal.aborted) update(STATE_FAILED, `Error reading stdout from pod: ${err.message}`, 0);
      resolve();
    });
  });
  signal.removeEventListener('abort', onAbort);
}
