/**
 * Fuzz target 7: certificate parsers (src/core/pki, src/core/tls). Random bytes and mutated
 * DER/PEM of a real CA certificate, node certificate, request and keys go through the PEM
 * loader, the DER and X.509 decoders, the subjectAltName / node-ID reader, the request
 * parser (signature check included) and the fingerprint parser: each returns or throws an
 * Error with a message (Error, DerError, a ReceptorError), never a TypeError or RangeError, a
 * crash or a hang.
 */
import {expect} from 'chai';
import fc from 'fast-check';
import {createPublicKey, X509Certificate} from 'node:crypto';
import {decode, DerError} from '../../src/core/pki/der.js';
import {certificateNames, parseSubjectAltName} from '../../src/core/pki/names.js';
import {loadFromPem} from '../../src/core/pki/pem-file.js';
import {createCa, createCsr, decodeCertificate, decodeCsr, describeCertificate, parseCsr, signCsr, verifyCertificateSignature} from '../../src/core/pki/x509.js';
import {parseFingerprints} from '../../src/core/tls/config.js';
import {ReceptorError} from '../../src/core/errors.js';
import {mutate, mutation} from '../support/arbitraries.js';
import {fuzz, fuzzSettings} from '../support/fuzz.js';
import {tally} from '../support/tally.js';

/** Error classes a parser may throw: a plain Error with Go's text, or one of ours. */
function clearError(err: unknown): void {
  expect(err, String(err)).to.be.instanceOf(Error);
  const e = err as Error;
  const ok = e.constructor === Error || e instanceof DerError || e instanceof ReceptorError;
  expect(ok, `${e.constructor.name} escaped: ${e.stack}`).to.equal(true);
  expect(e.message.length).to.be.greaterThan(0);
}

function attempt(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    clearError(err);
  }
}

function pem(type: string, der: Buffer): string {
  return `-----BEGIN ${type}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END ${type}-----\n`;
}

describe('fuzz: certificate parsers', function () {
  this.timeout(0);
  const seeds: Array<{type: string; der: Buffer}> = [];
  let caPem = '';

  before(async () => {
    tally('targets');
    const ca = await createCa({commonName: 'Fuzz CA', bits: 1024});
    const req = await createCsr({commonName: 'node', nodeIds: ['foo', 'bar'], dnsNames: ['foo.example'], ipAddresses: ['127.0.0.1', '::1'], bits: 1024});
    const cert = signCsr({csrPem: req.csrPem, caCertPem: ca.certPem, caKeyPem: ca.key});
    caPem = ca.certPem;
    seeds.push(
      {type: 'CERTIFICATE', der: ca.certDer},
      {type: 'CERTIFICATE', der: cert.certDer},
      {type: 'CERTIFICATE REQUEST', der: req.csrDer},
      {type: 'RSA PRIVATE KEY', der: req.key.export({type: 'pkcs1', format: 'der'})},
      {type: 'PRIVATE KEY', der: req.key.export({type: 'pkcs8', format: 'der'})},
      {type: 'PUBLIC KEY', der: createPublicKey(req.key).export({type: 'spki', format: 'der'})},
    );
    expect(certificateNames(cert.certPem).nodeIds).to.deep.equal(['foo', 'bar']);
  });

  it('DER: random and mutated certificates, requests and keys', () => {
    const input = fc.oneof(
      {weight: 1, arbitrary: fc.uint8Array({maxLength: 300}).map((b) => ({seed: -1, der: Buffer.from(b)}))},
      {weight: 5, arbitrary: fc.tuple(fc.nat(5), fc.array(mutation, {minLength: 1, maxLength: 5})).map(([i, ms]) => ({seed: i, ms}))},
    );
    fuzz(fuzzSettings('certs-der', 0xce71, 500), input, (v) => {
      const der = 'der' in v ? v.der : mutate(seeds[v.seed]!.der, v.ms);
      attempt(() => decode(der));
      attempt(() => decodeCertificate(der));
      attempt(() => decodeCsr(der));
      attempt(() => certificateNames(der));
      attempt(() => parseSubjectAltName(der));
      attempt(() => describeCertificate(der));
      attempt(() => parseCsr(pem('CERTIFICATE REQUEST', der)));
      attempt(() => verifyCertificateSignature(der, caPem));
      // Node's parser is the reference: what it cannot read, ours must refuse too.
      let nodeReads = true;
      try {
        new X509Certificate(der);
      } catch {
        nodeReads = false;
      }
      if (!nodeReads) attempt(() => loadFromPem(pem('CERTIFICATE', der)));
    });
  });

  it('PEM: mutated files of every block type, and fingerprints', () => {
    const input = fc.record({
      seeds: fc.array(fc.nat(5), {minLength: 1, maxLength: 3}),
      ms: fc.array(mutation, {maxLength: 5}),
      pins: fc.array(
        fc.oneof(
          fc.string({maxLength: 20}),
          fc.string({unit: fc.constantFrom(...'0123456789abcdefABCDEF:'.split('')), minLength: 64, maxLength: 64}),
          fc.constantFrom('', ':', 'zz'.repeat(32)),
        ),
        {maxLength: 2},
      ),
    });
    fuzz(fuzzSettings('certs-pem', 0xce72, 800), input, ({seeds: picks, ms, pins}) => {
      const text = Buffer.from(picks.map((i) => pem(seeds[i]!.type, seeds[i]!.der)).join(''));
      const mutated = mutate(text, ms);
      attempt(() => loadFromPem(mutated));
      attempt(() => certificateNames(mutated.toString('latin1')));
      attempt(() => parseFingerprints(pins));
    });
  });
});
