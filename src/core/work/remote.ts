/**
 * The built-in `remote` work type (workceptor.md §8, §10), in parts: remote-conn.ts (the
 * control protocol's client side over a mesh stream), remote-unit.ts (the unit's state
 * machine: submit, cancel, release, restart, expiry), remote-monitor.ts (status and stdout
 * mirroring once started), remote-extra.ts (its ExtraData record), remote-jobs.ts (waits and
 * background jobs), remote-timings.ts.
 */
export {RemoteControlConn} from './remote-conn.js';
export {GO_ZERO_TIME_TEXT, normalizeExtra, type RemoteExtraData} from './remote-extra.js';
export {RemoteMonitor} from './remote-monitor.js';
export {remoteTimings} from './remote-timings.js';
export {allocateRemoteUnit, formatGoStamp, formatRfc3339Nano, parseRfc3339, RemoteUnit, remoteTypeDef} from './remote-unit.js';
