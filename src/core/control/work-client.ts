/**
 * Client side of the `work` control command (control-service.md §4.6, receptorctl §8): submit
 * a unit with its payload, stream a unit's results, and the one-line list / status / cancel /
 * release requests. Every helper takes a ControlClient that has already read the greeting
 * (directly, or after {@link connectToNodeControl} to reach another node's control service).
 *
 * Independent of the server implementation: only the wire format is shared.
 * One concern (the `work` command's client side), kept whole.
 */
import type * as net from 'node:net';
import type {Readable, Writable} from 'node:stream';
import {ReceptorError} from '../errors.js';
import {STATE_CANCELED} from '../work/status.js';
import {ControlClient, ControlConnectError, ControlRemoteError} from './client.js';

/** The status object of `work status` / the values of `work list` (control-service.md §4.6.3). */
export interface WorkStatus {
  State: number;
  StateName: string;
  Detail: string;
  StdoutSize: number;
  WorkType: string;
  ExtraData: unknown;
  [key: string]: unknown;
}

/** What `submitWork` sends (receptorctl's `submit_work` arguments). */
export interface SubmitRequest {
  /** Target node; default (and empty) `localhost`. */
  node?: string;
  workType: string;
  /** Runtime parameters, each a top-level key of the request (e.g. `params`). */
  params?: Record<string, string>;
  /** Name of a tls-client item on the submitting node, for the mesh connection to a remote target. */
  tlsclient?: string;
  /** Remote only: how long the remote start may take (Go duration). */
  ttl?: string;
  /** Sign the remote submission with the node's work-signing key. */
  signwork?: boolean;
}

/** The reply of a successful submission. */
export interface SubmitReply {
  /** `Job Started`, or `Job Submitted` (remote node not reached yet, retried in the background). */
  result: string;
  unitid: string;
  [key: string]: unknown;
}

/** The outcome of `work cancel` / `work release` / `work force-release` for one unit. */
export interface WorkOpReply {
  unitid: string;
  /** The reply's only key: `cancelled`, `cancel pending`, `released` or `release pending`. */
  result: string;
}

/** A submission that failed after the unit was created (it exists, Failed, until released). */
export class WorkSubmitError extends ControlRemoteError {
  /** The unit that was created before the failure. */
  readonly unitid: string | undefined;
  constructor(message: string, line: string, remoteMessage: string, unitid?: string) {
    super(message, line, remoteMessage);
    this.name = 'WorkSubmitError';
    this.unitid = unitid;
  }
}

const CREATED_RE = /^Work unit created with ID (.+)\. Send stdin data and EOF\.$/;
const STREAMING_RE = /^Streaming results for work unit (.+)$/;
/** Keys of a submit request that a runtime parameter may not use (receptorctl's check). */
const BASE_KEYS = ['command', 'subcommand', 'node', 'worktype'];

/** Text after the 7-byte `ERROR: ` prefix, as receptorctl takes it. */
function afterError(line: string): string {
  return line.slice(7);
}

/** What the submitting node says when the remote node answered the submission with `ERROR: …` (Go's remote_work.go). */
const REMOTE_REFUSAL = 'could not parse response: ERROR: ';

/** A failed start in people's words: `node bar refused it: <its reason>`, else the node's text. */
function submitProblem(remote: string, node?: string): string {
  if (remote.startsWith(REMOTE_REFUSAL)) return `node ${node || 'localhost'} refused it: ${remote.slice(REMOTE_REFUSAL.length)}`;
  return remote;
}

/** Checks one word of a text-form request (unit IDs, node names). */
export function checkWord(what: string, value: string): void {
  if (value === '') throw new ReceptorError('E_USAGE', `${what} must not be empty`);
  if (/[ \n\r]/.test(value)) throw new ReceptorError('E_USAGE', `${what} must not contain spaces or newlines`);
}

/**
 * The JSON submit request exactly as receptorctl builds it: command, subcommand, node
 * (`localhost` by default), worktype, then `tlsclient` / `ttl` only when non-empty, `signwork`
 * `"true"` only when requested, then the runtime parameters. A parameter whose key is already
 * present is refused (`Duplicate or illegal parameter <k>`).
 */
