/**
 * One catalogue of the errors a user or a peer can cause. Every kind has a stable code (what
 * `--json` prints and scripts match), a default exit code and a one-line description; README's
 * "Error codes" table is generated from this list (scripts/error-codes.ts, checked by a test).
 * A ReceptorError carries its code; commands print its message without a stack trace and exit
 * with `exitCode`. Go's reply texts stay in the message: the code is metadata beside it.
 */

export interface CatalogueEntry {
  /** Exit code of a command that fails with this error (a command may document another). */
  readonly exitCode: number;
  /** What went wrong, in one line (README). */
  readonly description: string;
  /** The README's exit column when it is not simply `exitCode`. */
  readonly exitText?: string;
}

/** Family prefixes group the codes: E_CONFIG_* configuration, E_TLS_* / E_CERT_* TLS and certificates, E_PEER_* what a peer sent. */
export const ERROR_CATALOGUE = {
  // Command line
  E_USAGE: {
    exitCode: 1,
    exitText: '1, 2',
    description:
      'The command line cannot be used as given (options refused together, a bad value); exit 2 when it does not parse (unknown command or flag, missing flag or argument, a flag value of the wrong type).',
  },
  E_COMMAND: {
    exitCode: 1,
    exitText: "the command's",
    description: "A command of an oclif plugin (e.g. `plugins install`) failed; the exit code is the command's own (oclif's default is 2).",
  },
  E_INTERNAL: {exitCode: 1, description: 'A bug: an unexpected error (printed with its stack trace without --json).'},

  // Configuration (the message names file, item, key, field and value)
  E_CONFIG_FILE: {exitCode: 1, description: 'A config file cannot be read, is not YAML, or is neither a v1 list nor a v2 map.'},
  E_CONFIG_ITEM_FORMAT: {exitCode: 1, description: 'An entry of a config file is not a single-key map (v1) or a map (v2).'},
  E_CONFIG_ARGUMENT: {exitCode: 1, description: 'A config action on the command line is malformed: a parameter before any action, --config without a file name.'},
  E_CONFIG_UNKNOWN_KEY: {exitCode: 1, description: 'An unknown action type (a YAML key, a v2 section, a command-line action).'},
  E_CONFIG_UNKNOWN_FIELD: {exitCode: 1, description: 'A field the action type does not define, or a bare value for an action that takes none.'},
  E_CONFIG_FIELD_INVALID: {
    exitCode: 1,
    description:
      "A field's value cannot be converted to the field's type, or the item's check refused it (an invalid port or address, a negative cost, an unknown log level); the message names the field.",
  },
  E_CONFIG_FIELD_MISSING: {exitCode: 1, description: 'A required field of an item is missing.'},
  E_CONFIG_ITEM_INVALID: {exitCode: 1, description: "An item's own check refused it as a whole (e.g. a control-service without listeners, the deprecated work-python)."},
  E_CONFIG_DUPLICATE: {exitCode: 1, description: 'An action that may appear once is given twice in one source.'},
  E_CONFIG_EXCLUSIVE: {exitCode: 1, description: 'An action that must stand alone is combined with others.'},
  E_CONFIG_ITEM_MISSING: {exitCode: 1, description: 'A required action is missing.'},
  E_PLUGIN: {exitCode: 1, description: 'A plugin cannot be loaded or registered an invalid or duplicate action type.'},
  E_PHASE: {exitCode: 1, description: 'An item failed while the node started (Init, Prepare, Run) or reloaded, for a reason without a more specific code.'},

  // Node set-up (user-caused, found while the node starts)
  E_LISTEN: {exitCode: 1, description: 'A listener cannot listen (address in use, bad port, a socket path that cannot be used).'},
  E_ADDRESS: {exitCode: 1, description: 'An address (host:port, URL) does not parse or does not resolve.'},
  E_NO_MESH: {exitCode: 1, description: 'An item needs the mesh layer, which this node does not have.'},
  E_SERVICE_IN_USE: {exitCode: 1, description: 'A service name is already listening on this node.'},
  E_SERVICE_NAME: {exitCode: 1, description: 'A service name is empty or too long for the wire.'},
  E_SHUTDOWN: {exitCode: 1, description: 'The node is shutting down.'},
  E_FIREWALL_RULE: {exitCode: 1, description: 'A firewall rule is malformed (unknown key or action, a value that is not a string, a bad regular expression).'},

  // TLS and certificates
  E_TLS_CONFIG_UNKNOWN: {exitCode: 1, description: 'An item names a TLS configuration that no tls-server or tls-client item defines.'},
  E_TLS_CONFIG: {
    exitCode: 1,
    description: 'A tls-server or tls-client item cannot be used at Prepare (bad pinned fingerprints, unusable files); a missing or duplicate name is E_CONFIG_FIELD_INVALID.',
  },
  E_TLS_KEYPAIR: {exitCode: 1, description: 'A certificate or key file cannot be read or parsed, or the key does not match the certificate.'},
  E_TLS_VERIFY: {exitCode: 1, description: "A peer's certificate was refused (host name, pinned fingerprint, missing or malformed certificate)."},
  E_CERT_NODE_ID: {exitCode: 1, description: "The node's own certificate does not name its node ID (Go's check at start-up)."},
  E_CERT_NAME: {exitCode: 1, description: "A peer's certificate is not valid for the node ID it was expected to have."},
  E_CERT_PARSE: {exitCode: 1, description: 'Certificate or key bytes are not valid DER.'},
  E_CERT: {exitCode: 1, description: '`receptor cert` or a cert-* item failed: an input cannot be read or used, or an output cannot be written.'},

  // Control service and client
  E_CONNECT: {exitCode: 1, description: 'The control socket cannot be reached, or the connection was lost.'},
  E_REMOTE: {exitCode: 1, description: 'The node answered with an error that has no more specific code.'},
  E_CONTROL_REQUEST: {exitCode: 1, description: "A control request is malformed (a missing or mistyped field, extra parameters); the node's reply is `ERROR: …`."},
  E_CONTROL_REPLY: {exitCode: 1, description: 'The node sent a reply the client does not understand.'},
  E_UNKNOWN_COMMAND: {exitCode: 1, description: 'The node does not know the control command.'},
  E_NO_ROUTE: {exitCode: 1, description: 'No route to the node (Go\'s "no route to node").'},
  E_UNKNOWN_SERVICE: {exitCode: 1, description: 'The node offers no such service.'},

  // Work units
  E_UNKNOWN_UNIT: {exitCode: 1, description: 'No such work unit (unknown or already released).'},
  E_UNKNOWN_WORK_TYPE: {exitCode: 1, description: 'The node has no such work type.'},
  E_WORK: {exitCode: 1, description: 'A work operation was refused (a unit in the wrong state, remote work not available, a TTL on local work).'},
  E_WORK_PARAMS: {exitCode: 1, description: 'Work parameters were refused (not allowed by the work type, unbalanced quotes).'},
  E_SIGNATURE: {exitCode: 1, description: 'Work signing or verification failed or is not configured (no key, a bad or expired token).'},
  E_STATUS_FILE: {exitCode: 1, description: "A unit's status file cannot be parsed."},
  E_DATADIR: {exitCode: 1, description: "The node's data directory cannot be created or written at start (read-only, no permission, no space)."},
  E_RUNNER_ARGS: {exitCode: 1, description: 'The work runner process was started with arguments it cannot use.'},

  // What a peer sent (contained: logged, the message or connection dropped)
  E_PEER_FRAME: {exitCode: 1, description: 'A peer sent a malformed length frame; the connection is closed.'},
  E_PEER_MESSAGE: {exitCode: 1, description: 'A peer sent a mesh message that does not decode; it is dropped.'},
  E_PEER_JSON: {exitCode: 1, description: "A peer's JSON payload (routing update, service advertisement, status) is not valid JSON as Go reads it."},
  E_ENCODE: {exitCode: 1, description: 'A mesh message cannot be encoded (a name or payload too large for the wire).'},
  E_QUIC_UNAVAILABLE: {exitCode: 1, description: 'The native QUIC engine cannot be loaded on this platform, so mesh streams (work, connect, proxies) are unavailable.'},
  E_QUIC: {exitCode: 1, description: 'A QUIC connection or stream was closed with an error.'},
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CATALOGUE, code);
}

