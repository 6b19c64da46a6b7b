import {expect} from 'chai';
import {ManualClock} from '../../../src/core/clock.js';
import {
  CONN_TYPE_DATAGRAM,
  CONN_TYPE_STREAM,
  CONN_TYPE_STREAM_TLS,
  DATA_HEADER_LENGTH,
  DecodeError,
  EncodeError,
  MAX_FORWARDING_HOPS,
  MAX_SERVICE_NAME_BYTES,
  MSG_TYPE_DATA,
  MSG_TYPE_REJECT,
  MSG_TYPE_ROUTING_UPDATE,
  MSG_TYPE_SERVICE_ADVERTISEMENT,
  MTU,
  PROBLEM_EXPIRED,
  PROBLEM_FIREWALLED,
  PROBLEM_SERVICE_UNKNOWN,
  RESERVED_SERVICE_NAMES,
  SERVICE_PING,
  SERVICE_UNREACH,
  decodeMessage,
  decodeUnreachable,
  encodeData,
  encodeReject,
  MAX_REJECT_REASON,
  rejectReason,
  encodeRoutingUpdate,
  encodeServiceAdvertisement,
  encodeUnreachable,
  forwardData,
  goTimeNow,
  type DecodeErrorCode,
  type DecodedDataMessage,
  type DecodedServiceAdvertisement,
  type NetceptorMessage,
  type RoutingUpdate,
  type ServiceAdvertisement,
} from '../../../src/core/netceptor/codec.js';
import {GO_ZERO_TIME, timeFromUnixNano, unmarshalTimeJSON} from '../../../src/core/go/time.js';
import {nameHash} from '../../../src/core/netceptor/name-hash.js';
import {encodeTcpFrame} from '../../../src/core/netceptor/tcp-framer.js';

/** Bytes from a hex dump as printed in netceptor-vectors.md (`0000: 01 02 …` lines). */
function dump(text: string): Buffer {
  const hexDigits = text
    .split('\n')
    .map((l) => l.replace(/^\s*[0-9a-f]{4}:/i, ''))
    .join('')
    .replace(/\s+/g, '');
  return Buffer.from(hexDigits, 'hex');
}

const FOO = 0xef7a78b67f92bdf7n;
const BAR = 0x14ef88ca522894d1n;
const BAZ = 0x5221986a562a9688n;

function decodeError(input: Uint8Array): DecodeError {
  try {
    decodeMessage(input);
  } catch (err) {
    expect(err).to.be.instanceOf(DecodeError);
    return err as DecodeError;
  }
  throw new Error(`expected ${Buffer.from(input).toString('hex')} to be refused`);
}

function expectCode(input: Uint8Array | string, code: DecodeErrorCode): DecodeError {
  const err = decodeError(typeof input === 'string' ? Buffer.from(input, 'latin1') : input);
  expect(err.code, err.message).to.equal(code);
  return err;
}

function asData(m: NetceptorMessage): DecodedDataMessage {
  if (m.type !== MSG_TYPE_DATA) throw new Error(`expected data, got type ${m.type}`);
  return m;
}

function asAd(m: NetceptorMessage): DecodedServiceAdvertisement {
  if (m.type !== MSG_TYPE_SERVICE_ADVERTISEMENT) throw new Error(`expected service ad, got type ${m.type}`);
  return m;
}

/** Decodes `01 + json` and returns the update without the `type` member. */
function route(json: string): RoutingUpdate {
  const {type, ...u} = decodeMessage(Buffer.from('\x01' + json, 'utf8')) as NetceptorMessage & RoutingUpdate;
  expect(type).to.equal(MSG_TYPE_ROUTING_UPDATE);
  return u;
}
const ad = (json: string): DecodedServiceAdvertisement => asAd(decodeMessage(Buffer.from('\x02' + json, 'utf8')));

describe('codec constants (§13)', () => {
  it('has the wire values', () => {
    expect([MSG_TYPE_DATA, MSG_TYPE_ROUTING_UPDATE, MSG_TYPE_SERVICE_ADVERTISEMENT, MSG_TYPE_REJECT]).to.deep.equal([0, 1, 2, 3]);
    expect([CONN_TYPE_DATAGRAM, CONN_TYPE_STREAM, CONN_TYPE_STREAM_TLS]).to.deep.equal([0, 1, 2]);
    expect(DATA_HEADER_LENGTH).to.equal(36);
    expect(MAX_SERVICE_NAME_BYTES).to.equal(8);
    expect(MAX_FORWARDING_HOPS).to.equal(30);
    expect(MTU).to.equal(16384);
    expect([SERVICE_PING, SERVICE_UNREACH]).to.deep.equal(['ping', 'unreach']);
    expect(RESERVED_SERVICE_NAMES).to.deep.equal(['ping', 'unreach']);
    expect([PROBLEM_SERVICE_UNKNOWN, PROBLEM_EXPIRED, PROBLEM_FIREWALLED]).to.deep.equal(['service unknown', 'message expired', 'blocked by firewall']);
  });
});

