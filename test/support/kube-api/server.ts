/**
 * A Kubernetes API server for tests: pods (create/get/list/watch/delete), pods/log, pods/attach
 * and pods/exec over real HTTP(S), WebSocket and (through ./spdy when present) SPDY on 127.0.0.1.
 * Each pod's first container is a local child process. See README.md for what is modelled.
 */
import {spawn, type ChildProcess} from 'node:child_process';
import {EventEmitter} from 'node:events';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import http, {type IncomingMessage, type ServerResponse} from 'node:http';
import https from 'node:https';
import type {AddressInfo, Socket} from 'node:net';
import {constants as osConstants, tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Duplex, Readable, Writable} from 'node:stream';
import {randomUUID} from 'node:crypto';
import {loadYaml, type V1Pod} from '@kubernetes/client-node';
import YAML from 'yaml';
import type {WebSocketServer} from 'ws';
import {ContainerLog, HARD_LINE_MAX, serveLog, type LogStreamControl} from './crilog.js';
import * as kubelet from './kubelet.js';
import type {WirePod} from './kubelet.js';
import {acceptSpdyRemoteCommand} from './spdy/index.js';
import {acceptWebSocketRemoteCommand, createWsServer, type RemoteCommandRequest, type RemoteCommandStreams} from './remotecommand.js';
import {checkFieldSelector, compileSelector, type Matcher} from './selectors.js';
import {alreadyExists, badRequest, failure, invalid, KubeHttpError, methodNotAllowed, notFound, pathNotFound, unauthorized, type KubeStatus} from './status.js';
import {makeServingCert} from './tls.js';
import {nowNs, parseRfc3339Ns, rfc3339} from './time.js';

export interface KubeApiServerOptions {
  /** https with a generated CA (kubeconfig carries the CA data) */
  tls?: boolean;
  /** require `Authorization: Bearer <token>` (401 Status otherwise) */
  token?: string;
  /** GET /version (default v1.29.3) */
  version?: {major: string; minor: string; gitVersion: string};
  /** containerd splits longer lines into partial CRI records (default: no split) */
  logLineMax?: number;
  logger?: (msg: string) => void;
  /** Extra: how often a watch with allowWatchBookmarks gets a BOOKMARK (default 1000 ms). */
  bookmarkMs?: number;
  /** Extra: kubelets before the "addPrefix" fix put a timestamp on every partial record too. */
  prefixEveryRecord?: boolean;
  /** Extra: longest SIGTERM→SIGKILL wait on delete, whatever the grace period (default 3000 ms). */
  maxGraceMs?: number;
  /** Extra: watch events kept for resuming from a resourceVersion (default 2000); older ones get 410 Expired. */
  historyMax?: number;
  /** Extra: kubelet's containerLogMaxSize: a container's log is rotated when it would grow past this (default 1 GiB, bounding memory). */
  logMaxBytes?: number;
}

export type PodScenario =
  | {kind: 'run'; pendingMs?: number}
  | {kind: 'pending'}
  | {kind: 'unschedulable'; message?: string}
  /** cycleMs: kubelet's back-off alternates ErrImagePull and ImagePullBackOff (default every 400 ms; 0 = never) */
  | {kind: 'imagePullError'; reason?: 'ErrImagePull' | 'ImagePullBackOff'; message?: string; cycleMs?: number}
  | {kind: 'createContainerError'; reason?: string; message?: string};

export type {RemoteCommandStreams} from './remotecommand.js';

interface Entry {
  ns: string;
  name: string;
  obj: WirePod;
  scenario: PodScenario;
  log: ContainerLog;
  timers: Set<NodeJS.Timeout>;
  child: ChildProcess | null;
  cwd: string | null;
  cid: string;
  startedAt: string;
  exited: boolean;
  /** child stdout/stderr chunks, for attach sessions */
  out: EventEmitter;
  logStreams: Set<LogStreamControl>;
  stdinClaimed: boolean;
  deleting: boolean;
  removed: boolean;
}

interface HistoryEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: WirePod;
  prev: WirePod | null;
}

interface Watcher {
  ns: string | null;
  field: Matcher;
  label: Matcher;
  res: ServerResponse;
}

const HISTORY_MAX = 2000;
const REQUESTS_MAX = 10000;
const BODY_MAX = 3 * 1024 * 1024;
const WATCH_BUFFER_MAX = 16 * 1024 * 1024;
const DEFAULT_VERSION = {major: '1', minor: '29', gitVersion: 'v1.29.3'};

const deepCopy = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

function toV1(w: WirePod): V1Pod {
  return loadYaml<V1Pod>(JSON.stringify({...w, apiVersion: 'v1', kind: 'Pod'}));
}

function podField(p: WirePod, key: string): string | undefined {
  switch (key) {
    case 'metadata.name':
      return p.metadata.name;
    case 'metadata.namespace':
      return p.metadata.namespace;
    case 'spec.nodeName':
      return p.spec.nodeName ?? '';
    case 'spec.restartPolicy':
      return p.spec.restartPolicy;
    case 'spec.schedulerName':
      return p.spec.schedulerName as string | undefined;
    case 'spec.serviceAccountName':
      return p.spec.serviceAccountName as string | undefined;
    case 'status.phase':
      return p.status.phase ?? '';
    case 'status.podIP':
      return p.status.podIP ?? '';
    default:
      return '';
  }
}

function boolParam(q: URLSearchParams, k: string): boolean {
  const v = q.get(k);
  return v === 'true' || v === '1' || v === 'True';
}

