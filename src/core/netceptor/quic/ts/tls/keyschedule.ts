import {createHash, createHmac} from 'node:crypto';
import {hkdfExpandLabel, hkdfExtract, type HashName} from '../keys.js';

export {hkdfExpandLabel, hkdfExtract};

/** TLS 1.3 cipher suites (RFC 8446 §B.4) with their hash; the AEAD belongs to QUIC. */
export const CIPHER_SUITES: Record<number, {hash: 'sha256' | 'sha384'; hashLen: number}> = {
  0x1301: {hash: 'sha256', hashLen: 32},
  0x1302: {hash: 'sha384', hashLen: 48},
  0x1303: {hash: 'sha256', hashLen: 32},
};

export function hashOf(hash: string, data: Buffer | Buffer[]): Buffer {
  const h = createHash(hash);
  for (const d of Array.isArray(data) ? data : [data]) h.update(d);
  return h.digest();
}

/** Derive-Secret(Secret, Label, Messages) with the transcript hash already computed. */
export function deriveSecret(hash: HashName, secret: Buffer, label: string, transcriptHash: Buffer): Buffer {
  return hkdfExpandLabel(hash, secret, label, transcriptHash, transcriptHash.length);
}

/** The RFC 8446 §7.1 key schedule without PSK. */
export class KeySchedule {
  readonly hashLen: number;
  private readonly emptyHash: Buffer;
  readonly earlySecret: Buffer;
  handshakeSecret?: Buffer;
  masterSecret?: Buffer;

  constructor(readonly hash: HashName) {
    this.emptyHash = hashOf(hash, Buffer.alloc(0));
    this.hashLen = this.emptyHash.length;
    this.earlySecret = hkdfExtract(hash, Buffer.alloc(this.hashLen), Buffer.alloc(this.hashLen));
  }

  /** Mixes in the (EC)DHE secret; returns [client, server] handshake traffic secrets. */
  handshake(sharedSecret: Buffer, helloHash: Buffer): [Buffer, Buffer] {
    const derived = deriveSecret(this.hash, this.earlySecret, 'derived', this.emptyHash);
    this.handshakeSecret = hkdfExtract(this.hash, derived, sharedSecret);
    const derived2 = deriveSecret(this.hash, this.handshakeSecret, 'derived', this.emptyHash);
    this.masterSecret = hkdfExtract(this.hash, derived2, Buffer.alloc(this.hashLen));
    return [deriveSecret(this.hash, this.handshakeSecret, 'c hs traffic', helloHash), deriveSecret(this.hash, this.handshakeSecret, 's hs traffic', helloHash)];
  }

  /** [client, server] application traffic secrets from the hash through the server Finished. */
  application(serverFinishedHash: Buffer): [Buffer, Buffer] {
    if (!this.masterSecret) throw new Error('key schedule: no master secret yet');
    return [deriveSecret(this.hash, this.masterSecret, 'c ap traffic', serverFinishedHash), deriveSecret(this.hash, this.masterSecret, 's ap traffic', serverFinishedHash)];
  }

  /** verify_data of a Finished message (RFC 8446 §4.4.4). */
  finished(baseKey: Buffer, transcriptHash: Buffer): Buffer {
    const key = hkdfExpandLabel(this.hash, baseKey, 'finished', Buffer.alloc(0), this.hashLen);
    return createHmac(this.hash, key).update(transcriptHash).digest();
  }
}
