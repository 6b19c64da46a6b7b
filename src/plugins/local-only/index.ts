/** `local-only` (config.md §5.6): a backend that never links, so a lone node can run. */
import type {ActionTypeDef, Runtime} from '../../core/config/types.js';

export const localOnlyType: ActionTypeDef<{local: boolean}> = {
  key: 'local-only',
  description: 'Runs a self-contained node with no backend',
  singleton: true,
  reloadable: true,
  fields: [{name: 'local', type: 'bool', description: 'No-op field (ignored)'}],
  create() {
    const start = (rt: Runtime) => {
      rt.node.addBackend({kind: 'local-only', description: 'local-only (no links)'});
    };
    return {run: start, reload: start};
  },
};
