/**
 * Public API of receptor-mesh for plugins. Third-party plugins should import types only
 * (`import type {...} from 'receptor-mesh'`) so they carry no runtime dependency on the core.
 */
export type {
  ActionItem,
  ActionTypeDef,
  BackendHandle,
  FieldSpec,
  FieldType,
  FieldValues,
  ItemContext,
  NodeHandle,
  PhaseResult,
  Registry,
  RegistryKinds,
  RegisterHookResult,
  Runtime,
  RuntimeOptions,
  ShutdownHook,
} from './core/config/types.js';
export type {ItemSource} from './core/errors.js';
export {ReceptorError, ConfigError} from './core/errors.js';
export {ERROR_CATALOGUE, errorCodeOf, type ConfigErrorCode, type ErrorCode} from './core/errors.js';
