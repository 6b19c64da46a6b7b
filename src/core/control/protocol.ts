/**
 * The control-service session protocol (control-service.md §3): the server's error type. The line formats shared with remote work live in core/wire.
 */
export {encodeReply, jsonToPlain, MAX_REQUEST_LINE, parseRequestLine, type ParsedLine, type Request} from '../wire/control-codec.js';

/** ControlError: an error whose message goes to the client as `ERROR: <message>`. */
export {ControlError} from '../errors.js';