describe('data messages (§5)', () => {
  const V2 = dump(`
0000: 00 1d 00 00 ef 7a 78 b6 7f 92 bd f7 14 ef 88 ca
0010: 52 28 94 d1 68 37 33 6f 70 50 45 68 70 69 6e 67
0020: 00 00 00 00`);

  it('V2: encodes a ping request byte for byte (raw and TCP-framed)', () => {
    const msg = encodeData({hopsToLive: 29, fromHash: nameHash('foo'), toHash: nameHash('bar'), fromService: 'h73opPEh', toService: 'ping', payload: new Uint8Array(0)});
    expect(msg.toString('hex')).to.equal(V2.toString('hex'));
    expect(encodeTcpFrame(msg).toString('hex')).to.equal('2400' + V2.toString('hex'));
  });

  it('V3: encodes the ping reply', () => {
    const msg = encodeData({hopsToLive: 29, fromHash: BAR, toHash: FOO, fromService: 'ping', toService: 'h73opPEh', payload: Buffer.alloc(0)});
    expect(encodeTcpFrame(msg)).to.deep.equal(
      dump(`
0000: 24 00 00 1d 00 00 14 ef 88 ca 52 28 94 d1 ef 7a
0010: 78 b6 7f 92 bd f7 70 69 6e 67 00 00 00 00 68 37
0020: 33 6f 70 50 45 68`),
    );
  });

  it('V4: encodes the transit message on both links (only HopsToLive differs)', () => {
    const m = {fromHash: FOO, toHash: BAZ, fromService: 'abcdefgh', toService: 'echo', payload: Buffer.from('hi')};
    const link1 = encodeData({...m, hopsToLive: 29});
    expect(link1).to.deep.equal(
      dump(`
0000: 00 1d 00 00 ef 7a 78 b6 7f 92 bd f7 52 21 98 6a
0010: 56 2a 96 88 61 62 63 64 65 66 67 68 65 63 68 6f
0020: 00 00 00 00 68 69`),
    );
    const link2 = encodeData({...m, hopsToLive: 28});
    expect(link2[1]).to.equal(0x1c);
    expect(Buffer.concat([link2.subarray(0, 1), link2.subarray(2)])).to.deep.equal(Buffer.concat([link1.subarray(0, 1), link1.subarray(2)]));
    expect(forwardData(link1, 28)).to.deep.equal(link2);
  });

  it('V11: encodes traceroute probes (hops 0 and 1 on the wire) and the final reply', () => {
    expect(encodeData({hopsToLive: 0, fromHash: FOO, toHash: BAZ, fromService: 'h73opPEh', toService: 'ping', payload: Buffer.alloc(0)}).toString('hex')).to.equal(
      '00000000ef7a78b67f92bdf75221986a562a96886837336f7050456870696e6700000000',
    );
    expect(encodeData({hopsToLive: 1, fromHash: FOO, toHash: BAZ, fromService: 'Mm4Nn5Oo', toService: 'ping', payload: Buffer.alloc(0)}).toString('hex')).to.equal(
      '00010000ef7a78b67f92bdf75221986a562a96884d6d344e6e354f6f70696e6700000000',
    );
    expect(encodeData({hopsToLive: 29, fromHash: BAZ, toHash: FOO, fromService: 'ping', toService: 'Mm4Nn5Oo', payload: Buffer.alloc(0)}).toString('hex')).to.equal(
      '001d00005221986a562a9688ef7a78b67f92bdf770696e67000000004d6d344e6e354f6f',
    );
  });

  it('decodes every header field', () => {
    const d = asData(decodeMessage(V2));
    expect(d).to.deep.include({type: 0, hopsToLive: 29, fromHash: FOO, toHash: BAR, fromService: 'h73opPEh', toService: 'ping'});
    expect(d.payload.length).to.equal(0);
  });

  it('copies the payload into one new Buffer of exactly header + payload bytes', () => {
    const payload = Buffer.from('hello world');
    const msg = encodeData({hopsToLive: 5, fromHash: 1n, toHash: 2n, fromService: 'a', toService: 'b', payload});
    expect(msg.length).to.equal(DATA_HEADER_LENGTH + payload.length);
    expect(msg.subarray(DATA_HEADER_LENGTH)).to.deep.equal(payload);
    payload[0] = 0x48;
    expect(msg.subarray(DATA_HEADER_LENGTH).toString()).to.equal('hello world');
  });

  it('accepts a plain Uint8Array payload', () => {
    const msg = encodeData({hopsToLive: 5, fromHash: 1n, toHash: 2n, fromService: 'a', toService: 'b', payload: new Uint8Array([1, 2, 3])});
    expect([...msg.subarray(DATA_HEADER_LENGTH)]).to.deep.equal([1, 2, 3]);
  });

  it('returns the payload as a view into the input (no copy)', () => {
    const msg = encodeData({hopsToLive: 5, fromHash: 1n, toHash: 2n, fromService: 'a', toService: 'b', payload: Buffer.from('xyz')});
    const d = asData(decodeMessage(msg));
    expect(d.payload.buffer).to.equal(msg.buffer);
    expect(d.payload.byteOffset).to.equal(msg.byteOffset + DATA_HEADER_LENGTH);
    msg[DATA_HEADER_LENGTH] = 0x41;
    expect(d.payload.toString()).to.equal('Ayz');
  });

  it('decodes from a Uint8Array view with a non-zero offset', () => {
    const backing = new Uint8Array(100);
    backing.set(V2, 10);
    const view = new Uint8Array(backing.buffer, 10, V2.length);
    const d = asData(decodeMessage(view));
    expect(d.fromHash).to.equal(FOO);
    expect(d.toService).to.equal('ping');
  });

  it('pads service names with NULs; 8 bytes exactly is fine; the limit is bytes, not characters', () => {
    const full = encodeData({hopsToLive: 1, fromHash: 0n, toHash: 0n, fromService: '12345678', toService: '', payload: Buffer.alloc(0)});
    expect(full.subarray(20, 28).toString()).to.equal('12345678');
    expect(full.subarray(28, 36)).to.deep.equal(Buffer.alloc(8));
    const utf8 = encodeData({hopsToLive: 1, fromHash: 0n, toHash: 0n, fromService: 'ÄÖÜÄ', toService: 'é', payload: Buffer.alloc(0)});
    expect(utf8.subarray(20, 28)).to.deep.equal(Buffer.from('ÄÖÜÄ'));
    expect(utf8.subarray(28, 36).toString('hex')).to.equal('c3a9000000000000');
    const d = asData(decodeMessage(utf8));
    expect([d.fromService, d.toService]).to.deep.equal(['ÄÖÜÄ', 'é']);
  });

  it('refuses service names longer than 8 bytes', () => {
    for (const [from, to] of [
      ['123456789', 'ping'],
      ['ping', 'ÄÖÜÄa'],
      ['😀😀😀', 'x'],
    ]) {
      expect(() => encodeData({hopsToLive: 1, fromHash: 0n, toHash: 0n, fromService: from!, toService: to!, payload: Buffer.alloc(0)}))
        .to.throw(EncodeError)
        .with.property('code', 'service-name-too-long');
    }
  });

  it('refuses HopsToLive outside 0–255 and hashes outside uint64', () => {
    const base = {hopsToLive: 1, fromHash: 0n, toHash: 0n, fromService: 'a', toService: 'b', payload: Buffer.alloc(0)};
    for (const hopsToLive of [-1, 256, 1.5, NaN]) {
      expect(() => encodeData({...base, hopsToLive}))
        .to.throw(EncodeError)
        .with.property('code', 'invalid-field');
    }
    for (const h of [-1n, 1n << 64n]) {
      expect(() => encodeData({...base, fromHash: h})).to.throw(EncodeError);
      expect(() => encodeData({...base, toHash: h})).to.throw(EncodeError);
    }
    expect(
      encodeData({...base, hopsToLive: 255, fromHash: (1n << 64n) - 1n})
        .subarray(1, 12)
        .toString('hex'),
    ).to.equal('ff0000ffffffffffffffff');
  });

  it('strips only trailing NULs from service fields', () => {
    const msg = Buffer.from(V2);
    Buffer.from([0x61, 0x00, 0x63, 0x00, 0x00, 0x00, 0x00, 0x00]).copy(msg, 20);
    Buffer.alloc(8).copy(msg, 28);
    const d = asData(decodeMessage(msg));
    expect(d.fromService).to.equal('a\u0000c');
    expect(d.toService).to.equal('');
  });

  it('ignores the reserved bytes on receipt; forwardData re-zeroes them and copies', () => {
    const msg = Buffer.from(V2);
    msg[2] = 0xab;
    msg[3] = 0xcd;
    expect(asData(decodeMessage(msg)).hopsToLive).to.equal(29);
    const fwd = forwardData(msg, 28);
    expect(fwd.subarray(0, 4).toString('hex')).to.equal('001c0000');
    expect(fwd.subarray(4)).to.deep.equal(V2.subarray(4));
    expect(msg[2]).to.equal(0xab);
    expect(() => forwardData(msg.subarray(0, 35), 1)).to.throw(EncodeError);
    expect(() => forwardData(encodeReject(), 1)).to.throw(EncodeError);
  });

  it('refuses data messages shorter than the 36-byte header', () => {
    for (const n of [1, 2, 20, 35]) {
      const err = expectCode(V2.subarray(0, n), 'short-data');
      expect(err.messageType).to.equal(0);
    }
    expect(asData(decodeMessage(V2.subarray(0, 36))).payload.length).to.equal(0);
  });

  it('keeps HopsToLive 0 and 255 as they are', () => {
    for (const h of [0, 255]) {
      const msg = Buffer.from(V2);
      msg[1] = h;
      expect(asData(decodeMessage(msg)).hopsToLive).to.equal(h);
    }
  });
});

