/**
 * The built-in `remote` work type (workceptor.md §8, §10), in parts: remote-conn.ts (the
 * control protocol's client side over a mesh stream), remote-unit.ts (the unit's state
 * machine), remote-extra.ts (its ExtraData record), remote-jobs.ts (waits and background jobs).
 */
export {RemoteControlConn} from './remote-conn.js';
export {GO_ZERO_TIME_TEXT, normalizeExtra, type RemoteExtraData} from './remote-extra.js';
export {allocateRemoteUnit, formatGoStamp, formatRfc3339Nano, parseRfc3339, remoteTimings, RemoteUnit, remoteTypeDef} from './remote-unit.js';
