/** `version` (config.md §5.14): exclusive action that prints the version. */
import type {ActionTypeDef} from '../../core/config/types.js';
import {receptorVersion} from '../../core/version.js';

export const versionType: ActionTypeDef = {
  key: 'version',
  description: 'Show the Receptor version',
  exclusive: true,
  fields: [],
  create() {
    return {
      run(rt) {
        rt.print(`${receptorVersion()}\n`);
      },
    };
  },
};
