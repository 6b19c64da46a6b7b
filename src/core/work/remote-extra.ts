/** The ExtraData record a remote unit keeps in its status file (workceptor.md §4.3). */
import {sortedMap} from '../go/json.js';
import {GO_ZERO_TIME_TEXT} from '../go/time.js';

/** ExtraData of a remote unit, in Go struct order (workceptor.md §4.3). */
export interface RemoteExtraData {
  RemoteNode: string;
  RemoteWorkType: string;
  RemoteParams: Record<string, string>;
  RemoteUnitID: string;
  RemoteStarted: boolean;
  LocalCancelled: boolean;
  LocalReleased: boolean;
  SignWork: boolean;
  TLSClient: string;
  /** Go time.Time JSON (RFC 3339 with nanoseconds); the zero time means "no expiration". */
  Expiration: string;
}

export {GO_ZERO_TIME_TEXT};

/** Builds the record with keys in struct order and RemoteParams sorted (Go encodes maps sorted). */
export function makeExtra(e: RemoteExtraData): RemoteExtraData {
  return {
    RemoteNode: e.RemoteNode,
    RemoteWorkType: e.RemoteWorkType,
    RemoteParams: Object.fromEntries(sortedMap(Object.entries(e.RemoteParams))),
    RemoteUnitID: e.RemoteUnitID,
    RemoteStarted: e.RemoteStarted,
    LocalCancelled: e.LocalCancelled,
    LocalReleased: e.LocalReleased,
    SignWork: e.SignWork,
    TLSClient: e.TLSClient,
    Expiration: e.Expiration,
  };
}

/** Reads ExtraData as found on disk (missing or mistyped fields get Go's zero values). */
export function normalizeExtra(v: unknown): RemoteExtraData {
  const o = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const str = (x: unknown) => (typeof x === 'string' ? x : '');
  const params: Record<string, string> = {};
  const rp = o.RemoteParams;
  if (rp !== null && typeof rp === 'object' && !Array.isArray(rp)) {
    for (const [k, x] of Object.entries(rp as Record<string, unknown>)) if (typeof x === 'string') params[k] = x;
  }
  return makeExtra({
    RemoteNode: str(o.RemoteNode),
    RemoteWorkType: str(o.RemoteWorkType),
    RemoteParams: params,
    RemoteUnitID: str(o.RemoteUnitID),
    RemoteStarted: o.RemoteStarted === true,
    LocalCancelled: o.LocalCancelled === true,
    LocalReleased: o.LocalReleased === true,
    SignWork: o.SignWork === true,
    TLSClient: str(o.TLSClient),
    Expiration: typeof o.Expiration === 'string' ? o.Expiration : GO_ZERO_TIME_TEXT,
  });
}

export function isSecretKey(k: string): boolean {
  return k.toLowerCase().startsWith('secret_');
}
