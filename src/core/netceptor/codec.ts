/**
 * Netceptor message codec (netceptor-wire.md §3, §5, §6.1, §7.1, §9.2; vectors V2–V8).
 *
 * Every message starts with a type byte: 0 data (36-byte binary header + payload),
 * 1 routing update, 2 service advertisement, 3 reject (types 1–3: Go `encoding/json` body).
 *
 * Encoders produce exactly Go's bytes. `decodeMessage` is lenient where Go is (JSON member
 * names in any case, unknown members, whitespace, `null`), refuses what Go refuses
 * (non-integer uint64 literals, wrong JSON types, bad times, data shorter than 36 bytes) and
 * never throws anything but `DecodeError`. Encoders throw `EncodeError` for values that
 * cannot be put on the wire.
 *
 * Representation choices:
 * * Node hashes and uint64 JSON members are `bigint`.
 * * `RoutingUpdate.connections` is a Map (node → cost). The encoder sorts its keys bytewise,
 *   so insertion order does not matter. A JSON `null` decodes to an empty Map (Go would
 *   re-flood it as `null`; the meaning is the same).
 * * Service-ad `Time` is a `GoTime` (original text + nanoseconds + zone offset), see below.
 * * A decoded service ad keeps the original message bytes in `raw` for verbatim re-flooding
 *   (§7.3). A decoded data message's `payload` is a view into the input (no copy).
 *
 * One file on purpose: the four message types share the Go JSON field rules (member names in
 * any case, uint64 literals, the DecodeError mapping); side by side, a departure from Go shows.
 *
 * Kept whole (over 500 lines): one wire format, every message type's encoder next to its decoder.
 */
import {systemClock, type Clock} from '../clock.js';
import {
  GoJsonError,
  decodeStruct,
  decodeUtf8Go,
  goBool,
  goFloat64,
  goString,
  goStringMap,
  goUint,
  jsonKindName,
  parseGoJson,
  sortedMap,
  typeError,
  writeGoJson,
  type GoJsonOut,
  type JsonValue,
} from '../go/json.js';
import {formatRFC3339Nano, GO_ZERO_TIME, timeFromUnixNano, unmarshalTimeJSON, type GoTime} from '../go/time.js';
import {ValueError} from '../go/value-error.js';

export type {GoTime} from '../go/time.js';

// ---------------------------------------------------------------------------------------
// Constants (§13)
// ---------------------------------------------------------------------------------------

export const MSG_TYPE_DATA = 0;
export const MSG_TYPE_ROUTING_UPDATE = 1;
export const MSG_TYPE_SERVICE_ADVERTISEMENT = 2;
export const MSG_TYPE_REJECT = 3;

export const CONN_TYPE_DATAGRAM = 0;
export const CONN_TYPE_STREAM = 1;
export const CONN_TYPE_STREAM_TLS = 2;

export const DATA_HEADER_LENGTH = 36;
export const MAX_SERVICE_NAME_BYTES = 8;
/** Go's `maxForwardingHops`: the HopsToLive a message is originated with. */
export const MAX_FORWARDING_HOPS = 30;
/** Go's "MTU" constant; not enforced by Go (§5.7). */
export const MTU = 16384;

export const SERVICE_PING = 'ping';
export const SERVICE_UNREACH = 'unreach';
export const RESERVED_SERVICE_NAMES: readonly string[] = [SERVICE_PING, SERVICE_UNREACH];

export const PROBLEM_SERVICE_UNKNOWN = 'service unknown';
export const PROBLEM_EXPIRED = 'message expired';
export const PROBLEM_FIREWALLED = 'blocked by firewall';

const UINT64_LIMIT = 1n << 64n;

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

export type DecodeErrorCode =
  | 'empty' // zero-length message
  | 'unknown-type' // type byte other than 0–3 (`messageType` says which)
  | 'short-data' // data message shorter than the 36-byte header
  | 'json-syntax' // body is not valid JSON
  | 'json-depth' // nesting deeper than Go's limit (10000)
  | 'json-type' // a member has the wrong JSON type or an out-of-range / non-integer number
  | 'bad-time' // service-ad Time is not an RFC 3339 timestamp Go accepts
  | 'internal'; // a bug in this module (never expected)