function intParam(q: URLSearchParams, k: string): number | null {
  const v = q.get(k);
  if (v === null || v === '') return null;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${k}: ${v}`);
  return Number(v);
}

function signalExitCode(sig: NodeJS.Signals | null): number {
  const n = sig ? (osConstants.signals as Record<string, number>)[sig] : undefined;
  return 128 + (n ?? 9);
}

export class KubeApiServer {
  readonly url: string;
  readonly requests: Array<{method: string; path: string; query: string}> = [];
  private readonly entries = new Map<string, Entry>();
  private readonly scenarios: Array<{match: (p: V1Pod) => boolean; scenario: PodScenario}> = [];
  private readonly entrypoints = new Map<string, string[]>();
  private readonly history: HistoryEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  private readonly changes = new EventEmitter();
  private readonly wss: WebSocketServer = createWsServer();
  private readonly log: (msg: string) => void;
  private rv = 1;
  private podCount = 0;
  private breakEvery = 0;
  private closing = false;

  private constructor(
    private readonly server: http.Server | https.Server,
    private readonly opts: KubeApiServerOptions,
    private readonly caPem: string | null,
  ) {
    const {port} = server.address() as AddressInfo;
    this.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    this.log = opts.logger ?? (() => {});
    this.changes.setMaxListeners(0);
  }

  static async start(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
    let server: http.Server | https.Server;
    let caPem: string | null = null;
    if (opts.tls) {
      const c = await makeServingCert();
      caPem = c.caPem;
      server = https.createServer({key: c.keyPem, cert: c.certPem});
    } else {
      server = http.createServer();
    }
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const s = new KubeApiServer(server, opts, caPem);
    server.on(opts.tls ? 'secureConnection' : 'connection', (sock: Socket) => {
      s.sockets.add(sock);
      sock.once('close', () => s.sockets.delete(sock));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void s.onRequest(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void s.onUpgrade(req, socket, head));
    server.on('clientError', (_err, socket: Duplex) => socket.destroy());
    return s;
  }

  // ------------------------------------------------------------------------------------------
  // test controls

  /** The CA certificate (PEM) of a TLS server, as a credential's ssl_ca_cert; null without TLS. */
  get ca(): string | null {
    return this.caPem;
  }

  kubeconfig(opts: {namespace?: string; user?: string} = {}): string {
    const user = opts.user ?? 'kube-api-test-user';
    const cluster: Record<string, string | boolean> = {server: this.url};
    if (this.caPem) cluster['certificate-authority-data'] = Buffer.from(this.caPem).toString('base64');
    // @kubernetes/client-node >= 1.0 refuses plain http unless TLS verification is off
    else cluster['insecure-skip-tls-verify'] = true;
    const context: Record<string, string> = {cluster: 'kube-api-test', user};
    if (opts.namespace) context.namespace = opts.namespace;
    return YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{name: 'kube-api-test', cluster}],
      users: [{name: user, user: this.opts.token ? {token: this.opts.token} : {}}],
      contexts: [{name: 'kube-api-test', context}],
      'current-context': 'kube-api-test',
      preferences: {},
    });
  }

  writeKubeconfig(dir: string, opts: {namespace?: string; user?: string} = {}): string {
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, this.kubeconfig(opts), {mode: 0o600});
    return path;
  }

  setScenario(match: (pod: V1Pod) => boolean, scenario: PodScenario): void {
    this.scenarios.push({match, scenario});
  }

  setEntrypoint(image: string, argv: string[]): void {
    this.entrypoints.set(image, [...argv]);
  }

  pods(namespace?: string): V1Pod[] {
    return [...this.entries.values()].filter((e) => namespace === undefined || e.ns === namespace).map((e) => toV1(e.obj));
  }

  waitForPod(pred: (p: V1Pod) => boolean, timeoutMs = 10_000): Promise<V1Pod> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (const p of this.pods(undefined))
          if (pred(p)) {
            done();
            resolve(p);
            return true;
          }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waitForPod: no pod matched within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.changes.off('change', listener);
      };
      this.changes.on('change', listener);
      check();
    });
  }

  breakLogStreams(namespace: string, name: string): number {
    const e = this.entries.get(`${namespace}/${name}`);
    if (!e) return 0;
    let n = 0;
    for (const s of e.logStreams) {
      s.res.socket?.destroy();
      s.res.destroy();
      n++;
    }
    e.logStreams.clear();
    return n;
  }

  breakLogStreamsEvery(bytes: number): void {
    this.breakEvery = Math.max(0, Math.floor(bytes));
    for (const e of this.entries.values()) for (const s of e.logStreams) s.breakAt = this.breakEvery > 0 ? s.sent + this.breakEvery : null;
  }

  rotateLog(namespace: string, name: string): void {
    const e = this.mustEntry(namespace, name);
    e.log.rotate();
  }

  /**
   * Extra: a kubelet restart. Every open log stream breaks now, and for `downMs` the log,
   * attach and exec requests fail as the apiserver reports an unreachable kubelet (500).
   */
  restartKubelet(downMs = 1000): number {
    this.kubeletDownUntil = Date.now() + downMs;
    let n = 0;
    for (const e of this.entries.values()) n += this.breakLogStreams(e.ns, e.name);
    return n;
  }

  private kubeletDownUntil = 0;

  private checkKubelet(ns: string, name: string, container: string, what: string): void {
    if (Date.now() < this.kubeletDownUntil)
      throw new KubeHttpError(
        failure(500, 'InternalError', `Get "https://127.0.0.1:10250/${what}/${ns}/${name}/${container}": dial tcp 127.0.0.1:10250: connect: connection refused`),
      );
  }

  killContainer(namespace: string, name: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    const e = this.mustEntry(namespace, name);
    this.signalGroup(e, signal);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    const exits: Array<Promise<void>> = [];
    for (const e of this.entries.values()) {
      const child = e.child;
      if (child && child.exitCode === null && child.signalCode === null)
        exits.push(new Promise((resolve) => (child.once('exit', () => resolve()), setTimeout(resolve, 2000).unref())));
      this.dispose(e);
    }
    await Promise.all(exits);
    for (const c of this.wss.clients) c.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    this.changes.removeAllListeners();
  }

  private mustEntry(ns: string, name: string): Entry {
    const e = this.entries.get(`${ns}/${name}`);
    if (!e) throw new Error(`no pod ${ns}/${name}`);
    return e;
  }

  // ------------------------------------------------------------------------------------------
  // HTTP

  private authorized(req: IncomingMessage): boolean {
    if (!this.opts.token) return true;
    return req.headers.authorization === `Bearer ${this.opts.token}`;
  }

  private record(req: IncomingMessage, u: URL): void {
    this.requests.push({method: req.method ?? '', path: u.pathname, query: u.search.replace(/^\?/, '')});
    if (this.requests.length > REQUESTS_MAX) this.requests.splice(0, this.requests.length - REQUESTS_MAX);
  }

  private sendJson(res: ServerResponse, code: number, body: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const data = JSON.stringify(body);
    res.writeHead(code, {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data)});
    res.end(data);
  }

  private sendStatus(res: ServerResponse, st: KubeStatus): void {
    this.sendJson(res, st.code, st);
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.record(req, u);
    this.log(`${req.method} ${u.pathname}${u.search}`);
    try {
      if (!this.authorized(req)) {
        req.resume();
        this.sendStatus(res, unauthorized());
        return;
      }
      await this.route(req, res, u);
    } catch (err) {
      req.resume();
      if (err instanceof KubeHttpError) this.sendStatus(res, err.status);
      else {
        this.log(`internal error: ${(err as Error).stack ?? String(err)}`);
        this.sendStatus(res, failure(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
      }
    }
  }

  private async readBody(req: IncomingMessage): Promise<unknown> {
    const ct = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim();
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      // past the limit the rest is read and dropped, so the client gets the 413 (cut off far beyond)
      if (n > 16 * BODY_MAX) break;
      if (n <= BODY_MAX) chunks.push(c);
    }
    if (n > BODY_MAX) throw new KubeHttpError(failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${BODY_MAX}`));
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return null;
    if (ct !== 'application/json' && ct !== 'application/yaml' && ct !== '*/*')
      throw new KubeHttpError(
        failure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`),
      );
    try {
      return ct === 'application/yaml' ? YAML.parse(text) : JSON.parse(text);
    } catch (err) {
      throw badRequest(`the object provided is unrecognized: ${(err as Error).message}`);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, u: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const parts = pathParts(u);
    const q = u.searchParams;
    const get = method === 'GET' || method === 'HEAD';
    if (u.pathname === '/version') {
      if (!get) throw methodNotAllowed();
      const v = this.opts.version ?? DEFAULT_VERSION;
      return this.sendJson(res, 200, {
        major: v.major,
        minor: v.minor,
        gitVersion: v.gitVersion,
        gitCommit: '6813625b7cd706db5bc7388921be03071e1a492d',
        gitTreeState: 'clean',
        buildDate: '2024-03-14T23:58:36Z',
        goVersion: 'go1.21.8',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
    }
    if (u.pathname === '/api')
      return this.sendJson(res, 200, {kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{clientCIDR: '0.0.0.0/0', serverAddress: new URL(this.url).host}]});
    if (u.pathname === '/apis') return this.sendJson(res, 200, {kind: 'APIGroupList', apiVersion: 'v1', groups: []});
    if (u.pathname === '/api/v1') return this.sendJson(res, 200, apiResourceList());
    if (parts[0] !== 'api' || parts[1] !== 'v1') throw pathNotFound();
    // /api/v1/pods: every namespace
    if (parts.length === 3 && parts[2] === 'pods') {
      if (!get) throw methodNotAllowed();
      return boolParam(q, 'watch') ? this.watch(res, null, q) : this.list(res, null, q);
    }
    if (parts[2] !== 'namespaces' || parts.length < 4) throw pathNotFound();
    const ns = parts[3];
    if (parts.length === 4) {
      if (!get) throw methodNotAllowed();
      return this.sendJson(res, 200, {
        kind: 'Namespace',
        apiVersion: 'v1',
        metadata: {name: ns, uid: randomUUID(), resourceVersion: '1', creationTimestamp: rfc3339(new Date(0)), labels: {'kubernetes.io/metadata.name': ns}},
        spec: {finalizers: ['kubernetes']},
        status: {phase: 'Active'},
      });
    }
    if (parts[4] !== 'pods') throw pathNotFound();
    if (parts.length === 5) {
      if (method === 'POST') return this.create(req, res, ns);
      if (!get) throw methodNotAllowed();
      return boolParam(q, 'watch') ? this.watch(res, ns, q) : this.list(res, ns, q);
    }
    const name = parts[5];
    if (parts.length === 6) {
      if (get) return this.sendJson(res, 200, this.objectOf(ns, name));
      if (method === 'DELETE') return this.remove(req, res, ns, name, q);
      throw methodNotAllowed();
    }
    if (parts.length === 7) {
      const sub = parts[6];
      if (sub === 'log' && get) return this.logs(res, ns, name, q);
      if (sub === 'status' && get) return this.sendJson(res, 200, this.objectOf(ns, name));
      if (sub === 'attach' || sub === 'exec') {
        // reached only without an Upgrade header
        this.entry(ns, name);
        throw badRequest('Upgrade request required');
      }
    }
    throw pathNotFound();
  }

  private entry(ns: string, name: string): Entry {
    const e = this.entries.get(`${ns}/${name}`);
    if (!e) throw notFound(name);
    return e;
  }

  private objectOf(ns: string, name: string): WirePod {
    return {apiVersion: 'v1', kind: 'Pod', ...deepCopy(this.entry(ns, name).obj)};
  }

  // ------------------------------------------------------------------------------------------
  // create / list / watch / delete

  private async create(req: IncomingMessage, res: ServerResponse, ns: string): Promise<void> {
    const body = (await this.readBody(req)) as Partial<WirePod> | null;
    if (!body || typeof body !== 'object') throw badRequest('the object provided is unrecognized');
    if ((body.kind !== undefined && body.kind !== 'Pod') || (body.apiVersion !== undefined && body.apiVersion !== 'v1'))
      throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (v1)`);
    const meta = body.metadata && typeof body.metadata === 'object' ? deepCopy(body.metadata) : {};
    if (meta.namespace && meta.namespace !== ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    let name = meta.name ?? '';
    if (name === '' && meta.generateName) {
      do name = meta.generateName + randomSuffix();
      while (this.entries.has(`${ns}/${name}`));
    }
    const spec = body.spec && typeof body.spec === 'object' ? deepCopy(body.spec) : undefined;
    checkTypes(spec);
    const causes: Array<{field: string; message: string}> = [];
    if (name === '') causes.push({field: 'metadata.name', message: 'Required value: name or generateName is required'});
    if (!spec || !Array.isArray(spec.containers) || spec.containers.length === 0) causes.push({field: 'spec.containers', message: 'Required value'});
    else
      spec.containers.forEach((c, i) => {
        if (!c || typeof c.name !== 'string' || c.name === '') causes.push({field: `spec.containers[${i}].name`, message: 'Required value'});
        if (!c || typeof c.image !== 'string' || c.image === '') causes.push({field: `spec.containers[${i}].image`, message: 'Required value'});
      });
    if (causes.length) throw invalid(name, causes);
    if (this.entries.has(`${ns}/${name}`)) throw alreadyExists(name);
    const obj: WirePod = {metadata: {...meta, name, namespace: ns, uid: randomUUID(), creationTimestamp: rfc3339()}, spec: spec!, status: {}};
    delete obj.metadata.resourceVersion;
    delete obj.metadata.deletionTimestamp;
    kubelet.applyDefaults(obj);
    const v1 = toV1(obj);
    const scenario = this.scenarios.find((s) => s.match(v1))?.scenario ?? {kind: 'run'};
    const e: Entry = {
      ns,
      name,
      obj,
      scenario,
      log: new ContainerLog(
        () => this.logClock(e),
        this.opts.logLineMax && this.opts.logLineMax > 0 ? this.opts.logLineMax : HARD_LINE_MAX,
        this.opts.logMaxBytes ?? 1024 * 1024 * 1024,
      ),
      timers: new Set(),
      child: null,
      cwd: null,
      cid: '',
      startedAt: '',
      exited: false,
      out: new EventEmitter(),
      logStreams: new Set(),
      stdinClaimed: false,
      deleting: false,
      removed: false,
    };
    e.out.setMaxListeners(0);
    this.entries.set(`${ns}/${name}`, e);
    this.commit(e, 'ADDED');
    this.log(`pod ${ns}/${name} created (scenario ${scenario.kind})`);
    this.sendJson(res, 201, {apiVersion: 'v1', kind: 'Pod', ...deepCopy(obj)});
    this.startLifecycle(e);
  }

  private lastLogTs = new WeakMap<Entry, bigint>();

  /** Strictly increasing per pod, so tests that resume by timestamp are deterministic. */
  private logClock(e: Entry): bigint {
    const last = this.lastLogTs.get(e) ?? 0n;
    let t = nowNs();
    if (t <= last) t = last + 1n;
    this.lastLogTs.set(e, t);
    return t;
  }

  private commit(e: Entry, type: HistoryEvent['type']): void {
    const prev = type === 'ADDED' ? null : (this.history.findLast((h) => h.obj.metadata.uid === e.obj.metadata.uid)?.obj ?? null);
    this.rv++;
    e.obj.metadata.resourceVersion = String(this.rv);
    const snap = deepCopy(e.obj);
    const ev: HistoryEvent = {rv: this.rv, type, obj: snap, prev};
    this.history.push(ev);
    const max = this.opts.historyMax ?? HISTORY_MAX;
    if (this.history.length > max) this.history.splice(0, this.history.length - max);
    for (const w of this.watchers) this.deliver(w, ev);
    this.changes.emit('change');
  }

  private deliver(w: Watcher, ev: HistoryEvent): void {
    const matches = (p: WirePod | null): boolean =>
      p !== null && (w.ns === null || p.metadata.namespace === w.ns) && w.field((k) => podField(p, k)) && w.label((k) => p.metadata.labels?.[k]);
    const now = matches(ev.obj);
    const before = matches(ev.prev);
    let type: string | null = null;
    if (ev.type === 'ADDED') type = now ? 'ADDED' : null;
    else if (ev.type === 'DELETED') type = now ? 'DELETED' : null;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (type) this.writeEvent(w, type, {apiVersion: 'v1', kind: 'Pod', ...ev.obj});
  }

  private writeEvent(w: Watcher, type: string, object: unknown): void {
    if (w.res.destroyed) return;
    w.res.write(JSON.stringify({type, object}) + '\n');
    // a watcher that does not read is dropped, as the apiserver does
    if (w.res.writableLength > WATCH_BUFFER_MAX) w.res.destroy();
  }

  private filters(q: URLSearchParams): {field: Matcher; label: Matcher} {
    try {
      checkFieldSelector(q.get('fieldSelector'));
      return {field: compileSelector(q.get('fieldSelector')), label: compileSelector(q.get('labelSelector'))};
    } catch (err) {
      throw badRequest((err as Error).message);
    }
  }

  private list(res: ServerResponse, ns: string | null, q: URLSearchParams): void {
    const {field, label} = this.filters(q);
    const items = [...this.entries.values()]
      .filter((e) => (ns === null || e.ns === ns) && field((k) => podField(e.obj, k)) && label((k) => e.obj.metadata.labels?.[k]))
      .sort((a, b) => (a.ns + '/' + a.name < b.ns + '/' + b.name ? -1 : 1))
      .map((e) => deepCopy(e.obj));
    this.sendJson(res, 200, {kind: 'PodList', apiVersion: 'v1', metadata: {resourceVersion: String(this.rv)}, items});
  }

  private watch(res: ServerResponse, ns: string | null, q: URLSearchParams): void {
    const {field, label} = this.filters(q);
    const rvParam = q.get('resourceVersion') ?? '';
    let from: number | null = null;
    if (rvParam !== '' && rvParam !== '0') {
      if (!/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version: ${rvParam}`);
      from = Number(rvParam);
    }
    const timeout = intParam(q, 'timeoutSeconds');
    res.writeHead(200, {'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private'});
    res.flushHeaders();
    const w: Watcher = {ns, field, label, res};
    const oldest = this.history.length ? this.history[0].rv : this.rv + 1;
    if (from !== null && from < oldest - 1 && from < this.rv) {
      this.writeEvent(w, 'ERROR', failure(410, 'Expired', `too old resource version: ${from} (${oldest - 1})`));
      res.end();
      return;
    }
    if (from === null) {
      for (const e of this.entries.values()) this.deliver(w, {rv: this.rv, type: 'ADDED', obj: deepCopy(e.obj), prev: null});
    } else {
      for (const ev of this.history) if (ev.rv > from) this.deliver(w, ev);
    }
    this.watchers.add(w);
    const timers: NodeJS.Timeout[] = [];
    if (boolParam(q, 'allowWatchBookmarks')) {
      timers.push(setInterval(() => this.writeEvent(w, 'BOOKMARK', {kind: 'Pod', apiVersion: 'v1', metadata: {resourceVersion: String(this.rv)}}), this.opts.bookmarkMs ?? 1000));
    }
    if (timeout !== null && timeout > 0) timers.push(setTimeout(() => res.end(), timeout * 1000));
    const stop = (): void => {
      this.watchers.delete(w);
      for (const t of timers) clearTimeout(t);
    };
    res.once('close', stop);
    res.once('finish', stop);
  }

  private async remove(req: IncomingMessage, res: ServerResponse, ns: string, name: string, q: URLSearchParams): Promise<void> {
    const body = (await this.readBody(req).catch(() => null)) as {gracePeriodSeconds?: number} | null;
    const e = this.entry(ns, name);
    let grace = intParam(q, 'gracePeriodSeconds') ?? body?.gracePeriodSeconds ?? e.obj.spec.terminationGracePeriodSeconds ?? 30;
    if (grace < 0) grace = 0;
    if (!e.deleting) {
      e.deleting = true;
      e.obj.metadata.deletionTimestamp = rfc3339(new Date(Date.now() + grace * 1000));
      e.obj.metadata.deletionGracePeriodSeconds = grace;
      for (const t of e.timers) clearTimeout(t);
      e.timers.clear();
      if (!e.obj.spec.nodeName) {
        // never bound to a node: the apiserver deletes it at once
        this.sendJson(res, 200, {apiVersion: 'v1', kind: 'Pod', ...deepCopy(e.obj)});
        this.finalRemove(e);
        return;
      }
      this.commit(e, 'MODIFIED');
      if (e.child && !e.exited) {
        this.signalGroup(e, 'SIGTERM');
        const killAfter = Math.min(grace * 1000, this.opts.maxGraceMs ?? 3000);
        this.later(e, killAfter, () => this.signalGroup(e, 'SIGKILL'), true);
      } else {
        this.later(e, 20, () => this.finalRemove(e), true);
      }
    }
    this.sendJson(res, 200, {apiVersion: 'v1', kind: 'Pod', ...deepCopy(e.obj)});
  }

  private finalRemove(e: Entry): void {
    if (e.removed) return;
    e.removed = true;
    this.entries.delete(`${e.ns}/${e.name}`);
    this.commit(e, 'DELETED');
    this.dispose(e);
  }

  /** Stops everything the pod holds (process group, timers, temp dir). */
  private dispose(e: Entry): void {
    for (const t of e.timers) clearTimeout(t);
    e.timers.clear();
    if (e.child && !e.exited) this.signalGroup(e, 'SIGKILL');
    if (!e.log.terminated) e.log.finish();
    if (e.cwd) {
      const dir = e.cwd;
      const rm = (): void => rmSync(dir, {recursive: true, force: true});
      if (e.child && !e.exited) e.child.once('exit', rm);
      else rm();
    }
  }

  private signalGroup(e: Entry, sig: NodeJS.Signals): void {
    const pid = e.child?.pid;
    if (!pid || e.exited) return;
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        e.child?.kill(sig);
      } catch {
        // already gone
      }
    }
  }

  /** A timer owned by the pod; `evenIfDeleting` for the deletion steps themselves. */
  private later(e: Entry, ms: number, f: () => void, evenIfDeleting = false): void {
    const t = setTimeout(() => {
      e.timers.delete(t);
      if (this.closing || e.removed || (e.deleting && !evenIfDeleting)) return;
      f();
    }, ms);
    e.timers.add(t);
  }

  // ------------------------------------------------------------------------------------------
  // the "kubelet"

  private startLifecycle(e: Entry): void {
    const sc = e.scenario;
    if (sc.kind === 'pending') return;
    if (sc.kind === 'unschedulable') {
      this.later(e, 20, () => {
        kubelet.unschedulable(
          e.obj,
          sc.message ??
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
        );
        this.commit(e, 'MODIFIED');
      });
      return;
    }
    const ip = kubelet.podIP(++this.podCount);
    this.later(e, 20, () => {
      kubelet.scheduled(e.obj);
      this.commit(e, 'MODIFIED');
      this.later(e, 20, () => {
        kubelet.waiting(e.obj, ip, 'ContainerCreating');
        this.commit(e, 'MODIFIED');
        this.afterCreating(e, ip);
      });
    });
  }

  private afterCreating(e: Entry, ip: string): void {
    const sc = e.scenario;
    const image = e.obj.spec.containers[0].image ?? '';
    if (sc.kind === 'imagePullError') {
      const full = kubelet.fullImageName(image);
      const pullMsg = sc.message ?? `rpc error: code = NotFound desc = failed to pull and unpack image "${full}": failed to resolve reference "${full}": ${full}: not found`;
      const backoffMsg = `Back-off pulling image "${image}"`;
      let reason: 'ErrImagePull' | 'ImagePullBackOff' = sc.reason ?? 'ErrImagePull';
      const step = (): void => {
        kubelet.waiting(e.obj, ip, reason, reason === 'ErrImagePull' ? pullMsg : backoffMsg);
        this.commit(e, 'MODIFIED');
        reason = reason === 'ErrImagePull' ? 'ImagePullBackOff' : 'ErrImagePull';
        const cycle = sc.cycleMs ?? 400;
        if (cycle > 0) this.later(e, cycle, step);
      };
      this.later(e, 50, step);
      return;
    }
    if (sc.kind === 'createContainerError') {
      this.later(e, 50, () => {
        const reason = sc.reason ?? 'CreateContainerError';
        const msg =
          sc.message ?? (reason === 'CreateContainerConfigError' ? 'secret "missing-secret" not found' : 'failed to create containerd container: error creating container');
        kubelet.waiting(e.obj, ip, reason, msg);
        this.commit(e, 'MODIFIED');
      });
      return;
    }
    const pendingMs = sc.kind === 'run' ? (sc.pendingMs ?? 200) : 200;
    this.later(e, pendingMs, () => this.startContainer(e, ip));
  }

  /** What the container runs: command+args, or the image's entrypoint (setEntrypoint). */
  private argvOf(c: kubelet.WireContainer): string[] | null {
    const image = c.image ?? '';
    if (c.command && c.command.length > 0) {
      const mapped = this.entrypoints.get(`${image} ${c.command[0]}`);
      return [...(mapped ?? [c.command[0]]), ...c.command.slice(1), ...(c.args ?? [])];
    }
    const ep = this.entrypoints.get(image);
    if (!ep) return null;
    return c.args && c.args.length > 0 ? [ep[0], ...c.args] : [...ep];
  }

  private containerError(e: Entry, ip: string, message: string): void {
    kubelet.waiting(e.obj, ip, 'CreateContainerError', message);
    this.commit(e, 'MODIFIED');
  }

  private startContainer(e: Entry, ip: string): void {
    const c = e.obj.spec.containers[0];
    const argv = this.argvOf(c);
    if (!argv || argv.length === 0) {
      this.containerError(e, ip, 'failed to generate container spec: no command specified: executable not found');
      return;
    }
    const cwd = mkdtempSync(join(tmpdir(), 'kube-api-pod-'));
    e.cwd = cwd;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: cwd,
      HOSTNAME: e.name,
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: new URL(this.url).port,
    };
    for (const k of ['LANG', 'LC_ALL', 'TMPDIR', 'TZ']) if (process.env[k] !== undefined) env[k] = process.env[k]!;
    for (const v of c.env ?? []) if (typeof v.name === 'string') env[v.name] = v.value ?? '';
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), {cwd: c.workingDir ?? cwd, env, stdio: [c.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true});
    } catch (err) {
      this.containerError(e, ip, `failed to create containerd task: ${(err as Error).message}`);
      return;
    }
    let spawned = false;
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (spawned) return;
      e.child = null;
      const why = err.code === 'ENOENT' ? `exec: "${argv[0]}": executable file not found in $PATH` : err.message;
      this.containerError(
        e,
        ip,
        `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${why}: unknown`,
      );
    });
    child.once('spawn', () => {
      spawned = true;
      e.child = child;
      e.cid = kubelet.containerId();
      e.startedAt = rfc3339();
      child.stdin?.on('error', () => {}); // EPIPE once the process is gone
      for (const s of ['stdout', 'stderr'] as const) {
        child[s]!.on('data', (chunk: Buffer) => {
          e.log.append(s, chunk);
          e.out.emit(s, chunk);
        });
      }
      if (e.deleting || this.closing) {
        this.signalGroup(e, 'SIGKILL');
      } else {
        kubelet.running(e.obj, e.cid, e.startedAt);
        this.commit(e, 'MODIFIED');
      }
    });
    child.once('exit', () => {
      // the container's PID namespace goes with its first process
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // nothing left
        }
      }
    });
    child.once('close', (code, signal) => {
      if (!spawned) return;
      e.exited = true;
      e.log.finish();
      e.out.emit('exit');
      const exitCode = code ?? signalExitCode(signal);
      this.log(`pod ${e.ns}/${e.name} container exited ${exitCode}`);
      if (this.closing || e.removed) return;
      kubelet.terminated(e.obj, exitCode, e.startedAt, e.cid);
      this.commit(e, 'MODIFIED');
      if (e.deleting) this.later(e, 20, () => this.finalRemove(e), true);
    });
  }

  // ------------------------------------------------------------------------------------------
  // logs

  private containerName(e: Entry, q: URLSearchParams): string {
    const names = e.obj.spec.containers.map((c) => c.name);
    const c = q.get('container') ?? '';
    if (c === '') {
      if (names.length === 1) return names[0];
      throw badRequest(`a container name must be specified for pod ${e.name}, choose one of: [${names.join(' ')}]`);
    }
    if (!names.includes(c)) throw badRequest(`container ${c} is not valid for pod ${e.name}`);
    return c;
  }

  /** kubelet's validateContainerLogStatus texts; null when the log can be read. */
  private logUnavailable(e: Entry, container: string): string | null {
    if (!e.obj.spec.nodeName) return `pod ${e.name} does not have a host assigned`;
    const cs = e.obj.status.containerStatuses?.find((s) => s.name === container);
    if (!cs) return `container "${container}" in pod "${e.name}" is waiting to start: ContainerCreating`;
    const w = cs.state.waiting;
    if (w && !cs.containerID) {
      if (w.reason === 'ErrImagePull' || w.reason === 'ImagePullBackOff')
        return `container "${container}" in pod "${e.name}" is waiting to start: trying and failing to pull image`;
      if (w.reason === 'InvalidImageName') return `container "${container}" in pod "${e.name}" is waiting to start: image can't be pulled`;
      return `container "${container}" in pod "${e.name}" is waiting to start: ${w.reason}`;
    }
    return null;
  }

  private logs(res: ServerResponse, ns: string, name: string, q: URLSearchParams): void {
    const e = this.entry(ns, name);
    const container = this.containerName(e, q);
    if (boolParam(q, 'previous')) throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
    const why = this.logUnavailable(e, container);
    if (!why) this.checkKubelet(ns, name, container, 'containerLogs');
    if (why) throw badRequest(why);
    if (container !== e.obj.spec.containers[0].name) throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
    let since: bigint | null = null;
    const sinceTime = q.get('sinceTime');
    const sinceSeconds = intParam(q, 'sinceSeconds');
    if (sinceTime !== null && sinceTime !== '') {
      since = parseRfc3339Ns(sinceTime);
      if (since === null) throw badRequest(`parsing time "${sinceTime}" as "2006-01-02T15:04:05Z07:00": cannot parse "${sinceTime}" as "2006"`);
      if (sinceSeconds !== null) throw badRequest('at most one of sinceTime or sinceSeconds may be specified');
      // the apiserver hands sinceTime on to kubelet as time.RFC3339: whole seconds
      since -= ((since % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
    } else if (sinceSeconds !== null) {
      if (sinceSeconds < 1) throw badRequest('sinceSeconds: Invalid value: must be greater than 0');
      since = nowNs() - BigInt(sinceSeconds) * 1_000_000_000n;
    }
    const tailLines = intParam(q, 'tailLines');
    const limitBytes = intParam(q, 'limitBytes');
    if (limitBytes !== null && limitBytes < 1) throw badRequest('limitBytes: Invalid value: must be greater than 0');
    res.writeHead(200, {'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private'});
    res.flushHeaders();
    const ctl: LogStreamControl = {res, sent: 0, breakAt: this.breakEvery > 0 ? this.breakEvery : null};
    e.logStreams.add(ctl);
    res.once('close', () => e.logStreams.delete(ctl));
    serveLog(
      e.log,
      {
        follow: boolParam(q, 'follow'),
        timestamps: boolParam(q, 'timestamps'),
        since,
        tailLines: tailLines !== null && tailLines >= 0 ? tailLines : null,
        limitBytes,
        prefixEveryRecord: this.opts.prefixEveryRecord ?? false,
      },
      ctl,
    )
      .catch((err: Error) => {
        this.log(`log stream error: ${err.message}`);
        res.destroy();
      })
      .finally(() => e.logStreams.delete(ctl));
  }

  // ------------------------------------------------------------------------------------------
  // attach / exec

  private rawError(socket: Duplex, st: KubeStatus): void {
    const body = JSON.stringify(st);
    const text = http.STATUS_CODES[st.code] ?? 'Error';
    socket.end(`HTTP/1.1 ${st.code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.record(req, u);
    this.log(`${req.method} ${u.pathname}${u.search} (upgrade ${req.headers.upgrade ?? ''})`);
    try {
      if (!this.authorized(req)) return this.rawError(socket, unauthorized());
      const parts = pathParts(u);
      if (parts.length !== 7 || parts[0] !== 'api' || parts[1] !== 'v1' || parts[2] !== 'namespaces' || parts[4] !== 'pods' || (parts[6] !== 'attach' && parts[6] !== 'exec'))
        throw pathNotFound();
      const [ns, name, sub] = [parts[3], parts[5], parts[6]];
      const e = this.entry(ns, name);
      const q = u.searchParams;
      const container = this.containerName(e, q);
      if (!e.obj.spec.nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
      this.checkKubelet(ns, name, container, sub);
      if (e.obj.status.phase === 'Succeeded' || e.obj.status.phase === 'Failed')
        throw badRequest(`cannot ${sub} into a container in a completed pod; current phase is ${e.obj.status.phase}`);
      if (!e.child || e.exited || container !== e.obj.spec.containers[0].name) throw new KubeHttpError(failure(500, 'InternalError', `container not found ("${container}")`));
      const want: RemoteCommandRequest = {stdin: boolParam(q, 'stdin'), stdout: boolParam(q, 'stdout'), stderr: boolParam(q, 'stderr'), tty: boolParam(q, 'tty')};
      const command = q.getAll('command');
      if (sub === 'exec' && command.length === 0) throw badRequest('you must specify at least 1 command');
      if (!want.stdin && !want.stdout && !want.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
      const upgrade = (req.headers.upgrade ?? '').toLowerCase();
      let streams: RemoteCommandStreams;
      if (upgrade === 'websocket') {
        if (req.method !== 'GET') throw methodNotAllowed();
        streams = await acceptWebSocketRemoteCommand(this.wss, req, socket, head, want);
      } else if (upgrade.startsWith('spdy/')) {
        streams = await acceptSpdyRemoteCommand(req, socket, head, want);
      } else {
        throw badRequest(`unsupported upgrade: ${req.headers.upgrade ?? ''}`);
      }
      if (sub === 'attach') this.runAttach(e, streams);
      else this.runExec(e, streams, command);
    } catch (err) {
      if (err instanceof KubeHttpError) this.rawError(socket, err.status);
      else {
        this.log(`upgrade failed: ${(err as Error).message}`);
        socket.destroy();
      }
    }
  }

  /**
   * Transport-neutral attach, as containerd's ContainerIO.Attach: stdin is copied into the
   * container's stdin (only when the container has one); with stdinOnce (no tty) its end closes
   * the container's stdin and the session lasts while the requested outputs do (until the
   * container exits); without stdinOnce its end detaches the session. A later session of a
   * stdinOnce container finds stdin closed.
   */
  private runAttach(e: Entry, s: RemoteCommandStreams): void {
    const child = e.child!;
    const spec = e.obj.spec.containers[0];
    let stdinDone = true;
    let finished = false;
    const cleanups: Array<() => void> = [];
    const finish = (status: Record<string, unknown>): void => {
      if (finished) return;
      finished = true;
      for (const c of cleanups) c();
      s.finish(status);
    };
    const outputsWanted = s.stdout !== null || s.stderr !== null;

    if (s.stdin) {
      const input = s.stdin;
      const target = spec.stdin ? child.stdin : null;
      if (!target) {
        input.resume(); // the container has no stdin: the client's is ignored
      } else {
        stdinDone = false;
        const once = !!spec.stdinOnce && !spec.tty;
        const open = !(once && e.stdinClaimed) && !target.destroyed && !target.writableEnded;
        if (once) e.stdinClaimed = true;
        const ended = (): void => {
          stdinDone = true;
          if (once) maybeDone();
          else void endOutputs().then(() => finish({status: 'Success'})); // detach
        };
        if (!open) {
          input.resume();
          queueMicrotask(ended);
        } else {
          const onData = (chunk: Buffer): void => {
            if (!target.write(chunk)) {
              input.pause();
              target.once('drain', () => input.resume());
            }
          };
          input.on('data', onData);
          input.once('end', () => {
            // stdinOnce: the end of this session's stdin closes the container's stdin
            if (once) target.end(ended);
            else if (target.writableNeedDrain) target.once('drain', ended);
            else ended();
          });
          cleanups.push(() => input.off('data', onData));
        }
      }
    }

    const pipeOut = (name: 'stdout' | 'stderr', w: Writable | null): void => {
      if (!w) return;
      w.on('error', () => {});
      const stream = child[name] as Readable;
      let paused = false;
      const resume = (): void => {
        if (paused) {
          paused = false;
          stream.resume();
        }
      };
      const onChunk = (chunk: Buffer): void => {
        // a slow client slows the container, as a full pipe would
        if (!w.write(chunk) && !paused) {
          paused = true;
          stream.pause();
          w.once('drain', resume);
        }
      };
      e.out.on(name, onChunk);
      cleanups.push(() => {
        e.out.off(name, onChunk);
        w.off('drain', resume);
        resume();
      });
    };
    pipeOut('stdout', s.stdout);
    pipeOut('stderr', s.stderr);

    const endOutputs = async (): Promise<void> => {
      await Promise.all(
        [s.stdout, s.stderr].map((w) =>
          w === null || w.writableFinished || w.destroyed
            ? Promise.resolve()
            : new Promise<void>((resolve) => {
                w.once('error', () => resolve());
                w.end(() => resolve());
              }),
        ),
      );
    };
    const onExit = (): void => {
      void endOutputs().then(() => finish({status: 'Success'}));
    };
    const maybeDone = (): void => {
      if (stdinDone && !outputsWanted) finish({status: 'Success'});
    };
    if (e.exited) onExit();
    else {
      e.out.once('exit', onExit);
      cleanups.push(() => e.out.off('exit', onExit));
    }
    void s.closed.then(() => {
      finished = true;
      for (const c of cleanups) c();
    });
    maybeDone();
  }

  /** A second process in the pod's "container": same cwd and env. */
  private runExec(e: Entry, s: RemoteCommandStreams, command: string[]): void {
    const c = e.obj.spec.containers[0];
    const env: Record<string, string> = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: e.cwd ?? tmpdir(), HOSTNAME: e.name};
    for (const v of c.env ?? []) if (typeof v.name === 'string') env[v.name] = v.value ?? '';
    const p = spawn(command[0], command.slice(1), {cwd: e.cwd ?? tmpdir(), env, stdio: [s.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe']});
    let failedToStart: string | null = null;
    p.once('error', (err: NodeJS.ErrnoException) => {
      failedToStart = err.code === 'ENOENT' ? `exec: "${command[0]}": executable file not found in $PATH` : err.message;
    });
    p.stdin?.on('error', () => {});
    if (s.stdin && p.stdin) s.stdin.pipe(p.stdin);
    if (s.stdout) p.stdout!.pipe(s.stdout);
    else p.stdout!.resume();
    if (s.stderr) p.stderr!.pipe(s.stderr);
    else p.stderr!.resume();
    void s.closed.then(() => p.kill('SIGKILL'));
    const flushed = (w: Writable | null): Promise<void> =>
      w === null || w.writableFinished || w.destroyed
        ? Promise.resolve()
        : new Promise((resolve) => (w.once('finish', () => resolve()), w.once('error', () => resolve()), w.once('close', () => resolve())));
    p.once('close', async (code, signal) => {
      // the status frame goes after every output frame
      await Promise.all([flushed(s.stdout), flushed(s.stderr)]);
      const exitCode = code ?? signalExitCode(signal);
      if (failedToStart !== null) {
        s.finish({
          status: 'Failure',
          message: `OCI runtime exec failed: exec failed: unable to start container process: ${failedToStart}: unknown`,
          reason: 'InternalError',
          code: 500,
        });
      } else if (exitCode === 0) {
        s.finish({status: 'Success'});
      } else {
        s.finish({
          status: 'Failure',
          message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
          reason: 'NonZeroExitCode',
          details: {causes: [{reason: 'ExitCode', message: String(exitCode)}]},
        });
      }
    });
  }
}

function pathParts(u: URL): string[] {
  try {
    return u.pathname
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
  } catch {
    throw badRequest(`malformed path: ${u.pathname}`);
  }
}

/** The decode errors the apiserver gives for wrongly typed container fields. */
function checkTypes(spec: kubelet.WireSpec | undefined): void {
  if (!spec || !Array.isArray(spec.containers)) return;
  const fail = (field: string, want: string, got: unknown): never => {
    throw badRequest(
      `Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal ${got === null ? 'null' : Array.isArray(got) ? 'array' : typeof got} into Go struct field ${field} of type ${want}`,
    );
  };
  for (const c of spec.containers) {
    if (c === null || typeof c !== 'object') continue;
    for (const k of ['command', 'args'] as const) {
      const v = c[k] as unknown;
      if (v === undefined || v === null) continue;
      if (!Array.isArray(v)) fail(`Container.spec.containers.${k}`, '[]string', v);
      for (const x of v as unknown[]) if (typeof x !== 'string') fail(`Container.spec.containers.${k}`, 'string', x);
    }
    const env = c.env as unknown;
    if (env !== undefined && env !== null) {
      if (!Array.isArray(env)) fail('Container.spec.containers.env', '[]v1.EnvVar', env);
      for (const v of env as unknown[]) {
        if (v === null || typeof v !== 'object') fail('Container.spec.containers.env', 'v1.EnvVar', v);
        const {name, value} = v as {name?: unknown; value?: unknown};
        if (typeof name !== 'string') fail('EnvVar.spec.containers.env.name', 'string', name);
        if (value !== undefined && typeof value !== 'string') fail('EnvVar.spec.containers.env.value', 'string', value);
      }
    }
    for (const k of ['stdin', 'stdinOnce', 'tty'] as const) if (c[k] !== undefined && typeof c[k] !== 'boolean') fail(`Container.spec.containers.${k}`, 'bool', c[k]);
    if (c.image !== undefined && typeof c.image !== 'string') fail('Container.spec.containers.image', 'string', c.image);
  }
}

function randomSuffix(): string {
  // apiserver's generateName alphabet: consonants and digits without look-alikes
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

function apiResourceList(): unknown {
  const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
  return {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      {
        name: 'namespaces',
        singularName: 'namespace',
        namespaced: false,
        kind: 'Namespace',
        verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        shortNames: ['ns'],
      },
      {name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs, shortNames: ['po'], categories: ['all']},
      {name: 'pods/attach', singularName: '', namespaced: true, kind: 'PodAttachOptions', verbs: ['create', 'get']},
      {name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get']},
      {name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get']},
      {name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get', 'patch', 'update']},
    ],
  };
}
