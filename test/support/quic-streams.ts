/**
 * Helpers for tests that move data over QUIC streams (QuicConnection's Duplex): random data
 * written with backpressure and hashed, reads to the end, the listener's next connection or
 * refusal, the certificates the suites dial with. Shared by the engine matrix
 * (test/unit/quic/engine.test.ts) and the TS engine's connection tests.
 */
import {expect} from 'chai';
import {createHash, randomFillSync} from 'node:crypto';
import {once} from 'node:events';
import type {Readable, Writable} from 'node:stream';
import type {QuicConnection, QuicListener} from '../../src/core/netceptor/quic/stream.js';
import {createCa, createCsr, createInsecureStreamCert, signCsr} from '../../src/core/pki/x509.js';

/** Writes `size` random bytes with backpressure, then ends; resolves to their SHA-256. */
export async function pumpRandom(w: Writable, size: number): Promise<string> {
  const h = createHash('sha256');
  let left = size;
  while (left > 0) {
    const n = Math.min(64 * 1024, left);
    const b = randomFillSync(Buffer.allocUnsafe(n));
    h.update(b);
    left -= n;
    if (!w.write(b)) await once(w, 'drain');
  }
  w.end();
  return h.digest('hex');
}

/** Reads to the end; resolves to the SHA-256 and length. */
export function hashAll(r: Readable): Promise<{hash: string; bytes: number}> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    r.on('data', (d: Buffer) => {
      bytes += d.length;
      h.update(d);
    });
    r.on('end', () => resolve({hash: h.digest('hex'), bytes}));
    r.on('error', reject);
  });
}

/** Reads to the end; resolves to all the bytes. */
export function readAll(r: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    r.on('data', (d: Buffer) => chunks.push(d));
    r.on('end', () => resolve(Buffer.concat(chunks)));
    r.on('error', reject);
  });
}

/** The error `p` rejects with; throws when it resolves. */
export async function expectReject(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

export function nextConnection(l: QuicListener): Promise<QuicConnection> {
  return once(l, 'connection').then(([c]) => c as QuicConnection);
}

export function nextRefusal(l: QuicListener): Promise<Error> {
  return once(l, 'refused').then(([, e]) => e as Error);
}

/** `size` random bytes each way at once, lengths and SHA-256s checked; returns the elapsed ms. */
export async function bidirectionalTransfer(client: QuicConnection, server: QuicConnection, size: number): Promise<number> {
  const t0 = Date.now();
  const [sentUp, sentDown, gotUp, gotDown] = await Promise.all([pumpRandom(client.stream, size), pumpRandom(server.stream, size), hashAll(server.stream), hashAll(client.stream)]);
  const ms = Date.now() - t0;
  expect(gotUp.bytes).to.equal(size);
  expect(gotDown.bytes).to.equal(size);
  expect(gotUp.hash).to.equal(sentUp);
  expect(gotDown.hash).to.equal(sentDown);
  return ms;
}

export interface QuicTestCerts {
  /** Receptor's insecure stream certificate (plain mode). */
  insecure: {certPem: string; keyPem: string};
  /** The CA ("Test CA") that signs the two node certificates. */
  ca: {certPem: string; keyPem: string};
  /** Node B's certificate (node ID B), the listener in verified mode. */
  serverB: {certPem: string; keyPem: string};
  /** Node A's certificate (node ID A), the dialer in verified mode. */
  clientA: {certPem: string; keyPem: string};
}

export async function quicTestCerts(): Promise<QuicTestCerts> {
  const [insecure, ca] = await Promise.all([createInsecureStreamCert(), createCa({commonName: 'Test CA'})]);
  const [csrB, csrA] = await Promise.all([createCsr({commonName: 'B', nodeIds: ['B']}), createCsr({commonName: 'A', nodeIds: ['A']})]);
  const serverB = {certPem: signCsr({csrPem: csrB.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem}).certPem, keyPem: csrB.keyPem};
  const clientA = {certPem: signCsr({csrPem: csrA.csrPem, caCertPem: ca.certPem, caKeyPem: ca.keyPem}).certPem, keyPem: csrA.keyPem};
  return {insecure, ca, serverB, clientA};
}