export class DecodeError extends Error {
  readonly code: DecodeErrorCode;
  /** The type byte of the offending message, when there was one. */
  readonly messageType: number | undefined;
  constructor(code: DecodeErrorCode, message: string, messageType?: number, options?: {cause?: unknown}) {
    super(message, options);
    this.name = 'DecodeError';
    this.code = code;
    this.messageType = messageType;
  }
}

export type EncodeErrorCode = 'service-name-too-long' | 'invalid-field';

export class EncodeError extends Error {
  readonly code: EncodeErrorCode;
  constructor(code: EncodeErrorCode, message: string) {
    super(message);
    this.name = 'EncodeError';
    this.code = code;
  }
}

function fromJsonError(err: unknown, messageType: number | undefined): DecodeError {
  if (err instanceof DecodeError) return err;
  if (err instanceof GoJsonError) {
    const code = err.code === 'syntax' ? 'json-syntax' : err.code === 'depth' ? 'json-depth' : 'json-type';
    return new DecodeError(code, err.message, messageType, {cause: err});
  }
  const text = err instanceof Error ? err.message : String(err);
  return new DecodeError('internal', `internal decode failure: ${text}`, messageType, {cause: err});
}

// ---------------------------------------------------------------------------------------
// Go time.Time with nanosecond precision (§7.1, §7.3)
// ---------------------------------------------------------------------------------------

/** Go's RFC3339Nano text of a service-ad time; EncodeError where Go's MarshalJSON fails. */
function timeText(t: GoTime): string {
  try {
    return formatRFC3339Nano(t.unixNano, t.offsetSeconds);
  } catch (err) {
    if (err instanceof ValueError) throw new EncodeError('invalid-field', err.message);
    throw err;
  }
}

let lastNow = 0n;

/**
 * "Now" as a UTC GoTime. With the system clock: milliseconds from Date.now() plus sub-ms
 * digits from process.hrtime, strictly increasing within the process (so two ads made in
 * the same instant still compare as later). With another clock: its milliseconds exactly.
 */
export function goTimeNow(clock: Pick<Clock, 'now'> = systemClock): GoTime {
  const ms = BigInt(Math.floor(clock.now()));
  if (clock !== systemClock) return timeFromUnixNano(ms * 1_000_000n);
  let ns = ms * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  if (ns <= lastNow) ns = lastNow + 1n;
  lastNow = ns;
  return timeFromUnixNano(ns);
}

// ---------------------------------------------------------------------------------------
// Data messages (§5)
// ---------------------------------------------------------------------------------------

export interface DataMessage {
  /** 0–255. */
  hopsToLive: number;
  /** nameHash() of the source / destination node. */
  fromHash: bigint;
  toHash: bigint;
  /** At most 8 UTF-8 bytes each. */
  fromService: string;
  toService: string;
  payload: Uint8Array;
}

/** A decoded data message: `payload` is a view into the decoded input (not a copy). */
export interface DecodedDataMessage extends DataMessage {
  payload: Buffer;
}

const serviceFieldCache = new Map<string, Buffer>();
const SERVICE_CACHE_LIMIT = 4096;

/** The 8-byte NUL-padded header field for a service name (cached; names repeat a lot). */
function serviceField(name: string): Buffer {
  const hit = serviceFieldCache.get(name);
  if (hit !== undefined) return hit;
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > MAX_SERVICE_NAME_BYTES) {
    throw new EncodeError('service-name-too-long', `service name ${JSON.stringify(name)} is ${bytes.length} bytes; the limit is ${MAX_SERVICE_NAME_BYTES}`);
  }
  const field = Buffer.alloc(MAX_SERVICE_NAME_BYTES);
  bytes.copy(field);
  if (serviceFieldCache.size >= SERVICE_CACHE_LIMIT) serviceFieldCache.clear();
  serviceFieldCache.set(name, field);
  return field;
}

function checkHops(hopsToLive: number): void {
  if (!Number.isInteger(hopsToLive) || hopsToLive < 0 || hopsToLive > 255) {
    throw new EncodeError('invalid-field', `HopsToLive ${hopsToLive} is not an integer 0–255`);
  }
}

