/**
 * Config-item plumbing shared by the mesh-backend items (config.md §5.6), built-in or from a
 * third-party plugin (exported from the package root): common fields, the listener/peer
 * item builders, validation with Go's error texts, link options, the TLS lookup seam and
 * logging of dialer progress.
 */
import type {ConnectionOptions, TlsOptions, TLSSocket} from 'node:tls';
import type {Logger} from 'pino';
import type {ActionTypeDef, FieldSpec, Runtime} from '../../core/config/types.js';
import {isMeshNode, type LinkOptions, type MeshBackend, type MeshNodeHandle} from '../../core/netceptor/backend.js';
import {runRedialLoop, STABLE_LINK_MS, type BackoffOptions, type RedialEvent, type RedialSession} from '../../core/netceptor/redial.js';
import type {Clock} from '../../core/clock.js';
import {listenerHandshakeErrorText} from '../../core/tls/go-tls-errors.js';
import {logOncePerCause, RepeatFilter} from '../../core/repeat-log.js';
import type {BackendRunning} from '../../core/netceptor/backend.js';
import {joinHostPort, splitHostPort} from '../../core/netceptor/session-base.js';
import {checkField, fieldError, ReceptorError} from '../../core/errors.js';

/**
 * TLS SEAM. Server-side TLS options for listeners, as registered under the `tls-server`
 * registry by the (separately written) tls-server item: a Node `tls.TlsOptions` object
 * (key, cert, ca, requestCert, minVersion, ciphers, ecdhCurve, …).
 */
export type TlsServerOptions = TlsOptions;
/**
 * TLS SEAM. Client-side TLS options for dialers, as registered under the `tls-client`
 * registry: a Node `tls.ConnectionOptions` object (key, cert, ca, rejectUnauthorized,
 * checkServerIdentity for pins, …). `host`/`port`/`servername` are filled in by the dialer.
 */
export type TlsClientOptions = ConnectionOptions;

export interface CommonBackendValues {
  cost: number;
  nodecost?: Record<string, number>;
  allowedpeers: string[];
  [k: string]: unknown;
}

export const costField: FieldSpec = {name: 'cost', type: 'float', default: 1.0, description: 'Connection cost (weight)'};
export const nodeCostField: FieldSpec = {name: 'nodecost', type: 'float-map', description: 'Per-node costs'};
export const allowedPeersField: FieldSpec = {
  name: 'allowedpeers',
  type: 'string-list',
  description: 'Peer node IDs to allow via this connection',
};
export const bindAddrField: FieldSpec = {name: 'bindaddr', type: 'string', default: '0.0.0.0', description: 'Local address to bind to'};
export const redialField: FieldSpec = {name: 'redial', type: 'bool', default: true, description: 'Keep redialing on lost connection'};

export function portField(what: string): FieldSpec {
  return {name: 'port', type: 'int', bare: true, required: true, description: `Local ${what} port to listen on`};
}
/** A peer's bare, required `address` field. */
export function addressField(description: string): FieldSpec {
  return {name: 'address', type: 'string', bare: true, required: true, description};
}
export const tlsServerField: FieldSpec = {name: 'tls', type: 'string', description: 'Name of TLS server config'};
export const tlsClientField: FieldSpec = {name: 'tls', type: 'string', description: 'Name of TLS client config'};

/** What a backend item type says about itself; the builders add the link fields and the lifecycle. */
export interface BackendItemSpec<V extends CommonBackendValues> {
  key: string;
  description: string;
  /** The backend's own fields; `cost`, `nodecost` (listeners) and `allowedpeers` follow them. */
  fields: FieldSpec[];
  /** Every static check (call `validateCosts` in it); run at load and again before a reload. */
  validate(v: V): void;
  /** Builds the backend to start (look up TLS configs here: they exist by Run). */
  backend(v: V, rt: Runtime): MeshBackend | Promise<MeshBackend>;
}

/**
 * A listener item (`tcp-listener`, …): reloadable; its Run (and a reload) starts the backend
 * on the mesh node with the item's cost, per-node costs and allowed peers.
 */
export function listenerItem<V extends CommonBackendValues>(spec: BackendItemSpec<V>): ActionTypeDef<V> {
  return backendItem(spec, [costField, nodeCostField, allowedPeersField]);
}

/** A dialler item (`tcp-peer`, …): like `listenerItem`, without `nodecost` (Go's peers have none). */
export function peerItem<V extends CommonBackendValues>(spec: BackendItemSpec<V>): ActionTypeDef<V> {
  return backendItem(spec, [costField, allowedPeersField]);
}

