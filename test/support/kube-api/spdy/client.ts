// A pure-TS SPDY/3.1 client for tests: the HTTP/1.1 upgrade client-go's SPDY round tripper sends,
// then a client-role SpdySession. With honourSendWindow it behaves as a strict SPDY/3.1 peer (so
// the server's WINDOW_UPDATEs are exercised); without, it blasts data as spdystream does.
import http from 'node:http';
import type {Socket} from 'node:net';
import type {Logger} from 'pino';
import {SpdySession, type SpdyStream} from './session.js';

export interface SpdyClientConnection {
  session: SpdySession;
  socket: Socket;
  /** The server's X-Stream-Protocol-Version. */
  protocol: string;
  headers: http.IncomingHttpHeaders;
  /** Opens a stream with a streamtype header (as client-go names them) and waits for the reply. */
  open(streamType: string): Promise<SpdyStream>;
  close(): void;
}

export interface ConnectOptions {
  protocols?: string[];
  honourSendWindow?: boolean;
  logger?: Logger;
  /** Extra request headers (override the upgrade headers to test refusals). */
  headers?: Record<string, string | string[]>;
  method?: string;
}

export class UpgradeRefused extends Error {
  constructor(
    readonly statusCode: number,
    readonly headers: http.IncomingHttpHeaders,
    readonly body: string,
  ) {
    super(`upgrade refused: ${statusCode} ${body.trim()}`);
  }
}

export function connectSpdy(url: string, opts: ConnectOptions = {}): Promise<SpdyClientConnection> {
  const protocols = opts.protocols ?? ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: opts.method ?? 'POST',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'SPDY/3.1',
        'X-Stream-Protocol-Version': protocols,
        ...opts.headers,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, res.headers, Buffer.concat(parts).toString())));
      res.on('error', reject);
    });
    req.on('upgrade', (res, socket: Socket, head: Buffer) => {
      socket.setNoDelay(true);
      const session = new SpdySession(socket, head, {server: false, honourSendWindow: opts.honourSendWindow ?? true, logger: opts.logger});
      resolve({
        session,
        socket,
        protocol: String(res.headers['x-stream-protocol-version'] ?? ''),
        headers: res.headers,
        open: (streamType) => session.openStream({streamtype: [streamType]}),
        close: () => session.destroy(),
      });
    });
    req.end();
  });
}
