/**
 * Packet protection (RFC 9001 §5.3) and header protection (§5.4), plus the AEAD usage limits
 * (§6.6). Open failures give null; nothing here throws on peer input.
 */
import {createCipheriv, createDecipheriv, type Cipher, type CipherGCMTypes} from 'node:crypto';
// chacha20-poly1305 takes the same options as GCM; the cast only picks the typed overload.
import {updatePacketKeys, type PacketKeys} from './keys.js';
import {decodePacketNumber} from './packet-number.js';

export const AEAD_TAG_LENGTH = 16;
export const HP_SAMPLE_LENGTH = 16;

/** Per-suite limits (RFC 9001 §6.6): packets sealed with, and forgeries tolerated on, one key. */
export interface AeadLimits {
  confidentiality: number;
  integrity: number;
}

export function aeadLimits(keys: PacketKeys): AeadLimits {
  if (keys.suite.aead === 'chacha20-poly1305') return {confidentiality: Number.MAX_SAFE_INTEGER, integrity: 2 ** 36};
  return {confidentiality: 2 ** 23, integrity: 2 ** 52};
}

/**
 * Smallest plaintext payload for a packet number length so that the header protection sample
 * (4 bytes after the packet number offset, 16 long) fits: RFC 9001 §5.4.2.
 */
export function minPayloadForSample(pnLength: number): number {
  return Math.max(0, 4 - pnLength);
}

/** nonce = iv XOR packet number left-padded to the IV length (RFC 9001 §5.3). */
export function packetNonce(iv: Uint8Array, pn: number): Buffer {
  const nonce = Buffer.from(iv);
  let x = pn;
  for (let i = nonce.length - 1; i >= nonce.length - 8 && x > 0; i--) {
    nonce[i] = (nonce[i] as number) ^ (x % 256);
    x = Math.floor(x / 256);
  }
  return nonce;
}

/** AEAD-seals payload with header as AAD; returns ciphertext || tag. */
export function sealPayload(keys: PacketKeys, pn: number, header: Uint8Array, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(payload.length + AEAD_TAG_LENGTH);
  sealPayloadInto(keys, pn, header, payload, out, 0);
  return out;
}

/** Writes ciphertext || tag into out at off (payload.length + 16 bytes); returns the end. */
export function sealPayloadInto(keys: PacketKeys, pn: number, header: Uint8Array, payload: Uint8Array, out: Uint8Array, off: number): number {
  const c = createCipheriv(keys.suite.aead as CipherGCMTypes, keys.key, packetNonce(keys.iv, pn), {authTagLength: AEAD_TAG_LENGTH});
  c.setAAD(header, {plaintextLength: payload.length});
  let end = off;
  const a = c.update(payload);
  out.set(a, end);
  end += a.length;
  const b = c.final();
  out.set(b, end);
  end += b.length;
  out.set(c.getAuthTag(), end);
  return end + AEAD_TAG_LENGTH;
}

/** Opens ciphertext || tag; null on authentication failure or short input. */
export function openPayload(keys: PacketKeys, pn: number, header: Uint8Array, sealed: Uint8Array): Buffer | null {
  if (sealed.length < AEAD_TAG_LENGTH) return null;
  try {
    const d = createDecipheriv(keys.suite.aead as CipherGCMTypes, keys.key, packetNonce(keys.iv, pn), {authTagLength: AEAD_TAG_LENGTH});
    d.setAuthTag(sealed.subarray(sealed.length - AEAD_TAG_LENGTH));
    const ct = sealed.subarray(0, sealed.length - AEAD_TAG_LENGTH);
    d.setAAD(header, {plaintextLength: ct.length});
    const a = d.update(ct);
    const b = d.final();
    return b.length === 0 ? a : Buffer.concat([a, b]);
  } catch {
    return null;
  }
}

