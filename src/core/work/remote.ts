/**
 * The built-in `remote` work type (workceptor.md §8, §10), in parts:
 *  - remote-conn.ts: the control protocol's client side over a mesh stream;
 *  - remote-unit.ts: the unit's state machine (submit, cancel, release, restart, expiry);
 *  - remote-monitor.ts: status and stdout mirroring once started;
 *  - remote-type.ts: the work type and the allocation of a unit;
 *  - remote-extra.ts, remote-jobs.ts, remote-timings.ts: ExtraData, waits and jobs, timings.
 */
export {RemoteControlConn} from './remote-conn.js';
export {GO_ZERO_TIME_TEXT, normalizeExtra, type RemoteExtraData} from './remote-extra.js';
export {RemoteMonitor} from './remote-monitor.js';
export {remoteTimings} from './remote-timings.js';
export {allocateRemoteUnit, remoteTypeDef} from './remote-type.js';
export {RemoteUnit} from './remote-unit.js';
