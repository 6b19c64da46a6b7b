/**
 * Where the node's work-signing and work-verification configuration lives at run time: the
 * `work-signing` / `work-verification` items store it in these registries (entry `default`),
 * and the control service and remote work read it back here, without importing the plugin.
 */
import type {Runtime} from '../config/types.js';
import type {WorkSigningConfig, WorkVerificationConfig} from './signing.js';

declare module '../config/types.js' {
  interface RegistryKinds {
    'work-signing': WorkSigningConfig;
    'work-verification': WorkVerificationConfig;
  }
}

/** The registry entry that holds the node's configuration. */
export const SIGNING_ENTRY = 'default';

/** The node's `work-signing` configuration, if any. */
export function workSigningOf(rt: Runtime): WorkSigningConfig | undefined {
  return rt.registry('work-signing').get(SIGNING_ENTRY);
}

/** The node's `work-verification` configuration, if any. */
export function workVerificationOf(rt: Runtime): WorkVerificationConfig | undefined {
  return rt.registry('work-verification').get(SIGNING_ENTRY);
}
