/**
 * The contract between the mesh node and its backends (TCP, UDP, WebSocket, …).
 *
 * A backend yields sessions; a session carries whole netceptor messages in both directions
 * (one message per TCP frame / UDP datagram / WebSocket binary message) and closes. The node
 * runs the netceptor handshake and everything above on each session; which side dialled
 * does not matter above this layer. See netceptor-wire.md §2.
 */
import type {Logger} from 'pino';
import type {BackendHandle, NodeHandle} from '../config/types.js';

export interface SessionHandler {
  /** One whole received message (never empty: backends drop empty units themselves). */
  onMessage(msg: Buffer): void;
  /** The session ended (remote close, error, or local close). Called exactly once. */
  onClose(err?: Error): void;
}

export interface BackendSession {
  /** `tcp`, `udp`, `ws`, … */
  readonly kind: string;
  /** Human-readable remote end, e.g. `127.0.0.1:41234` or `ws://host:port/path`. */
  readonly remote: string;
  /** True when this side dialled. */
  readonly outbound: boolean;
  /** Largest message this session can carry (65535 TCP, 65507 UDP, Infinity WebSocket). */
  readonly maxMessageSize: number;
  /**
   * Set when the link's TLS config has `verifypeernodeid`: the node IDs in the peer's
   * certificate; the node refuses a peer claiming any other ID.
   */
  readonly peerCertNodeIds?: readonly string[];
  /**
   * Starts delivery to `h`. Messages that arrived earlier are delivered first, in order.
   * If the session already closed, `h.onClose` is called.
   */
  start(h: SessionHandler): void;
  /** Queues one whole message (must be non-empty and ≤ maxMessageSize). Never throws. */
  send(msg: Uint8Array): void;
  /** Ends the session (idempotent). Pending sends are flushed when the transport allows. */
  close(err?: Error): void;
  /** Resolves once the session has ended. */
  readonly closed: Promise<void>;
}

/** Receives new sessions from a running backend. */
export type SessionSink = (session: BackendSession) => void;

export interface BackendRunning {
  /** Stops listening / dialling and closes every session of this backend. */
  stop(): Promise<void>;
  /** For listeners: the bound address (useful with port 0). */
  readonly localAddress?: string;
}

export interface MeshBackend extends BackendHandle {
  readonly kind: string;
  readonly description: string;
  /**
   * Starts the backend. Listeners resolve once bound (a bind failure rejects, which fails
   * node start-up); dialers resolve at once and keep (re)dialling in the background.
   */
  start(sink: SessionSink, logger: Logger): Promise<BackendRunning>;
}

/** Per-backend link settings (config.md §5.6). */
export interface LinkOptions {
  /** Cost of links made over this backend (> 0). */
  cost: number;
  /** Listener-only per-peer overrides. */
  nodeCost?: Record<string, number>;
  /** When non-empty, only these node IDs may connect over this backend. */
  allowedPeers?: string[];
}

/** The node as backends' config items see it (implemented by the mesh node). */
export interface MeshNodeHandle extends NodeHandle {
  /** Starts a backend and runs the netceptor protocol on its sessions. */
  addMeshBackend(backend: MeshBackend, opts: LinkOptions): Promise<BackendRunning>;
  /** Every backend started after this goes through `wrap` (the `chaos` item; ours). */
  setBackendWrapper?(wrap: ((b: MeshBackend) => MeshBackend) | undefined): void;
}

export function isMeshNode(n: NodeHandle): n is MeshNodeHandle {
  return typeof (n as Partial<MeshNodeHandle>).addMeshBackend === 'function';
}
