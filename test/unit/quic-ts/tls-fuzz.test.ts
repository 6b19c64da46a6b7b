import {expect} from 'chai';
import fc from 'fast-check';
import {
  parseCertificate,
  parseCertificateRequest,
  parseCertificateVerify,
  parseClientHello,
  parseEncryptedExtensions,
  parseNewSessionTicket,
  parseServerHello,
  TlsAlert,
} from '../../../src/core/netceptor/quic/ts/tls/messages.js';
import {TlsHandshake, type Level} from '../../../src/core/netceptor/quic/ts/tls/handshake.js';
import {clientOpts, ecIdentity, serverOpts, type Identity} from './tls-helpers.js';

const PARSERS: Array<[string, (b: Buffer) => unknown]> = [
  ['ClientHello', parseClientHello],
  ['ServerHello', parseServerHello],
  ['EncryptedExtensions', parseEncryptedExtensions],
  ['Certificate', parseCertificate],
  ['CertificateRequest', parseCertificateRequest],
  ['CertificateVerify', parseCertificateVerify],
  ['NewSessionTicket', parseNewSessionTicket],
];

// Alerts a malformed or hostile peer may legitimately cause.
const ALLOWED = new Set([10, 40, 42, 43, 45, 47, 48, 50, 51, 70, 109, 110, 116, 120]);

function onlyAlerts(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof TlsAlert)) throw err;
    expect(ALLOWED.has(err.alert), `alert ${err.alert}: ${err.message}`).to.equal(true);
  }
}

/** Mutations of a valid message: byte flips, truncation, insertion. */
const mutation = (len: number) =>
  fc.oneof(
    fc.record({kind: fc.constant('flip' as const), at: fc.nat(len - 1), xor: fc.integer({min: 1, max: 255})}),
    fc.record({kind: fc.constant('cut' as const), at: fc.nat(len - 1), xor: fc.constant(0)}),
    fc.record({kind: fc.constant('insert' as const), at: fc.nat(len - 1), xor: fc.integer({min: 0, max: 255})}),
  );

function mutate(b: Buffer, ms: Array<{kind: 'flip' | 'cut' | 'insert'; at: number; xor: number}>): Buffer {
  let out = Buffer.from(b);
  for (const m of ms) {
    const at = Math.min(m.at, out.length - 1);
    if (at < 0) break;
    if (m.kind === 'flip') out[at] ^= m.xor;
    else if (m.kind === 'cut') out = out.subarray(0, at);
    else out = Buffer.concat([out.subarray(0, at), Buffer.from([m.xor]), out.subarray(at)]);
  }
  return out;
}

// About 10^5 cases in all (the bar for the TLS parsers), in a few seconds.
describe('quic-ts TLS parsers and state machine under fuzzing', function () {
  this.timeout(120_000);
  let id: Identity;
  let ch: Buffer;
  let serverFlight: Array<{level: Level; data: Buffer}>;
  before(() => {
    id = ecIdentity('fuzz');
    const c = new TlsHandshake(clientOpts());
    c.start();
    ch = c.takeOutput()[0]?.data as Buffer;
    const s = new TlsHandshake(serverOpts(id, {verifyPeer: true, ca: [id.ca]}));
    s.receive('initial', ch);
    serverFlight = s.takeOutput();
  });

  for (const [name, parse] of PARSERS) {
    it(`${name}: random bytes raise only TLS alerts`, () => {
      fc.assert(
        fc.property(fc.uint8Array({maxLength: 300}), (bytes) => onlyAlerts(() => parse(Buffer.from(bytes)))),
        {numRuns: 6000},
      );
    });
  }

  it('parsers: mutated real messages raise only TLS alerts', () => {
    const bodies: Array<[(b: Buffer) => unknown, Buffer]> = [[parseClientHello, ch.subarray(4)]];
    const byType: Record<number, (b: Buffer) => unknown> = {
      2: parseServerHello,
      8: parseEncryptedExtensions,
      11: parseCertificate,
      13: parseCertificateRequest,
      15: parseCertificateVerify,
    };
    for (const o of serverFlight) {
      const p = byType[o.data[0] as number];
      if (p) bodies.push([p, o.data.subarray(4)]);
    }
    expect(bodies.length).to.equal(6);
    for (const [parse, body] of bodies) {
      fc.assert(
        fc.property(fc.array(mutation(body.length), {minLength: 1, maxLength: 4}), (ms) => onlyAlerts(() => parse(mutate(body, ms)))),
        {numRuns: 5000},
      );
    }
  });

  it('server: a mutated ClientHello never throws and ends complete-free or with an allowed alert', () => {
    fc.assert(
      fc.property(fc.array(mutation(ch.length), {minLength: 1, maxLength: 4}), fc.integer({min: 1, max: 64}), (ms, chunk) => {
        const s = new TlsHandshake(serverOpts(id));
        const data = mutate(ch, ms);
        for (let i = 0; i < data.length; i += chunk) s.receive('initial', data.subarray(i, i + chunk));
        if (s.error) expect(ALLOWED.has(s.error.alert), `${s.error.alert} ${s.error.message}`).to.equal(true);
        expect(s.complete).to.equal(false);
      }),
      {numRuns: 3000},
    );
  });

  it('client: a mutated server flight never throws and never completes on tampered handshake bytes', () => {
    const sh = serverFlight.filter((o) => o.level === 'initial').map((o) => o.data);
    const hs = Buffer.concat(serverFlight.filter((o) => o.level === 'handshake').map((o) => o.data));
    fc.assert(
      fc.property(fc.array(mutation(hs.length), {minLength: 1, maxLength: 3}), (ms) => {
        // A fresh client cannot reuse the recorded flight's keys, so run a fresh exchange each time.
        const c = new TlsHandshake(clientOpts());
        const s = new TlsHandshake(serverOpts(id, {verifyPeer: true, ca: [id.ca]}));
        c.start();
        for (const o of c.takeOutput()) s.receive(o.level, o.data);
        const out = s.takeOutput();
        for (const o of out.filter((x) => x.level === 'initial')) c.receive(o.level, o.data);
        const flight = Buffer.concat(out.filter((x) => x.level === 'handshake').map((x) => x.data));
        const bad = mutate(flight, ms);
        c.receive('handshake', bad);
        if (c.error) expect(ALLOWED.has(c.error.alert), `${c.error.alert} ${c.error.message}`).to.equal(true);
        if (!bad.equals(flight)) expect(c.complete).to.equal(false);
      }),
      {numRuns: 150},
    );
    expect(sh.length).to.equal(1);
  });

  it('random bytes at every level in every role never throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'client' | 'server'>('client', 'server'),
        fc.array(fc.record({level: fc.constantFrom<Level>('initial', 'handshake', 'application'), data: fc.uint8Array({maxLength: 200})}), {maxLength: 5}),
        (role, inputs) => {
          const t = new TlsHandshake(role === 'client' ? clientOpts() : serverOpts(id));
          t.start();
          for (const i of inputs) t.receive(i.level, Buffer.from(i.data));
          if (t.error) expect(ALLOWED.has(t.error.alert), `${t.error.alert} ${t.error.message}`).to.equal(true);
          expect(t.complete).to.equal(false);
        },
      ),
      {numRuns: 25_000},
    );
  });
});
