/**
 * The `work` control command (control-service.md §4.6): submit (payload upload in raw mode),
 * list, status, results (raw streaming), cancel, release, force-release.
 */
import {createWriteStream} from 'node:fs';
import {open} from 'node:fs/promises';
import type {Duplex} from 'node:stream';
import {isComplete, stateName, STATE_FAILED, STATE_PENDING, type StatusRecord} from '../../work/status.js';
import type {WorkUnit} from '../../work/unit.js';
import {workceptorOf, type Workceptor} from '../../work/workceptor.js';
import {workVerificationOf} from '../../work/signing-registry.js';
import {asGoMap} from '../../go/json.js';
import {strconvQuote} from '../../go/strconv.js';
import {settings} from '../../settings.js';
import {ControlError, encodeReply, type Request} from '../protocol.js';
import type {CommandContext, ControlCommand} from '../server.js';

/** Keys of a JSON submit that are not runtime parameters. */
const RESERVED = new Set(['command', 'subcommand', 'node', 'worktype', 'tlsclient', 'ttl', 'signwork', 'signature']);

/** A status as replies show it: top-level keys sorted, StateName added. */
export function statusReply(s: StatusRecord): Record<string, unknown> {
  return {
    Detail: s.Detail,
    ExtraData: s.ExtraData,
    State: s.State,
    StateName: stateName(s.State),
    StdoutSize: s.StdoutSize,
    WorkType: s.WorkType,
  };
}

function strField(args: Record<string, unknown>, key: string): string {
  if (!(key in args)) throw new ControlError(`field ${key} missing`);
  const v = args[key];
  if (typeof v !== 'string') throw new ControlError(`field ${key} must be a string`);
  return v;
}

function optStr(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  return typeof v === 'string' ? v : '';
}

