import {execFileSync} from 'node:child_process';
import {createPrivateKey, type KeyObject} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {createCa, createCsr, loadCertificatePem, signCsr} from '../../../src/core/pki/x509.js';
import {TlsHandshake, type Level, type TlsHandshakeOptions} from '../../../src/core/netceptor/quic/ts/tls/handshake.js';

export interface Identity {
  chain: Buffer[];
  key: KeyObject;
  ca: Buffer;
}

/** An RSA CA and a leaf signed by it, made with the project's pki tools. */
export async function rsaIdentity(name: string): Promise<Identity> {
  const ca = await createCa({commonName: `${name} CA`});
  const csr = await createCsr({commonName: name, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], nodeIds: [name]});
  const leaf = signCsr({csrPem: csr.csrPem, caCertPem: ca.certPem, caKeyPem: ca.key});
  return {chain: [leaf.certDer], key: csr.key, ca: ca.certDer};
}

/** An ECDSA (P-256 or P-384) or Ed25519 CA and leaf made with the openssl CLI (the pki tools are RSA only). */
export function ecIdentity(name: string, curve = 'P-256', intermediate = false): Identity {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtls-'));
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, {cwd: dir, stdio: 'pipe'});
  };
  try {
    const newKey = curve === 'ed25519' ? ['-newkey', 'ed25519', '-nodes'] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-nodes'];
    run(
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-subj',
      `/CN=${name} CA`,
      '-days',
      '2',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,digitalSignature',
    );
    let issuer = 'ca';
    const chain: Buffer[] = [];
    if (intermediate) {
      fs.writeFileSync(path.join(dir, 'inter.cnf'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,digitalSignature\n');
      run('req', '-new', ...newKey, '-keyout', 'inter.key', '-out', 'inter.csr', '-subj', `/CN=${name} intermediate`);
      run('x509', '-req', '-in', 'inter.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'inter.crt', '-days', '2', '-extfile', 'inter.cnf');
      issuer = 'inter';
    }
    run('req', '-new', ...newKey, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=${name}`);
    fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    run('x509', '-req', '-in', 'leaf.csr', '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-out', 'leaf.crt', '-days', '2', '-extfile', 'ext.cnf');
    chain.push(loadCertificatePem(fs.readFileSync(path.join(dir, 'leaf.crt'))));
    if (intermediate) chain.push(loadCertificatePem(fs.readFileSync(path.join(dir, 'inter.crt'))));
    return {
      chain,
      key: createPrivateKey(fs.readFileSync(path.join(dir, 'leaf.key'))),
      ca: loadCertificatePem(fs.readFileSync(path.join(dir, 'ca.crt'))),
    };
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

export const TP_CLIENT = Buffer.from('0104000075300302450c', 'hex');
export const TP_SERVER = Buffer.from('0104000075300f08aabbccdd11223344', 'hex');

export function clientOpts(over: Partial<TlsHandshakeOptions> = {}): TlsHandshakeOptions {
  return {role: 'client', alpn: ['netceptor'], serverName: 'node-a', transportParams: TP_CLIENT, verifyPeer: false, ...over};
}

export function serverOpts(id: Identity, over: Partial<TlsHandshakeOptions> = {}): TlsHandshakeOptions {
  return {role: 'server', alpn: ['netceptor'], transportParams: TP_SERVER, certChain: id.chain, privateKey: id.key, verifyPeer: false, ...over};
}

export interface Pair {
  client: TlsHandshake;
  server: TlsHandshake;
  secrets: {client: ReturnType<TlsHandshake['takeSecrets']>; server: ReturnType<TlsHandshake['takeSecrets']>};
  /** Every flight as delivered, per direction. */
  flights: Array<{from: 'client' | 'server'; level: Level; data: Buffer}>;
}

/**
 * Runs both sides in memory until neither has output. `chunk` splits every delivery into pieces
 * of at most that many bytes; `tamper` may rewrite a message in flight.
 */
export function runPair(
  copts: TlsHandshakeOptions,
  sopts: TlsHandshakeOptions,
  opt: {chunk?: number; tamper?: (from: 'client' | 'server', level: Level, data: Buffer) => Buffer} = {},
): Pair {
  const client = new TlsHandshake(copts);
  const server = new TlsHandshake(sopts);
  const pair: Pair = {client, server, secrets: {client: [], server: []}, flights: []};
  client.start();
  for (let round = 0; round < 20; round++) {
    let moved = false;
    for (const [from, a, b] of [
      ['client', client, server],
      ['server', server, client],
    ] as const) {
      pair.secrets[from].push(...a.takeSecrets());
      for (const o of a.takeOutput()) {
        moved = true;
        const data = opt.tamper ? opt.tamper(from, o.level, o.data) : o.data;
        pair.flights.push({from, level: o.level, data});
        const step = opt.chunk ?? data.length;
        for (let i = 0; i < data.length; i += Math.max(step, 1)) b.receive(o.level, data.subarray(i, i + step));
      }
    }
    if (!moved) break;
  }
  pair.secrets.client.push(...client.takeSecrets());
  pair.secrets.server.push(...server.takeSecrets());
  return pair;
}