describe('unreachable payload (§9.2)', () => {
  const V5A = dump(`
0000: 8d 00 00 1d 00 00 14 ef 88 ca 52 28 94 d1 ef 7a
0010: 78 b6 7f 92 bd f7 75 6e 72 65 61 63 68 00 75 6e
0020: 72 65 61 63 68 00 7b 22 46 72 6f 6d 4e 6f 64 65
0030: 22 3a 22 66 6f 6f 22 2c 22 54 6f 4e 6f 64 65 22
0040: 3a 22 62 61 7a 22 2c 22 46 72 6f 6d 53 65 72 76
0050: 69 63 65 22 3a 22 68 37 33 6f 70 50 45 68 22 2c
0060: 22 54 6f 53 65 72 76 69 63 65 22 3a 22 70 69 6e
0070: 67 22 2c 22 50 72 6f 62 6c 65 6d 22 3a 22 6d 65
0080: 73 73 61 67 65 20 65 78 70 69 72 65 64 22 7d`);

  const expired = {fromNode: 'foo', toNode: 'baz', fromService: 'h73opPEh', toService: 'ping', problem: PROBLEM_EXPIRED};

  it('V5a: message expired, TCP-framed, byte for byte', () => {
    const payload = encodeUnreachable(expired);
    expect(payload.toString()).to.equal('{"FromNode":"foo","ToNode":"baz","FromService":"h73opPEh","ToService":"ping","Problem":"message expired"}');
    const msg = encodeData({hopsToLive: 29, fromHash: BAR, toHash: FOO, fromService: SERVICE_UNREACH, toService: SERVICE_UNREACH, payload});
    expect(encodeTcpFrame(msg)).to.deep.equal(V5A);
  });

  it('V5a: decodes back', () => {
    const d = asData(decodeMessage(V5A.subarray(2)));
    expect([d.fromService, d.toService]).to.deep.equal(['unreach', 'unreach']);
    expect(decodeUnreachable(d.payload)).to.deep.equal(expired);
  });

  it('V5b: service unknown', () => {
    const payload = encodeUnreachable({fromNode: 'foo', toNode: 'bar', fromService: 'Q1w2E3r4', toService: 'nosuch', problem: PROBLEM_SERVICE_UNKNOWN});
    const msg = encodeData({hopsToLive: 29, fromHash: BAR, toHash: FOO, fromService: 'unreach', toService: 'unreach', payload});
    expect(msg).to.deep.equal(
      dump(`
0000: 00 1d 00 00 14 ef 88 ca 52 28 94 d1 ef 7a 78 b6
0010: 7f 92 bd f7 75 6e 72 65 61 63 68 00 75 6e 72 65
0020: 61 63 68 00 7b 22 46 72 6f 6d 4e 6f 64 65 22 3a
0030: 22 66 6f 6f 22 2c 22 54 6f 4e 6f 64 65 22 3a 22
0040: 62 61 72 22 2c 22 46 72 6f 6d 53 65 72 76 69 63
0050: 65 22 3a 22 51 31 77 32 45 33 72 34 22 2c 22 54
0060: 6f 53 65 72 76 69 63 65 22 3a 22 6e 6f 73 75 63
0070: 68 22 2c 22 50 72 6f 62 6c 65 6d 22 3a 22 73 65
0080: 72 76 69 63 65 20 75 6e 6b 6e 6f 77 6e 22 7d`),
    );
  });

  it('decodes leniently like Go (case, whitespace, unknown members, null, missing members)', () => {
    expect(decodeUnreachable(Buffer.from(' {"problem" : "blocked by firewall", "fromnode":"a","X":[1,{}],"ToNode":null} '))).to.deep.equal({
      fromNode: 'a',
      toNode: '',
      fromService: '',
      toService: '',
      problem: PROBLEM_FIREWALLED,
    });
  });

  it('refuses bad payloads with DecodeError', () => {
    expect(() => decodeUnreachable(Buffer.from('')))
      .to.throw(DecodeError)
      .with.property('code', 'json-syntax');
    expect(() => decodeUnreachable(Buffer.from('{"Problem":')))
      .to.throw(DecodeError)
      .with.property('code', 'json-syntax');
    expect(() => decodeUnreachable(Buffer.from('{"Problem":5}')))
      .to.throw(DecodeError)
      .with.property('code', 'json-type');
    expect(() => decodeUnreachable(Buffer.from('[]')))
      .to.throw(DecodeError)
      .with.property('code', 'json-type');
  });

  it('escapes like Go when encoding', () => {
    expect(encodeUnreachable({fromNode: 'a<b', toNode: 'c', fromService: 'd', toService: 'e', problem: 'f'}).toString()).to.contain('"FromNode":"a\\u003cb"');
  });
});

