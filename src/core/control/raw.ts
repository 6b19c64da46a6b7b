/**
 * Raw mode: after a streaming command's request line, the handler gets a Duplex whose read
 * side starts with the bytes already read past that line (then the rest of the connection)
 * and whose write side writes to the connection. Nothing is lost even when the client sent
 * line, payload and EOF in a single segment.
 */
import {Duplex} from 'node:stream';

export function rawChannel(stream: Duplex, head: Buffer, ended: boolean): Duplex {
  const onData = (c: Buffer) => {
    if (!raw.push(c)) stream.pause();
  };
  const onEnd = () => raw.push(null);
  const onError = (err: Error) => raw.destroy(err);
  const onClose = () => {
    if (!raw.destroyed) raw.destroy();
  };
  const raw = new Duplex({
    read() {
      if (!ended) stream.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (stream.destroyed || stream.writableEnded) return cb(new Error('connection closed'));
      stream.write(chunk, (err) => cb(err ?? null));
    },
    final(cb) {
      if (!stream.destroyed && !stream.writableEnded) stream.end();
      cb();
    },
    destroy(err, cb) {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (!stream.destroyed) stream.destroy(err ?? undefined);
      cb(err);
    },
  });
  if (head.length > 0) raw.push(head);
  if (ended) raw.push(null);
  else {
    stream.on('data', onData);
    stream.on('end', onEnd);
  }
  stream.on('error', onError);
  stream.on('close', onClose);
  return raw;
}