/** Five-byte header protection mask from a 16-byte sample (RFC 9001 §5.4.3, §5.4.4). */
export function headerProtectionMask(keys: PacketKeys, sample: Uint8Array): Buffer {
  if (keys.suite.hp === 'chacha20') {
    // node's chacha20 IV is counter (4 bytes, little-endian) || nonce (12): exactly the sample.
    const c = createCipheriv('chacha20', keys.hp, sample.subarray(0, 16));
    return c.update(Buffer.alloc(5));
  }
  // ECB keeps no state between whole blocks, so one cipher per hp key serves every packet.
  let c = ecbCiphers.get(keys.hp);
  if (c === undefined) {
    c = createCipheriv(keys.suite.hp, keys.hp, null);
    c.setAutoPadding(false);
    ecbCiphers.set(keys.hp, c);
  }
  return c.update(sample.subarray(0, 16)).subarray(0, 5);
}

const ecbCiphers = new WeakMap<Buffer, Cipher>();

/**
 * Applies header protection in place to a packet whose payload is already sealed. pnOffset is
 * the offset of the packet number field, pnLength its length (1-4).
 */
export function protectHeader(keys: PacketKeys, packet: Uint8Array, pnOffset: number, pnLength: number): void {
  const sample = packet.subarray(pnOffset + 4, pnOffset + 4 + HP_SAMPLE_LENGTH);
  if (sample.length < HP_SAMPLE_LENGTH) throw new RangeError('packet too short for header protection sample');
  const mask = headerProtectionMask(keys, sample);
  const first = packet[0] as number;
  packet[0] = first ^ ((mask[0] as number) & ((first & 0x80) !== 0 ? 0x0f : 0x1f));
  for (let i = 0; i < pnLength; i++) packet[pnOffset + i] = (packet[pnOffset + i] as number) ^ (mask[1 + i] as number);
}

/**
 * Removes header protection in place; returns the packet number length and truncated packet
 * number, or null if the packet is too short to sample.
 */
export function unprotectHeader(keys: PacketKeys, packet: Uint8Array, pnOffset: number): {pnLength: number; truncatedPn: number} | null {
  if (pnOffset < 1 || pnOffset + 4 + HP_SAMPLE_LENGTH > packet.length) return null;
  const mask = headerProtectionMask(keys, packet.subarray(pnOffset + 4, pnOffset + 4 + HP_SAMPLE_LENGTH));
  const first = packet[0] as number;
  const unmasked = first ^ ((mask[0] as number) & ((first & 0x80) !== 0 ? 0x0f : 0x1f));
  packet[0] = unmasked;
  const pnLength = (unmasked & 0x03) + 1;
  let pn = 0;
  for (let i = 0; i < pnLength; i++) {
    const b = (packet[pnOffset + i] as number) ^ (mask[1 + i] as number);
    packet[pnOffset + i] = b;
    pn = pn * 256 + b;
  }
  return {pnLength, truncatedPn: pn};
}

/**
 * Usage counters of one key (RFC 9001 §6.6): packets sealed and packets that failed to open.
 * The connection initiates a key update before `confidentialityReached` and closes with
 * AEAD_LIMIT_REACHED once `integrityExceeded`.
 */
export class KeyUsage {
  sealed = 0;
  openFailures = 0;
  readonly limits: AeadLimits;
  constructor(keys: PacketKeys) {
    this.limits = aeadLimits(keys);
  }
  get confidentialityReached(): boolean {
    return this.sealed >= this.limits.confidentiality;
  }
  get integrityExceeded(): boolean {
    return this.openFailures >= this.limits.integrity;
  }
}

/** Packet number bytes put back after a failed in-place open (open() is synchronous, so one buffer serves all). */
const SAVED_PN = Buffer.alloc(4);

/** One direction's packet protection: keys plus usage counters. */
export class PacketProtector {
  readonly usage: KeyUsage;
  constructor(readonly keys: PacketKeys) {
    this.usage = new KeyUsage(keys);
  }

  /**
   * Seals a packet: `header` ends with the (unprotected) packet number of pnLength bytes at
   * pnOffset; returns header || ciphertext || tag with header protection applied. The caller
   * pads so that pnOffset + 4 + 16 <= total length (RFC 9001 §5.4.2).
   */
  seal(header: Uint8Array, pnOffset: number, pnLength: number, pn: number, payload: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(header.length + payload.length + AEAD_TAG_LENGTH);
    out.set(header, 0);
    sealPayloadInto(this.keys, pn, header, payload, out, header.length);
    protectHeader(this.keys, out, pnOffset, pnLength);
    this.usage.sealed++;
    return out;
  }

