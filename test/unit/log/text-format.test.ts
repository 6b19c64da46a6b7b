/** The text log format: line shape, fields, escaping, colours, and how the format is chosen. */
import {expect} from 'chai';
import {chooseLogFormat, createLogger, formatTextLine, formatTimestamp, TextDestination, useColour} from '../../../src/core/log.js';

const T = new Date(2026, 11, 7, 10, 0, 0, 123).getTime(); // local time, as the format shows it

describe('text log lines', () => {
  it('time, padded level, message, then the other fields as key=value (pid and hostname left out)', () => {
    const line = formatTextLine({level: 30, time: T, pid: 42, hostname: 'h', node: 'foo', msg: 'Connection established', peer: 'bar', remote: '127.0.0.1:2222', cost: 1});
    expect(line).to.equal('2026-12-07 10:00:00.123 INFO  Connection established node=foo peer=bar remote=127.0.0.1:2222 cost=1');
  });

  it('takes level labels as well as numbers, and an ISO time string', () => {
    expect(formatTextLine({level: 'warn', time: new Date(T).toISOString(), msg: 'x'})).to.equal('2026-12-07 10:00:00.123 WARN  x');
    expect(formatTextLine({level: 50, time: T, msg: 'x'}).slice(24, 30)).to.equal('ERROR ');
    expect(formatTextLine({level: 20, time: T, msg: 'x'}).slice(24, 30)).to.equal('DEBUG ');
  });

  it('quotes values with spaces, quotes, = or control characters; objects as JSON; err by its message', () => {
    const line = formatTextLine({
      level: 40,
      time: T,
      msg: 'm',
      reason: 'bar already has a connection',
      empty: '',
      eq: 'a=b',
      n: null,
      ok: true,
      obj: {a: [1]},
      err: {type: 'Error', message: 'boom now', stack: 'Error: boom now\n    at x'},
    });
    expect(line).to.equal('2026-12-07 10:00:00.123 WARN  m reason="bar already has a connection" empty="" eq="a=b" n=null ok=true obj={"a":[1]} err="boom now"');
  });

  it('escapes control characters a peer could send (no terminal escape sequences get through)', () => {
    const line = formatTextLine({level: 30, time: T, msg: 'from \x1b[31mevil\x07', peer: 'a\x1bb'});
    expect(line).to.not.include('\x1b');
    expect(line).to.not.include('\x07');
    expect(line).to.include('from \\x1b[31mevil\\x07');
    expect(line).to.include('peer="a\\u001bb"');
  });

  it('adds the stack of an error on indented lines for error records only', () => {
    const err = {type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.js:1:2)\n    at g (b.js:3:4)'};
    expect(formatTextLine({level: 50, time: T, msg: 'failed', err}).split('\n')).to.deep.equal([
      '2026-12-07 10:00:00.123 ERROR failed err=boom',
      '    at f (a.js:1:2)',
      '    at g (b.js:3:4)',
    ]);
    expect(formatTextLine({level: 40, time: T, msg: 'failed', err})).to.not.include('\n');
  });

  it('colours the level, time and keys only when asked', () => {
    const plain = formatTextLine({level: 40, time: T, msg: 'm', a: 1});
    const coloured = formatTextLine({level: 40, time: T, msg: 'm', a: 1}, {colour: true});
    expect(plain).to.not.include('\x1b[');
    expect(coloured).to.include('\x1b[33mWARN \x1b[0m');
    expect(coloured).to.include('\x1b[2ma=\x1b[0m1');
    expect(coloured.replace(/\x1b\[[0-9]+m/g, '')).to.equal(plain);
  });

  it('formats the timestamp in local time with milliseconds', () => {
    expect(formatTimestamp(T)).to.equal('2026-12-07 10:00:00.123');
  });

  it('a pino logger through TextDestination writes one text line per record', () => {
    const out: string[] = [];
    const logger = createLogger('info', {node: 'foo'}, {format: 'text', destination: {write: (s: string) => out.push(s)}});
    logger.info({peer: 'bar'}, 'Connection established');
    logger.debug('not shown');
    logger.warn('second');
    expect(out).to.have.length(2);
    expect(out[0]).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}Connection established node=foo peer=bar\n$/);
    expect(out[1]).to.match(/ WARN {2}second node=foo\n$/);
  });

  it('JSON format writes pino JSON lines (level label, ISO time)', () => {
    const out: string[] = [];
    const logger = createLogger('info', {}, {format: 'json', destination: {write: (s: string) => out.push(s)}});
    logger.info({peer: 'bar'}, 'hello');
    const rec = JSON.parse(out[0]) as Record<string, unknown>;
    expect(rec).to.include({level: 'info', peer: 'bar', msg: 'hello'});
    expect(rec.time).to.match(/^\d{4}-\d\d-\d\dT/);
  });

  it('TextDestination passes a line that is not JSON through unchanged', () => {
    const out: string[] = [];
    new TextDestination({write: (s: string) => out.push(s)}).write('not json\n');
    expect(out).to.deep.equal(['not json\n']);
  });
});

describe('choosing the log format', () => {
  it('auto: text on a terminal, JSON otherwise', () => {
    expect(chooseLogFormat(undefined, {env: {}, isTTY: true})).to.equal('text');
    expect(chooseLogFormat(undefined, {env: {}, isTTY: false})).to.equal('json');
    expect(chooseLogFormat('auto', {env: {}, isTTY: true})).to.equal('text');
  });

  it('the item/flag wins over RECEPTOR_LOG_FORMAT, which wins over the terminal test', () => {
    expect(chooseLogFormat('json', {env: {RECEPTOR_LOG_FORMAT: 'text'}, isTTY: true})).to.equal('json');
    expect(chooseLogFormat('TEXT', {env: {RECEPTOR_LOG_FORMAT: 'json'}, isTTY: false})).to.equal('text');
    expect(chooseLogFormat(undefined, {env: {RECEPTOR_LOG_FORMAT: 'json'}, isTTY: true})).to.equal('json');
    expect(chooseLogFormat('auto', {env: {RECEPTOR_LOG_FORMAT: 'text'}, isTTY: false})).to.equal('text');
    expect(chooseLogFormat(undefined, {env: {RECEPTOR_LOG_FORMAT: 'auto'}, isTTY: false})).to.equal('json');
  });

  it('colours on a terminal unless NO_COLOR is set', () => {
    expect(useColour({env: {}, isTTY: true})).to.equal(true);
    expect(useColour({env: {NO_COLOR: '1'}, isTTY: true})).to.equal(false);
    expect(useColour({env: {}, isTTY: false})).to.equal(false);
  });
});
