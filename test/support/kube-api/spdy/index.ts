// SPDY/3.1 remotecommand for the Kubernetes API test server: the server side client-go's SPDY
// executor talks to (acceptSpdyRemoteCommand), the framing, and a pure-TS client for tests.
export {
  acceptSpdyRemoteCommand,
  nonZeroExitStatus,
  successStatus,
  SUPPORTED_SPDY_PROTOCOLS,
  StreamProtocolV1,
  StreamProtocolV2,
  StreamProtocolV3,
  StreamProtocolV4,
  DEFAULT_STREAM_CREATION_TIMEOUT_MS,
  type AcceptOptions,
  type RemoteCommandStreams,
  type RemoteCommandWant,
  type SpdyRemoteCommandStreams,
} from './server.js';
export {SpdySession, SpdyStream, type SessionOptions} from './session.js';
export {connectSpdy, type SpdyClientConnection} from './client.js';
export * as frames from './frames.js';