export function buildSubmitRequest(req: SubmitRequest): Record<string, string> {
  const map: Record<string, string> = {
    command: 'work',
    subcommand: 'submit',
    node: req.node ? req.node : 'localhost',
    worktype: req.workType,
  };
  if (req.tlsclient) map.tlsclient = req.tlsclient;
  if (req.ttl) map.ttl = req.ttl;
  if (req.signwork) map.signwork = 'true';
  for (const [k, v] of Object.entries(req.params ?? {})) {
    if (Object.hasOwn(map, k) || BASE_KEYS.includes(k)) throw new ReceptorError('E_USAGE', `Duplicate or illegal parameter ${k}`);
    if (typeof v !== 'string') throw new ReceptorError('E_USAGE', `parameter ${k} must be a string`);
    map[k] = v;
  }
  return map;
}

/**
 * A flat string map as Python's `json.dumps` writes it (receptorctl's submit line): `", "` and
 * `": "` separators, insertion order, every character outside printable ASCII escaped as
 * `\uXXXX`. (Servers parse any JSON; this only keeps the bytes identical to receptorctl's.)
 */
export function pythonJsonLine(map: Record<string, string>): string {
  const str = (v: string) => JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `{${Object.entries(map)
    .map(([k, v]) => `${str(k)}: ${str(v)}`)
    .join(', ')}}`;
}

/** Resolves on 'drain'; rejects if the socket closes or fails first. */
function drained(socket: net.Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      socket.off('error', onError);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new ControlConnectError('The node closed the connection while the payload was being sent'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new ControlConnectError(`Cannot send the payload to the node: ${err.message}`, err));
    };
    socket.on('drain', onDrain);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

/** Copies a readable into the socket, waiting for 'drain' whenever the socket's buffer is full. */
async function pumpPayload(socket: net.Socket, src: Readable): Promise<void> {
  for await (const chunk of src as AsyncIterable<Buffer | string>) {
    if (socket.destroyed || socket.writableEnded) throw new ControlConnectError('The node closed the connection while the payload was being sent');
    if (!socket.write(chunk)) await drained(socket);
  }
}

/**
 * Submits a unit of work (JSON form) and uploads its payload: sends the request, expects
 * `Work unit created with ID <id>. Send stdin data and EOF.` (else
 * `Failed to start work unit[: <text after "ERROR: ">]`), streams the payload (a Buffer, a
 * Readable with backpressure, or nothing), half-closes, and reads the reply line
 * (`ERROR: …` ⇒ WorkSubmitError `unit <id>: …` carrying the unit ID and the node's text). The
 * session ends with the submission, so the client is closed in every case.
 */
export async function submitWork(client: ControlClient, req: SubmitRequest, payload: Readable | Buffer | string | null): Promise<SubmitReply> {
  try {
    const line = pythonJsonLine(buildSubmitRequest(req));
    const first = (await client.request(line)).trim();
    const m = CREATED_RE.exec(first);
    if (!m) {
      const remote = first.startsWith('ERROR: ') ? afterError(first) : first;
      const msg = first.startsWith('ERROR: ') ? `Failed to start work unit: ${remote}` : 'Failed to start work unit';
      throw new WorkSubmitError(first.startsWith('ERROR: ') ? msg : `${msg} (unexpected reply ${JSON.stringify(first)})`, first, remote);
    }
    const unitid = m[1];
    try {
      if (payload !== null) {
        if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
          if (payload.length > 0) await client.write(payload);
        } else {
          await pumpPayload(client.socket, payload);
        }
      }
      await client.end();
    } catch (err) {
      // The node may have said why it stopped reading.
      const why = await client.readLine({timeoutMs: 1000}).catch(() => null);
      if (why && why.startsWith('ERROR:')) {
        throw new WorkSubmitError(`unit ${unitid}: ${submitProblem(afterError(why.trim()), req.node)}`, why, afterError(why.trim()), unitid);
      }
      const msg = err instanceof ReceptorError ? err.message : `Cannot read the payload: ${err instanceof Error ? err.message : String(err)}`;
      throw new WorkSubmitError(msg, '', msg, unitid);
    }
    let reply: string | null;
    do {
      reply = await client.readLine();
    } while (reply !== null && reply.trim() === '');
    if (reply === null) {
      throw new WorkSubmitError('The node closed the connection without replying to the submission', '', '', unitid);
    }
    const text = reply.trim();
    if (text.startsWith('ERROR:')) throw new WorkSubmitError(`unit ${unitid}: ${submitProblem(afterError(text), req.node)}`, reply, afterError(text), unitid);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new WorkSubmitError(`Unexpected reply from the node: ${JSON.stringify(text)}`, reply, text, unitid);
    }
    const r = parsed as Partial<SubmitReply> | null;
    if (typeof r !== 'object' || r === null || typeof r.result !== 'string' || typeof r.unitid !== 'string') {
      throw new WorkSubmitError(`Unexpected reply from the node: ${JSON.stringify(text)}`, reply, text, unitid);
    }
    return r as SubmitReply;
  } finally {
    client.close();
  }
}

