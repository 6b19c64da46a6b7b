/**
 * Everything of a kubernetes unit that needs @kubernetes/client-node, behind one dynamic
 * import (unit.ts loads it when a unit starts, restarts, is canceled or released).
 */
export {attachStdin} from './attach.js';
export {apiErrorText, connectIncluster, connectKubeconfig, isCompatibleK8s, serverVersion} from './client.js';
export {CHECKPOINT_FILE, DetailError, readCheckpoint, streamLogs} from './log-stream.js';
export {buildPod} from './pod-spec.js';
export {failureSuffix, waitPodReady, workerTerminated} from './pod-watch.js';
export {runWorkUsingTcp} from './tcp.js';