function checkUint64(value: bigint, what: string): void {
  if (typeof value !== 'bigint' || value < 0n || value >= UINT64_LIMIT) {
    throw new EncodeError('invalid-field', `${what} ${String(value)} is not a uint64`);
  }
}

/** One Buffer: the 36-byte header followed by the payload (copied once). */
export function encodeData(m: DataMessage): Buffer {
  checkHops(m.hopsToLive);
  checkUint64(m.fromHash, 'FromNode hash');
  checkUint64(m.toHash, 'ToNode hash');
  const from = serviceField(m.fromService);
  const to = serviceField(m.toService);
  const out = Buffer.allocUnsafe(DATA_HEADER_LENGTH + m.payload.length);
  out[0] = MSG_TYPE_DATA;
  out[1] = m.hopsToLive;
  out[2] = 0;
  out[3] = 0;
  out.writeBigUInt64BE(m.fromHash, 4);
  out.writeBigUInt64BE(m.toHash, 12);
  from.copy(out, 20);
  to.copy(out, 28);
  out.set(m.payload, DATA_HEADER_LENGTH);
  return out;
}

/**
 * A copy of a received data message for forwarding: HopsToLive replaced, reserved bytes
 * zeroed, everything else unchanged (what Go's rebuilt header amounts to, §5.6).
 */
