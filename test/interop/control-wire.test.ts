/**
 * Interop: the raw control line protocol over a unix socket, plain TCP (`tcplisten`) and TLS
 * (`tcptls` with a tls-server item), against our node and Go nodes of the same
 * configuration: the same request bytes must get the same reply bytes (after normalising
 * times, durations, versions, memory and unit IDs). The expectations were recorded from Go.
 */
import {expect} from 'chai';
import {readFileSync} from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import {WORLD_STATUS, World, makePki, normVolatile, sortAds, type Pki} from './control-world.js';
import {waitFor} from '../support/cli.js';
import {InteropNode, OURS, controlRequest, goImpl, goRefs, tempDir} from './support.js';

type Transport = 'unix' | 'tcp' | 'tls';
const TRANSPORTS: Transport[] = ['unix', 'tcp', 'tls'];

/** [request line, reply lines] — each request is sent as one line of one batch. */
const BATCH: Array<[string, string[]]> = [
  ['status x', ['ERROR: status command does not take parameters']],
  ['{"command":"status","requested_fields":["NodeID","Nope"]}', ['{"NodeID":"foo"}']],
  ['{"command":"status","requested_fields":[]}', ['{}']],
  ['{"command":"status","requested_fields":[1]}', ['ERROR: each element of requested_fields must be a string']],
  ['ping', ['ERROR: no ping target']],
  ['{"command":"ping"}', ['ERROR: no ping target']],
  ['{"command":"ping","target":5}', ['ERROR: ping target must be string']],
  ['ping nosuch', ['{"Error":"no route to node","Success":false}']],
  ['ping bar extra', ['{"Error":"no route to node","Success":false}']],
  ['ping localhost\r', ['{"From":"foo","Success":true,"Time":"<ns>","TimeStr":"<dur>"}']],
  ['{"command":"ping","target":"bar"}', ['{"From":"bar","Success":true,"Time":"<ns>","TimeStr":"<dur>"}']],
  ['traceroute', ['ERROR: no traceroute target']],
  ['{"command":"traceroute","target":5}', ['ERROR: traceroute target must be string']],
  ['traceroute localhost', ['{"0":{"From":"foo","Time":"<ns>","TimeStr":"<dur>"}}']],
  ['traceroute bar', ['{"0":{"From":"foo","Time":"<ns>","TimeStr":"<dur>"},"1":{"From":"bar","Time":"<ns>","TimeStr":"<dur>"}}']],
  ['traceroute nosuch', ['{"0":{"From":"foo","Time":"<ns>","TimeStr":"<dur>"},"1":{"Error":"no route to node","From":"foo","Time":"<ns>","TimeStr":"<dur>"}}']],
  ['connect', ['ERROR: no connect target']],
  ['connect a', ['ERROR: no connect target']],
  ['connect a b c d', ['ERROR: too many parameters']],
  ['{"command":"connect"}', ['ERROR: no connect target node']],
  ['{"command":"connect","node":"x"}', ['ERROR: no connect target service']],
  ['{"command":"connect","node":5}', ['ERROR: connect target node must be string']],
  ['{"command":"connect","node":"x","service":5}', ['ERROR: connect target service must be string']],
  ['{"command":"connect","node":"x","service":"y","tls":5}', ['ERROR: connect tls name must be string']],
  ['connect localhost control nosuchtls', ['ERROR: unknown TLS config nosuchtls']],
  ['connect nosuch control', ['ERROR: INTERNAL_ERROR (local): no route to node']],
  ['connect localhost nosvc', ['ERROR: INTERNAL_ERROR (local): service unknown']],
  ['connect bar nosvc', ['ERROR: context canceled']],
  ['work', ['ERROR: bad command']],
  ['work  list', ['ERROR: bad command']],
  ['work bogus', ['ERROR: bad command']],
  ['work list', ['{}']],
  ['work list nosuch', ['ERROR: unknown work unit nosuch']],
  ['work list a b', ['ERROR: unknown work unit a']],
  ['work status', ['ERROR: work status requires a unit ID']],
  ['work status a b', ['ERROR: work status does not take parameters after the unit ID']],
  ['work status nosuch', ['ERROR: unknown work unit nosuch']],
  ['work results', ['ERROR: work results requires a unit ID']],
  ['work results a b c', ['ERROR: work results only takes a unit ID and optional start position']],
  ['work results a x', ['ERROR: error converting start position to integer: strconv.ParseInt: parsing "x": invalid syntax']],
  ['work results nosuch', ['ERROR: unknown work unit nosuch']],
  ['{"command":"work","subcommand":"results","unitid":"x","startpos":"0"}', ['ERROR: field startpos value 0 is not convertible to an int']],
  ['{"command":"work","subcommand":"results","unitid":"x"}', ['ERROR: field startpos missing']],
  ['{"command":"work","subcommand":"results","unitid":"x","startpos":0}', ['ERROR: unknown work unit x']],
  ['work cancel', ['ERROR: work cancel requires a unit ID']],
  ['work cancel a b', ['ERROR: work cancel does not take parameters after the unit ID']],
  ['work cancel nosuch', ['ERROR: unknown work unit nosuch']],
  ['work release', ['ERROR: work release requires a unit ID']],
  ['work release nosuch', ['ERROR: unknown work unit nosuch']],
  ['work force-release nosuch', ['ERROR: unknown work unit nosuch']],
  ['work submit', ['ERROR: work submit requires a target node and work type']],
  ['work submit localhost', ['ERROR: work submit requires a target node and work type']],
  ['work submit localhost bogus', ['ERROR: unknown work type bogus']],
  ['{"command":"work","subcommand":"submit","node":"localhost","worktype":"echo","x":1}', ['ERROR: submit parameters must all be strings and x is not']],
  ['{"command":"work","subcommand":"submit","worktype":"echo"}', ['ERROR: field node missing']],
  ['{"command":"work","subcommand":"submit","node":"localhost"}', ['ERROR: field worktype missing']],
  ['{"command":"work","subcommand":"submit","node":"localhost","worktype":"bogus"}', ['ERROR: unknown work type bogus']],
  ['{"command":"work","subcommand":"submit","node":"localhost","worktype":"echo","params":"x"}', ['ERROR: extra params provided but not allowed']],
  ['{"command":"work","subcommand":"submit","node":"localhost","worktype":"echo","ttl":"10s"}', ['ERROR: ttl option is intended for remote work only']],
  ['{"command":"work","subcommand":"submit","node":"bar","worktype":"echo","tlsclient":"nosuch"}', ['ERROR: unknown TLS config nosuch']],
  ['{"command":"work","subcommand":"submit","node":"bar","worktype":"echo","secret_x":"s"}', ['ERROR: cannot send secrets over a non-TLS connection']],
  ['{"command":"work"}', ['ERROR: field subcommand missing']],
  ['{"command":"work","subcommand":5}', ['ERROR: field subcommand must be a string']],
  ['{"command":"work","subcommand":"list","unitid":5}', ['{}']],
  ['{"command":"work","subcommand":"status"}', ['ERROR: field unitid missing']],
  ['{"command":"work","subcommand":"cancel","unitid":5}', ['ERROR: field unitid must be a string']],
  ['foo', ['ERROR: Unknown command']],
  ['', []],
  [' status', ['ERROR: Unknown command']],
  ['ping\tlocalhost', ['ERROR: Unknown command']],
  ['[1]', ['ERROR: Unknown command']],
  ['"status"', ['ERROR: Unknown command']],
  ['{', ['ERROR: unexpected end of JSON input', 'ERROR: Unknown command']],
  ['{not json', ["ERROR: invalid character 'n' looking for beginning of object key string", 'ERROR: Unknown command']],
  ['{"command":5}', ['ERROR: command must be a string', 'ERROR: Unknown command']],
  ['{"nocommand":1}', ['ERROR: JSON did not contain a command', 'ERROR: Unknown command']],
  ['{"command":"STATUS"}', ['ERROR: Unknown command']],
  ['{"command":"status"} trailing', ["ERROR: invalid character 't' after top-level value", 'ERROR: Unknown command']],
];

