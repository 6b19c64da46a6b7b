/** metav1.Status bodies with the apiserver's texts, and the error type the router turns into them. */

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: {name?: string; kind?: string; group?: string; causes?: Array<{reason?: string; message?: string; field?: string}>};
  code: number;
}

export function failure(code: number, reason: string, message: string, details?: KubeStatus['details']): KubeStatus {
  return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? {details} : {}), code};
}

/** Thrown inside handlers; the router answers with its Status. */
export class KubeHttpError extends Error {
  constructor(readonly status: KubeStatus) {
    super(status.message);
  }
}

export const notFound = (name: string, resource = 'pods'): KubeHttpError => new KubeHttpError(failure(404, 'NotFound', `${resource} "${name}" not found`, {name, kind: resource}));

export const alreadyExists = (name: string, resource = 'pods'): KubeHttpError =>
  new KubeHttpError(failure(409, 'AlreadyExists', `${resource} "${name}" already exists`, {name, kind: resource}));

export const badRequest = (message: string): KubeHttpError => new KubeHttpError(failure(400, 'BadRequest', message));

export const invalid = (name: string, causes: Array<{field: string; message: string}>): KubeHttpError =>
  new KubeHttpError(
    failure(422, 'Invalid', `Pod "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, {
      name,
      kind: 'Pod',
      causes: causes.map((c) => ({reason: 'FieldValueRequired', message: c.message, field: c.field})),
    }),
  );

export const unauthorized = (): KubeStatus => failure(401, 'Unauthorized', 'Unauthorized');

export const methodNotAllowed = (): KubeHttpError => new KubeHttpError(failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));

export const pathNotFound = (): KubeHttpError => new KubeHttpError(failure(404, 'NotFound', 'the server could not find the requested resource'));
