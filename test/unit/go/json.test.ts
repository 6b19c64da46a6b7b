import {expect} from 'chai';
import fc from 'fast-check';
import {
  GO_JSON_MAX_DEPTH,
  GoJsonError,
  asGoMap,
  compareBytewise,
  decodeStruct,
  decodeUtf8Go,
  foldName,
  formatGoFloat64,
  goBool,
  goFloat64,
  jsonQuote,
  goString,
  goStringMap,
  goUint,
  parseGoJson,
  sortedMap,
  toGoJsonOut,
  writeGoJson,
  type JsonValue,
} from '../../../src/core/go/json.js';

function syntaxError(input: string | Uint8Array): GoJsonError {
  try {
    parseGoJson(input);
  } catch (err) {
    expect(err).to.be.instanceOf(GoJsonError);
    return err as GoJsonError;
  }
  throw new Error(`expected ${JSON.stringify(String(input))} to be refused`);
}

function str(input: string | Uint8Array): string {
  const v = parseGoJson(input);
  if (v.kind !== 'string') throw new Error(`not a string: ${v.kind}`);
  return v.value;
}

const num = (text: string): JsonValue => ({kind: 'number', text});

describe('go/json: reader', () => {
  it('parses every kind of value', () => {
    expect(parseGoJson('null')).to.deep.equal({kind: 'null'});
    expect(parseGoJson('true')).to.deep.equal({kind: 'bool', value: true});
    expect(parseGoJson('false')).to.deep.equal({kind: 'bool', value: false});
    expect(parseGoJson('"x"')).to.deep.equal({kind: 'string', value: 'x', escaped: false});
    expect(parseGoJson('[1,[],{}]')).to.deep.equal({
      kind: 'array',
      items: [num('1'), {kind: 'array', items: []}, {kind: 'object', members: []}],
    });
    expect(parseGoJson('{"a":1,"b":"c"}')).to.deep.equal({
      kind: 'object',
      members: [
        {key: 'a', value: num('1')},
        {key: 'b', value: {kind: 'string', value: 'c', escaped: false}},
      ],
    });
  });

  it('keeps number literals as text, losslessly', () => {
    for (const t of ['30125087533541300', '18446744073709551615', '0', '-0', '1.0', '3.0e16', '2.9E+16', '1e-7', '-12.5e-3']) {
      expect(parseGoJson(t)).to.deep.equal(num(t));
    }
  });

  it('keeps duplicate members, in order', () => {
    const v = parseGoJson('{"a":1,"A":2,"a":3}');
    expect(v.kind === 'object' && v.members.map((m) => m.key)).to.deep.equal(['a', 'A', 'a']);
  });

  it('accepts JSON whitespace (space, tab, CR, LF) around every token', () => {
    const v = parseGoJson(' \t\r\n{ "a" :\n[ 1 ,\t2 ] , "b"\r: null }\n ');
    expect(v).to.deep.equal({
      kind: 'object',
      members: [
        {key: 'a', value: {kind: 'array', items: [num('1'), num('2')]}},
        {key: 'b', value: {kind: 'null'}},
      ],
    });
  });

  it('parses from a byte offset (message bodies follow the type byte)', () => {
    expect(parseGoJson(Buffer.from('\x01{"a":true}'), 1)).to.deep.equal({kind: 'object', members: [{key: 'a', value: {kind: 'bool', value: true}}]});
  });

  describe('refuses what Go refuses, with a GoJsonError', () => {
    const bad = [
      '',
      ' ',
      '01',
      '-',
      '-a',
      '1.',
      '.5',
      '+1',
      '1e',
      '1e+',
      '0x10',
      'NaN',
      'Infinity',
      'tru',
      'nul',
      'True',
      '"abc',
      '"a\u0001b"',
      '"\\x"',
      '"\\u12g4"',
      '"\\u12"',
      "'a'",
      '[1,]',
      '[1 2]',
      '{"a":1,}',
      '{"a" 1}',
      '{a:1}',
      '{"a":1',
      '[',
      '1 2',
      '{}{}',
      '\u000b1',
      '\u00a01',
      '\ufeff{}',
    ];
    for (const input of bad) {
      it(`refuses ${JSON.stringify(input)}`, () => {
        expect(syntaxError(input).code).to.equal('syntax');
      });
    }
  });

  it('words syntax errors like Go (control capture: `{not json` → looking for beginning of object key string)', () => {
    expect(syntaxError('{not json').message).to.equal("invalid character 'n' looking for beginning of object key string");
    expect(syntaxError('{"a":1}x').message).to.equal("invalid character 'x' after top-level value");
    expect(syntaxError('[1 2]').message).to.equal("invalid character '2' after array element");
    expect(syntaxError('{"a" 1}').message).to.equal("invalid character '1' after object key");
    expect(syntaxError('{"a":1 "b":2}').message).to.equal(`invalid character '"' after object key:value pair`);
    expect(syntaxError('x').message).to.equal("invalid character 'x' looking for beginning of value");
    expect(syntaxError('{"a":').message).to.equal('unexpected end of JSON input');
    expect(syntaxError('').message).to.equal('unexpected end of JSON input');
  });

  it(`allows nesting up to ${GO_JSON_MAX_DEPTH} levels and refuses one more`, () => {
    const ok = '['.repeat(GO_JSON_MAX_DEPTH) + ']'.repeat(GO_JSON_MAX_DEPTH);
    expect(parseGoJson(ok).kind).to.equal('array');
    const objs = '{"a":'.repeat(GO_JSON_MAX_DEPTH - 1) + '{}' + '}'.repeat(GO_JSON_MAX_DEPTH - 1);
    expect(parseGoJson(objs).kind).to.equal('object');
    const deep = '['.repeat(GO_JSON_MAX_DEPTH + 1) + ']'.repeat(GO_JSON_MAX_DEPTH + 1);
    expect(syntaxError(deep).code).to.equal('depth');
  });

  it('never overflows the call stack on absurd nesting', () => {
    expect(syntaxError('['.repeat(200_000)).code).to.equal('depth');
    expect(syntaxError('{"a":'.repeat(200_000)).code).to.equal('depth');
  });

  describe('string unescaping (Go rules)', () => {
    it('handles every simple escape', () => {
      expect(str('"\\"\\\\\\/\\b\\f\\n\\r\\t"')).to.equal('"\\/\b\f\n\r\t');
    });
    it('handles \\u escapes and surrogate pairs', () => {
      expect(str('"\\u00e9\\u003c\\u0000"')).to.equal('é<\u0000');
      expect(str('"\\ud83d\\ude00"')).to.equal('😀');
      expect(str('"\\uD83D\\uDE00"')).to.equal('😀');
    });
    it('turns unpaired surrogate escapes into U+FFFD', () => {
      expect(str('"\\ud83dx"')).to.equal('\ufffdx');
      expect(str('"\\ude00"')).to.equal('\ufffd');
      expect(str('"\\ud83d\\u0041"')).to.equal('\ufffdA');
      expect(str('"\\ud83d\\ud83d\\ude00"')).to.equal('\ufffd😀');
    });
    it('keeps valid UTF-8 and replaces each invalid byte with U+FFFD', () => {
      expect(str(Buffer.from('"ÄÖÜ 😀"'))).to.equal('ÄÖÜ 😀');
      expect(str(Buffer.from([0x22, 0xff, 0x22]))).to.equal('\ufffd');
      // Truncated 3-byte sequence: Go replaces byte by byte (WHATWG decoders would emit one U+FFFD).
      expect(str(Buffer.from([0x22, 0xe2, 0x82, 0x41, 0x22]))).to.equal('\ufffd\ufffdA');
      expect(str(Buffer.from([0x22, 0xc0, 0x80, 0x22]))).to.equal('\ufffd\ufffd'); // overlong
      expect(str(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).to.equal('\ufffd\ufffd\ufffd'); // UTF-8 surrogate
      expect(str(Buffer.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]))).to.equal('\ufffd'.repeat(4)); // > U+10FFFF
    });
    it('records whether a literal had escapes', () => {
      expect(parseGoJson('"a"')).to.deep.include({escaped: false});
      expect(parseGoJson('"\\u0061"')).to.deep.include({value: 'a', escaped: true});
    });
    it('unescapes member names too', () => {
      const v = parseGoJson('{"Node\\u0049D":1}');
      expect(v.kind === 'object' && v.members[0]!.key).to.equal('NodeID');
    });
  });

  it('decodeUtf8Go decodes any valid UTF-8 exactly', () => {
    fc.assert(
      fc.property(fc.string({unit: 'binary', maxLength: 40}), (s) => {
        const b = Buffer.from(s, 'utf8');
        expect(decodeUtf8Go(b)).to.equal(s);
      }),
    );
  });

  it('only ever throws GoJsonError, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({maxLength: 200}), (bytes) => {
        try {
          parseGoJson(bytes);
        } catch (err) {
          expect(err).to.be.instanceOf(GoJsonError);
        }
      }),
      {numRuns: 2000},
    );
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.integer({min: 0, max: 255}), (text, pos, byte) => {
        const b = Buffer.from(text);
        if (b.length > 0) b[pos % b.length] = byte;
        try {
          parseGoJson(b);
        } catch (err) {
          expect(err).to.be.instanceOf(GoJsonError);
        }
      }),
      {numRuns: 2000},
    );
  });

  it('agrees with JSON.parse on which texts are valid JSON', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(() => parseGoJson(text)).to.not.throw();
      }),
    );
  });
});

