/**
 * `receptor-mesh/testing`: what a backend's own tests need, above all the compliance suite
 * every mesh backend must pass. Import it from mocha test files only: it needs mocha and
 * chai (optional peer dependencies), which the CLI and the daemon never load.
 */
export {
  backendCompliance,
  Endpoint,
  numbered,
  retryOn,
  SessionRecord,
  testLogger,
  waitFor,
  type BackendPair,
  type GarbageCase,
  type MakePair,
  type PairOptions,
} from './backend.js';
