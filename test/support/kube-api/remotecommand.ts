/**
 * The attach/exec streams, independent of the transport, and the WebSocket transport
 * (k8s.io/apimachinery wsstream: one binary frame per message, first byte the channel:
 * 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; v5 adds 255 "close channel").
 */
import type {IncomingMessage} from 'node:http';
import type {Duplex} from 'node:stream';
import {Readable, Writable} from 'node:stream';
import {WebSocketServer, type WebSocket} from 'ws';

/** What both attach transports hand to the pod: kspdy's SPDY module returns the same shape. */
export interface RemoteCommandStreams {
  /** negotiated, e.g. 'v4.channel.k8s.io' or 'v5.channel.k8s.io' */
  protocol: string;
  /** ends when the client closes stdin (or the connection) */
  stdin: Readable | null;
  stdout: Writable | null;
  stderr: Writable | null;
  /** Send the v4+ status on the error channel and close, e.g. {status:'Success'} or a Failure Status. */
  finish(status: Record<string, unknown>): void;
  readonly closed: Promise<void>;
}

export interface RemoteCommandRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Server preference; a client's offer is matched in its own order, as wsstream does. */
export const WS_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;
/** Bytes of stdin queued here before the socket is paused. */
const STDIN_HWM = 1024 * 1024;
/** Bytes queued for the client before writes report backpressure. */
const OUT_HWM = 4 * 1024 * 1024;

export function createWsServer(): WebSocketServer {
  return new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 16 * 1024 * 1024,
    handleProtocols: (offered) => {
      for (const p of offered) if (WS_PROTOCOLS.includes(p)) return p;
      return false;
    },
  });
}

/** Completes the upgrade; resolves once the WebSocket is open. Rejects if the handshake fails. */
export function acceptWebSocketRemoteCommand(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, opts: RemoteCommandRequest): Promise<RemoteCommandStreams> {
  return new Promise((resolve, reject) => {
    socket.once('close', () => reject(new Error('connection closed during the WebSocket handshake')));
    wss.handleUpgrade(req, socket, head, (ws) => resolve(wrap(ws, opts)));
  });
}

function wrap(ws: WebSocket, opts: RemoteCommandRequest): RemoteCommandStreams {
  const protocol = ws.protocol;
  const v4plus = protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io';
  let finished = false;
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));

  const send = (channel: number, data: Buffer, cb?: (err?: Error) => void): void => {
    if (ws.readyState !== ws.OPEN) {
      cb?.(new Error('websocket closed'));
      return;
    }
    const frame = Buffer.allocUnsafe(data.length + 1);
    frame[0] = channel;
    data.copy(frame, 1);
    ws.send(frame, {binary: true}, cb);
  };

  const out = (channel: number): Writable =>
    new Writable({
      highWaterMark: OUT_HWM,
      write(chunk: Buffer, _enc, cb) {
        if (ws.readyState !== ws.OPEN) return cb();
        // waits for the socket to take the frame, so a slow client slows the writer
        send(channel, chunk, () => cb());
      },
    });

  let stdin: Readable | null = null;
  let stdinEnded = false;
  if (opts.stdin) {
    stdin = new Readable({
      highWaterMark: STDIN_HWM,
      read() {
        if (ws.isPaused) ws.resume();
      },
    });
  }
  const endStdin = (): void => {
    if (stdin && !stdinEnded) {
      stdinEnded = true;
      stdin.push(null);
    }
  };

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    const ch = data[0];
    if (ch === STDIN) {
      if (stdin && !stdinEnded && data.length > 1 && !stdin.push(data.subarray(1))) ws.pause();
    } else if (ch === CLOSE && protocol === 'v5.channel.k8s.io') {
      if (data[1] === STDIN) endStdin();
    } else if (ch === RESIZE) {
      // terminal size: no terminal here
    }
  });
  ws.on('close', endStdin);
  ws.on('error', () => ws.terminate());

  // the kubelet's createWebSocketStreams: one empty message on the lowest writable channel
  send(opts.stdout ? STDOUT : opts.stderr ? STDERR : ERROR, Buffer.alloc(0));

  return {
    protocol,
    stdin,
    stdout: opts.stdout ? out(STDOUT) : null,
    stderr: opts.stderr ? out(STDERR) : null,
    finish(status) {
      if (finished) return;
      finished = true;
      const body: Record<string, unknown> = {metadata: {}, ...status};
      let payload: Buffer | null = null;
      if (v4plus) payload = Buffer.from(JSON.stringify(body));
      else if (body.status !== 'Success') payload = Buffer.from(String(body.message ?? 'error'));
      const close = (): void => {
        if (ws.readyState === ws.OPEN) ws.close(1000);
      };
      if (payload) send(ERROR, payload, close);
      else close();
      // a client that never answers the close handshake is cut off
      setTimeout(() => ws.terminate(), 5000).unref();
    },
    closed,
  };
}
