/**
 * QUIC v1 key derivation: HKDF (RFC 5869), HKDF-Expand-Label (RFC 8446 §7.1), Initial secrets
 * (RFC 9001 §5.2), packet keys (§5.1) and the key update (§6).
 */
import {createHmac} from 'node:crypto';

export type HashName = 'sha256' | 'sha384';

/** TLS 1.3 cipher suites usable with QUIC v1 (RFC 9001 §5.3; CCM is not offered by quic-go). */
export interface CipherSuite {
  id: number;
  name: 'TLS_AES_128_GCM_SHA256' | 'TLS_AES_256_GCM_SHA384' | 'TLS_CHACHA20_POLY1305_SHA256';
  hash: HashName;
  hashLength: number;
  /** node:crypto AEAD name. */
  aead: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  keyLength: number;
  /** Header protection algorithm (RFC 9001 §5.4.3/§5.4.4). */
  hp: 'aes-128-ecb' | 'aes-256-ecb' | 'chacha20';
}

export const TLS_AES_128_GCM_SHA256: CipherSuite = Object.freeze({
  id: 0x1301,
  name: 'TLS_AES_128_GCM_SHA256',
  hash: 'sha256',
  hashLength: 32,
  aead: 'aes-128-gcm',
  keyLength: 16,
  hp: 'aes-128-ecb',
});
export const TLS_AES_256_GCM_SHA384: CipherSuite = Object.freeze({
  id: 0x1302,
  name: 'TLS_AES_256_GCM_SHA384',
  hash: 'sha384',
  hashLength: 48,
  aead: 'aes-256-gcm',
  keyLength: 32,
  hp: 'aes-256-ecb',
});
export const TLS_CHACHA20_POLY1305_SHA256: CipherSuite = Object.freeze({
  id: 0x1303,
  name: 'TLS_CHACHA20_POLY1305_SHA256',
  hash: 'sha256',
  hashLength: 32,
  aead: 'chacha20-poly1305',
  keyLength: 32,
  hp: 'chacha20',
});

export const CIPHER_SUITES: readonly CipherSuite[] = [TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256];

export function cipherSuiteById(id: number): CipherSuite | undefined {
  return CIPHER_SUITES.find((s) => s.id === id);
}

/** QUIC v1 version number. */
export const QUIC_V1 = 0x00000001;

/** RFC 9001 §5.2 initial_salt for QUIC v1. */
export const INITIAL_SALT_V1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');

const hashLengths: Record<HashName, number> = {sha256: 32, sha384: 48};

export function hkdfExtract(hash: HashName, salt: Uint8Array, ikm: Uint8Array): Buffer {
  // RFC 5869: an empty salt means HashLen zero bytes.
  const key = salt.length === 0 ? Buffer.alloc(hashLengths[hash]) : salt;
  return createHmac(hash, key).update(ikm).digest();
}

export function hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const hl = hashLengths[hash];
  if (length > 255 * hl) throw new RangeError('HKDF-Expand length too large');
  const out = Buffer.alloc(length);
  let prev: Buffer = Buffer.alloc(0);
  let done = 0;
  for (let i = 1; done < length; i++) {
    prev = createHmac(hash, prk).update(prev).update(info).update(Buffer.of(i)).digest();
    done += prev.copy(out, done);
  }
  return out;
}

/** HKDF-Expand-Label with the "tls13 " prefix (RFC 8446 §7.1). */
export function hkdfExpandLabel(hash: HashName, secret: Uint8Array, label: string, context: Uint8Array, length: number): Buffer {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'ascii');
  const info = Buffer.alloc(2 + 1 + fullLabel.length + 1 + context.length);
  info.writeUInt16BE(length, 0);
  info[2] = fullLabel.length;
  fullLabel.copy(info, 3);
  info[3 + fullLabel.length] = context.length;
  Buffer.from(context).copy(info, 4 + fullLabel.length);
  return hkdfExpand(hash, secret, info, length);
}

/** Client and server Initial secrets from the client's first Destination Connection ID. */
export function initialSecrets(dcid: Uint8Array): {client: Buffer; server: Buffer} {
  const initial = hkdfExtract('sha256', INITIAL_SALT_V1, dcid);
  return {
    client: hkdfExpandLabel('sha256', initial, 'client in', Buffer.alloc(0), 32),
    server: hkdfExpandLabel('sha256', initial, 'server in', Buffer.alloc(0), 32),
  };
}

/** AEAD key, IV and header protection key of one direction at one epoch. */
export interface PacketKeys {
  suite: CipherSuite;
  /** The traffic secret the keys came from (kept for the key update). */
  secret: Buffer;
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

export function derivePacketKeys(suite: CipherSuite, secret: Uint8Array): PacketKeys {
  const s = Buffer.from(secret);
  return {
    suite,
    secret: s,
    key: hkdfExpandLabel(suite.hash, s, 'quic key', Buffer.alloc(0), suite.keyLength),
    iv: hkdfExpandLabel(suite.hash, s, 'quic iv', Buffer.alloc(0), 12),
    hp: hkdfExpandLabel(suite.hash, s, 'quic hp', Buffer.alloc(0), suite.keyLength),
  };
}

/** Initial packet keys of both directions (always TLS_AES_128_GCM_SHA256). */
export function initialKeys(dcid: Uint8Array): {client: PacketKeys; server: PacketKeys} {
  const {client, server} = initialSecrets(dcid);
  return {client: derivePacketKeys(TLS_AES_128_GCM_SHA256, client), server: derivePacketKeys(TLS_AES_128_GCM_SHA256, server)};
}

/** Next generation secret (RFC 9001 §6.1): HKDF-Expand-Label(secret, "quic ku", "", Hash.length). */
export function nextTrafficSecret(suite: CipherSuite, secret: Uint8Array): Buffer {
  return hkdfExpandLabel(suite.hash, secret, 'quic ku', Buffer.alloc(0), suite.hashLength);
}

/** Keys after a key update: new key and IV; the header protection key is not updated (§6). */
export function updatePacketKeys(keys: PacketKeys): PacketKeys {
  const secret = nextTrafficSecret(keys.suite, keys.secret);
  const next = derivePacketKeys(keys.suite, secret);
  return {...next, hp: keys.hp};
}
