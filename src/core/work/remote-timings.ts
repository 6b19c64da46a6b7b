/** Timings of the remote worker (Go's values; tests inject a clock rather than change them). */
export const remoteTimings = {
  /** First connection retry delay (Go: SuccessWorkSleep, 1 s). */
  retryFirstMs: 1000,
  /** Retry delay growth factor. */
  retryFactor: 1.5,
  /** Retry delay cap (Go: MaxWorkSleep, 60 s). */
  retryMaxMs: 60_000,
  /** Greeting read limit on a new connection. */
  greetingTimeoutMs: 5000,
  /** Interval between `work status` polls. */
  statusPollMs: 1000,
  /** Pause before re-opening a results stream that ended without the unit being complete. */
  resultsRetryMs: 1000,
};
