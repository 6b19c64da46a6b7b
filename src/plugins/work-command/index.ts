/** `work-command` (config.md §5.9) and the deprecated `work-python` (§5.11). */
import type {ActionTypeDef, Runtime} from '../../core/config/types.js';
import {ConfigError} from '../../core/errors.js';

export interface WorkCommandValues {
  worktype: string;
  command: string;
  params: string;
  allowruntimeparams: boolean;
  verifysignature: boolean;
  [k: string]: unknown;
}

export const workCommandType: ActionTypeDef<WorkCommandValues> = {
  key: 'work-command',
  description: 'Run a worker using an external command',
  fields: [
    {name: 'worktype', type: 'string', required: true, description: 'Name for this worker type'},
    {name: 'command', type: 'string', required: true, description: 'Command to run to process units of work'},
    {name: 'params', type: 'string', description: 'Command-line parameters'},
    {name: 'allowruntimeparams', type: 'bool', default: 'false', description: 'Allow users to add more parameters'},
    {name: 'verifysignature', type: 'bool', default: 'false', description: 'Verify a signed work submission'},
  ],
  create(v) {
    return {
      async run(rt: Runtime) {
        const {registerCommandWorkType} = await import('../../core/work/plugin-glue.js');
        await registerCommandWorkType(rt, {
          workType: v.worktype,
          command: v.command,
          params: v.params,
          allowRuntimeParams: v.allowruntimeparams,
          verifySignature: v.verifysignature,
        });
      },
    };
  },
};

export const DEPRECATION_WORK_PYTHON = "[DEPRECATION WARNING] 'work-python' option is not currently being used. This feature will be removed from receptor in a future release";

export const workPythonType: ActionTypeDef = {
  key: 'work-python',
  description: 'Run a worker using a Python plugin (deprecated, not supported)',
  fields: [
    {name: 'worktype', type: 'string', required: true, description: 'Name for this worker type'},
    {name: 'plugin', type: 'string', required: true, description: 'Python module name of the worker plugin'},
    {name: 'function', type: 'string', required: true, description: 'Receptor-exported function to call'},
    {name: 'config', type: 'json-map', description: 'Plugin-specific configuration'},
  ],
  create() {
    return {
      run() {
        throw new ConfigError(DEPRECATION_WORK_PYTHON); // refused at Run, as Go does
      },
    };
  },
};

export const workCommandTypes = [workCommandType, workPythonType];
