import {expect} from 'chai';
import {createPrivateKey, createPublicKey, diffieHellman} from 'node:crypto';
import {hkdfExpandLabel, KeySchedule} from '../../../src/core/netceptor/quic/ts/tls/keyschedule.js';

const h = (s: string): Buffer => Buffer.from(s, 'hex');

// RFC 8448 §3 "Simple 1-RTT Handshake" (x25519, TLS_AES_128_GCM_SHA256): published inputs and outputs.
const CLIENT_PRIVATE = h('49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005');
const CLIENT_PUBLIC = h('99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c');
const SERVER_PUBLIC = h('c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f');
const SHARED = h('8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d');
const HELLO_HASH = h('860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8');
const SERVER_FINISHED_HASH = h('9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13');

describe('quic-ts TLS key schedule: RFC 8448 §3 values', () => {
  it('x25519 shared secret from the published keys', () => {
    const priv = createPrivateKey({key: {kty: 'OKP', crv: 'X25519', d: CLIENT_PRIVATE.toString('base64url'), x: CLIENT_PUBLIC.toString('base64url')}, format: 'jwk'});
    const pub = createPublicKey({key: {kty: 'OKP', crv: 'X25519', x: SERVER_PUBLIC.toString('base64url')}, format: 'jwk'});
    expect(diffieHellman({privateKey: priv, publicKey: pub}).toString('hex')).to.equal(SHARED.toString('hex'));
  });

  it('early, handshake and master secrets; handshake and application traffic secrets', () => {
    const ks = new KeySchedule('sha256');
    expect(ks.earlySecret.toString('hex')).to.equal('33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a');
    const [c, s] = ks.handshake(SHARED, HELLO_HASH);
    expect(ks.handshakeSecret?.toString('hex')).to.equal('1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac');
    expect(c.toString('hex')).to.equal('b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21');
    expect(s.toString('hex')).to.equal('b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38');
    expect(ks.masterSecret?.toString('hex')).to.equal('18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919');
    const [ca, sa] = ks.application(SERVER_FINISHED_HASH);
    expect(ca.toString('hex')).to.equal('9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5');
    expect(sa.toString('hex')).to.equal('a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643');
  });

  it('HKDF-Expand-Label: traffic keys, IVs and the server finished_key', () => {
    const shts = h('b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38');
    const chts = h('b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21');
    const empty = Buffer.alloc(0);
    expect(hkdfExpandLabel('sha256', shts, 'key', empty, 16).toString('hex')).to.equal('3fce516009c21727d0f2e4e86ee403bc');
    expect(hkdfExpandLabel('sha256', shts, 'iv', empty, 12).toString('hex')).to.equal('5d313eb2671276ee13000b30');
    expect(hkdfExpandLabel('sha256', chts, 'key', empty, 16).toString('hex')).to.equal('dbfaa693d1762c5b666af5d950258d01');
    expect(hkdfExpandLabel('sha256', chts, 'iv', empty, 12).toString('hex')).to.equal('5bd3c71b836e0b76bb73265f');
    expect(hkdfExpandLabel('sha256', shts, 'finished', empty, 32).toString('hex')).to.equal('008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8');
  });
});
