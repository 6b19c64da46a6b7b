/** Transport parameters (RFC 9000 §18.2) against bytes from quic-go v0.40.0's TransportParameters.Marshal. */
import {expect} from 'chai';
import {DEFAULT_TRANSPORT_PARAMS} from '../../../src/core/netceptor/quic/engine.js';
import {TransportError} from '../../../src/core/netceptor/quic/ts/errors.js';
import {
  decodeTransportParameters,
  defaultTransportParameters,
  encodeTransportParameters,
  transportParametersFromEngine,
  transportParametersToEngine,
  type TransportParameters,
} from '../../../src/core/netceptor/quic/ts/transport-params.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

// quic-go Marshal output; each starts with a random grease parameter (31*N+27).
const QUIC_GO_SERVER = hex(
  '4c75057f73faa89e0502523406026345070274560404800045670802453909025ca301048000a410030245ac0b01250a010e0c0002100102030405060708090a0b0c0d0e0f100004deadbeef0d2d7f000001002a0102030405060708090a0b0c0d0e0f10000d04010203040102030405060708090a0b0c0d0e0f100e01040f04decafbad1002eeff',
);
const QUIC_GO_CLIENT = hex('52450f8dfed346069f0c3dc75f97cd82a0dc0504801000000604801000000704801000000404803000000802406409024064010480007530030245ac0e01040f080102030405060708');

const SRT = hex('0102030405060708090a0b0c0d0e0f10');