export function forwardData(msg: Uint8Array, hopsToLive: number): Buffer {
  checkHops(hopsToLive);
  if (msg.length < DATA_HEADER_LENGTH || msg[0] !== MSG_TYPE_DATA) {
    throw new EncodeError('invalid-field', 'not a data message');
  }
  const out = Buffer.from(msg);
  out[1] = hopsToLive;
  out[2] = 0;
  out[3] = 0;
  return out;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Service name from an 8-byte field: trailing NULs stripped, bytes read as UTF-8. */
function readServiceName(b: Buffer, off: number): string {
  let end = off + MAX_SERVICE_NAME_BYTES;
  while (end > off && b[end - 1] === 0) end--;
  return decodeUtf8Go(b, off, end);
}

function decodeData(b: Buffer): DecodedDataMessage {
  if (b.length < DATA_HEADER_LENGTH) {
    throw new DecodeError('short-data', `data too short to be a valid message (${b.length} bytes, need ${DATA_HEADER_LENGTH})`, MSG_TYPE_DATA);
  }
  return {
    hopsToLive: b[1]!,
    fromHash: b.readBigUInt64BE(4),
    toHash: b.readBigUInt64BE(12),
    fromService: readServiceName(b, 20),
    toService: readServiceName(b, 28),
    payload: b.subarray(DATA_HEADER_LENGTH),
  };
}

// ---------------------------------------------------------------------------------------
// JSON helpers shared by the JSON message types
// ---------------------------------------------------------------------------------------

/** Encodes `1 + JSON` into one Buffer. */
function jsonMessage(type: number, body: GoJsonOut): Buffer {
  const text = writeGoJsonChecked(body);
  const out = Buffer.allocUnsafe(1 + Buffer.byteLength(text, 'utf8'));
  out[0] = type;
  out.write(text, 1, 'utf8');
  return out;
}

function writeGoJsonChecked(body: GoJsonOut): string {
  try {
    return writeGoJson(body);
  } catch (err) {
    throw new EncodeError('invalid-field', err instanceof Error ? err.message : String(err));
  }
}

function checkString(value: string, what: string): void {
  if (typeof value !== 'string') throw new EncodeError('invalid-field', `${what} must be a string`);
}

// ---------------------------------------------------------------------------------------
// Routing updates (§6.1)
// ---------------------------------------------------------------------------------------

export interface RoutingUpdate {
  nodeId: string;
  updateId: string;
  updateEpoch: bigint;
  updateSequence: bigint;
  /** Neighbour node ID → link cost. Encoded with keys sorted bytewise; `{}` when empty. */
  connections: ReadonlyMap<string, number>;
  forwardingNode: string;
  suspectedDuplicate: bigint;
}

const ROUTING_FIELDS = ['NodeID', 'UpdateID', 'UpdateEpoch', 'UpdateSequence', 'Connections', 'ForwardingNode', 'SuspectedDuplicate'] as const;

export function encodeRoutingUpdate(u: RoutingUpdate): Buffer {
  checkString(u.nodeId, 'NodeID');
  checkString(u.updateId, 'UpdateID');
  checkString(u.forwardingNode, 'ForwardingNode');
  checkUint64(u.updateEpoch, 'UpdateEpoch');
  checkUint64(u.updateSequence, 'UpdateSequence');
  checkUint64(u.suspectedDuplicate, 'SuspectedDuplicate');
  for (const [k, c] of u.connections) {
    if (typeof c !== 'number' || !Number.isFinite(c)) throw new EncodeError('invalid-field', `connection cost for ${JSON.stringify(k)} is not a finite number`);
  }
  return jsonMessage(
    MSG_TYPE_ROUTING_UPDATE,
    new Map<string, GoJsonOut>([
      ['NodeID', u.nodeId],
      ['UpdateID', u.updateId],
      ['UpdateEpoch', u.updateEpoch],
      ['UpdateSequence', u.updateSequence],
      ['Connections', sortedMap(u.connections)],
      ['ForwardingNode', u.forwardingNode],
      ['SuspectedDuplicate', u.suspectedDuplicate],
    ]),
  );
}

function decodeRoutingUpdate(b: Buffer): RoutingUpdate {
  const u = {nodeId: '', updateId: '', updateEpoch: 0n, updateSequence: 0n, forwardingNode: '', suspectedDuplicate: 0n};
  let connections: Map<string, number> | null = null;
  const at = (f: string): string => `routingUpdate.${f}`;
  decodeStruct(parseGoJson(b, 1), 'routingUpdate', ROUTING_FIELDS, (field, v) => {
    switch (field) {
      case 'NodeID':
        u.nodeId = goString(v, at(field)) ?? u.nodeId;
        break;
      case 'UpdateID':
        u.updateId = goString(v, at(field)) ?? u.updateId;
        break;
      case 'UpdateEpoch':
        u.updateEpoch = goUint(v, at(field)) ?? u.updateEpoch;
        break;
      case 'UpdateSequence':
        u.updateSequence = goUint(v, at(field)) ?? u.updateSequence;
        break;
      case 'Connections':
        connections = goStringMap(v, connections, at(field), 'map[string]float64', (e) => goFloat64(e, at(field)) ?? 0);
        break;
      case 'ForwardingNode':
        u.forwardingNode = goString(v, at(field)) ?? u.forwardingNode;
        break;
      case 'SuspectedDuplicate':
        u.suspectedDuplicate = goUint(v, at(field)) ?? u.suspectedDuplicate;
        break;
    }
  });
  return {...u, connections: connections ?? new Map<string, number>()};
}

// ---------------------------------------------------------------------------------------
// Service advertisements (§7.1)
// ---------------------------------------------------------------------------------------

export interface WorkCommand {
  workType: string;
  secure: boolean;
}

export interface ServiceAdvertisement {
  nodeId: string;
  service: string;
  time: GoTime;
  /** CONN_TYPE_* (0–255). */
  connType: number;
  /** Encoded with keys sorted bytewise; null → `null`. */
  tags: ReadonlyMap<string, string> | null;
  /** null → `null` (Go's nil slice); [] → `[]`. */
  workCommands: readonly WorkCommand[] | null;
  cancel: boolean;
}

/** A decoded ad, with the exact received message (type byte included) for re-flooding. */
export interface DecodedServiceAdvertisement extends ServiceAdvertisement {
  raw: Buffer;
}

const AD_FIELDS = ['NodeID', 'Service', 'Time', 'ConnType', 'Tags', 'WorkCommands', 'Cancel'] as const;
const WORK_COMMAND_FIELDS = ['WorkType', 'Secure'] as const;

export function encodeServiceAdvertisement(ad: ServiceAdvertisement): Buffer {
  checkString(ad.nodeId, 'NodeID');
  checkString(ad.service, 'Service');
  if (!Number.isInteger(ad.connType) || ad.connType < 0 || ad.connType > 255) {
    throw new EncodeError('invalid-field', `ConnType ${ad.connType} is not an integer 0–255`);
  }
  const workCommands =
    ad.workCommands === null
      ? null
      : ad.workCommands.map(
          (w) =>
            new Map<string, GoJsonOut>([
              ['WorkType', w.workType],
              ['Secure', w.secure],
            ]),
        );
  return jsonMessage(
    MSG_TYPE_SERVICE_ADVERTISEMENT,
    new Map<string, GoJsonOut>([
      ['NodeID', ad.nodeId],
      ['Service', ad.service],
      ['Time', timeText(ad.time)],
      ['ConnType', ad.connType],
      ['Tags', ad.tags === null ? null : sortedMap(ad.tags)],
      ['WorkCommands', workCommands],
      ['Cancel', ad.cancel],
    ]),
  );
}

function decodeTime(v: JsonValue, prev: GoTime): GoTime {
  if (v.kind === 'null') return prev;
  if (v.kind !== 'string') throw new DecodeError('bad-time', 'Time.UnmarshalJSON: input is not a JSON string', MSG_TYPE_SERVICE_ADVERTISEMENT);
  // Go parses the raw literal without unescaping, so any escape makes it invalid.
  const t = v.escaped ? undefined : unmarshalTimeJSON(v.value);
  if (t === undefined) throw new DecodeError('bad-time', `parsing time ${JSON.stringify(v.value)} as RFC 3339 failed`, MSG_TYPE_SERVICE_ADVERTISEMENT);
  return t;
}

function decodeWorkCommands(v: JsonValue, where: string): WorkCommand[] | null {
  if (v.kind === 'null') return null;
  if (v.kind !== 'array') throw typeError(jsonKindName(v), where, '[]netceptor.WorkCommand');
  return v.items.map((item) => {
    const w: WorkCommand = {workType: '', secure: false};
    decodeStruct(item, where, WORK_COMMAND_FIELDS, (field, fv) => {
      if (field === 'WorkType') w.workType = goString(fv, `WorkCommand.${field}`) ?? w.workType;
      else w.secure = goBool(fv, `WorkCommand.${field}`) ?? w.secure;
    });
    return w;
  });
}

function decodeServiceAdvertisement(b: Buffer): DecodedServiceAdvertisement {
  const ad = {nodeId: '', service: '', time: GO_ZERO_TIME, connType: 0, cancel: false};
  let tags: Map<string, string> | null = null;
  let workCommands: WorkCommand[] | null = null;
  const at = (f: string): string => `serviceAdvertisementFull.${f}`;
  decodeStruct(parseGoJson(b, 1), 'serviceAdvertisementFull', AD_FIELDS, (field, v) => {
    switch (field) {
      case 'NodeID':
        ad.nodeId = goString(v, at(field)) ?? ad.nodeId;
        break;
      case 'Service':
        ad.service = goString(v, at(field)) ?? ad.service;
        break;
      case 'Time':
        ad.time = decodeTime(v, ad.time);
        break;
      case 'ConnType': {
        const n = goUint(v, at(field), 8);
        if (n !== undefined) ad.connType = Number(n);
        break;
      }
      case 'Tags':
        tags = goStringMap(v, tags, at(field), 'map[string]string', (e) => goString(e, at(field)) ?? '');
        break;
      case 'WorkCommands':
        workCommands = decodeWorkCommands(v, at(field));
        break;
      case 'Cancel':
        ad.cancel = goBool(v, at(field)) ?? ad.cancel;
        break;
    }
  });
  return {...ad, tags, workCommands, raw: Buffer.from(b)};
}

// ---------------------------------------------------------------------------------------
// Reject (§4.4)
// ---------------------------------------------------------------------------------------

/** Longest reject reason sent or read (characters). */
export const MAX_REJECT_REASON = 200;

/**
 * The reject message. Without a reason: Go's `03 5b 5d` (`[]`). With one: `03` and a JSON
 * array holding the reason (`03 ["it is not in the allowed peers list"]`), the same `[]string`
 * shape Go marshals. Go 1.4.9 and newer read only the type byte of a reject and never parse
 * its body, so the reason is safe towards Go and informs our peers. A fresh Buffer each call.
 */
export function encodeReject(reason?: string): Buffer {
  if (!reason) return Buffer.from([MSG_TYPE_REJECT, 0x5b, 0x5d]);
  return Buffer.concat([Buffer.from([MSG_TYPE_REJECT]), Buffer.from(JSON.stringify([reason.slice(0, MAX_REJECT_REASON)]), 'utf8')]);
}

/**
 * The reason in a reject's body, if it is a JSON array whose first element is a non-empty
 * string (control characters removed, at most MAX_REJECT_REASON characters). Anything else,
 * Go's `[]` included, gives undefined: the body is informative only and never an error.
 */
export function rejectReason(buf: Uint8Array): string | undefined {
  if (buf.length < 3 || buf.length > 4096) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 1, buf.byteLength - 1).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(body) || typeof body[0] !== 'string') return undefined;
  const reason = body[0]
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .trim()
    .slice(0, MAX_REJECT_REASON);
  return reason === '' ? undefined : reason;
}