describe('routing updates (§6.1)', () => {
  const epoch = 29021228238034567n;
  const base: RoutingUpdate = {
    nodeId: 'foo',
    updateId: 'Xq3ZbT9a',
    updateEpoch: epoch,
    updateSequence: 1n,
    connections: new Map(),
    forwardingNode: 'foo',
    suspectedDuplicate: 0n,
  };

  it('V6b: handshake update, TCP-framed, byte for byte', () => {
    expect(encodeTcpFrame(encodeRoutingUpdate(base))).to.deep.equal(
      dump(`
0000: 99 00 01 7b 22 4e 6f 64 65 49 44 22 3a 22 66 6f
0010: 6f 22 2c 22 55 70 64 61 74 65 49 44 22 3a 22 58
0020: 71 33 5a 62 54 39 61 22 2c 22 55 70 64 61 74 65
0030: 45 70 6f 63 68 22 3a 32 39 30 32 31 32 32 38 32
0040: 33 38 30 33 34 35 36 37 2c 22 55 70 64 61 74 65
0050: 53 65 71 75 65 6e 63 65 22 3a 31 2c 22 43 6f 6e
0060: 6e 65 63 74 69 6f 6e 73 22 3a 7b 7d 2c 22 46 6f
0070: 72 77 61 72 64 69 6e 67 4e 6f 64 65 22 3a 22 66
0080: 6f 6f 22 2c 22 53 75 73 70 65 63 74 65 64 44 75
0090: 70 6c 69 63 61 74 65 22 3a 30 7d`),
    );
  });

  it('V6c: connections with keys sorted whatever the insertion order; 1.0 → 1, 2.5 → 2.5', () => {
    const u: RoutingUpdate = {
      ...base,
      updateId: 'k2Pq8WnR',
      updateSequence: 2n,
      connections: new Map([
        ['baz', 2.5],
        ['bar', 1.0],
      ]),
    };
    expect(encodeTcpFrame(encodeRoutingUpdate(u))).to.deep.equal(
      dump(`
0000: aa 00 01 7b 22 4e 6f 64 65 49 44 22 3a 22 66 6f
0010: 6f 22 2c 22 55 70 64 61 74 65 49 44 22 3a 22 6b
0020: 32 50 71 38 57 6e 52 22 2c 22 55 70 64 61 74 65
0030: 45 70 6f 63 68 22 3a 32 39 30 32 31 32 32 38 32
0040: 33 38 30 33 34 35 36 37 2c 22 55 70 64 61 74 65
0050: 53 65 71 75 65 6e 63 65 22 3a 32 2c 22 43 6f 6e
0060: 6e 65 63 74 69 6f 6e 73 22 3a 7b 22 62 61 72 22
0070: 3a 31 2c 22 62 61 7a 22 3a 32 2e 35 7d 2c 22 46
0080: 6f 72 77 61 72 64 69 6e 67 4e 6f 64 65 22 3a 22
0090: 66 6f 6f 22 2c 22 53 75 73 70 65 63 74 65 64 44
00a0: 75 70 6c 69 63 61 74 65 22 3a 30 7d`),
    );
  });

  it('V6d: re-flood changes only ForwardingNode', () => {
    const u: RoutingUpdate = {
      ...base,
      updateId: 'k2Pq8WnR',
      updateSequence: 2n,
      connections: new Map([
        ['bar', 1],
        ['baz', 2.5],
      ]),
      forwardingNode: 'bar',
    };
    expect(encodeRoutingUpdate(u).subarray(1).toString()).to.equal(
      '{"NodeID":"foo","UpdateID":"k2Pq8WnR","UpdateEpoch":29021228238034567,"UpdateSequence":2,"Connections":{"bar":1,"baz":2.5},"ForwardingNode":"bar","SuspectedDuplicate":0}',
    );
  });

  it('V6e: duplicate notification carries a second epoch', () => {
    const u: RoutingUpdate = {...base, updateId: 'Zz9Yy8Xx', updateSequence: 7n, connections: new Map([['bar', 1]]), suspectedDuplicate: 29021228321920647n};
    const text =
      '{"NodeID":"foo","UpdateID":"Zz9Yy8Xx","UpdateEpoch":29021228238034567,"UpdateSequence":7,"Connections":{"bar":1},"ForwardingNode":"foo","SuspectedDuplicate":29021228321920647}';
    expect(encodeRoutingUpdate(u).subarray(1).toString()).to.equal(text);
    expect(route(text)).to.deep.equal(u);
  });

  it('V10 #2: bar’s handshake message', () => {
    const u: RoutingUpdate = {...base, nodeId: 'bar', forwardingNode: 'bar', updateId: 'P7hG2kLm', updateEpoch: 29021228297008191n};
    expect(encodeTcpFrame(encodeRoutingUpdate(u)).toString('hex')).to.equal(
      dump(`
0000: 99 00 01 7b 22 4e 6f 64 65 49 44 22 3a 22 62 61
0010: 72 22 2c 22 55 70 64 61 74 65 49 44 22 3a 22 50
0020: 37 68 47 32 6b 4c 6d 22 2c 22 55 70 64 61 74 65
0030: 45 70 6f 63 68 22 3a 32 39 30 32 31 32 32 38 32
0040: 39 37 30 30 38 31 39 31 2c 22 55 70 64 61 74 65
0050: 53 65 71 75 65 6e 63 65 22 3a 31 2c 22 43 6f 6e
0060: 6e 65 63 74 69 6f 6e 73 22 3a 7b 7d 2c 22 46 6f
0070: 72 77 61 72 64 69 6e 67 4e 6f 64 65 22 3a 22 62
0080: 61 72 22 2c 22 53 75 73 70 65 63 74 65 64 44 75
0090: 70 6c 69 63 61 74 65 22 3a 30 7d`).toString('hex'),
    );
  });

  it('keeps uint64 values above 2^53 exact (V6a: JSON.parse would give …570)', () => {
    const u = route(
      encodeRoutingUpdate({...base, updateSequence: 18446744073709551615n})
        .subarray(1)
        .toString(),
    );
    expect(u.updateEpoch).to.equal(29021228238034567n);
    expect(u.updateSequence).to.equal(18446744073709551615n);
  });

  it('sorts Connections keys bytewise (not JS object order)', () => {
    const u: RoutingUpdate = {
      ...base,
      connections: new Map([
        ['9', 1],
        ['abc', 1],
        ['10', 1],
        ['Zed', 1],
      ]),
    };
    expect(encodeRoutingUpdate(u).toString()).to.contain('"Connections":{"10":1,"9":1,"Zed":1,"abc":1}');
  });

  it('decodes leniently: whitespace, any-case names, unknown members, reordered members', () => {
    const u = route(
      ' {\n "suspectedduplicate": 0, "connections": {"bar" : 1.0, "baz": 2.50}, "Hops":[1,{"a":null}],\t"NODEID":"foo",' +
        ' "updateid":"k2Pq8WnR", "UpdateEpoch":29021228238034567, "updatesequence":2, "forwardingNode":"bar"}\r\n',
    );
    expect(u).to.deep.equal({
      ...base,
      updateId: 'k2Pq8WnR',
      updateSequence: 2n,
      connections: new Map([
        ['bar', 1],
        ['baz', 2.5],
      ]),
      forwardingNode: 'bar',
    });
    // Re-encoded canonically, as Go re-floods (V6d, live experiment).
    expect(encodeRoutingUpdate(u).subarray(1).toString()).to.equal(
      '{"NodeID":"foo","UpdateID":"k2Pq8WnR","UpdateEpoch":29021228238034567,"UpdateSequence":2,"Connections":{"bar":1,"baz":2.5},"ForwardingNode":"bar","SuspectedDuplicate":0}',
    );
  });

  it('gives zero values for missing members, null Connections and a null body', () => {
    const zero: RoutingUpdate = {nodeId: '', updateId: '', updateEpoch: 0n, updateSequence: 0n, connections: new Map(), forwardingNode: '', suspectedDuplicate: 0n};
    expect(route('{}')).to.deep.equal(zero);
    expect(route('null')).to.deep.equal(zero);
    expect(route('{"NodeID":"x","Connections":null}')).to.deep.equal({...zero, nodeId: 'x'});
  });

  it('applies repeated members like Go: last wins, null leaves a scalar alone, maps merge', () => {
    const u = route('{"NodeID":"a","nodeid":"b","UpdateEpoch":5,"UpdateEpoch":null,"Connections":{"x":1},"connections":{"y":2,"x":3}}');
    expect(u.nodeId).to.equal('b');
    expect(u.updateEpoch).to.equal(5n);
    expect(u.connections).to.deep.equal(
      new Map([
        ['x', 3],
        ['y', 2],
      ]),
    );
    expect(route('{"Connections":{"x":1},"Connections":null,"Connections":{"y":2}}').connections).to.deep.equal(new Map([['y', 2]]));
    expect(route('{"Connections":{"x":null}}').connections).to.deep.equal(new Map([['x', 0]]));
  });

  describe('refuses what Go refuses', () => {
    const cases: Array<[string, DecodeErrorCode]> = [
      ['{"UpdateEpoch":3.0e16}', 'json-type'],
      ['{"UpdateEpoch":2.9e16}', 'json-type'],
      ['{"UpdateSequence":1.0}', 'json-type'],
      ['{"SuspectedDuplicate":-1}', 'json-type'],
      ['{"UpdateEpoch":18446744073709551616}', 'json-type'],
      ['{"UpdateEpoch":"30125087533541300"}', 'json-type'],
      ['{"UpdateEpoch":true}', 'json-type'],
      ['{"NodeID":5}', 'json-type'],
      ['{"ForwardingNode":{}}', 'json-type'],
      ['{"Connections":[]}', 'json-type'],
      ['{"Connections":{"a":"1"}}', 'json-type'],
      ['{"Connections":{"a":1e400}}', 'json-type'],
      ['[]', 'json-type'],
      ['"x"', 'json-type'],
      ['', 'json-syntax'],
      ['{"NodeID":"foo"', 'json-syntax'],
      ['{"NodeID":"foo"}x', 'json-syntax'],
      ['{"NodeID":"foo",}', 'json-syntax'],
      ['{"UpdateEpoch":030}', 'json-syntax'],
      ['['.repeat(10001), 'json-depth'],
    ];
    for (const [body, code] of cases) {
      it(`${body.length > 40 ? body.slice(0, 40) + '…' : body || '(empty body)'} → ${code}`, () => {
        const err = expectCode(Buffer.from('\x01' + body), code);
        expect(err.messageType).to.equal(1);
      });
    }
    it('names the member and literal in the message, like Go', () => {
      expect(expectCode(Buffer.from('\x01{"UpdateEpoch":3.0e16}'), 'json-type').message).to.equal(
        'json: cannot unmarshal number 3.0e16 into Go struct field routingUpdate.UpdateEpoch of type uint64',
      );
    });
  });

  it('refuses to encode values Go could not have', () => {
    expect(() => encodeRoutingUpdate({...base, updateEpoch: -1n})).to.throw(EncodeError);
    expect(() => encodeRoutingUpdate({...base, updateSequence: 1n << 64n})).to.throw(EncodeError);
    expect(() => encodeRoutingUpdate({...base, suspectedDuplicate: -5n})).to.throw(EncodeError);
    expect(() => encodeRoutingUpdate({...base, connections: new Map([['a', NaN]])})).to.throw(EncodeError);
    expect(() => encodeRoutingUpdate({...base, connections: new Map([['a', Infinity]])})).to.throw(EncodeError);
  });

  it('escapes node names like Go', () => {
    const u = encodeRoutingUpdate({...base, nodeId: 'a&b', connections: new Map([['<x>', 1]])}).toString();
    expect(u).to.contain('"NodeID":"a\\u0026b"');
    expect(u).to.contain('"Connections":{"\\u003cx\\u003e":1}');
    expect(route(u.slice(1)).connections.has('<x>')).to.equal(true);
  });
});