describe('quic-ts transport parameters', () => {
  it("decodes quic-go's server parameters (grease skipped, preferred_address parsed)", () => {
    const res = decodeTransportParameters(QUIC_GO_SERVER, 'server');
    if (!res.ok) throw new Error(res.reason);
    const expected: TransportParameters = {
      ...defaultTransportParameters(),
      initialMaxStreamDataBidiLocal: 0x1234,
      initialMaxStreamDataBidiRemote: 0x2345,
      initialMaxStreamDataUni: 0x3456,
      initialMaxData: 0x4567,
      initialMaxStreamsBidi: 1337,
      initialMaxStreamsUni: 7331,
      maxIdleTimeoutMs: 42000,
      maxUdpPayloadSize: 1452,
      maxAckDelayMs: 37,
      ackDelayExponent: 14,
      disableActiveMigration: true,
      statelessResetToken: SRT,
      originalDestinationConnectionId: hex('deadbeef'),
      preferredAddress: {ipv4: hex('7f000001'), ipv4Port: 42, ipv6: SRT, ipv6Port: 13, connectionId: hex('01020304'), statelessResetToken: SRT},
      activeConnectionIdLimit: 4,
      initialSourceConnectionId: hex('decafbad'),
      retrySourceConnectionId: hex('eeff'),
    };
    expect(res.params).to.deep.equal(expected);
    // and our encoding of the same decodes to the same
    const again = decodeTransportParameters(encodeTransportParameters(res.params, {grease: {id: 27 + 31 * 5, value: hex('abcd')}}), 'server');
    expect(again.ok && again.params).to.deep.equal(expected);
  });

  it("decodes quic-go's client parameters and maps them to the engine shape", () => {
    const res = decodeTransportParameters(QUIC_GO_CLIENT, 'client');
    if (!res.ok) throw new Error(res.reason);
    expect(res.params.initialMaxData).to.equal(3 << 20);
    expect(res.params.initialMaxStreamsBidi).to.equal(100);
    expect(res.params.maxIdleTimeoutMs).to.equal(30000);
    expect(res.params.activeConnectionIdLimit).to.equal(4);
    expect(res.params.initialSourceConnectionId?.toString('hex')).to.equal('0102030405060708');
    const eng = transportParametersToEngine(res.params);
    expect(eng.maxSendUdpPayloadSize).to.equal(Math.min(DEFAULT_TRANSPORT_PARAMS.maxSendUdpPayloadSize, 1452));
    expect(eng.initialMaxStreamDataBidiRemote).to.equal(1 << 20);
    expect(eng.maxStreamWindow).to.equal(DEFAULT_TRANSPORT_PARAMS.maxStreamWindow);
    expect(eng.disableActiveMigration).to.equal(false);
    // a server-side decoder refuses them as server parameters (no original_destination_connection_id)
    const asServer = decodeTransportParameters(QUIC_GO_CLIENT, 'server');
    expect(!asServer.ok && asServer.code).to.equal(TransportError.TRANSPORT_PARAMETER_ERROR);
  });

  it('encodes the engine configuration and decodes it back', () => {
    const p = transportParametersFromEngine(DEFAULT_TRANSPORT_PARAMS, {
      initialSourceConnectionId: hex('0102'),
      originalDestinationConnectionId: hex('0304'),
      statelessResetToken: SRT,
    });
    const res = decodeTransportParameters(encodeTransportParameters(p), 'server');
    if (!res.ok) throw new Error(res.reason);
    expect(res.params).to.deep.equal(p);
    const eng = transportParametersToEngine(res.params);
    for (const k of ['maxIdleTimeoutMs', 'initialMaxData', 'initialMaxStreamDataBidiLocal', 'initialMaxStreamsBidi', 'initialMaxStreamsUni', 'disableActiveMigration'] as const) {
      expect(eng[k], k).to.equal(DEFAULT_TRANSPORT_PARAMS[k]);
    }
    expect(eng.maxRecvUdpPayloadSize).to.equal(DEFAULT_TRANSPORT_PARAMS.maxRecvUdpPayloadSize);
    // writeDefaults still decodes to the same
    const all = decodeTransportParameters(encodeTransportParameters(p, {writeDefaults: true}), 'server');
    expect(all.ok && all.params).to.deep.equal(p);
  });

  it('refuses bad parameters with TRANSPORT_PARAMETER_ERROR', () => {
    const isc = '0f0101';
    const cases: Array<[string, 'client' | 'server']> = [
      ['0401050402' + isc, 'client'], // duplicate initial_max_data
      ['1b00' + '1b00' + isc, 'client'], // duplicate grease id
      ['000101' + isc, 'client'], // client sent original_destination_connection_id
      ['0210' + '00'.repeat(16) + isc, 'client'], // client sent stateless_reset_token
      ['100101' + isc, 'client'], // client sent retry_source_connection_id
      ['0d00' + isc, 'client'], // client sent preferred_address
      ['000101020f' + isc, 'server'], // stateless_reset_token of 15 bytes
      ['03024064' + isc, 'client'], // max_udp_payload_size 100
      ['0a0115' + isc, 'client'], // ack_delay_exponent 21
      ['0b0480004000' + isc, 'client'], // max_ack_delay 2^14
      ['0e0101' + isc, 'client'], // active_connection_id_limit 1
      ['0808d000000000000001' + isc, 'client'], // initial_max_streams_bidi > 2^60
      ['0c0100' + isc, 'client'], // disable_active_migration not empty
      ['040240' + isc, 'client'], // varint shorter than its parameter
      ['04034001ff' + isc, 'client'], // varint shorter than the parameter length
      ['0405ff', 'client'], // length beyond the data
      ['04', 'client'], // truncated
      ['', 'client'], // missing initial_source_connection_id
      ['0f15' + 'aa'.repeat(21), 'client'], // CID of 21 bytes
      ['0d1d' + '00'.repeat(24) + '00' + '00'.repeat(16) + isc + '000101', 'server'], // preferred_address with empty CID
      ['0d1e' + '00'.repeat(24) + '01aa' + '00'.repeat(15) + isc + '000101', 'server'], // preferred_address one byte short
    ];
    for (const [h, by] of cases) {
      const res = decodeTransportParameters(hex(h), by);
      expect(res.ok, h).to.equal(false);
      if (!res.ok) expect(res.code, h).to.equal(TransportError.TRANSPORT_PARAMETER_ERROR);
    }
    // a huge unknown id (above 2^53) is skipped
    expect(decodeTransportParameters(hex('ffffffffffffffff00' + isc), 'client').ok).to.equal(true);
    expect(decodeTransportParameters(hex(''), 'client', false).ok).to.equal(true);
  });
});
