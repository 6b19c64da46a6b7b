/**
 * Real TLS links between two in-process mesh nodes over the TCP and WebSocket backends on
 * 127.0.0.1 (netceptor-wire.md §2.7), with certificates from src/core/pki/x509.ts and TLS
 * configs built by the real tls-server / tls-client items and handed to the backends the way
 * the backend items do (`lookupTls`).
 */
import {expect} from 'chai';
import {createHash} from 'node:crypto';
import {join} from 'node:path';
import {pino, type Logger} from 'pino';
import type {ActionTypeDef, FieldValues, ItemContext} from '../../src/core/config/types.js';
import type {MeshBackend} from '../../src/core/netceptor/backend.js';
import {Netceptor} from '../../src/core/netceptor/node.js';
import {createCa, createCsr, fingerprintHex, signCsr, type CreatedCa} from '../../src/core/pki/x509.js';
import {NodeRuntime} from '../../src/core/runtime.js';
import {lookupTls, type TlsClientOptions, type TlsServerOptions} from '../../src/plugins/backend-common/items.js';
import {TcpDialerBackend, TcpListenerBackend} from '../../src/plugins/backend-tcp/backend.js';
import {WsDialerBackend, WsListenerBackend} from '../../src/plugins/backend-ws/backend.js';
import {tlsClientType, tlsServerType} from '../../src/plugins/tls/index.js';
import {tempFiles} from '../support/config-fixtures.js';
import {FAST, until} from '../support/mesh.js';

interface LogLine {
  level: string;
  msg: string;
  err?: unknown;
  [k: string]: unknown;
}

/** A debug-level pino logger that records every line. */
function captureLogger(): {logger: Logger; lines: LogLine[]} {
  const lines: LogLine[] = [];
  const logger = pino({level: 'debug', formatters: {level: (label) => ({level: label})}}, {write: (s: string) => void lines.push(JSON.parse(s) as LogLine)});
  return {logger, lines};
}

const text = (l: LogLine) => `${l.msg} ${typeof l.err === 'string' ? l.err : JSON.stringify(l.err ?? '')}`;

interface MeshEnd {
  node: Netceptor;
  rt: NodeRuntime;
  lines: LogLine[];
}

function meshEnd(id: string): MeshEnd {
  const {logger, lines} = captureLogger();
  const node = new Netceptor({nodeId: id, logger, timings: FAST});
  const rt = new NodeRuntime(logger, {configFiles: [], argv: [], selfCommand: []}, () => undefined);
  rt.setNode(node);
  return {node, rt, lines};
}

/** Item values with the item's defaults for everything not given. */
function valuesFor(def: ActionTypeDef, given: FieldValues): FieldValues {
  const out: FieldValues = {};
  for (const f of def.fields) out[f.name] = f.name in given ? given[f.name] : (f.default ?? (f.type === 'string-list' ? [] : ''));
  return out;
}

const ctx = (key: string): ItemContext => ({key, plugin: 'test', source: {kind: 'implicit'}, explicit: new Set()});

const BACKOFF = {initialMs: 50, maxMs: 200};

type Kind = 'tcp' | 'ws';

function listener(kind: Kind, tls: TlsServerOptions): MeshBackend {
  return kind === 'tcp' ? new TcpListenerBackend({port: 0, bindAddr: '127.0.0.1', tls}) : new WsListenerBackend({port: 0, bindAddr: '127.0.0.1', tls});
}

function dialer(kind: Kind, port: number, tls: TlsClientOptions, host = '127.0.0.1'): MeshBackend {
  return kind === 'tcp'
    ? new TcpDialerBackend({address: `${host}:${port}`, tls, backoff: BACKOFF})
    : new WsDialerBackend({address: `wss://${host}:${port}/`, tls, backoff: BACKOFF});
}

