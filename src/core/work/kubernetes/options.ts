/** Options of a `work-kubernetes` item, as the core reads them. */

/** The `work-kubernetes` item's fields (config.md §5.10). */
export interface WorkKubernetesOptions {
  worktype: string;
  namespace: string;
  image: string;
  command: string;
  params: string;
  /** kubeconfig, incluster or runtime (any case). */
  authmethod: string;
  kubeconfig: string;
  pod: string;
  allowruntimeauth: boolean;
  allowruntimecommand: boolean;
  allowruntimeparams: boolean;
  allowruntimepod: boolean;
  deletepodonrestart: boolean;
  /** logger or tcp (any case). */
  streammethod: string;
  verifysignature: boolean;
}
