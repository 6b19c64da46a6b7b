/**
 * Replays the real Go captures (test/vectors/captures, see its README.md) through the codec:
 * every recorded message is decoded, checked against the recorded decode, the logs and the
 * per-run variables, and re-encoded byte for byte where Go's encoding is deterministic.
 * The TCP byte streams are reassembled from the raw proxy chunks with TcpFramer.
 */
import {expect} from 'chai';
import {readFileSync} from 'node:fs';
import {
  MSG_TYPE_DATA,
  MSG_TYPE_REJECT,
  MSG_TYPE_ROUTING_UPDATE,
  MSG_TYPE_SERVICE_ADVERTISEMENT,
  decodeMessage,
  decodeUnreachable,
  encodeData,
  encodeReject,
  encodeRoutingUpdate,
  encodeServiceAdvertisement,
  encodeUnreachable,
  type NetceptorMessage,
} from '../../src/core/netceptor/codec.js';
import {nameHash} from '../../src/core/netceptor/name-hash.js';
import {TcpFramer} from '../../src/core/netceptor/tcp-framer.js';

const CAPTURES = new URL('./captures/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, CAPTURES), 'utf8');
// JSON.parse is fine for the capture envelopes: the big integers inside `json` are never used
// (the README's surprise 1); everything numeric that matters is read from `msg_hex` / `json_text`.
const jsonl = <T>(name: string): T[] =>
  read(name)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);

interface Frame {
  t: number;
  conn: number | string;
  dir: string;
  event?: string;
  n?: number;
  layer?: string;
  length_prefix_hex?: string;
  msg_len?: number;
  msg_hex?: string;
  type?: number;
  json_text?: string;
  json?: Record<string, unknown>;
  hops_to_live?: number;
  reserved_hex?: string;
  from_node_hash?: string;
  to_node_hash?: string;
  from_node?: string;
  to_node?: string;
  from_service?: string;
  to_service?: string;
  payload_len?: number;
  payload_kind?: 'empty' | 'unreachable-json' | 'quic';
  payload_json?: Record<string, string>;
  payload_text?: string;
  quic?: Array<{form: 'long' | 'short'; version?: string; dcid?: string; dcid_if_4_bytes?: string}>;
}

interface Chunk {
  t: number;
  conn: number | string;
  dir: string;
  event?: string;
  hex: string;
}

const SCENARIOS = ['tcp', 'line', 'udp', 'ws', 'reject'] as const;
const TCP_SCENARIOS = ['tcp', 'line', 'reject'] as const;

const hashes = JSON.parse(read('hashes.json')) as Record<string, string>;
const nameOfHash = new Map(Object.entries(hashes).map(([name, h]) => [h, name]));
const hex16 = (v: bigint): string => v.toString(16).padStart(16, '0');

function varsOf(scenario: string): Record<string, unknown> {
  return JSON.parse(read(`${scenario}.vars.json`)) as Record<string, unknown>;
}

function varsEntry<T>(vars: Record<string, unknown>, prefix: string): T {
  const hit = Object.entries(vars).find(([k]) => k.startsWith(prefix));
  if (!hit) throw new Error(`no ${prefix} in vars`);
  return hit[1] as T;
}

function messages(scenario: string): Array<Frame & {msg: Buffer; decoded: NetceptorMessage}> {
  return jsonl<Frame>(`${scenario}.frames.jsonl`)
    .filter((f) => f.msg_hex !== undefined)
    .map((f) => {
      const msg = Buffer.from(f.msg_hex!, 'hex');
      return {...f, msg, decoded: decodeMessage(msg)};
    });
}

/** Member text of an integer in the exact JSON bytes (never through Number). */
function integerMember(jsonText: string, member: string): bigint {
  const m = new RegExp(`"${member}":(\\d+)`).exec(jsonText);
  if (!m) throw new Error(`no ${member} in ${jsonText}`);
  return BigInt(m[1]!);
}

interface LogLine {
  t: number;
  who: string;
  msg: string;
}

function logLines(scenario: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of read(`${scenario}.log`).split('\n')) {
    const m = /^\[\s*([\d.]+)\] (\w+)\s*\| (?:(?:DEBUG|INFO|WARNING|ERROR) \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d )?(.*)$/.exec(line);
    if (m) out.push({t: Number(m[1]), who: m[2]!, msg: m[3]!});
  }
  return out;
}