// ---------------------------------------------------------------------------------------
// Unreachable payload (§9.2)
// ---------------------------------------------------------------------------------------

export interface UnreachableMessage {
  fromNode: string;
  toNode: string;
  fromService: string;
  toService: string;
  /** One of PROBLEM_* (other text is carried as is). */
  problem: string;
}

const UNREACHABLE_FIELDS = ['FromNode', 'ToNode', 'FromService', 'ToService', 'Problem'] as const;

/** The JSON payload of an unreachable data message (from `unreach` to `unreach`). */
export function encodeUnreachable(u: UnreachableMessage): Buffer {
  checkString(u.fromNode, 'FromNode');
  checkString(u.toNode, 'ToNode');
  checkString(u.fromService, 'FromService');
  checkString(u.toService, 'ToService');
  checkString(u.problem, 'Problem');
  return Buffer.from(
    writeGoJsonChecked(
      new Map<string, GoJsonOut>([
        ['FromNode', u.fromNode],
        ['ToNode', u.toNode],
        ['FromService', u.fromService],
        ['ToService', u.toService],
        ['Problem', u.problem],
      ]),
    ),
    'utf8',
  );
}

/** Parses an unreachable payload like Go's json.Unmarshal into UnreachableMessage. */
export function decodeUnreachable(payload: Uint8Array): UnreachableMessage {
  try {
    const u: UnreachableMessage = {fromNode: '', toNode: '', fromService: '', toService: '', problem: ''};
    const keys = {FromNode: 'fromNode', ToNode: 'toNode', FromService: 'fromService', ToService: 'toService', Problem: 'problem'} as const;
    decodeStruct(parseGoJson(payload), 'UnreachableMessage', UNREACHABLE_FIELDS, (field, v) => {
      const key = keys[field as keyof typeof keys];
      u[key] = goString(v, `UnreachableMessage.${field}`) ?? u[key];
    });
    return u;
  } catch (err) {
    throw fromJsonError(err, MSG_TYPE_DATA);
  }
}