describe('go/json: struct helpers', () => {
  it('foldName folds ASCII case and the four non-ASCII runes Go folds onto ASCII', () => {
    expect(foldName('NodeID')).to.equal('NODEID');
    expect(foldName('nodeid')).to.equal(foldName('NODEID'));
    expect(foldName('Wor\u212aType')).to.equal('WORKTYPE'); // Kelvin sign
    expect(foldName('\u017fervice')).to.equal('SERVICE'); // long s
    expect(foldName('Node\u0131D')).to.equal('NODEID'); // dotless i
    expect(foldName('Node\u0130D')).to.equal('NODEID'); // capital I with dot
    expect(foldName('Nöde')).to.not.equal(foldName('Node'));
  });

  it('decodeStruct matches names case-insensitively, ignores unknown members, reports repeats in order', () => {
    const seen: Array<[string, string]> = [];
    decodeStruct(parseGoJson('{"nodeid":"a","Extra":{"x":[1]},"NODEID":"b","updateID":"u"}'), 'T', ['NodeID', 'UpdateID'], (f, v) => {
      seen.push([f, v.kind === 'string' ? v.value : '?']);
    });
    expect(seen).to.deep.equal([
      ['NodeID', 'a'],
      ['NodeID', 'b'],
      ['UpdateID', 'u'],
    ]);
  });

  it('decodeStruct treats null as an all-zero struct and refuses other non-objects', () => {
    let calls = 0;
    decodeStruct(parseGoJson('null'), 'T', ['A'], () => calls++);
    expect(calls).to.equal(0);
    for (const t of ['[]', '"x"', '1', 'true']) {
      expect(() => decodeStruct(parseGoJson(t), 'routingUpdate', ['A'], () => calls++))
        .to.throw(GoJsonError, 'json: cannot unmarshal')
        .with.property('code', 'type');
    }
  });

  it('goUint accepts only plain in-range integer literals', () => {
    expect(goUint(num('0'), 'T.F')).to.equal(0n);
    expect(goUint(num('30125087533541300'), 'T.F')).to.equal(30125087533541300n);
    expect(goUint(num('18446744073709551615'), 'T.F')).to.equal(18446744073709551615n);
    expect(goUint({kind: 'null'}, 'T.F')).to.equal(undefined);
    expect(goUint(num('255'), 'T.F', 8)).to.equal(255n);
    for (const t of ['18446744073709551616', '3.0e16', '1.0', '1e2', '-1', '-0', '99999999999999999999999']) {
      expect(() => goUint(num(t), 'routingUpdate.UpdateEpoch')).to.throw(
        GoJsonError,
        `json: cannot unmarshal number ${t} into Go struct field routingUpdate.UpdateEpoch of type uint64`,
      );
    }
    expect(() => goUint(num('256'), 'T.ConnType', 8)).to.throw(GoJsonError, 'of type uint8');
    expect(() => goUint({kind: 'string', value: '1', escaped: false}, 'T.F')).to.throw(GoJsonError, 'cannot unmarshal string');
  });

  it('goFloat64 rounds like ParseFloat and refuses overflow', () => {
    expect(goFloat64(num('2.50'), 'T.F')).to.equal(2.5);
    expect(goFloat64(num('1e-400'), 'T.F')).to.equal(0);
    expect(Object.is(goFloat64(num('-0'), 'T.F'), -0)).to.equal(true);
    expect(() => goFloat64(num('1e400'), 'T.F')).to.throw(GoJsonError, 'number 1e400');
    expect(() => goFloat64({kind: 'bool', value: true}, 'T.F')).to.throw(GoJsonError, 'cannot unmarshal bool');
  });

  it('goString / goBool refuse other kinds and return undefined for null', () => {
    expect(goString({kind: 'null'}, 'T.F')).to.equal(undefined);
    expect(goBool({kind: 'null'}, 'T.F')).to.equal(undefined);
    expect(() => goString(num('1'), 'routingUpdate.NodeID')).to.throw('json: cannot unmarshal number into Go struct field routingUpdate.NodeID of type string');
    expect(() => goBool({kind: 'string', value: 'true', escaped: false}, 'T.Cancel')).to.throw(GoJsonError, 'of type bool');
  });
});