/** The base of the catalogue's errors: a stable `code`, an `exitCode` (the code's default unless given). */
export class ReceptorError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, options: {exitCode?: number; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause});
    this.name = 'ReceptorError';
    this.code = code;
    this.exitCode = options.exitCode ?? ERROR_CATALOGUE[code].exitCode;
  }
}

/**
 * Error classes that a peer or user can cause but that do not extend ReceptorError, by class
 * name, with their catalogue code ({@link errorCodeOf}). Most keep a `code` field of their own
 * (a finer kind their callers and tests switch on: a frame's, a decoder's, a QUIC close code);
 * the pki and signing ones live in code being replaced by libraries. Their messages are Go's
 * texts and they are contained where they occur (logged, the peer refused) or wrapped in a
 * PhaseError, which takes this code.
 */
export const CONTAINED_ERRORS: Readonly<Record<string, ErrorCode>> = {
  TcpFrameError: 'E_PEER_FRAME', // netceptor/tcp-framer.ts, code: the frame problem
  DecodeError: 'E_PEER_MESSAGE', // netceptor/codec.ts, code: the decode problem
  EncodeError: 'E_ENCODE', // netceptor/codec.ts, code: the encode problem
  GoJsonError: 'E_PEER_JSON', // go/json.ts, code: syntax | depth | …
  QuicError: 'E_QUIC', // netceptor/quic/engine.ts, code: the QUIC error code (a number)
  TlsVerifyError: 'E_TLS_VERIFY', // tls/config.ts, code: Node's ERR_TLS_* style code
  DerError: 'E_CERT_PARSE', // pki/der.ts
  NodeIdNotInCertError: 'E_CERT_NODE_ID', // pki/names.ts
  ReceptorCertNameError: 'E_CERT_NAME', // pki/names.ts
  JwtError: 'E_SIGNATURE', // work/signing.ts
  CorruptInputError: 'E_SIGNATURE', // go/base64.ts (base64 of a token)
};