export interface StreamResultsOptions {
  /** Stops the copy (the connection is closed); the promise then resolves with the bytes so far. */
  signal?: AbortSignal;
  /** Called with the running byte count after each chunk was handed to `out`. */
  onProgress?: (bytes: number) => void;
}

/**
 * `work results <id> <startpos>`: checks the `Streaming results for work unit <id>` header
 * (an `ERROR:` reply throws {@link unitError}: `unit <id>: <problem>`), half-closes, and copies every
 * following byte to `out` (with backpressure; `out` is not ended) until the node closes the
 * stream. Returns the number of bytes copied. The client is consumed (closed at the end).
 */
export async function streamResults(client: ControlClient, unitid: string, startpos: number, out: Writable, opts: StreamResultsOptions = {}): Promise<number> {
  let detached = false;
  try {
    checkWord('unit ID', unitid);
    if (!Number.isSafeInteger(startpos)) throw new ReceptorError('E_USAGE', `start position must be an integer, not ${startpos}`);
    const header = (await client.request(`work results ${unitid} ${startpos}`)).trim();
    if (!STREAMING_RE.test(header)) {
      if (header.startsWith('ERROR: ')) throw unitError(unitid, new ControlRemoteError(afterError(header), header));
      throw new ControlRemoteError(`Failed to get the results of unit ${unitid} (unexpected reply ${JSON.stringify(header)})`, header, header);
    }
    await client.end();
    const conn = client.detach();
    detached = true;
    return await copyStream(conn.socket, conn.head, conn.ended, out, opts);
  } finally {
    if (!detached) client.close();
  }
}

function copyStream(socket: net.Socket, head: Buffer, ended: boolean, out: Writable, opts: StreamResultsOptions): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let bytes = 0;
    let done = false;
    let waiting = false;
    const onDrain = () => {
      waiting = false;
      if (!done) socket.resume();
    };
    const write = (chunk: Buffer) => {
      bytes += chunk.length;
      if (!out.write(chunk) && !waiting) {
        waiting = true;
        socket.pause();
        out.once('drain', onDrain);
      }
      opts.onProgress?.(bytes);
    };
    const onOutError = (err: Error) => finish(new ReceptorError('E_INTERNAL', `Cannot write the results: ${err.message}`, {cause: err}));
    const onAbort = () => finish();
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      socket.off('data', write);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onSockError);
      out.off('drain', onDrain);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) {
        out.off('error', onOutError);
        reject(err);
        return;
      }
      // Resolve once everything handed to `out` has been flushed.
      const flushed = () => {
        out.off('error', onOutError);
        resolve(bytes);
      };
      if (out.writableLength === 0) flushed();
      else out.write(Buffer.alloc(0), () => flushed());
    };
    const onEnd = () => finish();
    const onSockError = (err: Error) => finish(new ControlConnectError(`The connection to the node was lost: ${err.message}`, err));
    out.on('error', onOutError);
    if (head.length > 0) write(head);
    if (ended || opts.signal?.aborted) {
      finish();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, {once: true});
    socket.on('data', write);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onSockError);
    if (!waiting) socket.resume();
  });
}

function asObject(reply: unknown, what: string): Record<string, unknown> {
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) {
    throw new ControlRemoteError(`Unexpected ${what} reply from the node: ${JSON.stringify(reply)}`, JSON.stringify(reply));
  }
  return reply as Record<string, unknown>;
}

