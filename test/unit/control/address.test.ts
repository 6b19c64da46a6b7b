/** Control socket address syntax, as receptorctl parses --socket (control-service.md §8.1). */
import {expect} from 'chai';
import {expandHome, formatControlAddress, parseControlAddress} from '../../../src/core/control/address.js';
import {ReceptorError} from '../../../src/core/errors.js';

describe('control: socket address', () => {
  const home = '/home/tester';
  const parse = (a: string) => parseControlAddress(a, {home});

  it('plain paths and unix: forms are unix sockets', () => {
    expect(parse('foo-proxy.sock')).to.deep.equal({kind: 'unix', path: 'foo-proxy.sock'});
    expect(parse('/var/run/receptor/receptor.sock')).to.deep.equal({kind: 'unix', path: '/var/run/receptor/receptor.sock'});
    expect(parse('unix:/tmp/x.sock')).to.deep.equal({kind: 'unix', path: '/tmp/x.sock'});
    expect(parse('unix:///tmp/x.sock')).to.deep.equal({kind: 'unix', path: '/tmp/x.sock'});
    expect(parse('unix://rel.sock')).to.deep.equal({kind: 'unix', path: 'rel.sock'});
    expect(parse('unix:rel.sock')).to.deep.equal({kind: 'unix', path: 'rel.sock'});
  });

  it('expands a leading ~ like os.path.expanduser', () => {
    expect(parse('~/r.sock')).to.deep.equal({kind: 'unix', path: '/home/tester/r.sock'});
    expect(parse('unix:~/r.sock')).to.deep.equal({kind: 'unix', path: '/home/tester/r.sock'});
    expect(parse('~')).to.deep.equal({kind: 'unix', path: '/home/tester'});
    expect(parse('~other/r.sock')).to.deep.equal({kind: 'unix', path: '~other/r.sock'});
    expect(parse('/a/~/b')).to.deep.equal({kind: 'unix', path: '/a/~/b'});
    expect(expandHome('~/x', '/')).to.equal('/x');
    expect(expandHome('~/x', '/h/')).to.equal('/h/x');
  });

  it('tcp and tls with or without //', () => {
    expect(parse('tcp://localhost:2223')).to.deep.equal({kind: 'tcp', host: 'localhost', port: 2223});
    expect(parse('tcp:127.0.0.1:2223')).to.deep.equal({kind: 'tcp', host: '127.0.0.1', port: 2223});
    expect(parse('tls://my-host.example.com:443')).to.deep.equal({kind: 'tls', host: 'my-host.example.com', port: 443});
    expect(parse('tls:node1:27199')).to.deep.equal({kind: 'tls', host: 'node1', port: 27199});
  });

  it('a bare IPv6 host works as in the receptorctl regex, a bracketed one as an extension', () => {
    expect(parse('tcp://::1:2223')).to.deep.equal({kind: 'tcp', host: '::1', port: 2223});
    expect(parse('tcp://[::1]:2223')).to.deep.equal({kind: 'tcp', host: '::1', port: 2223});
    expect(formatControlAddress({kind: 'tcp', host: '::1', port: 2223})).to.equal('tcp://[::1]:2223');
    expect(formatControlAddress({kind: 'unix', path: '/x'})).to.equal('unix:/x');
  });

  for (const bad of [
    'tcp://localhost', // no port
    'tcp://host:port',
    'TCP://localhost:1', // scheme is case-sensitive; then the colon rules out a path
    'http://localhost:80',
    'tcp://a_b:1', // underscore not in the host class
    'unix:',
    '',
    'a:b',
    'tcp://localhost:0',
    'tcp://localhost:65536',
    'tls://h:1/x',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      let err: unknown;
      try {
        parse(bad);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ReceptorError);
      expect((err as ReceptorError).code).to.equal('E_USAGE');
      expect((err as ReceptorError).message).to.match(new RegExp(`^Invalid socket address ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    });
  }
});
