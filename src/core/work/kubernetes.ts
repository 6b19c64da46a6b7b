/**
 * `work-kubernetes` units (workceptor.md §7.3): the implementation is in ./kubernetes/
 * (client and auth, pod spec, pod watch, attach, log records and streaming, tcp, the unit).
 */
export {KubernetesUnit, kubernetesTypeDef, type WorkKubernetesOptions} from './kubernetes/unit.js';
export type {KubeExtraData} from './kubernetes/pod-spec.js';
export {LogResume, TimestampedLogParser, timestampKey, sinceTimeOf, type LogRecord, type LogPosition} from './kubernetes/log-records.js';