/**
 * The node's `ERROR:` reply about one unit, reworded for people: `unit <id>: <problem>`, the
 * ID taken off the end of Go's text (`unknown work unit <id>` → `unit <id>: unknown work
 * unit`). `remoteMessage` and `line` keep the node's exact text (what receptorctl and AWX see).
 */
export function unitError(unitid: string, err: unknown): unknown {
  if (!(err instanceof ControlRemoteError) || !err.line.startsWith('ERROR')) return err;
  const why = err.remoteMessage.endsWith(` ${unitid}`) ? err.remoteMessage.slice(0, -unitid.length - 1) : err.remoteMessage;
  return new ControlRemoteError(`unit ${unitid}: ${why}`, err.line, err.remoteMessage);
}

/** A one-line request about one unit; an `ERROR:` reply is thrown as {@link unitError}. */
async function unitCommand(client: ControlClient, unitid: string, line: string): Promise<unknown> {
  checkWord('unit ID', unitid);
  try {
    return await client.command(line);
  } catch (err) {
    throw unitError(unitid, err);
  }
}

/** `work status <id>` → the status object (an unknown unit throws ControlRemoteError `unit <id>: unknown work unit`). */
export async function workStatus(client: ControlClient, unitid: string): Promise<WorkStatus> {
  return asObject(await unitCommand(client, unitid, `work status ${unitid}`), 'work status') as WorkStatus;
}

/** `work list[ <id>]` → map of unit ID → status. */
export async function workList(client: ControlClient, unitid?: string): Promise<Record<string, WorkStatus>> {
  const reply = unitid === undefined ? await client.command('work list') : await unitCommand(client, unitid, `work list ${unitid}`);
  return asObject(reply, 'work list') as Record<string, WorkStatus>;
}

async function workOp(client: ControlClient, sub: string, unitid: string): Promise<WorkOpReply> {
  const reply = asObject(await unitCommand(client, unitid, `work ${sub} ${unitid}`), `work ${sub}`);
  const [key] = Object.keys(reply);
  if (key === undefined) throw new ControlRemoteError(`Unexpected work ${sub} reply from the node: {}`, '{}');
  const value = reply[key];
  return {unitid: typeof value === 'string' ? value : unitid, result: key};
}

/** `work cancel <id>` → `cancelled` or `cancel pending`. */
export function workCancel(client: ControlClient, unitid: string): Promise<WorkOpReply> {
  return workOp(client, 'cancel', unitid);
}

/** `work release <id>` (or `work force-release <id>`) → `released` or `release pending`. */
export function workRelease(client: ControlClient, unitid: string, force = false): Promise<WorkOpReply> {
  return workOp(client, force ? 'force-release' : 'release', unitid);
}

/**
 * Turns a client of node A into a client of node B's control service (control-service.md
 * §7.1): `connect <node> control <tlsName>` (three words, like receptorctl), expects
 * `Connecting`, then reads and checks B's greeting.
 */
export async function connectToNodeControl(client: ControlClient, node: string, tlsName = '', opts: {timeoutMs?: number} = {}): Promise<string> {
  checkWord('node', node);
  if (tlsName !== '') checkWord('TLS client name', tlsName);
  const reply = (await client.request(`connect ${node} control ${tlsName}`, {timeoutMs: opts.timeoutMs})).trim();
  if (!reply.startsWith('Connecting')) throw connectError(node, 'control', reply);
  return client.handshake({timeoutMs: opts.timeoutMs ?? 30_000});
}

/** The QUIC error code Go (and we) put before a dial error on the wire, e.g. `INTERNAL_ERROR (local): `. */
const QUIC_CODE_RE = /^INTERNAL_ERROR \((?:local|remote)\): /;

/**
 * A failed `connect NODE SERVICE` (the node's reply, not `Connecting`), reworded: `cannot reach
 * node N: no route to node`, `cannot connect to service S on node N: service unknown` (Go's
 * `context canceled` when a remote node has no such service, `INTERNAL_ERROR (local): service
 * unknown` when the node itself has none), else `cannot connect to service S on node N: <text>`.
 * `remoteMessage` keeps the node's text.
 */
