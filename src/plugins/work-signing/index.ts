/**
 * `work-signing` and `work-verification` items (config.md §5.12, §5.13; workceptor.md §9).
 *
 * Prepare only checks that the key file exists and records where it is; the key itself is
 * read each time a token is minted or checked (`src/core/work/signing.ts`), as Go does.
 * The configuration is registered as `rt.registry('work-signing' | 'work-verification')`
 * entry `default`; `workSigningOf(rt)` / `workVerificationOf(rt)` (src/core/work/signing-registry.ts)
 * read it back.
 *
 * Differences from Go: `tokenexpiration` is checked while loading (so `config check` sees it),
 * and leaving it out means 5 minutes instead of a nil-pointer panic at startup.
 */
import {statSync} from 'node:fs';
import {parseDuration} from '../../core/go/time.js';
import type {ActionTypeDef, RegistryKinds, Runtime} from '../../core/config/types.js';
import {SIGNING_ENTRY} from '../../core/work/signing-registry.js';
import {fieldError, ReceptorError} from '../../core/errors.js';

/** Token lifetime when `tokenexpiration` is omitted (Go crashes instead; signing.ts has the same value). */
const DEFAULT_TOKEN_LIFETIME_MS = 5 * 60_000;

export type {WorkSigningConfig, WorkVerificationConfig} from '../../core/work/signing.js';
export {workSigningOf, workVerificationOf} from '../../core/work/signing-registry.js';

export const WORK_SIGNING_REGISTRY = 'work-signing';
export const WORK_VERIFICATION_REGISTRY = 'work-verification';

export interface WorkSigningValues {
  privatekey: string;
  tokenexpiration: string;
  [k: string]: unknown;
}

export interface WorkVerificationValues {
  publickey: string;
  [k: string]: unknown;
}

const TOKEN_EXPIRATION_ERROR = "failed to parse TokenExpiration -- valid examples include '1.5h', '30m', '30m10s'";

/** The token lifetime in milliseconds; empty means the 5-minute default. */
export function parseTokenExpiration(text: string): number {
  if (text === '') return DEFAULT_TOKEN_LIFETIME_MS;
  try {
    return parseDuration(text);
  } catch {
    throw fieldError(TOKEN_EXPIRATION_ERROR, 'tokenexpiration', text);
  }
}

/** Go's errno texts for the stat failures a key path can produce. */
const STAT_ERRNO: Record<string, string> = {
  EACCES: 'permission denied',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
};

/** Go receptor's filenameExists: `<path> does not exist`, or the raw stat error. */
function checkFileExists(path: string): void {
  try {
    statSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new ReceptorError('E_SIGNATURE', `${path} does not exist`);
    const text =
      (e.code && STAT_ERRNO[e.code]) ??
      String(e.message)
        .replace(/^[A-Z0-9_]+: /, '')
        .replace(/, \w+ '.*'$/, '');
    throw new ReceptorError('E_SIGNATURE', `stat ${path}: ${text}`);
  }
}

/**
 * Stores the configuration. A second item (possible across a config file and the command
 * line, whose singleton checks are separate) replaces the first, as in Go.
 */
function store<K extends 'work-signing' | 'work-verification'>(rt: Runtime, kind: K, cfg: RegistryKinds[K]): void {
  const reg = rt.registry(kind);
  const existing = reg.get(SIGNING_ENTRY);
  if (existing) Object.assign(existing, cfg);
  else reg.register(SIGNING_ENTRY, cfg, kind);
}

export const workSigningType: ActionTypeDef<WorkSigningValues> = {
  key: 'work-signing',
  description: 'Private key to sign work submissions',
  singleton: true,
  fields: [
    {name: 'privatekey', type: 'string', bare: true, description: 'Private key to sign work submissions'},
    {name: 'tokenexpiration', type: 'string', description: 'Expiration of the signed json web token, e.g. 3h or 3h30m'},
  ],
  validate(v) {
    parseTokenExpiration(v.tokenexpiration);
  },
  create(v) {
    return {
      prepare(rt) {
        checkFileExists(v.privatekey);
        const lifetimeMs = parseTokenExpiration(v.tokenexpiration);
        store(rt, 'work-signing', {privateKeyPath: v.privatekey, lifetimeMs});
        rt.logger.debug({privatekey: v.privatekey, lifetimeMs}, 'work signing key configured');
      },
    };
  },
};

export const workVerificationType: ActionTypeDef<WorkVerificationValues> = {
  key: 'work-verification',
  description: 'Public key to verify work submissions',
  singleton: true,
  fields: [{name: 'publickey', type: 'string', bare: true, description: 'Public key to verify signed work submissions'}],
  create(v) {
    return {
      prepare(rt) {
        checkFileExists(v.publickey);
        store(rt, 'work-verification', {publicKeyPath: v.publickey});
        rt.logger.debug({publickey: v.publickey}, 'work verification key configured');
      },
    };
  },
};

export const workSigningTypes: ActionTypeDef[] = [workSigningType, workVerificationType] as ActionTypeDef[];