// ---------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------

export type NetceptorMessage =
  | ({readonly type: typeof MSG_TYPE_DATA} & DecodedDataMessage)
  | ({readonly type: typeof MSG_TYPE_ROUTING_UPDATE} & RoutingUpdate)
  | ({readonly type: typeof MSG_TYPE_SERVICE_ADVERTISEMENT} & DecodedServiceAdvertisement)
  | {readonly type: typeof MSG_TYPE_REJECT; readonly reason?: string};

/**
 * Decodes one whole netceptor message. Throws only DecodeError. A reject's body is only
 * looked at for a reason (rejectReason); whatever it holds, it is never an error (Go does
 * not parse it at all).
 */
export function decodeMessage(buf: Uint8Array): NetceptorMessage {
  const type = buf.length > 0 ? buf[0] : undefined;
  try {
    if (type === undefined) throw new DecodeError('empty', 'empty message');
    const b = asBuffer(buf);
    switch (type) {
      case MSG_TYPE_DATA:
        return {type, ...decodeData(b)};
      case MSG_TYPE_ROUTING_UPDATE:
        return {type, ...decodeRoutingUpdate(b)};
      case MSG_TYPE_SERVICE_ADVERTISEMENT:
        return {type, ...decodeServiceAdvertisement(b)};
      case MSG_TYPE_REJECT: {
        const reason = rejectReason(b);
        return reason === undefined ? {type} : {type, reason};
      }
      default:
        throw new DecodeError('unknown-type', `unknown message type ${type}`, type);
    }
  } catch (err) {
    throw fromJsonError(err, type);
  }
}
