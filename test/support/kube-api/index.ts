/**
 * Kubernetes API test server (see README.md). The contract other helpers code against:
 * KubeApiServer, KubeApiServerOptions, PodScenario, RemoteCommandStreams.
 */
export {KubeApiServer, type KubeApiServerOptions, type PodScenario} from './server.js';
export type {RemoteCommandStreams, RemoteCommandRequest} from './remotecommand.js';
export {formatNs, parseRfc3339Ns} from './time.js';
