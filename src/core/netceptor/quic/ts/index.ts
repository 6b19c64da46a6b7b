// The TypeScript QUIC engine (issue: streams where the native binding is missing): sans-IO, node:crypto only. The TLS 1.3 handshake is in ./tls/.
export * from './errors.js';
export * from './varint.js';
export * from './keys.js';
export * from './protection.js';
export * from './packet.js';
export * from './frames.js';
export * from './transport-params.js';
export {TsQuicEngine, pemCertificates, type TsQuicEngineOptions} from './engine.js';
export {TsConnection, type TsConnectionConfig, type TsConnectionOptions} from './connection.js';
