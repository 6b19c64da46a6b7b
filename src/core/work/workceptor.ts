/**
 * The per-node work manager (workceptor.md §1, §2, §6, §10): work types, the units known
 * under `<datadir>/<nodeID>`, allocation, lookup, start-up scan and signature policy.
 */
import {existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type {Logger} from 'pino';
import {systemClock, type Clock} from '../clock.js';
import type {Runtime} from '../config/types.js';
import {randomId} from '../netceptor/ids.js';
import {readStatus, STATE_PENDING} from './status.js';
import {UnknownTypeUnit, WorkUnit} from './unit.js';

/** A registered work type (work-command, remote, …). */
export interface WorkTypeDef {
  readonly name: string;
  /** `verifysignature`: submissions not from the unix socket need a valid JWT. */
  readonly verifySignature: boolean;
  /** Put on the control-service advertisement (everything but `remote`). */
  readonly advertise: boolean;
  /** A unit object for `id` (allocation or restart). */
  create(wc: Workceptor, id: string): WorkUnit;
  /** The `remote` type: allocation for a submission to another node (§8.1). */
  allocateRemote?(wc: Workceptor, opts: RemoteSubmitOptions): Promise<WorkUnit>;
}

/** An error reported to the control client as `ERROR: <message>`. */
import {ReceptorError, WorkError} from '../errors.js';
import {errnoText} from '../go/errno.js';
export {WorkError};

export interface RemoteSubmitOptions {
  node: string;
  workType: string;
  params: Record<string, string>;
  tlsClient: string;
  ttl: string;
  signWork: boolean;
}

export interface WorkceptorOptions {
  nodeId: string;
  dataDir: string;
  logger: Logger;
  /** Gives access to the mesh node, TLS configs and signing keys; absent in unit tests. */
  rt?: Runtime;
  /** Re-executes this CLI (detached command runners). */
  selfCommand?: string[];
  logLevel?: string;
  /** Time source of remote units' retry and poll waits (tests). */
  clock?: Clock;
}

export class Workceptor {
  readonly nodeId: string;
  /** Settable before units start (tests inject a manual clock). */
  clock: Clock;
  readonly dataDir: string;
  readonly unitsDir: string;
  readonly logger: Logger;
  readonly rt: Runtime | undefined;
  readonly selfCommand: string[];
  logLevel: string;
  private readonly types = new Map<string, WorkTypeDef>();
  private readonly units = new Map<string, WorkUnit>();
  private shut = false;

  constructor(opts: WorkceptorOptions) {
    this.nodeId = opts.nodeId;
    this.dataDir = opts.dataDir;
    this.unitsDir = join(opts.dataDir, opts.nodeId);
    this.logger = opts.logger.child({component: 'workceptor'});
    this.rt = opts.rt;
    this.selfCommand = opts.selfCommand ?? [process.execPath, ...process.execArgv, process.argv[1]!]; // node runs a script
    this.logLevel = opts.logLevel ?? 'error';
    this.clock = opts.clock ?? systemClock;
  }

  get isShutDown(): boolean {
    return this.shut;
  }

  /** Registers a work type, then rescans the data directory (§10). */
  async registerType(def: WorkTypeDef): Promise<void> {
    if (this.types.has(def.name)) throw new WorkError(`work type ${def.name} already registered`, 'E_PLUGIN');
    this.types.set(def.name, def);
    await this.scan();
  }

  workType(name: string): WorkTypeDef | undefined {
    return this.types.get(name);
  }

  /** Work types advertised on the control service: `{workType, secure}`. */
  advertisedTypes(): Array<{workType: string; secure: boolean}> {
    return [...this.types.values()].filter((t) => t.advertise).map((t) => ({workType: t.name, secure: t.verifySignature}));
  }

  /** §9.3 step 1: whether a request for this type must carry a valid signature. */
  shouldVerify(workType: string, signFlag: boolean): boolean {
    if (workType === 'remote') return signFlag;
    return this.types.get(workType)?.verifySignature ?? false;
  }

  /** True when `node` names this node (`localhost` in any case, or our own ID). */
  isLocal(node: string): boolean {
    return node === this.nodeId || node.toLowerCase() === 'localhost';
  }

  /** A fresh unit ID that is neither known nor on disk (§2). */
  newUnitId(): string {
    for (;;) {
      const id = randomId(8);
      if (!this.units.has(id) && !existsSync(join(this.unitsDir, id))) return id;
    }
  }

  /** Allocates a unit of `def`: directory, runtime params, initial status, registration (§6.1). */
  allocate(def: WorkTypeDef, params: Record<string, string>): WorkUnit {
    const id = this.newUnitId();
    const unit = def.create(this, id);
    mkdirSync(unit.dir, {recursive: true, mode: 0o700});
    try {
      unit.setParams(params);
      writeFileSync(join(unit.dir, 'status.lock'), '', {mode: 0o600});
      unit.save({State: STATE_PENDING, Detail: 'Unit Created', StdoutSize: 0, WorkType: def.name, ExtraData: unit.initialExtraData()});
    } catch (err) {
      // Go leaves the empty directory behind; we clean it up.
      rmSync(unit.dir, {recursive: true, force: true});
      throw err;
    }
    this.units.set(id, unit);
    return unit;
  }

  /** Local submission (§6.1 step 3). */
  allocateLocal(workType: string, params: Record<string, string>, ttl: string): WorkUnit {
    if (ttl !== '') throw new WorkError('ttl option is intended for remote work only');
    const def = this.types.get(workType);
    if (!def) throw new WorkError(`unknown work type ${workType}`, 'E_UNKNOWN_WORK_TYPE');
    return this.allocate(def, params);
  }

  /** Remote submission (§8.1). */
  async allocateRemote(opts: RemoteSubmitOptions): Promise<WorkUnit> {
    const def = this.types.get('remote');
    if (!def?.allocateRemote) throw new WorkError('remote work is not available on this node');
    return def.allocateRemote(this, opts);
  }

  /** A unit by ID; an unknown ID triggers a one-off rescan of that directory (§6.2). */
  unit(id: string): WorkUnit {
    let u = this.units.get(id);
    if (!u && /^[a-zA-Z0-9]+$/.test(id)) {
      this.scanOne(id);
      u = this.units.get(id);
    }
    if (!u) throw new WorkError(`unknown work unit ${id}`, 'E_UNKNOWN_UNIT');
    return u;
  }

  /** Every known unit, in ID order. */
  list(): WorkUnit[] {
    return [...this.units.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, u]) => u);
  }

  /** Forgets a released unit. */
  forget(id: string): void {
    const u = this.units.get(id);
    if (!u) return;
    u.released = true;
    this.units.delete(id);
    u.changed();
    u.dispose();
  }

  /**
   * Start-up check (ours; Go finds out at the first submission): `<datadir>/<nodeID>` exists
   * or is created, and takes a file. A read-only or full datadir is refused at once, naming
   * the directory, rather than failing every unit later.
   */
  checkDataDir(): void {
    const probe = join(this.unitsDir, `.write-check-${process.pid}`);
    try {
      try {
        mkdirSync(this.unitsDir, {recursive: true, mode: 0o700});
      } catch (err) {
        // A recursive mkdir says ENOENT on a read-only parent: ask for the real reason.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !existsSync(this.dataDir)) throw err;
        mkdirSync(this.unitsDir, {mode: 0o700});
      }
      writeFileSync(probe, '');
      rmSync(probe, {force: true});
    } catch (err) {
      throw new ReceptorError('E_DATADIR', `Cannot use the data directory ${this.unitsDir}: ${errnoText(err)}`);
    }
  }

  /** Scans `<datadir>/<nodeID>` for unit directories not yet known, and restarts them (§10). */
  async scan(): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.unitsDir);
    } catch {
      return;
    }
    const restarts: Promise<void>[] = [];
    for (const name of names) {
      const known = this.units.get(name);
      if (known && !(known instanceof UnknownTypeUnit && this.types.has(known.workType))) continue;
      const p = this.scanOne(name, known !== undefined);
      if (p) restarts.push(p);
    }
    await Promise.all(restarts);
  }

  private scanOne(id: string, replace = false): Promise<void> | undefined {
    const dir = join(this.unitsDir, id);
    try {
      if (!statSync(dir).isDirectory()) return undefined;
    } catch {
      return undefined;
    }
    let workType: string;
    try {
      workType = readStatus(dir).WorkType;
    } catch (err) {
      this.logger.error({unit: id}, `Status file has disappeared for ${id}.`);
      void err;
      return undefined;
    }
    const def = this.types.get(workType);
    const unit = def ? def.create(this, id) : new UnknownTypeUnit(this, id, workType);
    if (replace) this.units.get(id)?.dispose();
    this.units.set(id, unit);
    if (!def) return undefined;
    return unit.restart().catch((err: Error) => {
      this.logger.warn({unit: id, err: err.message}, `Failed to restart worker ${dir}: ${err.message}`);
      try {
        unit.markFailed(`Failed to restart: ${err.message}`);
      } catch {
        // unit directory gone
      }
    });
  }

  /** Stops background activity of every unit (node shutdown; runners keep running). */
  shutdown(): void {
    this.shut = true;
    for (const u of this.units.values()) u.dispose();
  }
}

declare module '../config/types.js' {
  interface RegistryKinds {
    workceptor: Workceptor;
  }
}

/** The node's work manager, created on first use (the `node` item creates it at Init). */
export function workceptorOf(rt: Runtime): Workceptor {
  const reg = rt.registry('workceptor');
  let wc = reg.get('default');
  if (!wc) {
    wc = new Workceptor({nodeId: rt.node.id, dataDir: rt.node.dataDir, logger: rt.logger, rt, selfCommand: rt.options.selfCommand});
    reg.register('default', wc);
    const w = wc;
    rt.onShutdown(() => w.shutdown());
  }
  return wc;
}