describe('go/json: writer', () => {
  it('escapes strings like Go (HTML-safe, U+2028/9, control characters)', () => {
    expect(jsonQuote('<&>')).to.equal('"\\u003c\\u0026\\u003e"');
    expect(jsonQuote('a\u2028b\u2029c')).to.equal('"a\\u2028b\\u2029c"');
    expect(jsonQuote('\u0000\u0001\u001f')).to.equal('"\\u0000\\u0001\\u001f"');
    expect(jsonQuote('\b\f\n\r\t')).to.equal('"\\b\\f\\n\\r\\t"');
    expect(jsonQuote('"\\/')).to.equal('"\\"\\\\/"');
    expect(jsonQuote('\u007f é 😀')).to.equal('"\u007f é 😀"');
    expect(jsonQuote('plain')).to.equal('"plain"');
  });

  it('writes a lone surrogate as \\ufffd (Go writes invalid UTF-8 that way)', () => {
    expect(jsonQuote('a\ud800b')).to.equal('"a\\ufffdb"');
    expect(jsonQuote('\ude00')).to.equal('"\\ufffd"');
  });

  it('round-trips any string through jsonQuote and the reader', () => {
    fc.assert(
      fc.property(fc.string({unit: 'binary', maxLength: 30}), (s) => {
        expect(str(jsonQuote(s))).to.equal(s);
      }),
    );
  });

  it('formats float64 like Go (V6f)', () => {
    const m = new Map<string, number>([
      ['a', 1],
      ['b', 1.6],
      ['c', 0.1],
      ['d', 100],
      ['e', 1e21],
      ['f', 1e-7],
      ['g', 2.0000000001],
    ]);
    expect(writeGoJson(m)).to.equal('{"a":1,"b":1.6,"c":0.1,"d":100,"e":1e+21,"f":1e-7,"g":2.0000000001}');
    expect(formatGoFloat64(2.5)).to.equal('2.5');
    expect(formatGoFloat64(0.000001)).to.equal('0.000001');
    expect(formatGoFloat64(1.5e-10)).to.equal('1.5e-10');
    expect(formatGoFloat64(1e20)).to.equal('100000000000000000000');
    expect(formatGoFloat64(5e-324)).to.equal('5e-324');
    expect(formatGoFloat64(Number.MAX_VALUE)).to.equal('1.7976931348623157e+308');
    expect(formatGoFloat64(-0)).to.equal('-0');
  });

  it('refuses NaN and infinities like Go', () => {
    for (const n of [NaN, Infinity, -Infinity]) {
      expect(() => formatGoFloat64(n))
        .to.throw(GoJsonError, 'json: unsupported value')
        .with.property('code', 'unsupported');
    }
  });

  it('writes compact JSON in the given member order, bigint as integer literals, null for nil', () => {
    const v = new Map<string, Parameters<typeof writeGoJson>[0]>([
      ['z', 18446744073709551615n],
      ['a', null],
      ['m', [true, false, 'x', [], new Map()]],
    ]);
    expect(writeGoJson(v)).to.equal('{"z":18446744073709551615,"a":null,"m":[true,false,"x",[],{}]}');
  });

  it('sorts map keys bytewise (Go), not by UTF-16 or JS object order', () => {
    expect([
      ...sortedMap([
        ['abc', 1],
        ['Zed', 1],
      ]).keys(),
    ]).to.deep.equal(['Zed', 'abc']);
    expect([
      ...sortedMap([
        ['9', 1],
        ['10', 1],
        ['1', 1],
      ]).keys(),
    ]).to.deep.equal(['1', '10', '9']);
    // U+FFFF (ef bf bf) sorts before U+1F600 (f0 9f 98 80), though its UTF-16 unit is larger.
    expect([
      ...sortedMap([
        ['😀', 1],
        ['\uffff', 1],
      ]).keys(),
    ]).to.deep.equal(['\uffff', '😀']);
  });

  it('compareBytewise agrees with comparing UTF-8 bytes', () => {
    fc.assert(
      fc.property(fc.string({unit: 'binary', maxLength: 6}), fc.string({unit: 'binary', maxLength: 6}), (a, b) => {
        expect(Math.sign(compareBytewise(a, b))).to.equal(Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
      }),
      {numRuns: 2000},
    );
  });

  it('V7c: whole-second time and Go string escaping', () => {
    const ad = new Map<string, Parameters<typeof writeGoJson>[0]>([
      ['NodeID', 'bar'],
      ['Service', 'x'],
      ['Time', '2024-10-24T16:36:52Z'],
      ['ConnType', 2],
      [
        'Tags',
        sortedMap([
          ['b', '<&>'],
          ['a', '1'],
        ]),
      ],
      ['WorkCommands', null],
      ['Cancel', false],
    ]);
    expect(writeGoJson(ad)).to.equal(
      '{"NodeID":"bar","Service":"x","Time":"2024-10-24T16:36:52Z","ConnType":2,"Tags":{"a":"1","b":"\\u003c\\u0026\\u003e"},"WorkCommands":null,"Cancel":false}',
    );
  });
});

describe('go/json: Go maps and structs from plain values', () => {
  it('toGoJsonOut keeps struct order, sorts Go maps (asGoMap, Map, or a top-level map)', () => {
    const v = {
      b: 1,
      a: asGoMap({z: 1, y: [true, null]}),
      m: new Map<string, unknown>([
        ['q', 'x'],
        ['p', undefined],
      ]),
      u: undefined,
    };
    expect(writeGoJson(toGoJsonOut(v))).to.equal('{"b":1,"a":{"y":[true,null],"z":1},"m":{"q":"x"}}');
    expect(writeGoJson(toGoJsonOut({b: 1, a: {d: 1, c: 2}}, true))).to.equal('{"a":{"d":1,"c":2},"b":1}');
    expect(toGoJsonOut(undefined)).to.equal(null);
    expect(toGoJsonOut(5n)).to.equal(5n);
  });

  it('goStringMap decodes a map[string]V member: null → null, objects merge, other kinds are type errors', () => {
    const num = (e: JsonValue) => goFloat64(e, 'T.M') ?? 0;
    expect(goStringMap(parseGoJson('null'), new Map([['a', 1]]), 'T.M', 'map[string]float64', num)).to.equal(null);
    const prev = new Map([['a', 1]]);
    const got = goStringMap(parseGoJson('{"b":2,"a":3}'), prev, 'T.M', 'map[string]float64', num);
    expect(got).to.equal(prev);
    expect([...got!]).to.deep.equal([
      ['a', 3],
      ['b', 2],
    ]);
    expect(() => goStringMap(parseGoJson('[1]'), null, 'T.M', 'map[string]float64', num)).to.throw(
      GoJsonError,
      'json: cannot unmarshal array into Go struct field T.M of type map[string]float64',
    );
  });
});