for (const scenario of SCENARIOS) {
  describe(`capture replay: ${scenario}`, () => {
    const all = messages(scenario);
    const vars = varsOf(scenario);
    const log = logLines(scenario);

    it('has messages of the kinds the README describes', () => {
      expect(all.length).to.be.greaterThan(5);
      expect(all.some((f) => f.type === MSG_TYPE_ROUTING_UPDATE)).to.equal(true);
      if (scenario === 'reject') expect(all.filter((f) => f.type === MSG_TYPE_REJECT)).to.have.length(1);
      else expect(all.some((f) => f.type === MSG_TYPE_DATA)).to.equal(true);
    });

    it('decodes every message with the recorded type and length', () => {
      for (const f of all) {
        expect(f.decoded.type, `${f.dir} #${f.n}`).to.equal(f.type);
        expect(f.msg.length).to.equal(f.msg_len);
        if (f.length_prefix_hex !== undefined) expect(Buffer.from(f.length_prefix_hex, 'hex').readUInt16LE(0)).to.equal(f.msg_len);
      }
    });

    it('data messages: header fields, payload and byte-identical re-encoding', () => {
      for (const f of all) {
        const m = f.decoded;
        if (m.type !== MSG_TYPE_DATA) continue;
        const where = `${f.dir} #${f.n}`;
        expect(m.hopsToLive, where).to.equal(f.hops_to_live);
        expect(f.msg.subarray(2, 4).toString('hex')).to.equal(f.reserved_hex);
        expect(hex16(m.fromHash)).to.equal(f.from_node_hash);
        expect(hex16(m.toHash)).to.equal(f.to_node_hash);
        expect(hex16(nameHash(f.from_node!))).to.equal(f.from_node_hash);
        expect(hex16(nameHash(f.to_node!))).to.equal(f.to_node_hash);
        expect(m.fromService).to.equal(f.from_service);
        expect(m.toService).to.equal(f.to_service);
        expect(m.payload.length).to.equal(f.payload_len);
        expect(encodeData(m)).to.deep.equal(f.msg);
        if (f.payload_kind === 'empty') expect(m.payload.length).to.equal(0);
        if (f.payload_kind === 'unreachable-json') {
          expect([m.fromService, m.toService]).to.deep.equal(['unreach', 'unreach']);
          const u = decodeUnreachable(m.payload);
          const pj = f.payload_json!;
          expect(u).to.deep.equal({fromNode: pj.FromNode, toNode: pj.ToNode, fromService: pj.FromService, toService: pj.ToService, problem: pj.Problem});
          expect(m.payload.toString('utf8')).to.equal(f.payload_text);
          expect(encodeUnreachable(u)).to.deep.equal(m.payload);
        }
        if (f.payload_kind === 'quic') {
          const q = f.quic![0]!;
          const p = m.payload;
          if (q.form === 'long') {
            expect(p[0]! & 0x80).to.equal(0x80);
            expect(p.subarray(1, 5).toString('hex')).to.equal(q.version);
            expect(p.subarray(6, 6 + p[5]!).toString('hex')).to.equal(q.dcid);
          } else {
            expect(p[0]! & 0xc0).to.equal(0x40);
            expect(p.subarray(1, 5).toString('hex')).to.equal(q.dcid_if_4_bytes);
          }
        }
      }
    });

    it('routing updates: every member (uint64 exact) and byte-identical re-encoding', () => {
      let count = 0;
      for (const f of all) {
        const m = f.decoded;
        if (m.type !== MSG_TYPE_ROUTING_UPDATE) continue;
        count++;
        const text = f.json_text!;
        const j = f.json!;
        expect(f.msg.subarray(1).toString('utf8')).to.equal(text);
        expect(m.nodeId).to.equal(j.NodeID);
        expect(m.updateId).to.equal(j.UpdateID);
        expect(m.forwardingNode).to.equal(j.ForwardingNode);
        expect(m.updateEpoch).to.equal(integerMember(text, 'UpdateEpoch'));
        expect(m.updateSequence).to.equal(integerMember(text, 'UpdateSequence'));
        expect(m.suspectedDuplicate).to.equal(integerMember(text, 'SuspectedDuplicate'));
        expect(Object.fromEntries(m.connections)).to.deep.equal(j.Connections);
        expect(encodeRoutingUpdate(m)).to.deep.equal(f.msg);
      }
      expect(count).to.be.greaterThan(0);
    });

    it('service ads: every member, nanosecond Time, re-flood of the original bytes and canonical re-encoding', () => {
      const ads = all.filter((f) => f.type === MSG_TYPE_SERVICE_ADVERTISEMENT);
      if (scenario !== 'reject') expect(ads.length).to.be.greaterThan(0);
      for (const f of ads) {
        const m = f.decoded;
        if (m.type !== MSG_TYPE_SERVICE_ADVERTISEMENT) continue;
        const j = f.json!;
        expect(f.msg.subarray(1).toString('utf8')).to.equal(f.json_text);
        expect(m.nodeId).to.equal(j.NodeID);
        expect(m.service).to.equal(j.Service);
        expect(m.time.text).to.equal(j.Time);
        const frac = /\.(\d+)Z$/.exec(j.Time as string)?.[1] ?? '';
        expect(m.time.unixNano % 1_000_000_000n).to.equal(BigInt(frac.padEnd(9, '0') || '0'));
        expect(m.time.unixNano / 1_000_000n).to.equal(BigInt(Date.parse(j.Time as string)));
        expect(m.connType).to.equal(j.ConnType);
        expect(m.tags === null ? null : Object.fromEntries(m.tags)).to.deep.equal(j.Tags);
        expect(m.workCommands === null ? null : m.workCommands.map((w) => ({WorkType: w.workType, Secure: w.secure}))).to.deep.equal(j.WorkCommands);
        expect(m.cancel).to.equal(j.Cancel);
        expect(m.raw).to.deep.equal(f.msg); // §7.3: re-flooded verbatim
        expect(encodeServiceAdvertisement(m)).to.deep.equal(f.msg);
      }
    });

    it('rejects are exactly 03 5b 5d', () => {
      for (const f of all.filter((x) => x.type === MSG_TYPE_REJECT)) {
        expect(f.msg.toString('hex')).to.equal('035b5d');
        expect(f.json_text).to.equal('[]');
        expect(encodeReject()).to.deep.equal(f.msg);
      }
    });

    it('every node name and hash in the capture agrees with nameHash and hashes.json', () => {
      const names = new Set<string>();
      for (const f of all) {
        const m = f.decoded;
        if (m.type === MSG_TYPE_ROUTING_UPDATE) [m.nodeId, m.forwardingNode, ...m.connections.keys()].forEach((n) => names.add(n));
        if (m.type === MSG_TYPE_SERVICE_ADVERTISEMENT) names.add(m.nodeId);
        if (m.type === MSG_TYPE_DATA) {
          const from = nameOfHash.get(hex16(m.fromHash));
          const to = nameOfHash.get(hex16(m.toHash));
          expect(from, hex16(m.fromHash)).to.be.a('string');
          expect(to, hex16(m.toHash)).to.be.a('string');
          names.add(from!).add(to!);
        }
      }
      const fixed = varsEntry<{node_ids: string[]}>(vars, 'fixed_in_this_capture').node_ids;
      expect([...names].sort()).to.deep.equal([...fixed].sort());
      for (const n of names) expect(hex16(nameHash(n)), n).to.equal(hashes[n]);
    });

    it('epochs, UpdateIDs, sequences, ad Times and ephemeral names match the run variables', () => {
      const epochs = varsEntry<Record<string, {epoch_decimal_string: string; unix_seconds: number; random_low24: number}>>(vars, 'node_epochs');
      const ids = new Set(varsEntry<string[]>(vars, 'routing_update_ids'));
      const seqs = varsEntry<Record<string, number[]>>(vars, 'update_sequences_seen_per_node');
      const times = new Set(varsEntry<string[]>(vars, 'service_advertisement_times'));
      const ephemeral = new Set(varsEntry<string[]>(vars, 'ephemeral_service_names'));
      const seenSeqs = new Map<string, Set<number>>();
      const seenIds = new Set<string>();
      for (const f of all) {
        const m = f.decoded;
        if (m.type === MSG_TYPE_ROUTING_UPDATE) {
          const e = epochs[m.nodeId]!;
          expect(m.updateEpoch.toString()).to.equal(e.epoch_decimal_string);
          expect(m.updateEpoch >> 24n).to.equal(BigInt(e.unix_seconds));
          expect(m.updateEpoch & 0xffffffn).to.equal(BigInt(e.random_low24));
          expect(m.updateEpoch > BigInt(Number.MAX_SAFE_INTEGER)).to.equal(true);
          expect(ids.has(m.updateId), m.updateId).to.equal(true);
          seenIds.add(m.updateId);
          if (!seenSeqs.has(m.nodeId)) seenSeqs.set(m.nodeId, new Set());
          seenSeqs.get(m.nodeId)!.add(Number(m.updateSequence));
        }
        if (m.type === MSG_TYPE_SERVICE_ADVERTISEMENT) expect(times.has(m.time.text), m.time.text).to.equal(true);
        if (m.type === MSG_TYPE_DATA) {
          for (const s of [m.fromService, m.toService]) {
            if (!['ping', 'unreach', 'control'].includes(s)) expect(ephemeral.has(s), s).to.equal(true);
          }
        }
      }
      expect(seenIds).to.deep.equal(ids);
      for (const [node, list] of Object.entries(seqs)) expect([...(seenSeqs.get(node) ?? [])].sort((a, b) => a - b)).to.deep.equal(list);
    });

    it('routing updates agree with the nodes’ own log lines', () => {
      let checked = 0;
      const firstPerSession = new Set<string>();
      for (const f of all) {
        const m = f.decoded;
        if (m.type !== MSG_TYPE_ROUTING_UPDATE) continue;
        const [src, dst] = f.dir.split('->') as [string, string];
        const session = `${f.conn}|${f.dir}`;
        const handshake = !firstPerSession.has(session);
        firstPerSession.add(session);
        const recv = log.find((l) => l.who === dst && l.msg.startsWith(`Received routing update ${m.updateId} `));
        if (handshake) {
          // The initial connect message is not processed as an update (§4.2).
          expect(recv, `handshake ${m.updateId}`).to.equal(undefined);
          continue;
        }
        expect(recv?.msg, `receive log for ${m.updateId}`).to.equal(`Received routing update ${m.updateId} from ${m.nodeId} via ${m.forwardingNode}`);
        checked++;
        if (m.nodeId === src) {
          const sent = log.find((l) => l.who === src && l.msg.startsWith(`Sending routing update ${m.updateId}.`));
          const listed = sent!.msg
            .replace(/^.*Connections: /, '')
            .trim()
            .split(/\s+/)
            .sort();
          expect(listed).to.deep.equal([...m.connections].map(([k, c]) => `${k}(${c.toFixed(2)})`).sort());
        }
      }
      if (scenario !== 'reject') expect(checked).to.be.greaterThan(0);
    });

    it('service ads agree with the originating node’s "Sending service advertisement" log line', () => {
      for (const f of all) {
        const m = f.decoded;
        if (m.type !== MSG_TYPE_SERVICE_ADVERTISEMENT) continue;
        // Go prints time.Time as "2006-01-02 15:04:05.999999999 -0700 MST m=+…".
        const goTime = m.time.text.replace('T', ' ').replace(/Z$/, ' +0000 UTC');
        const line = log.find((l) => l.who === m.nodeId && l.msg.startsWith('Sending service advertisement: ') && l.msg.includes(goTime));
        expect(line, `log for ${m.nodeId} ${m.time.text}`).to.not.equal(undefined);
        const tags = [...(m.tags ?? new Map())]
          .sort()
          .map(([k, v]) => `${k}:${v}`)
          .join(' ');
        const work = (m.workCommands ?? []).map((w) => `{${w.workType} ${w.secure}}`).join(' ');
        const expected = new RegExp(
          `^Sending service advertisement: &\\{${m.nodeId} ${m.service} ${goTime.replace(/[.+]/g, '\\$&')} m=\\+[\\d.]+ ${m.connType} map\\[${tags.replace(/[.]/g, '\\.')}\\] \\[${work}\\]\\}$`,
        );
        expect(line!.msg).to.match(expected);
      }
    });

    it('unreachable messages agree with the receiver’s warning log line', () => {
      let count = 0;
      for (const f of all) {
        const m = f.decoded;
        if (m.type !== MSG_TYPE_DATA || m.toService !== 'unreach') continue;
        const u = decodeUnreachable(m.payload);
        const [, dst] = f.dir.split('->') as [string, string];
        const from = nameOfHash.get(hex16(m.fromHash));
        const to = nameOfHash.get(hex16(m.toHash));
        const text = `Received unreachable message from ${from} (service ${m.fromService}) to ${to} (service ${m.toService}): ttl ${m.hopsToLive}, data ${u.problem}`;
        expect(
          log.some((l) => l.who === dst && l.msg === text),
          text,
        ).to.equal(true);
        count++;
      }
      // Only `line` has one on the wire (bar's "message expired" for traceroute probe 1).
      expect(count).to.equal(scenario === 'line' ? 1 : 0);
    });
  });
}

