/**
 * One catalogue of user-facing errors. A ReceptorError carries a stable code and a message
 * that tells the user what was wrong; commands print it without a stack trace and exit
 * with `exitCode`.
 */
export type ErrorCode =
  | 'E_CONFIG' // configuration could not be loaded or validated
  | 'E_PLUGIN' // a plugin failed to register its action types
  | 'E_PHASE' // an action item failed during Init / Prepare / Run
  | 'E_USAGE' // bad command-line usage of a client command
  | 'E_CONNECT' // could not reach a control socket
  | 'E_REMOTE' // the node answered with an error
  | 'E_INTERNAL';

export class ReceptorError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  constructor(code: ErrorCode, message: string, options: {exitCode?: number; cause?: unknown} = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause});
    this.name = 'ReceptorError';
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
  }
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
  constructor(reason: string, detail: ConfigErrorDetail = {}) {
    super('E_CONFIG', formatConfigError(reason, detail));
    this.name = 'ConfigError';
    this.reason = reason;
    this.detail = detail;
  }
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
