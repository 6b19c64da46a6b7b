/** Option checks of the certificate tools that need no crypto (used while loading config). */
import {ReceptorError} from '../../core/errors.js';

/**
 * An error of the certificate tools. `usage` marks mistakes in the given options (as opposed to
 * unreadable or unusable input files).
 */
export class CertToolError extends ReceptorError {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(usage ? 'E_USAGE' : 'E_CERT', message);
    this.name = 'CertToolError';
  }
}

export interface MakeReqKeyOptions {
  bits: number;
  inKey?: string;
  outKey?: string;
}

/** Go's MakeReqConfig.Prepare checks on `bits`, `inkey`, `outkey`. */
export function checkMakeReqKeyOptions(o: MakeReqKeyOptions): void {
  const inKey = o.inKey ?? '';
  const outKey = o.outKey ?? '';
  if (inKey === '' && outKey === '') throw new CertToolError('must provide either InKey or OutKey', true);
  if (inKey !== '' && outKey !== '') throw new CertToolError('cannot use both InKey and OutKey', true);
  if (inKey !== '' && o.bits !== 0) throw new CertToolError('cannot specify key bits when reading an already-existing key', true);
  if (outKey !== '' && o.bits === 0) throw new CertToolError('must specify key bits when creating a new key', true);
}