/** Messages per (conn, dir) from reassembling the raw TCP chunks, and how many chunks held several. */
function reassemble(chunks: Chunk[], split?: (hex: Buffer) => Buffer[]): {streams: Map<string, string[]>; coalesced: number} {
  const framers = new Map<string, TcpFramer>();
  const streams = new Map<string, string[]>();
  let coalesced = 0;
  for (const c of chunks) {
    if (c.event !== undefined || c.hex === '') continue;
    const key = `${c.conn}|${c.dir}`;
    if (!framers.has(key)) {
      framers.set(key, new TcpFramer());
      streams.set(key, []);
    }
    const bytes = Buffer.from(c.hex, 'hex');
    for (const piece of split ? split(bytes) : [bytes]) {
      const out = framers.get(key)!.push(piece);
      if (out.length > 1 && !split) coalesced++;
      streams.get(key)!.push(...out.map((b) => b.toString('hex')));
    }
  }
  for (const f of framers.values()) expect(f.buffered).to.equal(0);
  return {streams, coalesced};
}

function recordedStreams(scenario: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of jsonl<Frame>(`${scenario}.frames.jsonl`)) {
    if (f.msg_hex === undefined) continue;
    const key = `${f.conn}|${f.dir}`;
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push(f.msg_hex);
  }
  return out;
}