/** Error classes that never reach a user as themselves, and why. */
export const INTERNAL_ERRORS: Readonly<Record<string, string>> = {
  ValueError: 'a Go strconv-style conversion failure; callers wrap it in a ConfigError or an E_USAGE error naming the field',
  RunnerError: "the command runner's internal signal; its message becomes the unit's failed status detail",
  ExecError: "Go's *exec.Error (command not found or not runnable); its message becomes the unit's failed status detail",
  LineTooLongError: "the line reader's limit; the control server answers `ERROR: <message>` and remote work fails the connection with it",
  DetailError: "a kubernetes unit's failure whose message is the unit's Failed detail as Go words it (logged and set as the status, not thrown further)",
  TlsAlert: "the TypeScript TLS 1.3 handshake's internal signal; it is caught inside the handshake and becomes its `error` (a TLS alert, i.e. a QUIC CRYPTO_ERROR)",
  HttpStatusError: "a Kubernetes API server's non-200 answer to a log stream; its Status message becomes the kubernetes unit's detail (Go's client-go text)",
};

/** The catalogue code of any error: its own, a contained class's, else E_INTERNAL. */
export function errorCodeOf(err: unknown): ErrorCode {
  if (err instanceof ReceptorError) return err.code;
  const name = err instanceof Error ? err.constructor?.name : undefined;
  return (name && Object.hasOwn(CONTAINED_ERRORS, name) && CONTAINED_ERRORS[name]) || 'E_INTERNAL';
}

/** Where a configuration item came from. */
export type ItemSource =
  | {kind: 'file'; file: string; index: number; path?: string} // index is 1-based within a v1 file; path names a v2 entry
  | {kind: 'cli'; token: string; position: number} // position is the 1-based argv position
  | {kind: 'implicit'};

export function describeSource(src: ItemSource): string {
  switch (src.kind) {
    case 'file':
      if (src.path) return `${src.file}, ${src.path}`;
      return src.index > 0 ? `${src.file}, item ${src.index}` : src.file;
    case 'cli':
      return `command line ${src.token} (argument ${src.position})`;
    default:
      return 'implicit item';
  }
}

/** The codes a ConfigError can carry (a plugin's broken default is the plugin's fault). */
export type ConfigErrorCode = Extract<ErrorCode, `E_CONFIG_${string}`> | 'E_PLUGIN';

export interface ConfigErrorDetail {
  source?: ItemSource;
  key?: string;
  field?: string;
  value?: unknown;
}