/** Go's byte order: sorted top-level keys, struct field order inside (WORLD_STATUS is written so). */
const STATUS_LINE = JSON.stringify(WORLD_STATUS);

/** Status lines with their advertisements sorted (Go map order is not stable). */
function sortAdLines(text: string): string {
  return text
    .split('\n')
    .map((line) => (line.startsWith('{"Advertisements":') ? JSON.stringify(sortAds(JSON.parse(line) as {Advertisements: Array<{NodeID: string; Service: string}>})) : line))
    .join('\n');
}

/** Once `ready`, writes `data` and half-closes; resolves with everything read up to the server's EOF. */
function converse(s: net.Socket, ready: 'connect' | 'secureConnect', data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no EOF within 60 s; got ${JSON.stringify(Buffer.concat(chunks).toString())}`));
    }, 60_000);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('end', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks).toString());
    });
    s.once(ready, () => s.end(data));
  });
}

describe('interop: the control line protocol over unix, TCP and TLS', function () {
  this.timeout(120_000);
  const worlds: World[] = [];
  let pki: Pki;

  before(async () => {
    pki = await makePki();
    for (const impl of [OURS, ...goRefs().map(goImpl)]) worlds.push(new World(impl, pki));
    await Promise.all(worlds.map((w) => w.start()));
  });
  after(() => Promise.all(worlds.map((w) => w.stop())));

  /** Opens a session, writes `data` at once, half-closes, and reads everything up to the server's EOF. */
  function session(w: World, t: Transport, data: string): Promise<string> {
    if (t === 'unix') return converse(net.connect({path: w.foo.sock, allowHalfOpen: true}), 'connect', data);
    if (t === 'tcp') return converse(net.connect({port: w.tcpPort, host: '127.0.0.1', allowHalfOpen: true}), 'connect', data);
    const opts = {
      port: w.tlsPort,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
      allowHalfOpen: true,
    };
    return converse(tls.connect(opts as tls.ConnectionOptions), 'secureConnect', data);
  }

  /** Normalises a transcript: volatile values and unit IDs (and the advertisement order). */
  function norm(w: World, text: string): string {
    return sortAdLines(normVolatile(w.normIds(text)));
  }

  /** Runs `data` on a session to each world and compares the normalised transcripts with `expected`. */
  async function same(t: Transport, data: string | ((w: World) => string), expected: string, learn?: (w: World, raw: string) => void): Promise<void> {
    // Line arrays: a mismatch shows the very lines that differ.
    const actual: Record<string, string[]> = {};
    const want: Record<string, string[]> = {};
    await Promise.all(
      worlds.map(async (w) => {
        const raw = await session(w, t, typeof data === 'function' ? data(w) : data);
        learn?.(w, raw);
        actual[w.label] = norm(w, raw).split('\n');
        want[w.label] = expected.split('\n');
      }),
    );
    expect(actual).to.deep.equal(want);
  }

  for (const t of TRANSPORTS) {
    describe(`over ${t}`, () => {
      it('a batch of requests in one write: every error line and reply, in order, then EOF', async () => {
        const requests = [...BATCH.map(([req]) => req), 'Status', 'work list'].join('\n') + '\n' + '{"command":"status","requested_fields":["NodeID"]}';
        const replies = ['Receptor Control, node foo', ...BATCH.flatMap(([, r]) => r), STATUS_LINE, '{}', '{"NodeID":"foo"}'];
        await same(t, requests, replies.join('\n') + '\n');
      });

      it('work submit (text and JSON forms, payload in the same write), status, list, results from an offset, release', async () => {
        const created = (l: string) => `Receptor Control, node foo\nWork unit created with ID <${l}>. Send stdin data and EOF.\n{"result":"Job Started","unitid":"<${l}>"}\n`;
        const learn = (label: string) => (w: World, raw: string) => void w.learn(raw, /with ID ([A-Za-z0-9]+)\./, label);
        await same(t, 'work submit localhost echo\nabc\nstatus\n', created('txt'), learn('txt'));
        await same(t, '{"command":"work","subcommand":"submit","node":"localhost","worktype":"echoargs","params":"a<b&c"}\n', created('json'), learn('json'));
        await same(t, (w) => `work results ${w.id('txt')} 0\n`, 'Receptor Control, node foo\nStreaming results for work unit <txt>\nabc\nstatus\n');
        await same(t, (w) => `work results ${w.id('txt')} 5\n`, 'Receptor Control, node foo\nStreaming results for work unit <txt>\ntatus\n');
        await same(
          t,
          (w) => `{"command":"work","subcommand":"results","unitid":"${w.id('json')}","startpos":2.7}\n`,
          'Receptor Control, node foo\nStreaming results for work unit <json>\nb&c\n',
        );
        await same(
          t,
          (w) => `work status ${w.id('txt')}\nwork list ${w.id('json')}\n{"command":"work","subcommand":"status","unitid":"${w.id('json')}","signature":"ignored"}\n`,
          'Receptor Control, node foo\n' +
            '{"Detail":"exit status 0","ExtraData":null,"State":2,"StateName":"Succeeded","StdoutSize":11,"WorkType":"echo"}\n' +
            '{"<json>":{"Detail":"exit status 0","ExtraData":null,"State":2,"StateName":"Succeeded","StdoutSize":6,"WorkType":"echoargs"}}\n' +
            '{"Detail":"exit status 0","ExtraData":null,"State":2,"StateName":"Succeeded","StdoutSize":6,"WorkType":"echoargs"}\n',
        );
        await same(
          t,
          (w) => `work release ${w.id('txt')}\n{"command":"work","subcommand":"force-release","unitid":"${w.id('json')}"}\nwork release ${w.id('txt')}\nwork list\n`,
          'Receptor Control, node foo\n{"released":"<txt>"}\n{"released":"<json>"}\nERROR: unknown work unit <txt>\n{}\n',
        );
      });

      it('connect: the rest of the write goes to the service; its replies come back; EOF ends both', async () => {
        await same(
          t,
          'connect localhost control \nping localhost\n',
          'Receptor Control, node foo\nConnecting\nReceptor Control, node foo\n{"From":"foo","Success":true,"Time":"<ns>","TimeStr":"<dur>"}\n',
        );
        await same(
          t,
          '{"command":"connect","node":"bar","service":"control"}\nwork list\n{"command":"status","requested_fields":["NodeID"]}\n',
          'Receptor Control, node foo\nConnecting\nReceptor Control, node bar\n{}\n{"NodeID":"bar"}\n',
        );
      });
    });
  }

  describe('after the transports', () => {
    it('a plaintext client on the TLS port that never sends anything is disconnected (handshake deadline, 10 s)', async () => {
      const outcome: Record<string, string> = {};
      await Promise.all(
        worlds.map(
          (w) =>
            new Promise<void>((resolve) => {
              const s = net.connect({port: w.tlsPort, host: '127.0.0.1'});
              let got = '';
              const timer = setTimeout(() => s.destroy(new Error('still open after 30 s')), 30_000);
              s.on('data', (d: Buffer) => (got += d.toString()));
              s.on('close', () => {
                clearTimeout(timer);
                outcome[w.label] = `closed by the server, ${got.length} bytes`;
                resolve();
              });
              s.on('error', (e) => (got += `<${e.message}>`));
            }),
        ),
      );
      expect(outcome).to.deep.equal(Object.fromEntries(worlds.map((w) => [w.label, 'closed by the server, 0 bytes'])));
    });

    it('a remote submit with a bad ttl: the same error (Go also leaves a stray unit behind; ours does not)', async () => {
      const req = '{"command":"work","subcommand":"submit","node":"bar","worktype":"echo","ttl":"bogus"}\n';
      await same('unix', req, 'Receptor Control, node foo\nERROR: time: invalid duration "bogus"\n');
      const ours = worlds.find((w) => w.impl.kind === 'ours')!;
      expect(await controlRequest(ours.foo.sock, 'work list', {lines: 1})).to.equal('{}\n');
    });
  });

  describe('connect with a tls-client name (mesh TLS)', () => {
    const nodes: InteropNode[] = [];
    before(async () => {
      for (const impl of [OURS, ...goRefs().map(goImpl)]) {
        nodes.push(
          new InteropNode(impl, 'foo', tempDir(), {
            items: [
              {'tls-server': {name: 'srv', cert: pki.serverCert, key: pki.serverKey, clientcas: pki.ca, requireclientcert: true}},
              {'tls-client': {name: 'cli', rootcas: pki.ca, cert: pki.serverCert, key: pki.serverKey}},
              {'control-service': {service: 'sec', tls: 'srv'}},
              {'local-only': null},
            ],
          }),
        );
      }
      await Promise.all(nodes.map((n) => n.start()));
      // Go answers on the unix socket before its TLS mesh listener is up.
      await Promise.all(
        nodes.map((n) =>
          waitFor(
            async () => (await controlRequest(n.sock, 'connect foo sec cli', {lines: 1})) === 'Connecting\n',
            30_000,
            () => `${n.describe()}: the TLS control service`,
          ),
        ),
      );
    });
    after(() => Promise.all(nodes.map((n) => n.stop())));

    it('the same replies: TLS required, the name checked as typed (localhost fails), a plain service refused, a good dial relays', async () => {
      const requests: Array<[string, string]> = [
        ['connect localhost sec \n', 'ERROR: CRYPTO_ERROR 0x12a (local): insecure connection to secure service\n'],
        ['connect localhost sec cli\n', 'ERROR: CRYPTO_ERROR 0x12a (local): x509: certificate is valid for Receptor node ID foo, not localhost\n'],
        ['connect foo control cli\n', 'ERROR: CRYPTO_ERROR 0x12a (local): x509: certificate signed by unknown authority\n'],
        [
          '{"command":"status","requested_fields":["Advertisements"]}\n',
          '{"Advertisements":[{"NodeID":"foo","Service":"control","Time":"<time>","ConnType":1,"Tags":{"type":"Control Service"},"WorkCommands":null},{"NodeID":"foo","Service":"sec","Time":"<time>","ConnType":2,"Tags":{"type":"Control Service"},"WorkCommands":null}]}\n',
        ],
        [
          '{"command":"connect","node":"foo","service":"sec","tls":"cli"}\nping localhost\n',
          'Connecting\nReceptor Control, node foo\n{"From":"foo","Success":true,"Time":"<ns>","TimeStr":"<dur>"}\n',
        ],
      ];
      const actual: Record<string, string[]> = {};
      await Promise.all(
        nodes.map(async (n) => {
          const raw = await converse(net.connect({path: n.sock, allowHalfOpen: true}), 'connect', requests.map(([r]) => r).join(''));
          actual[n.impl.label] = sortAdLines(normVolatile(raw)).split('\n');
        }),
      );
      const want = ('Receptor Control, node foo\n' + requests.map(([, r]) => r).join('')).split('\n');
      expect(actual).to.deep.equal(Object.fromEntries(nodes.map((n) => [n.impl.label, want])));
    });
  });
});