export function connectError(node: string, service: string, reply: string): ControlRemoteError {
  const remote = reply.startsWith('ERROR:') ? reply.slice(6).trimStart() : reply;
  const why = remote.replace(QUIC_CODE_RE, '');
  if (why === 'no route to node') return new ControlRemoteError(`cannot reach node ${node}: no route to node`, reply, remote);
  const shown = why === 'context canceled' ? 'service unknown' : reply.startsWith('ERROR:') ? why : `unexpected reply ${JSON.stringify(reply)}`;
  return new ControlRemoteError(`cannot connect to service ${service} on node ${node}: ${shown}`, reply, remote, why === 'context canceled' ? 'E_UNKNOWN_SERVICE' : undefined);
}

/** A function that opens a fresh client (greeting read) each time it is called. */
export type ClientOpener = () => Promise<ControlClient>;

/** An opener whose clients speak to `node`'s control service through `connect` (none: unchanged). */
export function throughNode(open: ClientOpener, node?: string, tlsName = ''): ClientOpener {
  if (!node) return open;
  return async () => {
    const client = await open();
    try {
      await connectToNodeControl(client, node, tlsName);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  };
}

export interface FollowOptions {
  startpos?: number;
  /** How often the second connection polls `work status` (default 500 ms). */
  pollMs?: number;
  /** How long to keep reading after a Canceled status before giving up on the rest (default 2000 ms). */
  cancelGraceMs?: number;
}

export interface FollowResult {
  /** Bytes copied to `out`. */
  bytes: number;
  /** The unit's status after the stream ended. */
  status: WorkStatus;
  /** The stream was stopped because the unit was canceled (its stream never ends by itself). */
  canceled: boolean;
}

/**
 * Streams a unit's results to `out` until the stream ends, then fetches the unit's status on a
 * new connection (what `receptorctl work results` does). Because the results stream of a
 * Canceled unit never ends (quirk W1), a second connection polls `work status` meanwhile; once
 * the unit is Canceled and its output was copied (or after a grace period), or the unit is
 * gone, the stream is stopped.
 */
export async function followResults(open: ClientOpener, unitid: string, out: Writable, opts: FollowOptions = {}): Promise<FollowResult> {
  const startpos = opts.startpos ?? 0;
  const pollMs = opts.pollMs ?? 500;
  const graceMs = opts.cancelGraceMs ?? 2000;
  const stop = new AbortController();
  let bytes = 0;
  let canceledStatus: WorkStatus | undefined;
  let pollDone = false;
  let poller: ControlClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  const poll = async () => {
    let canceledSince: number | undefined;
    try {
      poller = await open();
      while (!pollDone) {
        await sleep(pollMs);
        if (pollDone) break;
        let st: WorkStatus;
        try {
          st = await workStatus(poller, unitid);
        } catch (err) {
          if (err instanceof ControlRemoteError && err.remoteMessage.includes('unknown work unit')) {
            stop.abort(); // released: the stream would end only seconds later
            return;
          }
          throw err;
        }
        if (st.State === STATE_CANCELED) {
          canceledSince ??= Date.now();
          const size = typeof st.StdoutSize === 'number' ? st.StdoutSize : 0;
          if (startpos + bytes >= size || Date.now() - canceledSince >= graceMs) {
            canceledStatus = st;
            stop.abort();
            return;
          }
        } else {
          canceledSince = undefined;
        }
      }
    } catch {
      // Polling is only a helper: without it the stream still ends for complete units.
    } finally {
      poller?.close();
    }
  };

  const results = await open();
  const polling = poll();
  try {
    bytes = await streamResults(results, unitid, startpos, out, {signal: stop.signal, onProgress: (n) => (bytes = n)});
  } finally {
    pollDone = true;
    if (timer) clearTimeout(timer);
    wake?.();
    poller?.close();
    await polling;
  }
  if (canceledStatus) return {bytes, status: canceledStatus, canceled: true};
  const client = await open();
  try {
    const status = await workStatus(client, unitid);
    return {bytes, status, canceled: status.State === STATE_CANCELED};
  } finally {
    client.close();
  }
}