describe('TLS on mesh backends (integration, 127.0.0.1)', function () {
  this.timeout(60_000);
  let dir: string;
  let f: Record<string, string>;
  let fp: Record<string, string>;
  const ends: MeshEnd[] = [];

  before(async () => {
    const [ca, otherCa] = await Promise.all([createCa({commonName: 'mesh CA'}), createCa({commonName: 'untrusted CA'})]);
    const base = await createCsr({commonName: 'leaf', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: ['A']});
    const issue = async (nodeIds: string[], issuer: CreatedCa, validity: {notBefore?: Date; notAfter?: Date} = {}) => {
      const csr = await createCsr({commonName: nodeIds[0] ?? 'none', key: base.key, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds});
      return signCsr({csrPem: csr.csrPem, caCertPem: issuer.certPem, caKeyPem: issuer.key, ...validity});
    };
    const YEAR = 365 * 24 * 3_600_000;
    const expired = {notBefore: new Date(Date.now() - 2 * YEAR), notAfter: new Date(Date.now() - YEAR)};
    const future = {notBefore: new Date(Date.now() + YEAR), notAfter: new Date(Date.now() + 2 * YEAR)};
    const certs = {
      'a.crt': await issue(['A'], ca),
      'b.crt': await issue(['B'], ca),
      'b-wrong-id.crt': await issue(['X'], ca),
      'a-untrusted.crt': await issue(['A'], otherCa),
      'b-untrusted.crt': await issue(['B'], otherCa),
      'a-expired.crt': await issue(['A'], ca, expired),
      'b-expired.crt': await issue(['B'], ca, expired),
      'a-future.crt': await issue(['A'], ca, future),
      'b-future.crt': await issue(['B'], ca, future),
    };
    dir = tempFiles({
      ...Object.fromEntries(Object.entries(certs).map(([n, c]) => [n, c.certPem])),
      'leaf.key': base.keyPem,
      'ca.crt': ca.certPem,
      'other-ca.crt': otherCa.certPem,
    });
    f = Object.fromEntries([...Object.keys(certs), 'leaf.key', 'ca.crt', 'other-ca.crt'].map((n) => [n, join(dir, n)]));
    fp = Object.fromEntries(
      Object.entries(certs).map(([n, c]) => [n, fingerprintHex(createHash('sha512').update(c.certDer).digest())]), // SHA-512, colon form
    );
  });

  afterEach(async () => {
    for (const e of ends.splice(0)) await e.node.shutdown();
  });

  /** Prepares the items on both ends and starts listener (A) and dialer (B). */
  async function link(
    kind: Kind,
    server: FieldValues,
    client: FieldValues,
    opts: {clientNodeId?: string; listenerNodeId?: string; tweakClient?: (o: TlsClientOptions) => TlsClientOptions; host?: string} = {},
  ): Promise<{a: MeshEnd; b: MeshEnd}> {
    const a = meshEnd(opts.listenerNodeId ?? 'A');
    const b = meshEnd(opts.clientNodeId ?? 'B');
    ends.push(a, b);
    await (tlsServerType as ActionTypeDef).create(valuesFor(tlsServerType as ActionTypeDef, {name: 'srv', cert: f['a.crt'], key: f['leaf.key'], ...server}), ctx('tls-server'))
      .prepare!(a.rt);
    await (tlsClientType as ActionTypeDef).create(valuesFor(tlsClientType as ActionTypeDef, {name: 'cli', cert: f['b.crt'], key: f['leaf.key'], ...client}), ctx('tls-client'))
      .prepare!(b.rt);
    const serverOpts = lookupTls(a.rt, 'tls-server', 'srv')!;
    let clientOpts = lookupTls(b.rt, 'tls-client', 'cli')!;
    if (opts.tweakClient) clientOpts = opts.tweakClient(clientOpts);
    const running = await a.node.addMeshBackend(listener(kind, serverOpts), {cost: 1});
    const port = Number(running.localAddress!.split(':').pop());
    await b.node.addMeshBackend(dialer(kind, port, clientOpts, opts.host), {cost: 1});
    return {a, b};
  }

  async function linkedUp(a: MeshEnd, b: MeshEnd): Promise<void> {
    await until(() => a.node.connectedPeers().includes(b.node.id) && b.node.connectedPeers().includes('A'), `link A-${b.node.id}`, 15_000);
  }

  /** Waits until `end` has logged `n` lines matching `re`. */
  async function logged(end: MeshEnd, re: RegExp, n = 1): Promise<LogLine[]> {
    return until(
      () => {
        const hits = end.lines.filter((l) => re.test(text(l)));
        return hits.length >= n ? hits : undefined;
      },
      `${n} log line(s) on ${end.node.id} matching ${re}`,
      15_000,
    );
  }

  /** After the failures were observed: no link on either side, both nodes still running. */
  function stayedDown(a: MeshEnd, b: MeshEnd): void {
    expect(a.node.connectedPeers()).to.deep.equal([]);
    expect(b.node.connectedPeers()).to.deep.equal([]);
    expect(a.node.isShutdown || b.node.isShutdown).to.equal(false);
    expect(a.lines.concat(b.lines).some((l) => l.msg === 'Connection established')).to.equal(false);
  }

  /** The dialer keeps retrying: two redial log lines ("failed" or "exited (will retry)"). */
  const RETRY = /Backend connection (failed|exited) \(will retry\)/;

  for (const kind of ['tcp', 'ws'] as const) {
    describe(kind === 'tcp' ? 'TCP backend' : 'WebSocket backend', () => {
      it('links up with the right CA (client cert required and verified, correct SHA-512 server pin)', async () => {
        const {a, b} = await link(kind, {clientcas: f['ca.crt'], requireclientcert: true}, {rootcas: f['ca.crt'], pinnedservercert: [fp['a.crt']]});
        await linkedUp(a, b);
      });

      it('links up when dialling the DNS name localhost', async () => {
        const {a, b} = await link(kind, {}, {rootcas: f['ca.crt']}, {host: 'localhost'});
        await linkedUp(a, b);
      });

      it('stays down with a wrong CA (server certificate untrusted by the client)', async () => {
        const {a, b} = await link(kind, {}, {rootcas: f['other-ca.crt']});
        const [line] = await logged(b, /Backend connection failed \(will retry\)/, 2);
        expect(line!.level).to.equal('warn');
        // Go's text, not OpenSSL's ("unable to verify the first certificate")
        expect(line!.msg).to.equal('Backend connection failed (will retry): tls: failed to verify certificate: x509: certificate signed by unknown authority');
        stayedDown(a, b);
      });

      it('stays down with a missing client certificate when the server has clientcas (no requireclientcert)', async () => {
        const {a, b} = await link(kind, {clientcas: f['ca.crt']}, {rootcas: f['ca.crt']}, {tweakClient: ({cert: _c, key: _k, ...rest}) => rest});
        const [line] = await logged(a, /TLS handshake with backend peer failed/);
        expect(line!.err).to.equal('RVF failed: peer certificate missing');
        await logged(b, RETRY, 2);
        stayedDown(a, b);
      });

      it('stays down with a client certificate from another CA when the server has clientcas', async () => {
        const {a, b} = await link(kind, {clientcas: f['ca.crt'], requireclientcert: true}, {rootcas: f['ca.crt'], cert: f['b-untrusted.crt'], skipreceptornamescheck: true});
        const [line] = await logged(a, /TLS handshake with backend peer failed/);
        expect(line!.err).to.equal('tls: failed to verify certificate: x509: certificate signed by unknown authority');
        await logged(b, RETRY, 2);
        stayedDown(a, b);
      });

      it('stays down with requireclientcert but no clientcas: a private-CA client certificate fails the default roots', async () => {
        const {a, b} = await link(kind, {requireclientcert: true}, {rootcas: f['ca.crt']});
        const [line] = await logged(a, /TLS handshake with backend peer failed/);
        expect(line!.err).to.equal('tls: failed to verify certificate: x509: certificate signed by unknown authority');
        await logged(b, RETRY, 2);
        stayedDown(a, b);
      });

      it('stays down with a wrong pinned server fingerprint', async () => {
        const {a, b} = await link(kind, {}, {rootcas: f['ca.crt'], pinnedservercert: [fp['b.crt']]});
        const hits = await logged(b, /Backend connection failed \(will retry\): RVF failed: presented certificate does not match any pinned fingerprint/, 2);
        expect(hits[0]!.level).to.equal('warn');
        // and Go's own error line
        await logged(b, /^RVF failed: presented certificate does not match any pinned fingerprint/);
        stayedDown(a, b);
      });

      it('stays down with a wrong pinned client fingerprint when client certificates are requested', async () => {
        const {a, b} = await link(kind, {clientcas: f['ca.crt'], pinnedclientcert: [fp['a.crt']]}, {rootcas: f['ca.crt']});
        await logged(a, /TLS client certificate refused: RVF failed: presented certificate does not match any pinned fingerprint/);
        await logged(b, RETRY, 2);
        stayedDown(a, b);
      });

      it('the right pinned client fingerprint links up; a wrong one is ignored when no client certificate is requested', async () => {
        const ok = await link(kind, {clientcas: f['ca.crt'], pinnedclientcert: [fp['b.crt']]}, {rootcas: f['ca.crt']});
        await linkedUp(ok.a, ok.b);
        const ignored = await link(kind, {pinnedclientcert: [fp['a.crt']]}, {rootcas: f['ca.crt']});
        await linkedUp(ignored.a, ignored.b);
      });

      it('insecureskipverify links up with an untrusted server CA and a wrong pin', async () => {
        const {a, b} = await link(kind, {cert: f['a-untrusted.crt']}, {rootcas: f['ca.crt'], insecureskipverify: true, pinnedservercert: [fp['b.crt']]});
        await linkedUp(a, b);
      });

      it('a client certificate naming another node ID still links (no node-ID check on backends)', async () => {
        const {a, b} = await link(kind, {clientcas: f['ca.crt'], requireclientcert: true}, {rootcas: f['ca.crt'], cert: f['b-wrong-id.crt'], skipreceptornamescheck: true});
        await linkedUp(a, b);
        expect(a.node.connectedPeers()).to.deep.equal(['B']); // known under the ID it announced
      });

      it('verifypeernodeid on the tls-server: a client whose certificate names another node ID is rejected, both IDs logged', async () => {
        const {a, b} = await link(
          kind,
          {clientcas: f['ca.crt'], requireclientcert: true, verifypeernodeid: true},
          {rootcas: f['ca.crt'], cert: f['b-wrong-id.crt'], skipreceptornamescheck: true},
        );
        const [line] = await logged(a, /^Rejecting connection: /);
        expect(line!.level).to.equal('warn');
        expect(line!.msg).to.equal('Rejecting connection: it claims node ID B but its TLS certificate names node IDs [X]');
        const [told] = await logged(b, /^Connection rejected by /);
        expect(told!.msg).to.match(/: A refuses peer node ID "B": its TLS certificate names node IDs \[X\] \(verifypeernodeid\)$/);
        // B may count the link as up until the reject arrives; A never does
        expect(a.lines.some((l) => l.msg === 'Connection established')).to.equal(false);
        await until(() => b.node.connectedPeers().length === 0 || undefined, 'B without the link');
        expect(a.node.connectedPeers()).to.deep.equal([]);
      });

      it('verifypeernodeid on both sides links up when each certificate names its node ID', async () => {
        const {a, b} = await link(kind, {clientcas: f['ca.crt'], requireclientcert: true, verifypeernodeid: true}, {rootcas: f['ca.crt'], verifypeernodeid: true});
        await linkedUp(a, b);
      });

      it('verifypeernodeid on the tls-client: a listener whose certificate names another node ID is rejected', async () => {
        // the listener's certificate names A; it runs as node B2 (skipreceptornamescheck lets it start)
        const {a, b} = await link(kind, {skipreceptornamescheck: true}, {rootcas: f['ca.crt'], verifypeernodeid: true}, {listenerNodeId: 'B2'});
        const [line] = await logged(b, /^Rejecting connection: /);
        expect(line!.msg).to.equal('Rejecting connection: it claims node ID B2 but its TLS certificate names node IDs [A]');
        expect(a.node.connectedPeers()).to.deep.equal([]);
        expect(b.node.connectedPeers()).to.deep.equal([]);
      });

      for (const [when, file] of [
        ['expired', 'expired'],
        ['not yet valid', 'future'],
      ] as const) {
        it(`stays down when the listener's certificate is ${when} (the dialer logs why)`, async () => {
          const {a, b} = await link(kind, {cert: f[`a-${file}.crt`]}, {rootcas: f['ca.crt']});
          const [line] = await logged(b, /Backend connection failed \(will retry\)/, 2);
          expect(line!.msg).to.equal('Backend connection failed (will retry): tls: failed to verify certificate: x509: certificate has expired or is not yet valid');
          stayedDown(a, b);
        });

        it(`stays down when the dialer's client certificate is ${when} (the listener logs why)`, async () => {
          const {a, b} = await link(kind, {clientcas: f['ca.crt'], requireclientcert: true}, {rootcas: f['ca.crt'], cert: f[`b-${file}.crt`]});
          const [line] = await logged(a, /TLS handshake with backend peer failed/);
          expect(line!.err).to.equal('tls: failed to verify certificate: x509: certificate has expired or is not yet valid');
          await logged(b, RETRY, 2);
          stayedDown(a, b);
        });
      }

      it('mintls13 on one side links up with the default flavour on the other', async () => {
        const {a, b} = await link(kind, {mintls13: true}, {rootcas: f['ca.crt']});
        await linkedUp(a, b);
      });
    });
  }
});