/**
 * A configuration error. `message` keeps Go receptor's wording (so people who know the Go
 * daemon recognise it), followed by the location: file, item, key, field and value.
 */
export class ConfigError extends ReceptorError {
  readonly reason: string;
  readonly detail: ConfigErrorDetail;
  constructor(reason: string, detail: ConfigErrorDetail = {}, code: ConfigErrorCode = 'E_CONFIG_ITEM_INVALID') {
    super(code, formatConfigError(reason, detail));
    this.name = 'ConfigError';
    this.reason = reason;
    this.detail = detail;
  }

  /** This error with the item's place added (the loader and the lifecycle know it; a plugin's check does not). */
  at(source: ItemSource, key: string): ConfigError {
    return this.detail.source ? this : new ConfigError(this.reason, {source, key, ...this.detail}, this.code as ConfigErrorCode);
  }
}

/**
 * A field's value refused by an item's own check (E_CONFIG_FIELD_INVALID); the loader adds
 * file, item and key. The value is left out when the reason already shows it, so the message
 * names it once (`loud is not a valid log level name (…, field level)`).
 */
export function fieldError(reason: string, field: string, value?: unknown): ConfigError {
  return new ConfigError(reason, value === undefined || showsValue(reason, value) ? {field} : {field, value}, 'E_CONFIG_FIELD_INVALID');
}

/** Runs a check of one field's value; a ReceptorError it throws (Go's text) becomes {@link fieldError}. */
export function checkField<T>(field: string, value: unknown, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof ReceptorError && !(err instanceof ConfigError)) throw fieldError(err.message, field, value);
    throw err;
  }
}

/** True when `reason` contains the value's text as a whole token (not inside a longer word or number). */
function showsValue(reason: string, value: unknown): boolean {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') return false;
  const text = String(value);
  if (text === '') return false;
  const word = (c: string | undefined) => c !== undefined && /\w/.test(c);
  for (let i = reason.indexOf(text); i >= 0; i = reason.indexOf(text, i + 1)) {
    if (!word(reason[i - 1]) && !word(reason[i + text.length])) return true;
  }
  return false;
}

function formatConfigError(reason: string, d: ConfigErrorDetail): string {
  const where: string[] = [];
  if (d.source && d.source.kind !== 'implicit') where.push(describeSource(d.source));
  if (d.key) where.push(`key ${d.key}`);
  if (d.field) where.push(`field ${d.field}`);
  if (d.value !== undefined) where.push(`value ${showValue(d.value)}`);
  return where.length > 0 ? `${reason} (${where.join(', ')})` : reason;
}

export function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * An item failed in a lifecycle phase. The message adds where the item is; the code is the
 * cause's when it has a specific one, else E_PHASE.
 */
export class PhaseError extends ReceptorError {
  constructor(message: string, cause: unknown) {
    const own = errorCodeOf(cause);
    super(own === 'E_INTERNAL' ? 'E_PHASE' : own, message, {cause, exitCode: 1});
    this.name = 'PhaseError';
  }
}

/** A control request the node refuses; the server replies `ERROR: <message>` (Go's text). */
export class ControlError extends ReceptorError {
  constructor(message: string, code: ErrorCode = 'E_CONTROL_REQUEST') {
    super(code, message);
    this.name = 'ControlError';
  }
}

/** A work operation refused by the workceptor (message: Go's text, sent to control clients). */
export class WorkError extends ReceptorError {
  constructor(message: string, code: ErrorCode = 'E_WORK') {
    super(code, message);
    this.name = 'WorkError';
  }
}

/** Work parameters that cannot be split into words (Go's shlex texts). */
export class ShlexError extends ReceptorError {
  constructor(message: string) {
    super('E_WORK_PARAMS', message);
    this.name = 'ShlexError';
  }
}

/** A unit's status file that does not parse. */
export class StatusFileError extends ReceptorError {
  constructor(message: string) {
    super('E_STATUS_FILE', message);
    this.name = 'StatusFileError';
  }
}

/** The work runner process's command line cannot be used (Go's config texts). */
export class RunnerArgsError extends ReceptorError {
  constructor(message: string) {
    super('E_RUNNER_ARGS', message);
    this.name = 'RunnerArgsError';
  }
}