describe('service advertisements (§7.1)', () => {
  const V7A_JSON =
    '{"NodeID":"bar","Service":"control","Time":"2024-10-24T20:36:52.123456789Z","ConnType":1,"Tags":{"type":"Control Service"},"WorkCommands":[{"WorkType":"echo","Secure":false}],"Cancel":false}';
  const v7a: ServiceAdvertisement = {
    nodeId: 'bar',
    service: 'control',
    time: unmarshalTimeJSON('2024-10-24T20:36:52.123456789Z')!,
    connType: CONN_TYPE_STREAM,
    tags: new Map([['type', 'Control Service']]),
    workCommands: [{workType: 'echo', secure: false}],
    cancel: false,
  };

  it('V7a: control service with a work type, TCP-framed, byte for byte', () => {
    const frame = encodeTcpFrame(encodeServiceAdvertisement(v7a));
    expect(frame.subarray(0, 3).toString('hex')).to.equal('bf0002');
    expect(frame.subarray(3).toString()).to.equal(V7A_JSON);
  });

  it('V7a: decodes every member and keeps the original bytes', () => {
    const msg = Buffer.from('\x02' + V7A_JSON);
    const d = asAd(decodeMessage(msg));
    expect(d).to.deep.include({nodeId: 'bar', service: 'control', connType: 1, cancel: false});
    expect(d.tags).to.deep.equal(new Map([['type', 'Control Service']]));
    expect(d.workCommands).to.deep.equal([{workType: 'echo', secure: false}]);
    expect(d.time.text).to.equal('2024-10-24T20:36:52.123456789Z');
    expect(d.time.unixNano).to.equal(BigInt(Date.UTC(2024, 9, 24, 20, 36, 52)) * 1_000_000n + 123_456_789n);
    expect(d.raw).to.deep.equal(msg);
  });

  it('V7b: cancellation with a non-UTC offset', () => {
    const text = '{"NodeID":"bar","Service":"udpsvc","Time":"2024-10-24T16:36:52.5-04:00","ConnType":0,"Tags":null,"WorkCommands":null,"Cancel":true}';
    const d = ad(text);
    expect(d).to.deep.include({service: 'udpsvc', connType: CONN_TYPE_DATAGRAM, tags: null, workCommands: null, cancel: true});
    expect(d.time.offsetSeconds).to.equal(-4 * 3600);
    expect(d.time.unixNano).to.equal(BigInt(Date.UTC(2024, 9, 24, 20, 36, 52, 500)) * 1_000_000n);
    expect(encodeServiceAdvertisement(d).subarray(1).toString()).to.equal(text);
  });

  it('V7c: whole-second time (no fraction) and Go escaping', () => {
    const d: ServiceAdvertisement = {
      nodeId: 'bar',
      service: 'x',
      time: timeFromUnixNano(BigInt(Date.UTC(2024, 9, 24, 16, 36, 52)) * 1_000_000n),
      connType: CONN_TYPE_STREAM_TLS,
      tags: new Map([
        ['b', '<&>'],
        ['a', '1'],
      ]),
      workCommands: null,
      cancel: false,
    };
    expect(encodeServiceAdvertisement(d).subarray(1).toString()).to.equal(
      '{"NodeID":"bar","Service":"x","Time":"2024-10-24T16:36:52Z","ConnType":2,"Tags":{"a":"1","b":"\\u003c\\u0026\\u003e"},"WorkCommands":null,"Cancel":false}',
    );
  });

  it('keeps null and empty Tags / WorkCommands apart', () => {
    const empty = encodeServiceAdvertisement({...v7a, tags: new Map(), workCommands: []}).toString();
    expect(empty).to.contain('"Tags":{},"WorkCommands":[],');
    const d = ad(empty.slice(1));
    expect(d.tags).to.deep.equal(new Map());
    expect(d.workCommands).to.deep.equal([]);
    const nil = encodeServiceAdvertisement({...v7a, tags: null, workCommands: null}).toString();
    expect(nil).to.contain('"Tags":null,"WorkCommands":null,');
  });

  it('keeps the received bytes (whitespace, unknown members, offset) for verbatim re-flooding, as a copy', () => {
    const text = ' { "nodeid":"baz", "Extra":[1,2], "Service":"s", "time":"2026-11-25T04:17:13.663466574-05:00", "conntype":0 } ';
    const msg = Buffer.from('\x02' + text);
    const d = ad(text);
    expect(d.raw).to.deep.equal(msg);
    const d2 = asAd(decodeMessage(msg));
    msg[5] = 0x58;
    expect(d2.raw.toString()).to.equal('\x02' + text);
    expect(d2.time.text).to.equal('2026-11-25T04:17:13.663466574-05:00');
  });

  it('decodes missing members and a null body as zero values (Go zero time)', () => {
    const d = ad('{}');
    expect(d).to.deep.include({nodeId: '', service: '', connType: 0, tags: null, workCommands: null, cancel: false});
    expect(d.time).to.deep.equal(GO_ZERO_TIME);
    expect(GO_ZERO_TIME.text).to.equal('0001-01-01T00:00:00Z');
    expect(ad('null').time).to.deep.equal(GO_ZERO_TIME);
    expect(ad('{"Time":null}').time).to.deep.equal(GO_ZERO_TIME);
  });

  it('decodes work commands leniently (case, null element, unknown members)', () => {
    expect(ad('{"workcommands":[{"worktype":"a","SECURE":true,"x":1},null]}').workCommands).to.deep.equal([
      {workType: 'a', secure: true},
      {workType: '', secure: false},
    ]);
    expect(ad('{"Tags":{"a":null,"b":"c"}}').tags).to.deep.equal(
      new Map([
        ['a', ''],
        ['b', 'c'],
      ]),
    );
  });

  describe('refuses what Go refuses', () => {
    const cases: Array<[string, DecodeErrorCode]> = [
      ['{"ConnType":256}', 'json-type'],
      ['{"ConnType":1.0}', 'json-type'],
      ['{"ConnType":-1}', 'json-type'],
      ['{"ConnType":"1"}', 'json-type'],
      ['{"Cancel":"true"}', 'json-type'],
      ['{"Cancel":1}', 'json-type'],
      ['{"Tags":{"a":1}}', 'json-type'],
      ['{"Tags":[]}', 'json-type'],
      ['{"WorkCommands":{}}', 'json-type'],
      ['{"WorkCommands":["echo"]}', 'json-type'],
      ['{"WorkCommands":[{"Secure":"no"}]}', 'json-type'],
      ['{"NodeID":null,"Service":1}', 'json-type'],
      ['{"Time":1795595141}', 'bad-time'],
      ['{"Time":{}}', 'bad-time'],
      ['{"Time":"yesterday"}', 'bad-time'],
      ['{"Time":"\\u0032024-10-24T20:36:52Z"}', 'bad-time'],
      ['{"Time":"2024-10-24T20:36:52"}', 'bad-time'],
      ['{"Time":"2024-10-24 20:36:52Z"}', 'bad-time'],
      ['{"Time":"2024-10-24t20:36:52z"}', 'bad-time'],
      ['{"Time":"2024-13-01T00:00:00Z"}', 'bad-time'],
      ['{"Time":"2023-02-29T00:00:00Z"}', 'bad-time'],
      ['{"Time":"2024-04-31T00:00:00Z"}', 'bad-time'],
      ['{"Time":"2024-10-24T24:00:00Z"}', 'bad-time'],
      ['{"Time":"2024-10-24T20:60:00Z"}', 'bad-time'],
      ['{"Time":"2024-10-24T20:36:60Z"}', 'bad-time'],
      ['{"Time":"2024-10-24T20:36:52.Z"}', 'bad-time'],
      ['{"Time":"2024-10-24T20:36:52+25:00"}', 'bad-time'],
      ['{"Time":"2024-10-24T20:36:52+0100"}', 'bad-time'],
      ['{"Time":"12024-10-24T20:36:52Z"}', 'bad-time'],
      ['{"Time":"-2024-10-24T20:36:52Z"}', 'bad-time'],
      ['{"NodeID":"a"', 'json-syntax'],
      ['', 'json-syntax'],
    ];
    for (const [body, code] of cases) {
      it(`${body || '(empty body)'} → ${code}`, () => {
        expect(expectCode(Buffer.from('\x02' + body), code).messageType).to.equal(2);
      });
    }
  });

  it('refuses to encode an invalid ConnType or an unrepresentable Time', () => {
    for (const connType of [-1, 256, 1.5]) expect(() => encodeServiceAdvertisement({...v7a, connType})).to.throw(EncodeError);
    expect(() => encodeServiceAdvertisement({...v7a, time: {text: 'x', unixNano: 10n ** 30n, offsetSeconds: 0}})).to.throw(EncodeError, 'year outside');
  });
});

