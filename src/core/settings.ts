/**
 * What the process environment tells the core, read in one place. The entry points (the
 * daemon, the oclif main, the work runner) call `initSettings(process.env)` once at start-up;
 * deeper code asks `settings()` instead of reading process.env, so the variables are named,
 * parsed and documented here. Without an entry point (the core used as a library, in-process
 * tests) `settings()` reads the current environment on each call.
 *
 * The variables users set are documented in README (Logs, Versions, Work); the others are
 * knobs for tests.
 */

export interface ProcessSettings {
  /** RECEPTOR_LOG_LEVEL: overrides the log-level item and --log-level ('' = unset). */
  readonly logLevel: string | undefined;
  /** RECEPTOR_LOG_FORMAT: text, json or auto, below --log-format and the log-format item. */
  readonly logFormat: string | undefined;
  /** NO_COLOR set to a non-empty value (no-color.org). */
  readonly noColor: boolean;
  /** RECEPTOR_QUIC_ENGINE: auto, quiche or ts, above the node item's quicengine, below --quic-engine ('' = unset). */
  readonly quicEngine: string | undefined;
  /** RECEPTOR_QUICHE_PACKAGE: load the quiche binding from this package instead of the platform's (tests: a missing binding). */
  readonly quichePackage: string | undefined;
  /** RECEPTOR_QUIC_KEY_UPDATE_PACKETS: the TS QUIC engine starts a key update after this many packets per key (tests: key updates on every transfer). */
  readonly quicKeyUpdatePackets: number | undefined;
  /** RECEPTOR_REPORTED_VERSION: the `Version` status reports, below the node item's field. */
  readonly reportedVersion: string | undefined;
  /** RECEPTOR_PAYLOAD_TRACE_LEVEL: 0 (off) to 3 (log the payload of each submission). */
  readonly payloadTraceLevel: number;
  /** RECEPTOR_STATUS_FSYNC=1: fsync each work-unit status file before renaming it (tests). */
  readonly statusFsync: boolean;
  /** RECEPTOR_RUNNER_KILL_DELAY_MS: how long the command runner waits after SIGINT before SIGKILL (tests). */
  readonly runnerKillDelayMs: number | undefined;
  /** RECEPTOR_DIAG_FILE: the daemon rewrites this JSON file with its memory, fds, handles and timers (soak tests; '' = off). */
  readonly diagFile: string | undefined;
  /** RECEPTOR_DIAG_INTERVAL_MS: how often it does (default 2000 ms). */
  readonly diagIntervalMs: number | undefined;
  /** HOME: what `~` in a socket path expands to. */
  readonly home: string | undefined;
  /** PATH: where the command runner looks up a bare command name (Go's exec.LookPath). */
  readonly path: string;
  /** KUBECONFIG: kubeconfig files for work-kubernetes units with authmethod kubeconfig and no file ('' = unset). */
  readonly kubeconfig: string;
  /**
   * RECEPTOR_KUBE_SUPPORT_RECONNECT: enabled/auto stream pod logs with timestamps and
   * resume them; any other value disables that; unset asks the server's version (Go's rule).
   */
  readonly kubeSupportReconnect: string | undefined;
  /** RECEPTOR_KUBE_CLIENTSET_QPS / _BURST / _RATE_LIMITER: Go's client tuning (logged; client-node has no client-side limiter). */
  readonly kubeClientsetQps: string | undefined;
  readonly kubeClientsetBurst: string | undefined;
  readonly kubeClientsetRateLimiter: string | undefined;
  /** RECEPTOR_KUBE_SA_PREFIX: put before /var/run/secrets/kubernetes.io/serviceaccount for authmethod incluster (tests). */
  readonly kubeServiceAccountPrefix: string;
  /** RECEPTOR_KUBE_RETRY_DELAY_MS: pause between log-stream reconnects and API retries (default 200 ms; tests). */
  readonly kubeRetryDelayMs: number | undefined;
  /** RECEPTOR_KUBE_WATCH_DELAY_MS: Go's pause between creating a pod and watching it (default 2000 ms; tests). */
  readonly kubeWatchDelayMs: number | undefined;
  /** RECEPTOR_KUBE_LOG_GIVE_UP_MS: how long pod-log reconnects go on without new output before the unit fails (default 5 min). */
  readonly kubeLogGiveUpMs: number | undefined;
  /** The environment as it was, for oclif's directory rules (RECEPTOR_DATA_DIR, XDG_DATA_HOME, …). */
  readonly env: Readonly<NodeJS.ProcessEnv>;
}

function nonNegativeNumber(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function positiveInteger(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && v !== '' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** Parses the settings out of an environment. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): ProcessSettings {
  return {
    logLevel: env.RECEPTOR_LOG_LEVEL || undefined,
    logFormat: env.RECEPTOR_LOG_FORMAT,
    noColor: Boolean(env.NO_COLOR),
    quicEngine: env.RECEPTOR_QUIC_ENGINE || undefined,
    quichePackage: env.RECEPTOR_QUICHE_PACKAGE || undefined,
    quicKeyUpdatePackets: positiveInteger(env.RECEPTOR_QUIC_KEY_UPDATE_PACKETS),
    reportedVersion: env.RECEPTOR_REPORTED_VERSION,
    payloadTraceLevel: Number.parseInt(env.RECEPTOR_PAYLOAD_TRACE_LEVEL ?? '', 10) || 0,
    statusFsync: env.RECEPTOR_STATUS_FSYNC === '1',
    runnerKillDelayMs: nonNegativeNumber(env.RECEPTOR_RUNNER_KILL_DELAY_MS),
    diagFile: env.RECEPTOR_DIAG_FILE || undefined,
    diagIntervalMs: positiveInteger(env.RECEPTOR_DIAG_INTERVAL_MS),
    home: env.HOME,
    path: env.PATH ?? '',
    kubeconfig: env.KUBECONFIG ?? '',
    kubeSupportReconnect: env.RECEPTOR_KUBE_SUPPORT_RECONNECT,
    kubeClientsetQps: env.RECEPTOR_KUBE_CLIENTSET_QPS,
    kubeClientsetBurst: env.RECEPTOR_KUBE_CLIENTSET_BURST,
    kubeClientsetRateLimiter: env.RECEPTOR_KUBE_CLIENTSET_RATE_LIMITER,
    kubeServiceAccountPrefix: env.RECEPTOR_KUBE_SA_PREFIX ?? '',
    kubeRetryDelayMs: nonNegativeNumber(env.RECEPTOR_KUBE_RETRY_DELAY_MS),
    kubeWatchDelayMs: nonNegativeNumber(env.RECEPTOR_KUBE_WATCH_DELAY_MS),
    kubeLogGiveUpMs: nonNegativeNumber(env.RECEPTOR_KUBE_LOG_GIVE_UP_MS),
    env: Object.freeze({...env}),
  };
}

let current: ProcessSettings | undefined;

/** Fixes the settings for the rest of the process (entry points, once at start-up). */
export function initSettings(env: NodeJS.ProcessEnv): ProcessSettings {
  current = settingsFromEnv(env);
  return current;
}

/** The settings fixed by {@link initSettings}, else those of the current environment. */
export function settings(): ProcessSettings {
  return current ?? settingsFromEnv(process.env);
}
