/**
 * Public API of receptor-mesh for plugins.
 *
 * Item plugins may import types only (`import type {...} from 'receptor-mesh'`). A backend
 * plugin also uses the runtime helpers below; it declares `receptor-mesh` as a peer
 * dependency, which the host CLI satisfies with itself when it loads the plugin (one copy of
 * the core per process). The compliance suite a backend's tests run is `receptor-mesh/testing`.
 */
export type {
  ActionItem,
  ActionTypeDef,
  BackendHandle,
  FieldSpec,
  FieldType,
  FieldValues,
  ItemContext,
  NodeHandle,
  PhaseResult,
  Registry,
  RegistryKinds,
  RegisterHookResult,
  Runtime,
  RuntimeOptions,
  ShutdownHook,
} from './core/config/types.js';
export type {ItemSource} from './core/errors.js';
export {ReceptorError, ConfigError, checkField, fieldError} from './core/errors.js';
export {ERROR_CATALOGUE, errorCodeOf, type ConfigErrorCode, type ErrorCode} from './core/errors.js';

// The backend contract: a MeshBackend yields BackendSessions that carry whole messages.
export type {BackendRunning, BackendSession, LinkOptions, MeshBackend, MeshNodeHandle, SessionHandler, SessionSink} from './core/netceptor/backend.js';
export {isMeshNode} from './core/netceptor/backend.js';
export type {BackoffOptions} from './core/netceptor/redial.js';
export type {Clock} from './core/clock.js';
/** The pino logger backends receive. */
export type {Logger} from 'pino';
// Session base classes: queueing before start(), size checks, exactly-once onClose (BaseSession);
// the socket wiring and graceful close of a stream socket (StreamSocketSession).
export {
  BaseSession,
  joinHostPort,
  netSocketHandle,
  SOCKET_CLOSE_GRACE_MS,
  splitHostPort,
  StreamSocketSession,
  type SessionInit,
  type SocketHandle,
} from './core/netceptor/session-base.js';

// Backend item helpers: fields, listener/peer item builders, validation, TLS lookup, dialling.
export {
  addressField,
  allowedPeersField,
  bindAddrField,
  costField,
  linkOptions,
  listenerItem,
  logRedialEvent,
  lookupTls,
  meshNode,
  nodeCostField,
  peerItem,
  portField,
  redialField,
  startBackend,
  startDialer,
  watchDialAbort,
  tlsClientField,
  tlsServerField,
  validateCosts,
  validatePort,
  validateHostPort,
  clientCertRefused,
  logTlsHandshakeFailure,
  type BackendItemSpec,
  type CommonBackendValues,
  type DialerSettings,
  type TlsClientOptions,
  type TlsServerOptions,
} from './plugins/backend-common/items.js';
export {ListenerSessions, listenerStop, listenTcp, type ListenerShutdown} from './plugins/backend-common/listener.js';
// Log a repeating failure once per cause (what logTlsHandshakeFailure and dialers use).
export {RepeatFilter} from './core/repeat-log.js';
