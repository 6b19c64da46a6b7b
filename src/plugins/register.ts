/** The root package's `receptor:register` hook: the built-in action types. */
import type {RegisterHookResult} from '../core/config/types.js';
import {tcpBackendTypes} from './backend-tcp/index.js';
import {udpBackendTypes} from './backend-udp/index.js';
import {wsBackendTypes} from './backend-ws/index.js';
import {certificateTypes} from './certificates/index.js';
import {chaosType} from './chaos/index.js';
import {controlServiceType} from './control-service/index.js';
import {serviceTypes} from './services/index.js';
import {tlsTypes} from './tls/index.js';
import {localOnlyType} from './local-only/index.js';
import {logFormatType, logLevelType, traceType} from './logging/index.js';
import {nodeType} from './node/index.js';
import {versionType} from './version/index.js';
import {workCommandTypes} from './work-command/index.js';
import {workKubernetesType} from './work-kubernetes/index.js';
import {workSigningTypes} from './work-signing/index.js';

export function builtinTypes(): RegisterHookResult {
  return [
    nodeType,
    localOnlyType,
    versionType,
    logLevelType,
    logFormatType,
    traceType,
    ...tcpBackendTypes,
    ...udpBackendTypes,
    ...wsBackendTypes,
    ...tlsTypes,
    controlServiceType,
    ...serviceTypes,
    ...certificateTypes,
    ...workSigningTypes,
    ...workCommandTypes,
    workKubernetesType,
    chaosType,
  ];
}

export default async function register(): Promise<RegisterHookResult> {
  return builtinTypes();
}
