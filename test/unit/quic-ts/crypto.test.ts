/** RFC 9001 Appendix A: Initial secrets and keys, protected Initials, Retry integrity, ChaCha20 short header. */
import {expect} from 'chai';
import {
  derivePacketKeys,
  hkdfExpandLabel,
  initialKeys,
  initialSecrets,
  nextTrafficSecret,
  TLS_AES_128_GCM_SHA256,
  TLS_AES_256_GCM_SHA384,
  TLS_CHACHA20_POLY1305_SHA256,
  updatePacketKeys,
} from '../../../src/core/netceptor/quic/ts/keys.js';
import {
  aeadLimits,
  headerProtectionMask,
  KeyPhaseState,
  unprotectHeader,
  minPayloadForSample,
  openPayload,
  PacketProtector,
  sealPayload,
} from '../../../src/core/netceptor/quic/ts/protection.js';
import {buildShortHeader, shortHeaderBits} from '../../../src/core/netceptor/quic/ts/packet.js';
import * as V from './rfc9001-vectors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const DCID = hex('8394c8f03e515708');

describe('quic-ts keys (RFC 9001 A.1)', () => {
  it('derives the v1 client and server Initial secrets, keys, IVs and hp keys', () => {
    const s = initialSecrets(DCID);
    expect(s.client.toString('hex')).to.equal('c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea');
    expect(s.server.toString('hex')).to.equal('3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b');
    const k = initialKeys(DCID);
    expect(k.client.key.toString('hex')).to.equal('1f369613dd76d5467730efcbe3b1a22d');
    expect(k.client.iv.toString('hex')).to.equal('fa044b2f42a3fd3b46fb255c');
    expect(k.client.hp.toString('hex')).to.equal('9f50449e04a0e810283a1e9933adedd2');
    expect(k.server.key.toString('hex')).to.equal('cf3a5331653c364c88f0f379b6067e37');
    expect(k.server.iv.toString('hex')).to.equal('0ac1493ca1905853b0bba03e');
    expect(k.server.hp.toString('hex')).to.equal('c206b8d9b9f0f37644430b490eeaa314');
  });

  it('HKDF-Expand-Label matches the RFC 9001 A.1 "client in" derivation', () => {
    const initial = hex('7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44');
    expect(hkdfExpandLabel('sha256', initial, 'client in', Buffer.alloc(0), 32).toString('hex')).to.equal('c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea');
  });

  it('key update: new secret via "quic ku", hp key kept, keys change', () => {
    for (const suite of [TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256]) {
      const secret = Buffer.alloc(suite.hashLength, 7);
      const k = derivePacketKeys(suite, secret);
      expect(k.key.length).to.equal(suite.keyLength);
      expect(k.hp.length).to.equal(suite.keyLength);
      expect(k.iv.length).to.equal(12);
      const u = updatePacketKeys(k);
      expect(u.secret.equals(nextTrafficSecret(suite, secret))).to.equal(true);
      expect(u.secret.length).to.equal(suite.hashLength);
      expect(u.hp.equals(k.hp)).to.equal(true);
      expect(u.key.equals(k.key)).to.equal(false);
      expect(u.iv.equals(k.iv)).to.equal(false);
    }
  });

  it('RFC 9001 A.5 ChaCha20 key update secret', () => {
    const secret = hex('9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b');
    expect(nextTrafficSecret(TLS_CHACHA20_POLY1305_SHA256, secret).toString('hex')).to.equal('1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9');
  });
});