function backendItem<V extends CommonBackendValues>(spec: BackendItemSpec<V>, linkFields: FieldSpec[]): ActionTypeDef<V> {
  return {
    key: spec.key,
    description: spec.description,
    reloadable: true,
    fields: [...spec.fields, ...linkFields],
    validate: spec.validate,
    create(v) {
      const start = async (rt: Runtime) => startBackend(rt, spec.key, await spec.backend(v, rt), v);
      return {run: start, preReload: () => spec.validate(v), reload: start};
    },
  };
}

/** `cost` > 0 and every `nodecost` > 0, with Go's messages. */
export function validateCosts(v: CommonBackendValues): void {
  if (!(v.cost > 0)) throw fieldError('connection cost must be positive', 'cost', v.cost);
  for (const [node, cost] of Object.entries(v.nodecost ?? {})) {
    if (!(cost > 0)) throw fieldError(`connection cost must be positive for ${node}`, 'nodecost', {[node]: cost});
  }
}

/** A listener's port, checked as Go's listen does (`listen tcp: address 70000: invalid port`; UDP resolves first). */
export function validatePort(port: number, network: 'tcp' | 'udp' = 'tcp'): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw fieldError(`${network === 'tcp' ? 'listen tcp: ' : ''}address ${port}: invalid port`, 'port', port);
}

/** A peer's `address` field: `host:port` with Go's net.SplitHostPort texts. */
export function validateHostPort(address: string): void {
  checkField('address', address, () => splitHostPort(address));
}

export function linkOptions(v: CommonBackendValues): LinkOptions {
  const opts: LinkOptions = {cost: v.cost};
  if (v.nodecost && Object.keys(v.nodecost).length > 0) opts.nodeCost = {...v.nodecost};
  if (v.allowedpeers.length > 0) opts.allowedPeers = [...v.allowedpeers];
  return opts;
}

/** The node, if it is a mesh node; otherwise a clear error. */
export function meshNode(rt: Runtime, key: string): MeshNodeHandle {
  const node = rt.node;
  if (!isMeshNode(node)) throw new ReceptorError('E_NO_MESH', `${key} needs a mesh node, but this node cannot run mesh backends`);
  return node;
}

/** TLS SEAM: resolves a named TLS config; `unknown TLS config <name>` when absent. */
export function lookupTls(rt: Runtime, kind: 'tls-server', name: string): TlsServerOptions | undefined;
export function lookupTls(rt: Runtime, kind: 'tls-client', name: string): TlsClientOptions | undefined;
export function lookupTls(rt: Runtime, kind: 'tls-server' | 'tls-client', name: string): TlsOptions | ConnectionOptions | undefined {
  if (name === '') return undefined;
  const value = rt.registry(kind).get(name);
  if (value === undefined || value === null) throw new ReceptorError('E_TLS_CONFIG_UNKNOWN', `unknown TLS config ${name}`);
  return value as TlsOptions | ConnectionOptions;
}

/** Starts `backend` on the mesh node and logs where it listens / what it dials. */
export async function startBackend(rt: Runtime, key: string, backend: MeshBackend, v: CommonBackendValues): Promise<void> {
  const node = meshNode(rt, key);
  const running = await node.addMeshBackend(backend, linkOptions(v));
  if (running.localAddress !== undefined) rt.logger.info({backend: key, address: running.localAddress}, `${key} listening on ${running.localAddress}`);
  else rt.logger.debug({backend: key}, `${key} started: ${backend.description}`);
}

/**
 * Logs dialer progress the way Go does (warning while retrying, error when giving up), but
 * once per cause: a dial that keeps failing the same way, or sessions that keep ending
 * right away, give one warning, then debug lines and a summary every few minutes (`repeats`).
 */
export function logRedialEvent(logger: Logger, what: string, e: RedialEvent, repeats: RepeatFilter = new RepeatFilter()): void {
  switch (e.type) {
    case 'connected':
      logger.debug({peer: what}, 'backend connection established');
      break;
    case 'dial-failed':
      if (e.retryInMs !== undefined) {
        const fields = {peer: what, err: e.err.message, retryInMs: e.retryInMs};
        logOncePerCause(logger, repeats, 'warn', what, `dial: ${e.err.message}`, fields, `Backend connection failed (will retry): ${e.err.message}`);
      } else {
        logger.error({peer: what, err: e.err.message}, `Backend connection failed: ${e.err.message}`);
      }
      break;
    case 'session-ended':
      // A session that was up for a while is a new story when it ends.
      if (e.lastedMs >= STABLE_LINK_MS) repeats.forget(what);
      if (e.retryInMs !== undefined) logOncePerCause(logger, repeats, 'warn', what, 'ended', {peer: what, retryInMs: e.retryInMs}, 'Backend connection exited (will retry)');
      else logger.info({peer: what}, 'Backend connection exited');
      break;
  }
}