describe('GoTime', () => {
  it('goTimeNow is UTC, close to Date.now(), parses back, and strictly increases', () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    let prev = goTimeNow();
    expect(prev.text.endsWith('Z')).to.equal(true);
    expect(unmarshalTimeJSON(prev.text)!.unixNano).to.equal(prev.unixNano);
    expect(prev.unixNano >= before && prev.unixNano < before + 2_000_000_000n).to.equal(true);
    for (let i = 0; i < 1000; i++) {
      const t = goTimeNow();
      expect(t.unixNano > prev.unixNano).to.equal(true);
      prev = t;
    }
  });

  it('goTimeNow with an injected clock uses its milliseconds exactly', () => {
    const clock = new ManualClock(1_795_595_146_084);
    expect(goTimeNow(clock).text).to.equal('2026-11-25T08:25:46.084Z');
  });
});

describe('reject (§4.4, V8)', () => {
  it('encodes 03 5b 5d and decodes it', () => {
    expect(encodeReject().toString('hex')).to.equal('035b5d');
    expect(encodeTcpFrame(encodeReject()).toString('hex')).to.equal('0300035b5d');
    expect(decodeMessage(encodeReject())).to.deep.equal({type: 3});
  });

  it('never fails on the body (Go does not parse it): anything but a string array has no reason', () => {
    expect(decodeMessage(Buffer.from([3]))).to.deep.equal({type: 3});
    expect(decodeMessage(Buffer.from('\x03{"x":1}'))).to.deep.equal({type: 3});
    expect(decodeMessage(Buffer.from('\x03[1]'))).to.deep.equal({type: 3});
    expect(decodeMessage(Buffer.from('\x03[""]'))).to.deep.equal({type: 3});
    expect(decodeMessage(Buffer.from('\x03["unterminated'))).to.deep.equal({type: 3});
  });

  it("carries a reason as a one-string JSON array (Go's []string shape), read back without control characters", () => {
    const m = encodeReject('bar is not in the allowed peers list of foo');
    expect(m.toString('latin1')).to.equal('\x03["bar is not in the allowed peers list of foo"]');
    expect(decodeMessage(m)).to.deep.equal({type: 3, reason: 'bar is not in the allowed peers list of foo'});
    expect(rejectReason(Buffer.from('\x03["a\\u001b[31mb\\nc"]'))).to.equal('a [31mb c');
    expect(rejectReason(encodeReject('x'.repeat(MAX_REJECT_REASON + 50)))).to.have.length(MAX_REJECT_REASON);
    expect(encodeReject('').toString('hex')).to.equal('035b5d');
  });

  it('returns a fresh buffer each time', () => {
    const a = encodeReject();
    a[0] = 9;
    expect(encodeReject()[0]).to.equal(3);
  });
});

describe('decodeMessage dispatch', () => {
  it('refuses an empty message', () => {
    const err = expectCode(Buffer.alloc(0), 'empty');
    expect(err.messageType).to.equal(undefined);
    expect(err.name).to.equal('DecodeError');
  });

  it('refuses unknown type bytes, naming the type', () => {
    for (const t of [4, 7, 0x7b, 255]) {
      const err = expectCode(Buffer.from([t, 0x5b, 0x5d]), 'unknown-type');
      expect(err.messageType).to.equal(t);
      expect(err.message).to.contain(String(t));
    }
  });

  it('wraps JSON errors with their cause', () => {
    const err = expectCode(Buffer.from('\x01{'), 'json-syntax');
    expect(err.cause).to.be.instanceOf(Error);
  });
});