describe('quic-ts packet protection (RFC 9001 A.2-A.5)', () => {
  it('A.2: protects the client Initial exactly', () => {
    const keys = initialKeys(DCID).client;
    const header = hex(V.A2_HEADER);
    const payload = Buffer.concat([hex(V.A2_CRYPTO_FRAME), Buffer.alloc(1162 - hex(V.A2_CRYPTO_FRAME).length)]);
    const sealed = sealPayload(keys, 2, header, payload);
    expect(sealed.subarray(0, 16).toString('hex')).to.equal(V.A2_SAMPLE);
    const mask = headerProtectionMask(keys, sealed.subarray(0, 16));
    expect(mask.toString('hex')).to.equal('437b9aec36');
    const p = new PacketProtector(keys);
    const packet = p.seal(header, 18, 4, 2, payload);
    expect(packet.length).to.equal(1200);
    expect(packet.subarray(18, 22).toString('hex')).to.equal(V.A2_PROTECTED_PN);
    expect(packet.toString('hex')).to.equal(V.A2_PACKET);
    expect(p.usage.sealed).to.equal(1);
    // and back, as the server would
    const srv = new PacketProtector(keys);
    const opened = srv.open(hex(V.A2_PACKET), 18, -1);
    expect(opened).to.not.equal(null);
    expect(opened?.pn).to.equal(2);
    expect(opened?.pnLength).to.equal(4);
    expect(opened?.header.toString('hex')).to.equal(V.A2_HEADER);
    expect(opened?.payload.equals(payload)).to.equal(true);
  });

  it('A.3: protects the server Initial exactly and opens it', () => {
    const keys = initialKeys(DCID).server;
    const header = hex(V.A3_HEADER);
    const packet = new PacketProtector(keys).seal(header, header.length - 2, 2, 1, hex(V.A3_PAYLOAD));
    expect(packet.subarray(0, header.length).toString('hex')).to.equal(V.A3_PROTECTED_HEADER);
    expect(packet.toString('hex')).to.equal(V.A3_PACKET);
    const opened = new PacketProtector(keys).open(packet, header.length - 2, 0);
    expect(opened?.pn).to.equal(1);
    expect(opened?.payload.toString('hex')).to.equal(V.A3_PAYLOAD);
  });

  it('A.5: ChaCha20-Poly1305 short header packet', () => {
    const secret = hex('9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b');
    const keys = derivePacketKeys(TLS_CHACHA20_POLY1305_SHA256, secret);
    expect(keys.key.toString('hex')).to.equal('c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8');
    expect(keys.iv.toString('hex')).to.equal('e0459b3474bdd0e44a41c144');
    expect(keys.hp.toString('hex')).to.equal('25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4');
    const header = hex('4200bff4');
    const sealed = sealPayload(keys, 654360564, header, hex('01'));
    expect(sealed.toString('hex')).to.equal('655e5cd55c41f69080575d7999c25a5bfb');
    const p = new PacketProtector(keys);
    const packet = p.seal(header, 1, 3, 654360564, hex('01'));
    expect(packet.toString('hex')).to.equal('4cfe4189655e5cd55c41f69080575d7999c25a5bfb');
    const opened = new PacketProtector(keys).open(packet, 1, 654360563);
    expect(opened?.pn).to.equal(654360564);
    expect(opened?.payload.toString('hex')).to.equal('01');
    expect(opened?.firstByte).to.equal(0x42);
  });

  it('open fails with null (never throws) on tampering, wrong keys or short input, and counts failures', () => {
    const keys = initialKeys(DCID).client;
    const p = new PacketProtector(keys);
    const good = hex(V.A2_PACKET);
    for (const i of [0, 20, 100, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[i] = (bad[i] as number) ^ 1;
      expect(p.open(bad, 18, -1)).to.equal(null);
    }
    expect(p.open(good.subarray(0, 30), 18, -1)).to.equal(null);
    expect(new PacketProtector(initialKeys(hex('0102030405060708')).client).open(good, 18, -1)).to.equal(null);
    expect(p.usage.openFailures).to.equal(4); // the short input fails before the AEAD
    expect(openPayload(keys, 0, Buffer.alloc(0), Buffer.alloc(3))).to.equal(null);
  });

  it('exposes the AEAD limits of RFC 9001 §6.6', () => {
    expect(aeadLimits(initialKeys(DCID).client)).to.deep.equal({confidentiality: 2 ** 23, integrity: 2 ** 52});
    const cc = derivePacketKeys(TLS_CHACHA20_POLY1305_SHA256, Buffer.alloc(32));
    expect(aeadLimits(cc).integrity).to.equal(2 ** 36);
    const p = new PacketProtector(derivePacketKeys(TLS_AES_256_GCM_SHA384, Buffer.alloc(48, 1)));
    const packet = p.seal(hex('4000'), 1, 1, 0, Buffer.alloc(30));
    expect(new PacketProtector(p.keys).open(packet, 1, -1)?.payload.length).to.equal(30);
    expect(p.usage.confidentialityReached).to.equal(false);
    p.usage.sealed = 2 ** 23;
    expect(p.usage.confidentialityReached).to.equal(true);
  });

  it('sealInto writes into a datagram buffer; open in place removes header protection in the input', () => {
    const keys = initialKeys(DCID).client;
    const payload = Buffer.concat([hex(V.A2_CRYPTO_FRAME), Buffer.alloc(1162 - hex(V.A2_CRYPTO_FRAME).length)]);
    const dgram = Buffer.alloc(1300, 0xee);
    const end = new PacketProtector(keys).sealInto(dgram, 50, hex(V.A2_HEADER), 18, 4, 2, payload);
    expect(end).to.equal(1250);
    expect(dgram.subarray(50, 1250).toString('hex')).to.equal(V.A2_PACKET);
    expect(dgram[49]).to.equal(0xee);
    expect(dgram[1250]).to.equal(0xee);
    const view = dgram.subarray(50, 1250);
    // a failed in-place attempt (server keys) leaves the packet as it was
    expect(new PacketProtector(initialKeys(DCID).server).open(view, 18, -1, true)).to.equal(null);
    expect(view.toString('hex')).to.equal(V.A2_PACKET);
    const opened = new PacketProtector(keys).open(view, 18, -1, true);
    expect(opened?.payload.equals(payload)).to.equal(true);
    expect(view.subarray(0, 22).toString('hex')).to.equal(V.A2_HEADER);
    expect(() => new PacketProtector(keys).sealInto(Buffer.alloc(100), 0, hex(V.A2_HEADER), 18, 4, 2, payload)).to.throw(RangeError);
    expect(minPayloadForSample(1)).to.equal(3);
    expect(minPayloadForSample(4)).to.equal(0);
  });

  it('KeyPhaseState: both ends rotate keys, the Key Phase bit picks the reader, old packets open with the previous keys', () => {
    const suite = TLS_AES_128_GCM_SHA256;
    const c2s = derivePacketKeys(suite, Buffer.alloc(32, 1));
    const s2c = derivePacketKeys(suite, Buffer.alloc(32, 2));
    const client = new KeyPhaseState(s2c, c2s);
    const server = new KeyPhaseState(c2s, s2c);
    const dcid = Buffer.alloc(8, 9);
    const send = (pn: number): Buffer => {
      const {header, pnOffset} = buildShortHeader({dcid, truncatedPn: pn & 0xff, pnLength: 1, keyPhase: client.phase});
      return client.write.seal(header, pnOffset, 1, pn, Buffer.from(`packet ${pn}`));
    };
    const p0 = send(0);
    expect(server.readerFor(false).open(p0, 9, -1)?.payload.toString()).to.equal('packet 0');
    client.update();
    expect(client.generation).to.equal(1);
    const p1 = send(1);
    // the header protection key is shared by all generations, so any reader reveals the bit
    const bit = server.read.open(p1, 9, 0);
    expect(bit).to.equal(null);
    const hpOnly = Buffer.from(p1);
    const first = unprotectHeader(server.read.keys, hpOnly, 9);
    expect(first).to.not.equal(null);
    expect(shortHeaderBits(hpOnly[0] as number).keyPhase).to.equal(true);
    const reader = server.readerFor(true);
    expect(reader).to.equal(server.nextRead);
    expect(reader.open(p1, 9, 0)?.payload.toString()).to.equal('packet 1');
    server.update();
    expect(server.phase).to.equal(true);
    expect(server.read.open(p1, 9, 0)?.payload.toString()).to.equal('packet 1');
    expect(server.read.open(p0, 9, -1)).to.equal(null);
    expect(server.previousRead?.open(p0, 9, -1)?.payload.toString()).to.equal('packet 0');
    server.dropPrevious();
    expect(server.previousRead).to.equal(null);
    expect(client.write.keys.hp.equals(c2s.hp)).to.equal(true);
    expect(client.write.keys.key.equals(c2s.key)).to.equal(false);
  });
});