/** Go's %v of a decoded JSON value (for the startpos error). */
function goValueText(v: unknown): string {
  if (v === null) return '<nil>';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

type Sub = 'submit' | 'list' | 'status' | 'results' | 'cancel' | 'release' | 'force-release';

interface Parsed {
  sub: string;
  /** Text form: words after the sub-command. */
  words: string[];
  args: Record<string, unknown>;
  form: 'text' | 'json';
}

function parse(req: Request): Parsed {
  if (req.form === 'text') {
    const words = req.params.split(' ');
    return {sub: (words[0] ?? '').toLowerCase(), words: words.slice(1), args: {}, form: 'text'};
  }
  const sub = strField(req.args, 'subcommand').toLowerCase();
  return {sub, words: [], args: req.args, form: 'json'};
}

/** The unit ID of a status/cancel/release request. */
function unitIdArg(p: Parsed, sub: string): string {
  if (p.form === 'json') return strField(p.args, 'unitid');
  const [id, ...more] = p.words;
  if (id === undefined || (more.length === 0 && id === '')) throw new ControlError(`work ${sub} requires a unit ID`);
  if (more.length > 0) throw new ControlError(`work ${sub} does not take parameters after the unit ID`);
  return id;
}

async function verify(ctx: CommandContext, wc: Workceptor, workType: string, signFlag: boolean, signature: string): Promise<void> {
  const shouldVerify = wc.shouldVerify(workType, signFlag);
  if (!shouldVerify && signature === '') return; // nothing to check: don't load the JWT code
  const {checkWorkSignature} = await import('../../work/signing.js');
  try {
    checkWorkSignature({
      shouldVerify,
      isUnix: ctx.conn.isUnix,
      signature,
      cfg: workVerificationOf(ctx.rt),
      nodeId: wc.nodeId,
    });
  } catch (err) {
    throw new ControlError((err as Error).message);
  }
}

function lookup(wc: Workceptor, id: string): WorkUnit {
  try {
    return wc.unit(id);
  } catch (err) {
    throw new ControlError((err as Error).message);
  }
}

export const workCommand: ControlCommand = {
  name: 'work',
  async execute(req, ctx) {
    const p = parse(req);
    const wc = workceptorOf(ctx.rt);
    switch (p.sub as Sub) {
      case 'submit':
        return submit(p, ctx, wc);
      case 'list': {
        let only = '';
        if (p.form === 'text') only = p.words[0] ?? '';
        else only = optStr(p.args, 'unitid');
        const units = only !== '' ? [lookup(wc, only)] : wc.list();
        const out: Record<string, unknown> = {};
        for (const u of units) out[u.id] = asGoMap(statusReply(u.publicStatus()));
        return out;
      }
      case 'status': {
        const id = unitIdArg(p, 'status');
        return statusReply(lookup(wc, id).publicStatus());
      }
      case 'results':
        return results(p, ctx, wc);
      case 'cancel':
      case 'release':
      case 'force-release': {
        const id = unitIdArg(p, p.sub);
        const unit = lookup(wc, id);
        await verify(ctx, wc, unit.workType, unit.signFlag(), optStr(p.args, 'signature'));
        try {
          if (p.sub === 'cancel') return {[await unit.cancel()]: id};
          return {[await unit.release(p.sub === 'force-release')]: id};
        } catch (err) {
          if (err instanceof ControlError) throw err;
          throw new ControlError((err as Error).message);
        }
      }
      default:
        throw new ControlError('bad command');
    }
  },
};

async function submit(p: Parsed, ctx: CommandContext, wc: Workceptor): Promise<undefined> {
  let node: string;
  let workType: string;
  let params: Record<string, string> = {};
  let tlsClient = '';
  let ttl = '';
  let signWork = false;
  let signature = '';
  if (p.form === 'text') {
    const [target, type, ...rest] = p.words;
    if (target === undefined || type === undefined) throw new ControlError('work submit requires a target node and work type');
    node = target;
    workType = type;
    params = {params: rest.join(' ')};
  } else {
    for (const [k, v] of Object.entries(p.args)) {
      if (typeof v !== 'string') throw new ControlError(`submit parameters must all be strings and ${k} is not`);
    }
    node = strField(p.args, 'node');
    workType = strField(p.args, 'worktype');
    tlsClient = optStr(p.args, 'tlsclient');
    ttl = optStr(p.args, 'ttl');
    signWork = p.args.signwork === 'true';
    signature = optStr(p.args, 'signature');
    for (const [k, v] of Object.entries(p.args)) if (!RESERVED.has(k)) params[k] = v as string;
  }
  await verify(ctx, wc, workType, signWork, signature);
  let unit: WorkUnit;
  try {
    unit = wc.isLocal(node) ? wc.allocateLocal(workType, params, ttl) : await wc.allocateRemote({node, workType, params, tlsClient, ttl, signWork});
  } catch (err) {
    throw new ControlError((err as Error).message);
  }

  // Payload: everything after the request line until EOF goes to the unit's stdin.
  const raw = ctx.takeRaw();
  raw.on('error', () => {});
  const reply = (line: string) =>
    new Promise<void>((resolve) => {
      if (raw.destroyed || raw.writableEnded) return resolve();
      raw.end(line, () => resolve());
    });
  const file = createWriteStream(unit.stdinPath, {mode: 0o600});
  const traceLevel = settings().payloadTraceLevel;
  const traced: Buffer[] = [];
  if (traceLevel >= 3) raw.on('data', (c: Buffer) => traced.push(c));
  unit.updateBasic(STATE_PENDING, 'Waiting for Input Data', 0);
  raw.write(`Work unit created with ID ${unit.id}. Send stdin data and EOF.\n`);
  const copied = await new Promise<Error | undefined>((resolve) => {
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      resolve(err);
    };
    raw.on('error', (err) => {
      file.end();
      finish(err);
    });
    // A client that closes instead of half-closing also ends the payload.
    raw.on('close', () => file.end());
    file.on('error', (err) => finish(err));
    file.on('finish', () => finish());
    raw.pipe(file);
  });
  if (traceLevel >= 1) {
    // Optional payload tracing (control-service.md §6), at debug level.
    let msg = `PACKET TRACING ENABLED: Reading from ${ctx.conn.isUnix ? 'unix socket' : 'network connection'}`;
    if (traceLevel >= 2) msg += `, work unit ${unit.id}`;
    if (traceLevel >= 3) msg += ` with a payload of: ${Buffer.concat(traced).toString('utf8')}`;
    ctx.logger.debug(msg);
  }
  if (copied) {
    unit.updateBasic(STATE_FAILED, `Error reading input data: ${copied.message}`, 0);
    await reply(`ERROR: ${copied.message}\n`);
    return undefined;
  }
  if (wc.isShutDown) return undefined; // the node is stopping: the unit is "Pending at restart"
  unit.updateBasic(STATE_PENDING, 'Starting Worker', 0);
  let started: 'started' | 'pending';
  try {
    started = await unit.start();
  } catch (err) {
    const msg = (err as Error).message.replace(/\n/g, ' ');
    try {
      unit.updateBasic(STATE_FAILED, `Error starting worker: ${msg}`, 0);
    } catch {
      // unit gone
    }
    await reply(`ERROR: ${msg}\n`);
    return undefined;
  }
  await reply(encodeReply({result: started === 'started' ? 'Job Started' : 'Job Submitted', unitid: unit.id}));
  return undefined;
}

