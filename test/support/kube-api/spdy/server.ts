// The server side of a remotecommand attach/exec over SPDY/3.1, as the kubelet's streaming server
// (pkg/kubelet/cri/streaming/remotecommand) answers client-go's SPDY executor: protocol handshake
// (httpstream.Handshake), the 101 upgrade (spdy.responseUpgrader), then wait until the client has
// opened the error stream and every requested stream (waitForStreams), replying to each.
import type {RemoteCommandStreams} from '../remotecommand.js';
import type {IncomingMessage} from 'node:http';
import type {Duplex, Writable} from 'node:stream';
import type {Logger} from 'pino';
import {encodeData as encodeDataFrame} from './frames.js';
import {SpdySession, type SpdyStream} from './session.js';

export const StreamProtocolV1 = 'channel.k8s.io';
export const StreamProtocolV2 = 'v2.channel.k8s.io';
export const StreamProtocolV3 = 'v3.channel.k8s.io';
export const StreamProtocolV4 = 'v4.channel.k8s.io';
/** What the kubelet's SPDY endpoint accepts, in its order (v5 is WebSocket-only there). */
export const SUPPORTED_SPDY_PROTOCOLS = [StreamProtocolV4, StreamProtocolV3, StreamProtocolV2, StreamProtocolV1];

export const HEADER_PROTOCOL_VERSION = 'X-Stream-Protocol-Version';
export const HEADER_ACCEPTED_PROTOCOL_VERSIONS = 'X-Accepted-Stream-Protocol-Versions';
export const HEADER_SPDY_31 = 'SPDY/3.1';
/** The kubelet's default stream creation timeout. */
export const DEFAULT_STREAM_CREATION_TIMEOUT_MS = 30_000;

export type {RemoteCommandStreams} from '../remotecommand.js';

/** What acceptSpdyRemoteCommand resolves to: the streams, plus the session for tests to inspect. */
export type SpdyRemoteCommandStreams = RemoteCommandStreams & {readonly session: SpdySession};

export interface RemoteCommandWant {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface AcceptOptions {
  streamCreationTimeoutMs?: number;
  logger?: Logger;
  /** Bytes a stream may buffer for a slow consumer before the socket is paused. */
  streamBuffer?: number;
  /** After finish(), how long the client gets to close before the socket is destroyed. */
  finishGraceMs?: number;
}

/** The Status the kubelet writes for a command that exited non-zero (exec.go). */
export function nonZeroExitStatus(code: number, message = `command terminated with non-zero exit code: exit status ${code}`): Record<string, unknown> {
  return {
    metadata: {},
    status: 'Failure',
    message,
    reason: 'NonZeroExitCode',
    details: {causes: [{reason: 'ExitCode', message: String(code)}]},
  };
}

/** The Status the kubelet writes for success. */
export function successStatus(): Record<string, unknown> {
  return {metadata: {}, status: 'Success'};
}

/** Values of a header that may repeat or be comma separated (Go: commaSeparatedHeaderValues). */
function headerValues(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  const lower = name.toLowerCase();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() !== lower) continue;
    for (const v of req.rawHeaders[i + 1].split(',')) {
      const t = v.trim();
      if (t) out.push(t);
    }
  }
  return out;
}

function goList(xs: string[]): string {
  return `[${xs.join(' ')}]`;
}