  /** As seal, but writes into `out` at `offset` (e.g. a datagram being coalesced); returns the end. */
  sealInto(out: Uint8Array, offset: number, header: Uint8Array, pnOffset: number, pnLength: number, pn: number, payload: Uint8Array): number {
    const total = header.length + payload.length + AEAD_TAG_LENGTH;
    if (offset + total > out.length) throw new RangeError('sealInto: buffer too small');
    out.set(header, offset);
    sealPayloadInto(this.keys, pn, header, payload, out, offset + header.length);
    protectHeader(this.keys, out.subarray(offset, offset + total), pnOffset, pnLength);
    this.usage.sealed++;
    return offset + total;
  }

  /**
   * Opens one packet (the packet's bytes only, not the rest of a datagram) with the packet
   * number offset known from the header parse (inPlace: see below). `largestPn` is the largest packet number
   * received in this space so far (-1 for none). The input is not modified. Returns null when
   * header protection or the AEAD fails.
   */
  open(packet: Uint8Array, pnOffset: number, largestPn: number, inPlace = false): OpenedPacket | null {
    // In place: header protection is removed in `packet` itself; on failure the few header bytes
    // are put back so that the caller may try other keys (e.g. the next key phase).
    const copy = inPlace ? Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength) : Buffer.from(packet);
    // Header protection touches only the first byte and the packet number bytes.
    const saved0 = copy[0] as number;
    copy.copy(SAVED_PN, 0, pnOffset, pnOffset + 4);
    const hp = unprotectHeader(this.keys, copy, pnOffset);
    if (hp === null) return null;
    const pn = decodePacketNumber(largestPn, hp.truncatedPn, hp.pnLength * 8);
    const headerEnd = pnOffset + hp.pnLength;
    const payload = openPayload(this.keys, pn, copy.subarray(0, headerEnd), copy.subarray(headerEnd));
    if (payload === null) {
      this.usage.openFailures++;
      if (inPlace) {
        copy[0] = saved0;
        SAVED_PN.copy(copy, pnOffset);
      }
      return null;
    }
    return {pn, pnLength: hp.pnLength, firstByte: copy[0] as number, header: copy.subarray(0, headerEnd), payload};
  }
}

export interface OpenedPacket {
  pn: number;
  pnLength: number;
  /** First byte with header protection removed (reserved bits, key phase visible). */
  firstByte: number;
  header: Buffer;
  payload: Buffer;
}

/**
 * 1-RTT keys across key updates (RFC 9001 §6): the current generation, the next one derived
 * ahead (to try on a flipped Key Phase bit) and the previous read keys (for reordered packets).
 * Header protection keys never change. When to switch (a peer packet with the flipped bit that
 * opens with the next keys, or our own update once the previous one is acknowledged) is the
 * connection's decision; this only holds and rotates the keys.
 */
export class KeyPhaseState {
  /** Key Phase bit of the current generation. */
  phase = false;
  /** Updates done so far. */
  generation = 0;
  read: PacketProtector;
  write: PacketProtector;
  nextRead: PacketProtector;
  nextWrite: PacketProtector;
  previousRead: PacketProtector | null = null;

  constructor(read: PacketKeys, write: PacketKeys) {
    this.read = new PacketProtector(read);
    this.write = new PacketProtector(write);
    this.nextRead = new PacketProtector(updatePacketKeys(read));
    this.nextWrite = new PacketProtector(updatePacketKeys(write));
  }

  /** The reader to try for a packet whose (unprotected) Key Phase bit is `keyPhase`. */
  readerFor(keyPhase: boolean): PacketProtector {
    return keyPhase === this.phase ? this.read : this.nextRead;
  }

  /** Moves to the next generation in both directions. */
  update(): void {
    this.previousRead = this.read;
    this.read = this.nextRead;
    this.write = this.nextWrite;
    this.nextRead = new PacketProtector(updatePacketKeys(this.read.keys));
    this.nextWrite = new PacketProtector(updatePacketKeys(this.write.keys));
    this.phase = !this.phase;
    this.generation++;
  }

  /** Forgets the previous read keys (RFC 9001 §6.5: some time after the update). */
  dropPrevious(): void {
    this.previousRead = null;
  }
}
