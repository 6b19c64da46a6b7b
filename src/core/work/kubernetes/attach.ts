/**
 * The unit's stdin into the pod: client-node's Attach over WebSocket (channel protocols v5/v4),
 * paced by the socket's buffer so a large payload never sits in memory. At the end of the
 * file Attach closes stdin (v5: close-stream frame; v4: closes the socket), which ends the
 * container's stdin because the worker container is stdinOnce.
 */
import {open, type FileHandle} from 'node:fs/promises';
import {Readable} from 'node:stream';
import {Attach, type KubeConfig} from '@kubernetes/client-node';
import WebSocket from 'ws';

const CHUNK = 256 * 1024;
const HIGH_WATER = 4 * 1024 * 1024;

export interface AttachSession {
  /** Resolves once every byte is handed to the socket and stdin is closed; rejects on a socket failure. */
  done: Promise<void>;
  /** Whether any payload byte was sent (a retry would duplicate it). */
  sentAny(): boolean;
  close(): void;
}

function wait(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Attaches to the `worker` container and streams the file at `stdinPath` into it. */
export async function attachStdin(kc: KubeConfig, namespace: string, pod: string, stdinPath: string, signal: AbortSignal): Promise<AttachSession> {
  let ws: WebSocket | undefined;
  let sent = 0;
  let failure: Error | undefined;
  let status: {status?: string; message?: string} | undefined;
  const fh: FileHandle = await open(stdinPath, 'r');
  let closed = false;
  const closeFile = () => {
    if (!closed) {
      closed = true;
      void fh.close().catch(() => {});
    }
  };
  const src = new Readable({
    highWaterMark: 0,
    read() {
      void (async () => {
        try {
          while (!ws || ws.readyState === WebSocket.CONNECTING) await wait(2);
          while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > HIGH_WATER && !signal.aborted) await wait(2);
          if (signal.aborted || ws.readyState !== WebSocket.OPEN) {
            closeFile();
            this.destroy(failure ?? new Error('attach connection closed'));
            return;
          }
          const buf = Buffer.allocUnsafe(CHUNK);
          const {bytesRead} = await fh.read(buf, 0, CHUNK, null);
          if (bytesRead === 0) {
            closeFile();
            this.push(null);
            return;
          }
          sent += bytesRead;
          this.push(buf.subarray(0, bytesRead));
        } catch (err) {
          closeFile();
          this.destroy(err as Error);
        }
      })();
    },
  });
  src.on('error', () => {});
  // Attach's own socket handler hides the socket; ours exposes it (pacing) and reads the status channel.
  const handler = {
    connect: async (path: string, _text: unknown, binaryHandler: (stream: number, buff: Buffer) => boolean): Promise<WebSocket> => {
      const cluster = kc.getCurrentCluster();
      if (!cluster) throw new Error('No cluster is defined.');
      const uri = cluster.server.replace(/^http/, 'ws').replace(/\/+$/, '') + path;
      const opts: WebSocket.ClientOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const sock = new WebSocket(uri, PROTOCOLS, opts);
      ws = sock;
      sock.on('error', (err) => (failure ??= err));
      sock.on('message', (data: Buffer, isBinary: boolean) => {
        const channel = data[0];
        if (!isBinary || channel === undefined || channel === 255) return;
        if (channel === 3) {
          status = parseStatus(data.subarray(1));
          return;
        }
        binaryHandler(channel, data.subarray(1));
      });
      await new Promise<void>((resolve, reject) => {
        sock.once('open', () => resolve());
        sock.once('error', reject);
        sock.once('unexpected-response', (_req, res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(new Error(parseStatus(Buffer.concat(chunks))?.message ?? `Unexpected server response: ${res.statusCode}`)));
        });
      });
      return sock;
    },
  };
  let conn: WebSocket;
  try {
    conn = (await new Attach(kc, handler as never).attach(namespace, pod, 'worker', null, null, src, false)) as unknown as WebSocket;
  } catch (err) {
    closeFile();
    src.destroy();
    throw err instanceof Error ? err : new Error(errorText(err));
  }
  const done = new Promise<void>((resolve, reject) => {
    const onClose = (code: number) => {
      if (status && status.status !== 'Success') reject(new Error(status.message ?? 'attach failed'));
      else if (src.readableEnded && (code === 1000 || code === 1005)) resolve();
      else if (src.readableEnded && conn.bufferedAmount === 0) resolve();
      else reject(failure ?? new Error(`attach connection closed (code ${code})`));
    };
    conn.on('close', onClose);
    src.on('end', () => {
      // v5: the close-stream frame was queued; done once it left our buffer. v4: Attach closes the socket.
      if (conn.protocol === 'v5.channel.k8s.io') {
        void (async () => {
          while (conn.readyState === WebSocket.OPEN && conn.bufferedAmount > 0) await wait(2);
          if (conn.readyState === WebSocket.OPEN) {
            conn.off('close', onClose);
            resolve();
          }
        })();
      }
    });
    src.on('error', (err) => {
      conn.off('close', onClose);
      reject(err);
    });
  });
  return {
    done,
    sentAny: () => sent > 0,
    close: () => {
      closeFile();
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
}

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

function parseStatus(b: Buffer): {status?: string; message?: string} | undefined {
  try {
    const v = JSON.parse(b.toString('utf8')) as unknown;
    return v && typeof v === 'object' ? (v as {status?: string; message?: string}) : undefined;
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  const e = err as {message?: unknown; error?: {message?: unknown}};
  if (typeof e?.message === 'string') return e.message;
  if (typeof e?.error?.message === 'string') return e.error.message;
  return String(err);
}