/** Plain-text error as Go's http.Error writes it, then close the socket. */
function httpError(socket: Duplex, code: number, reason: string, message: string, extra: Array<[string, string]> = []): void {
  const body = `${message}\n`;
  const lines = [
    `HTTP/1.1 ${code} ${reason}`,
    ...extra.map(([k, v]) => `${k}: ${v}`),
    'Content-Type: text/plain; charset=utf-8',
    'X-Content-Type-Options: nosniff',
    `Date: ${new Date().toUTCString()}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.on('error', () => undefined);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * Answers an upgrade request (from http.Server's 'upgrade' event) for pods/attach or pods/exec:
 * negotiates the protocol, switches to SPDY/3.1 and resolves once the client opened the error
 * stream and every requested one. Rejects (after writing the HTTP error, or closing the
 * connection) when the handshake fails, the client is too slow, or the connection breaks.
 */
export function acceptSpdyRemoteCommand(req: IncomingMessage, socket: Duplex, head: Buffer, want: RemoteCommandWant, opts: AcceptOptions = {}): Promise<SpdyRemoteCommandStreams> {
  // httpstream.Handshake runs first: the protocol list, then the upgrade headers.
  const clientProtocols = headerValues(req, HEADER_PROTOCOL_VERSION);
  if (clientProtocols.length === 0) {
    const msg = `unable to upgrade: ${HEADER_PROTOCOL_VERSION} is required`;
    httpError(socket, 400, 'Bad Request', msg);
    return Promise.reject(new Error(msg));
  }
  const protocol = clientProtocols.find((p) => SUPPORTED_SPDY_PROTOCOLS.includes(p));
  if (!protocol) {
    const msg = `unable to upgrade: unable to negotiate protocol: client supports ${goList(clientProtocols)}, server accepts ${goList(SUPPORTED_SPDY_PROTOCOLS)}`;
    httpError(
      socket,
      403,
      'Forbidden',
      msg,
      SUPPORTED_SPDY_PROTOCOLS.map((p) => [HEADER_ACCEPTED_PROTOCOL_VERSIONS, p]),
    );
    return Promise.reject(new Error(msg));
  }
  const connection = headerValues(req, 'Connection').join(',').toLowerCase();
  const upgrade = headerValues(req, 'Upgrade').join(',').toLowerCase();
  if (!connection.includes('upgrade') || !upgrade.includes(HEADER_SPDY_31.toLowerCase())) {
    const msg = `unable to upgrade: missing upgrade headers in request: Connection=${JSON.stringify(req.headers.connection ?? '')} Upgrade=${JSON.stringify(req.headers.upgrade ?? '')}`;
    httpError(socket, 400, 'Bad Request', msg);
    return Promise.reject(new Error(msg));
  }

  socket.write(
    [
      'HTTP/1.1 101 Switching Protocols',
      'Connection: Upgrade',
      `Upgrade: ${HEADER_SPDY_31}`,
      `${HEADER_PROTOCOL_VERSION}: ${protocol}`,
      `Date: ${new Date().toUTCString()}`,
      '',
      '',
    ].join('\r\n'),
  );
  if ('setNoDelay' in socket && typeof socket.setNoDelay === 'function') (socket as unknown as {setNoDelay(v: boolean): void}).setNoDelay(true);

  const session = new SpdySession(socket, head, {server: true, logger: opts.logger, streamBuffer: opts.streamBuffer});
  const v4 = protocol === StreamProtocolV4;
  const resizes = protocol !== StreamProtocolV1 && protocol !== StreamProtocolV2;
  const stderrWanted = want.stderr && !want.tty; // the kubelet drops stderr under a tty
  const expected = 1 + (want.stdin ? 1 : 0) + (want.stdout ? 1 : 0) + (stderrWanted ? 1 : 0) + (want.tty && resizes ? 1 : 0);

  return new Promise<SpdyRemoteCommandStreams>((resolve, reject) => {
    const byType = new Map<string, SpdyStream>();
    let received = 0;
    let settled = false;
    const timer = setTimeout(() => fail(new Error('timed out waiting for client to create streams')), opts.streamCreationTimeoutMs ?? DEFAULT_STREAM_CREATION_TIMEOUT_MS);
    timer.unref?.();

    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.off('stream', onStream);
      session.destroy();
      reject(err);
    };

    const onStream = (s: SpdyStream): void => {
      const type = s.header('streamtype') ?? '';
      const known = ['error', 'stdin', 'stdout', 'stderr', 'resize'].includes(type);
      const used = !settled && known && !byType.has(type) && (type !== 'stdin' || want.stdin);
      if (used) byType.set(type, s);
      // Input nobody reads (error, resize, extra streams) is drained so it cannot hold the socket.
      if (!used || type !== 'stdin') s.readable.resume();
      session
        .reply(s)
        .then(() => {
          if (settled || !known) return;
          received++;
          if (received < expected) return;
          settled = true;
          clearTimeout(timer);
          resolve(makeStreams());
        })
        .catch((err: Error) => fail(err));
    };
    session.on('stream', onStream);
    void session.closed.then(() => fail(new Error('connection closed before the client created its streams')));

    const makeStreams = (): SpdyRemoteCommandStreams => {
      const error = byType.get('error') ?? null;
      const stdout = want.stdout ? (byType.get('stdout') ?? null) : null;
      const stderr = stderrWanted ? (byType.get('stderr') ?? null) : null;
      let finishing = false;
      return {
        session,
        protocol,
        stdin: want.stdin ? (byType.get('stdin')?.readable ?? null) : null,
        stdout: stdout?.writable ?? null,
        stderr: stderr?.writable ?? null,
        closed: session.closed,
        finish(status: Record<string, unknown>): void {
          if (finishing) return;
          finishing = true;
          void (async () => {
            // Output already handed to stdout/stderr goes out before the status.
            await Promise.all([stdout, stderr].map((s) => (s ? untilIdle(s.writable, session) : undefined)));
            let body = '';
            if (v4) body = JSON.stringify(status);
            else if (status.status !== 'Success') body = String(status.message ?? 'error');
            if (error && body && !error.localClosed) session.writeFrame(encodeDataFrame(error.id, Buffer.from(body)));
            // The command is over: its stdin is no longer read (nor may it stall the client).
            session.discardInput();
            session.finishAll();
            session.goAway();
            session.end(opts.finishGraceMs ?? 5000);
          })();
        },
      };
    };
  });
}

/** Resolves when a Writable has passed everything it buffered to the socket (or the socket is gone). */
async function untilIdle(w: Writable, session: SpdySession): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (w.writableLength > 0 && !session.destroyed && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
}