async function results(p: Parsed, ctx: CommandContext, wc: Workceptor): Promise<undefined> {
  let id: string;
  let startPos = 0;
  let signature = '';
  if (p.form === 'text') {
    const [first, t, ...more] = p.words;
    if (first === undefined || first === '') throw new ControlError('work results requires a unit ID');
    if (more.length > 0) throw new ControlError('work results only takes a unit ID and optional start position');
    id = first;
    if (t !== undefined) {
      if (!/^[+-]?\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
        throw new ControlError(
          `error converting start position to integer: strconv.ParseInt: parsing ${strconvQuote(t)}: ${/^[+-]?\d+$/.test(t) ? 'value out of range' : 'invalid syntax'}`,
        );
      }
      startPos = Number(t);
    }
  } else {
    id = strField(p.args, 'unitid');
    if (!('startpos' in p.args)) throw new ControlError('field startpos missing');
    const v = p.args.startpos;
    if (typeof v !== 'number') throw new ControlError(`field startpos value ${goValueText(v)} is not convertible to an int`);
    startPos = Math.trunc(v);
    signature = optStr(p.args, 'signature');
  }
  const unit = lookup(wc, id);
  await verify(ctx, wc, unit.workType, unit.signFlag(), signature);
  ctx.writeLine(`Streaming results for work unit ${id}`);
  const raw = ctx.takeRaw();
  raw.on('error', () => {});
  // The client half-closes after the header; keep reading so its EOF is consumed.
  raw.resume();
  const ac = new AbortController();
  raw.on('close', () => ac.abort());
  ctx.signal.addEventListener('abort', () => ac.abort(), {once: true});
  try {
    await streamStdout(unit, startPos, raw, ac.signal);
  } catch (err) {
    ctx.logger.debug({err, unit: id}, 'results stream ended');
  }
  if (!raw.destroyed) raw.end();
  return undefined;
}

/** How often a results stream re-checks when nothing announced a change (fallback). */
export const RESULTS_POLL_MS = 1000;

/**
 * Streams `stdout` from `pos` until the unit is complete and every byte up to its StdoutSize
 * was sent (control-service.md §4.6.4), event-driven: waits on the unit's change events and
 * its directory watch instead of sleeping.
 */
export async function streamStdout(unit: WorkUnit, pos: number, out: Duplex, signal: AbortSignal): Promise<void> {
  if (pos < 0) return;
  const buf = Buffer.allocUnsafe(1 << 20);
  while (!signal.aborted) {
    let fh;
    try {
      fh = await open(unit.stdoutPath, 'r');
    } catch {
      // Not created yet (the worker has not started) or gone (released).
      if (unit.released || isComplete(unit.status().State)) return;
      await unit.waitChange(RESULTS_POLL_MS, signal);
      continue;
    }
    try {
      while (!signal.aborted) {
        const {bytesRead} = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead > 0) {
          pos += bytesRead;
          const chunk = Buffer.from(buf.subarray(0, bytesRead));
          if (!out.write(chunk)) {
            await new Promise<void>((resolve) => {
              const done = () => {
                out.off('drain', done);
                out.off('close', done);
                resolve();
              };
              out.on('drain', done);
              out.on('close', done);
            });
          }
          if (out.destroyed) return;
          continue;
        }
        const s = unit.status();
        if (isComplete(s.State) && pos >= s.StdoutSize) return;
        if (unit.released) return;
        await unit.waitChange(RESULTS_POLL_MS, signal);
      }
    } finally {
      await fh.close();
    }
  }
}
