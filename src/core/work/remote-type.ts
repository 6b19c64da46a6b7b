/**
 * The `remote` work type and the allocation of a remote unit for a submission to another node
 * (workceptor.md §8.1): checks of the TLS client, secrets and ttl, then the unit's ExtraData.
 */
import {formatRFC3339Nano, GO_ZERO_TIME_TEXT, parseDuration, unixNanoFromMilli} from '../go/time.js';
import {isSecretKey} from './remote-extra.js';
import {RemoteUnit} from './remote-unit.js';
import type {WorkUnit} from './unit.js';
import {WorkError, type RemoteSubmitOptions, type WorkTypeDef, type Workceptor} from './workceptor.js';

export const remoteTypeDef: WorkTypeDef = {
  name: 'remote',
  verifySignature: false,
  advertise: false,
  create: (wc, id) => new RemoteUnit(wc, id),
  allocateRemote: (wc, opts) => allocateRemoteUnit(wc, opts),
};

/** Allocates a `remote` unit for a submission to another node (workceptor.md §8.1). */
export async function allocateRemoteUnit(wc: Workceptor, opts: RemoteSubmitOptions): Promise<WorkUnit> {
  if (opts.tlsClient !== '' && wc.rt?.registry('tls-client').get(opts.tlsClient) === undefined) {
    throw new WorkError(`unknown TLS config ${opts.tlsClient}`, 'E_TLS_CONFIG_UNKNOWN');
  }
  if (opts.tlsClient === '' && Object.keys(opts.params).some(isSecretKey)) {
    throw new WorkError('cannot send secrets over a non-TLS connection', 'E_WORK_PARAMS');
  }
  // Go allocates first and leaves an orphan unit on a bad ttl (quirk W4); checking the ttl
  // first gives the same reply without the orphan.
  let ttlMs: number | undefined;
  if (opts.ttl !== '') {
    try {
      ttlMs = parseDuration(opts.ttl);
    } catch (err) {
      throw new WorkError((err as Error).message);
    }
  }
  const unit = wc.allocate(remoteTypeDef, opts.params) as RemoteUnit;
  const expiration = ttlMs === undefined ? GO_ZERO_TIME_TEXT : formatRFC3339Nano(unixNanoFromMilli(performance.timeOrigin + performance.now() + ttlMs));
  try {
    unit.updateExtra((e) => {
      e.RemoteNode = opts.node;
      e.RemoteWorkType = opts.workType;
      e.TLSClient = opts.tlsClient;
      e.Expiration = expiration;
      e.SignWork = opts.signWork;
    });
  } catch (err) {
    wc.forget(unit.id);
    throw err;
  }
  if (ttlMs !== undefined && opts.signWork) warnTokenLifetime(wc, ttlMs);
  return unit;
}

/** Go logs a warning when the TTL outlives the signing token (the token may expire before use). */
function warnTokenLifetime(wc: Workceptor, ttlMs: number): void {
  void (async () => {
    try {
      const {workSigningOf} = await import('./signing-registry.js');
      const cfg = wc.rt ? workSigningOf(wc.rt) : undefined;
      if (cfg && ttlMs > cfg.lifetimeMs) wc.logger.warn('Work unit TTL is longer than the work signing token expiration; the token may expire before the work starts');
    } catch {
      // no signing plugin: nothing to compare with
    }
  })();
}