function pieces(sizes: (i: number) => number): (b: Buffer) => Buffer[] {
  let i = 0;
  return (b) => {
    const out: Buffer[] = [];
    for (let off = 0; off < b.length;) {
      const n = Math.max(1, sizes(i++));
      out.push(b.subarray(off, off + n));
      off += n;
    }
    return out;
  };
}

for (const scenario of TCP_SCENARIOS) {
  describe(`TCP stream reassembly: ${scenario}.jsonl`, () => {
    const chunks = jsonl<Chunk>(`${scenario}.jsonl`);
    const recorded = recordedStreams(scenario);

    it('yields exactly the recorded messages, in order, per connection and direction', () => {
      const {streams, coalesced} = reassemble(chunks);
      expect(streams).to.deep.equal(recorded);
      // README: two frames arrived in one read in tcp (t≈15.33) and line.
      if (scenario !== 'reject') expect(coalesced).to.be.greaterThan(0);
      for (const list of streams.values()) for (const h of list) decodeMessage(Buffer.from(h, 'hex'));
    });

    for (const [label, split] of [
      ['1-byte reads', pieces(() => 1)],
      ['3-byte reads', pieces(() => 3)],
      ['37-byte reads', pieces(() => 37)],
      ['irregular reads', pieces((i) => [1, 2, 5, 150, 7, 1300, 3][i % 7]!)],
    ] as const) {
      it(`yields the same messages when every chunk is re-split into ${label}`, () => {
        expect(reassemble(chunks, split).streams).to.deep.equal(recorded);
      });
    }

    it('yields the same messages when each direction arrives as one big chunk', () => {
      const joined = new Map<string, Buffer[]>();
      for (const c of chunks) {
        if (c.event !== undefined || c.hex === '') continue;
        const key = `${c.conn}|${c.dir}`;
        joined.set(key, [...(joined.get(key) ?? []), Buffer.from(c.hex, 'hex')]);
      }
      for (const [key, bufs] of joined) {
        const msgs = new TcpFramer().push(Buffer.concat(bufs)).map((b) => b.toString('hex'));
        expect(msgs).to.deep.equal(recorded.get(key));
      }
    });
  });
}

describe('UDP datagrams: udp.jsonl', () => {
  it('each datagram is exactly one recorded message', () => {
    const datagrams = jsonl<Chunk>('udp.jsonl').filter((c) => c.event === undefined && c.hex !== '');
    const recorded = jsonl<Frame>('udp.frames.jsonl').filter((f) => f.msg_hex !== undefined);
    expect(datagrams.map((d) => d.hex)).to.deep.equal(recorded.map((f) => f.msg_hex));
    for (const d of datagrams) decodeMessage(Buffer.from(d.hex, 'hex'));
  });
});

describe('hashes.json', () => {
  it('every entry equals nameHash of its name (foo, bar, baz per the README)', () => {
    expect(Object.keys(hashes).length).to.be.greaterThan(5);
    for (const [name, h] of Object.entries(hashes)) expect(hex16(nameHash(name)), JSON.stringify(name)).to.equal(h);
    expect(hashes.foo).to.equal('ef7a78b67f92bdf7');
    expect(hashes.bar).to.equal('14ef88ca522894d1');
    expect(hashes.baz).to.equal('5221986a562a9688');
  });
});
