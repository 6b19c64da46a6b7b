// QUIC v1 wire layer (helper "qwire"): sans-IO, node:crypto only.
export * from './errors.js';
export * from './varint.js';
export * from './keys.js';
export * from './protection.js';
export * from './packet.js';
export * from './frames.js';
export * from './transport-params.js';
