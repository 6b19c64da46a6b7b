/** Control-service transports: unix socket (control-service.md §2.1) and TCP/TLS (§2.2). */
import {closeSync, chmodSync, existsSync, openSync, rmSync} from 'node:fs';
import net from 'node:net';
import {dirname} from 'node:path';
import tls from 'node:tls';
import type {Logger} from 'pino';
import {errnoText} from '../go/errno.js';
import {ReceptorError} from '../errors.js';
import {listenerHandshakeErrorText} from '../tls/go-tls-errors.js';

export interface Listening {
  readonly address: string;
  close(): Promise<void>;
}

export type OnConnection = (socket: net.Socket) => void;

/** True when something accepts connections on the unix socket at `path`. */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function listen(server: net.Server, ...args: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    (server.listen as (...a: unknown[]) => void)(...args, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Listens on a unix socket created with at most `mode`: Go binds with the process umask and
 * chmods afterwards, so for a moment anyone the umask lets in may connect. Node binds inside
 * listen() synchronously, so a umask set around that call covers it (workers cannot set one).
 */
function bindUnix(server: net.Server, path: string, mode: number): Promise<void> {
  let old: number | undefined;
  try {
    old = process.umask(~mode & 0o777);
  } catch {
    // worker thread: Go's window remains; the chmod below still applies
  }
  try {
    return listen(server, path);
  } finally {
    if (old !== undefined) process.umask(old);
  }
}

/**
 * Go's sequence: lock `<path>.lock`, remove a stale socket, listen, chmod. Node has no
 * flock(2), so the lock is "someone answers on the socket": a live socket is refused with
 * Go's message and a dead one is replaced. The empty 0600 lock file is kept, as Go does.
 */
export async function listenUnix(path: string, mode: number, onConnection: OnConnection): Promise<Listening> {
  const fail = (msg: string) => new Error(`error opening Unix socket: ${msg}`);
  try {
    closeSync(openSync(`${path}.lock`, 'a', 0o600));
  } catch (err) {
    // Go's words, then what a person needs: which socket, and why (a missing folder is the
    // usual cause; the lock file is our business, not theirs).
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `the folder ${dirname(path)} does not exist` : code === 'EACCES' ? `no permission to create files in ${dirname(path)}` : '';
    throw fail(`could not acquire lock on socket file: ${errnoText(err)} (socket ${path}${why ? `: ${why}` : ''})`);
  }
  if (existsSync(path) && (await socketIsLive(path))) throw fail('could not acquire lock on socket file: fslock is already locked');
  try {
    rmSync(path, {recursive: true, force: true});
  } catch (err) {
    throw fail(`could not overwrite socket file: ${(err as Error).message}`);
  }
  const server = net.createServer({allowHalfOpen: true}, onConnection);
  trackSockets(server);
  try {
    await bindUnix(server, path, mode);
  } catch (err) {
    throw fail(`could not listen on socket file: ${(err as Error).message}`);
  }
  try {
    chmodSync(path, mode);
  } catch (err) {
    server.close();
    throw fail(`error setting socket file permissions: ${(err as Error).message}`);
  }
  return {address: path, close: () => closeServer(server)};
}

/** `tcplisten`: a bare port means 0.0.0.0:port; anything with a colon is host:port. */
export function parseTcpListen(spec: string): {host: string; port: number} {
  const colon = spec.lastIndexOf(':');
  const host = colon < 0 ? '0.0.0.0' : spec.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const portText = colon < 0 ? spec : spec.slice(colon + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new ReceptorError('E_LISTEN', `error listening on TCP socket: invalid port ${JSON.stringify(portText)}`);
  return {host: host === '' ? '0.0.0.0' : host, port};
}

/** Go's deadline for the TLS handshake of a control connection. */
export const CONTROL_TLS_HANDSHAKE_MS = 10_000;

/** TCP listener, TLS-wrapped when `tlsOptions` is given (handshake deadline 10 s). */
export async function listenTcp(
  spec: string,
  tlsOptions: tls.TlsOptions | undefined,
  onConnection: OnConnection,
  logger: Logger,
  handshakeTimeoutMs = CONTROL_TLS_HANDSHAKE_MS,
): Promise<Listening> {
  const {host, port} = parseTcpListen(spec);
  const server = tlsOptions
    ? tls.createServer({...tlsOptions, allowHalfOpen: true, handshakeTimeout: handshakeTimeoutMs}, onConnection)
    : net.createServer({allowHalfOpen: true}, onConnection);
  trackSockets(server);
  if (tlsOptions) {
    const requireClientCert = (tlsOptions as {receptor?: {requireClientCert?: boolean}}).receptor?.requireClientCert ?? false;
    server.on('tlsClientError', (err, socket: tls.TLSSocket) => {
      // Go's cause (a refused client certificate, not Node's bare "socket hang up")
      const cause = listenerHandshakeErrorText(err, socket, {requireClientCert});
      logger.error({err: cause, remote: `${socket.remoteAddress}:${socket.remotePort}`}, `TLS handshake error: ${cause}. Closing socket.`);
      // Node reports a handshake timeout here but leaves the connection open: close it, as Go does.
      socket.destroy();
    });
  }
  try {
    await listen(server, port, host);
  } catch (err) {
    throw new ReceptorError('E_LISTEN', `error listening on TCP socket: ${(err as Error).message}`);
  }
  const a = server.address() as net.AddressInfo;
  return {address: `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`, close: () => closeServer(server)};
}

/** Stops listening and ends the sessions still open (server.close alone would wait for them). */
function closeServer(server: net.Server): Promise<void> {
  const sockets = (server as net.Server & {receptorSockets?: Set<net.Socket>}).receptorSockets;
  for (const s of sockets ?? []) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

function trackSockets(server: net.Server): void {
  const set = new Set<net.Socket>();
  (server as net.Server & {receptorSockets?: Set<net.Socket>}).receptorSockets = set;
  server.on('connection', (s: net.Socket) => {
    set.add(s);
    s.once('close', () => set.delete(s));
  });
}
