/**
 * `work-kubernetes` (config.md §5.10): the item, validated like Go's; each unit runs as a pod
 * (src/core/work/kubernetes/).
 */
import {statSync} from 'node:fs';
import {fieldsOf, type ItemValues} from '../../core/config/fields.js';
import type {ActionTypeDef, Runtime} from '../../core/config/types.js';
import type {WorkKubernetesOptions} from '../../core/work/kubernetes.js';

export type WorkKubernetesValues = ItemValues<WorkKubernetesOptions>;

/** Go's Prepare checks, in Go's order (workceptor.md §7.3). */
export function checkKubernetesConfig(v: WorkKubernetesOptions, fileExists: (p: string) => string | undefined = defaultFileCheck): void {
  const auth = v.authmethod.toLowerCase();
  if (!['kubeconfig', 'incluster', 'runtime'].includes(auth)) throw new Error(`invalid AuthMethod: ${v.authmethod}`);
  if (v.namespace === '' && !(auth === 'kubeconfig' || v.allowruntimeauth)) throw new Error('must provide namespace when AuthMethod is not kubeconfig');
  if (v.kubeconfig !== '') {
    if (auth !== 'kubeconfig') throw new Error('can only provide KubeConfig when AuthMethod=kubeconfig');
    const err = fileExists(v.kubeconfig);
    if (err) throw new Error(`error accessing kubeconfig file: ${err}`);
  }
  if (v.pod !== '' && (v.image !== '' || v.command !== '' || v.params !== '')) throw new Error('can only provide Pod when Image, Command, and Params are empty');
  if (v.image === '' && !v.allowruntimecommand && !v.allowruntimepod && v.pod === '') throw new Error('must specify a container image to run');
  const stream = v.streammethod.toLowerCase();
  if (stream !== 'logger' && stream !== 'tcp') throw new Error('stream mode must be logger or tcp');
}

function defaultFileCheck(path: string): string | undefined {
  try {
    statSync(path);
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'ENOENT' ? `stat ${path}: no such file or directory` : `stat ${path}: ${e.message}`;
  }
}

export const workKubernetesType: ActionTypeDef<WorkKubernetesValues> = {
  key: 'work-kubernetes',
  description: 'Run a worker using Kubernetes',
  fields: fieldsOf<WorkKubernetesOptions>()([
    {name: 'worktype', type: 'string', required: true, description: 'Name for this worker type'},
    {name: 'namespace', type: 'string', description: 'Kubernetes namespace to create pods in'},
    {name: 'image', type: 'string', description: 'Container image to use for the worker pod'},
    {name: 'command', type: 'string', description: 'Command to run in the container (overrides entrypoint)'},
    {name: 'params', type: 'string', description: 'Command-line parameters to pass to the entrypoint'},
    {name: 'authmethod', type: 'string', default: 'incluster', description: 'One of: kubeconfig, incluster, runtime'},
    {name: 'kubeconfig', type: 'string', description: 'Kubeconfig filename (for authmethod=kubeconfig)'},
    {name: 'pod', type: 'string', description: 'Pod definition filename, in JSON or YAML format'},
    {name: 'allowruntimeauth', type: 'bool', default: 'false', description: 'Allow passing API parameters at runtime'},
    {name: 'allowruntimecommand', type: 'bool', default: 'false', description: 'Allow specifying image & command at runtime'},
    {name: 'allowruntimeparams', type: 'bool', default: 'false', description: 'Allow adding command parameters at runtime'},
    {name: 'allowruntimepod', type: 'bool', default: 'false', description: 'Allow passing Pod at runtime'},
    {name: 'deletepodonrestart', type: 'bool', default: 'true', description: 'On restart, delete the pod if in pending state'},
    {name: 'streammethod', type: 'string', default: 'logger', description: 'Method for connecting to worker pods: logger or tcp'},
    {name: 'verifysignature', type: 'bool', default: 'false', description: 'Verify a signed work submission'},
  ]),
  validate(v) {
    // The same checks at load time (so `config check` reports them); the file is checked at Prepare.
    checkKubernetesConfig(v, () => undefined);
  },
  create(v) {
    return {
      prepare() {
        checkKubernetesConfig(v);
      },
      async run(rt: Runtime) {
        const [{registerWorkType}, {kubernetesTypeDef}] = await Promise.all([import('../../core/work/plugin-glue.js'), import('../../core/work/kubernetes.js')]);
        await registerWorkType(rt, kubernetesTypeDef(v));
      },
    };
  },
};
