/**
 * The plugin API: action-item types and the runtime handed to their phase methods.
 * Third-party plugins import these as types only.
 */
import type {Logger} from 'pino';
import type {ItemSource} from '../errors.js';

/** Field types, named after what Go receptor's config engine accepts. */
export type FieldType =
  | 'string'
  | 'int'
  | 'bool'
  | 'float'
  | 'string-list' // []string: YAML list, JSON array string, or repeated values that accumulate
  | 'float-map' // map[string]float64: YAML mapping or JSON object string
  | 'json-map' // map[string]any
  | 'json-list'; // []map[string]any

export interface FieldSpec {
  /** Canonical lower-case field name; matched case-insensitively. */
  name: string;
  type: FieldType;
  description: string;
  required?: boolean;
  /** Applied when the field is not given, converted like a command-line string. */
  default?: string | number | boolean;
  /** This field takes the item's bare value (`--tcp-listener 2222`, `- node: foo`). */
  bare?: boolean;
  /** How `config check` shows the value to a person: `octal` for file modes (0600, not 384). */
  display?: 'octal';
}

export type FieldValues = Record<string, unknown>;

/** Context handed to a factory when an item is instantiated. */
export interface ItemContext {
  key: string;
  plugin: string;
  source: ItemSource;
  /** Field names the user set explicitly (the rest carry defaults or zero values). */
  explicit: ReadonlySet<string>;
}

export type PhaseResult = void | Promise<void>;

/** An instantiated action item: any subset of the phase methods. */
export interface ActionItem {
  init?(rt: Runtime): PhaseResult;
  prepare?(rt: Runtime): PhaseResult;
  run?(rt: Runtime): PhaseResult;
  preReload?(rt: Runtime): PhaseResult;
  reload?(rt: Runtime): PhaseResult;
}

export interface ActionTypeDef<V extends FieldValues = FieldValues> {
  /** The YAML key and command-line action name, lower-case (e.g. `tcp-peer`). */
  key: string;
  description: string;
  fields: FieldSpec[];
  /** At most one instance. */
  singleton?: boolean;
  /** Must appear; a singleton required type gets an implicit instance with defaults (`node`). */
  required?: boolean;
  /** Must be the only action (`version`, `cert-init`, …); no node is created. */
  exclusive?: boolean;
  /** Not shown in help. */
  hidden?: boolean;
  /** Re-applied by the `reload` control command instead of requiring a restart. */
  reloadable?: boolean;
  /**
   * Static checks on the converted values, run while loading (so `config check` catches
   * them too). Throw `fieldError(reason, field, value)` (or a ConfigError) when one field is
   * wrong; any other Error becomes E_CONFIG_ITEM_INVALID. The loader adds file, item and key.
   */
  validate?(values: V): void;
  create(values: V, ctx: ItemContext): ActionItem;
}

/** What the `receptor:register` hook of a plugin returns. */
export type RegisterHookResult = ActionTypeDef<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any

export type ShutdownHook = () => void | Promise<void>;

/** A backend as far as the lifecycle is concerned: something that keeps the node busy. */
export interface BackendHandle {
  readonly kind: string;
  readonly description?: string;
}

/**
 * The node as seen by action items. Created by the `node` item's Init; the mesh layer
 * extends it. Accessing `rt.node` before it exists throws.
 */
export interface NodeHandle {
  readonly id: string;
  readonly dataDir: string;
  addBackend(b: BackendHandle): void;
  readonly backends: readonly BackendHandle[];
  /** Stops every backend. */
  stopBackends?(): Promise<void>;
  /** Stops one backend and forgets it (reload stops the backends of removed or changed items). */
  stopBackend(b: BackendHandle): Promise<void>;
}

/** A named-value registry (TLS configs, work types, control commands, …). */
export interface Registry<T> {
  register(name: string, value: T, owner?: string): void;
  get(name: string): T | undefined;
  has(name: string): boolean;
  names(): string[];
  entries(): Array<[string, T]>;
}

/**
 * Registry kinds. Plugins extend this interface by declaration merging to type their own
 * registries: `declare module 'receptor-mesh' { interface RegistryKinds { 'my-kind': Foo } }`.
 */
export interface RegistryKinds {
  [kind: string]: unknown;
}

export interface RuntimeOptions {
  /** Config files given with --config / -c, in order, as resolved absolute paths. */
  configFiles: string[];
  /** The Go-style argument list the node was started with. */
  argv: string[];
  /** The executable invocation used to re-run this CLI (e.g. for detached work runners). */
  selfCommand: string[];
}

export interface Runtime {
  readonly logger: Logger;
  /** Aborted when the node shuts down. */
  readonly signal: AbortSignal;
  /** Register cleanup; hooks run in reverse registration order at shutdown. */
  onShutdown(hook: ShutdownHook): void;
  /** The node; throws if no `node` item has run Init (e.g. for exclusive actions). */
  readonly node: NodeHandle;
  readonly hasNode: boolean;
  setNode(node: NodeHandle): void;
  registry<K extends keyof RegistryKinds & string>(kind: K): Registry<RegistryKinds[K]>;
  /** Command output of exclusive actions (stdout). */
  print(text: string): void;
  readonly options: RuntimeOptions;
  /** Ask the daemon to stop (e.g. duplicate node detected). */
  requestShutdown(reason: string, exitCode?: number): void;
}
