/** `version` (config.md §5.14): exclusive action that prints the version. */
import type {ActionTypeDef} from '../../core/config/types.js';
import {alignRows, receptorVersion, reportedVersion, versionRows} from '../../core/version.js';

export const versionType: ActionTypeDef = {
  key: 'version',
  description: 'Show the Receptor version',
  exclusive: true,
  fields: [],
  create() {
    return {
      run(rt) {
        const r = reportedVersion();
        rt.print(alignRows(versionRows({version: receptorVersion(), reportedVersion: r.version, reportedVersionSource: r.source})).join('\n') + '\n');
      },
    };
  },
};
