/** The runtime object handed to action items, and the placeholder node handle. */
import type {Logger} from 'pino';
import {ReceptorError} from './errors.js';
import type {BackendHandle, NodeHandle, Registry, RegistryKinds, Runtime, RuntimeOptions, ShutdownHook} from './config/types.js';

export class NamedRegistry<T> implements Registry<T> {
  private readonly map = new Map<string, {value: T; owner?: string}>();
  constructor(private readonly kind: string) {}
  register(name: string, value: T, owner?: string): void {
    const prev = this.map.get(name);
    if (prev) {
      throw new ReceptorError('E_PHASE', `${this.kind} ${name} is already registered${prev.owner ? ` by ${prev.owner}` : ''}`);
    }
    this.map.set(name, {value, owner});
  }
  get(name: string): T | undefined {
    return this.map.get(name)?.value;
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  names(): string[] {
    return [...this.map.keys()];
  }
  entries(): Array<[string, T]> {
    return [...this.map.entries()].map(([k, v]) => [k, v.value]);
  }
}

/** The node before the mesh layer exists: identity, data directory and backend bookkeeping. */
export class BasicNode implements NodeHandle {
  private readonly list: BackendHandle[] = [];
  constructor(
    readonly id: string,
    readonly dataDir: string,
  ) {}
  addBackend(b: BackendHandle): void {
    this.list.push(b);
  }
  get backends(): readonly BackendHandle[] {
    return this.list;
  }
  async stopBackend(b: BackendHandle): Promise<void> {
    const i = this.list.indexOf(b);
    if (i >= 0) this.list.splice(i, 1);
  }
}

export interface ShutdownRequest {
  reason: string;
  exitCode: number;
}

export class NodeRuntime implements Runtime {
  private readonly controller = new AbortController();
  private readonly hooks: ShutdownHook[] = [];
  private readonly registries = new Map<string, NamedRegistry<unknown>>();
  private nodeHandle: NodeHandle | undefined;
  private shutdownListener: ((req: ShutdownRequest) => void) | undefined;

  constructor(
    public logger: Logger,
    readonly options: RuntimeOptions,
    private readonly out: (text: string) => void = (t) => process.stdout.write(t),
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  onShutdown(hook: ShutdownHook): void {
    this.hooks.push(hook);
  }

  get node(): NodeHandle {
    if (!this.nodeHandle) throw new ReceptorError('E_PHASE', 'the node has not been initialised (is there a node item?)');
    return this.nodeHandle;
  }

  get hasNode(): boolean {
    return this.nodeHandle !== undefined;
  }

  setNode(node: NodeHandle): void {
    this.nodeHandle = node;
  }

  registry<K extends keyof RegistryKinds & string>(kind: K): Registry<RegistryKinds[K]> {
    let r = this.registries.get(kind);
    if (!r) {
      r = new NamedRegistry<unknown>(kind);
      this.registries.set(kind, r);
    }
    return r as Registry<RegistryKinds[K]>;
  }

  print(text: string): void {
    this.out(text);
  }

  requestShutdown(reason: string, exitCode = 0): void {
    this.shutdownListener?.({reason, exitCode});
  }

  /** The daemon listens for shutdown requests from items. */
  onShutdownRequest(listener: (req: ShutdownRequest) => void): void {
    this.shutdownListener = listener;
  }

  /** Aborts the shared signal and runs shutdown hooks in reverse order; errors are logged. */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    if (!this.controller.signal.aborted) this.controller.abort();
    const hooks = this.hooks.splice(0).reverse();
    for (const hook of hooks) {
      try {
        await withTimeout(Promise.resolve().then(hook), timeoutMs);
      } catch (err) {
        this.logger.error({err}, 'shutdown hook failed');
      }
    }
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
