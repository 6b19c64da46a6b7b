export {TlsHandshake, type Level, type TlsHandshakeOptions, type TlsSecret} from './handshake.js';
export {Alert, GROUP, TlsAlert} from './messages.js';
export {CIPHER_SUITES, hkdfExpandLabel, hkdfExtract} from './keyschedule.js';
export {verifyChain, type ChainResult} from './crypto.js';