/**
 * Checks a TLS client certificate with the tls-server config's own hook (pinned client
 * fingerprints: Node has no server-side hook for them). Destroys the socket and returns
 * true when the certificate is refused.
 */
export function clientCertRefused(tlsOpts: TlsServerOptions | undefined, socket: TLSSocket, logger: Logger): boolean {
  const check = (tlsOpts as {checkClientIdentity?: (s: TLSSocket) => Error | undefined} | undefined)?.checkClientIdentity;
  const err = check?.(socket);
  if (!err) return false;
  logger.warn({remote: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message}, `TLS client certificate refused: ${err.message}`);
  socket.destroy();
  return true;
}

/**
 * The node IDs in the peer certificate of `socket` when its TLS config asks for the peer
 * node-ID check (`verifypeernodeid`, ours); undefined when it does not. No certificate, or one
 * that does not parse, gives an empty list: the peer is then refused whatever ID it claims.
 */
export function peerCertNodeIdsFor(tlsOpts: TlsServerOptions | TlsClientOptions | undefined, socket: TLSSocket | undefined): string[] | undefined {
  const config = (tlsOpts as {receptor?: {verifyPeerNodeId?: boolean; certNodeIds?: (der: Buffer) => string[]}} | undefined)?.receptor;
  if (!config?.verifyPeerNodeId || !config.certNodeIds) return undefined;
  const raw = socket?.getPeerCertificate()?.raw;
  if (!raw || raw.length === 0) return [];
  try {
    return config.certNodeIds(raw);
  } catch {
    return [];
  }
}

/**
 * The listener's line for a failed TLS handshake: the remote and Go's cause, once per remote
 * host and cause (a peer redialling every few seconds is not a new event each time).
 */
export function logTlsHandshakeFailure(logger: Logger, repeats: RepeatFilter, tlsOpts: TlsServerOptions | undefined, err: Error, socket: TLSSocket | undefined): void {
  const cause = handshakeFailureText(tlsOpts, err, socket);
  const host = socket?.remoteAddress ?? 'unknown';
  const remote = joinHostPort(host, socket?.remotePort ?? 0);
  logOncePerCause(logger, repeats, 'warn', `tls:${host}`, cause, {remote, err: cause}, `TLS handshake with backend peer failed: ${cause} (remote ${remote})`);
}

/** Go's text for a failed TLS handshake on a listener (the client's alert, a missing or untrusted client certificate). */
export function handshakeFailureText(tlsOpts: TlsServerOptions | undefined, err: Error, socket: TLSSocket | undefined): string {
  const requireClientCert = (tlsOpts as {receptor?: {requireClientCert?: boolean}} | undefined)?.receptor?.requireClientCert ?? false;
  return listenerHandshakeErrorText(err, socket, {requireClientCert});
}

/** What a dialler backend needs to run its redial loop (shared by the TCP, UDP and WebSocket peers). */
export interface DialerSettings {
  address: string;
  redial?: boolean;
  clock?: Clock;
  backoff?: BackoffOptions;
}

/**
 * Fails a dial in flight when the dialler stops (its redial loop aborts `signal`): calls
 * `fail(dialAborted())` once. Returns the function that stops watching, for when
 * the dial has settled.
 */
export function watchDialAbort(signal: AbortSignal, fail: (err: Error) => void): () => void {
  const onAbort = () => fail(dialAborted());
  signal.addEventListener('abort', onAbort, {once: true});
  return () => signal.removeEventListener('abort', onAbort);
}

/** The error of a dial cut short by stop() (internal: the stopped redial loop drops it). */
export function dialAborted(): Error {
  return new Error('dial aborted');
}

/** Starts the redial loop of a dialler; `stop()` aborts it and closes the live session. */
export function startDialer<S extends RedialSession>(settings: DialerSettings, dial: (signal: AbortSignal) => Promise<S>, sink: (s: S) => void, logger: Logger): BackendRunning {
  const ac = new AbortController();
  const repeats = new RepeatFilter(settings.clock);
  const loop = runRedialLoop({
    dial,
    onSession: sink,
    redial: settings.redial ?? true,
    signal: ac.signal,
    clock: settings.clock,
    backoff: settings.backoff,
    onEvent: (e) => logRedialEvent(logger, settings.address, e, repeats),
  });
  return {
    stop: async () => {
      ac.abort();
      await loop;
    },
  };
}
