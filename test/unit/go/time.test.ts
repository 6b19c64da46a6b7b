/** Go's time package: durations, RFC 3339 times, Format, and the package's quoting. */
import {expect} from 'chai';
import {
  compareTime,
  durationString,
  formatLocal,
  formatRFC3339Nano,
  GO_ZERO_TIME,
  GO_ZERO_TIME_TEXT,
  isZeroTime,
  parseDuration,
  parseRFC3339,
  timeFromUnixNano,
  timeQuote,
  unixMilli,
  unixNanoFromMilli,
  unmarshalTimeJSON,
} from '../../../src/core/go/time.js';
import {ValueError} from '../../../src/core/go/value-error.js';

describe('go/time: timeQuote (the time package quote)', () => {
  it('escapes quotes and backslashes, writes control and non-ASCII characters as UTF-8 \\x bytes', () => {
    expect(timeQuote('abc')).to.equal('"abc"');
    expect(timeQuote('a"b\\c')).to.equal('"a\\"b\\\\c"');
    expect(timeQuote('1µx')).to.equal('"1\\xc2\\xb5x"');
    expect(timeQuote('a\tb\x7f')).to.equal('"a\\x09b\x7f"');
  });
});

describe('go/time: durations', () => {
  describe('parseDuration (time.ParseDuration, in ms)', () => {
    const cases: Array<[string, number]> = [
      ['21s', 21000],
      ['1.5h', 5_400_000],
      ['30m10s', 1_810_000],
      ['250ms', 250],
      ['1h30m', 5_400_000],
      ['0', 0],
      ['-2s', -2000],
      ['1500us', 1.5],
      ['3µs', 0.003],
    ];
    for (const [s, ms] of cases) it(`${s} = ${ms} ms`, () => expect(parseDuration(s)).to.equal(ms));
    it("rejects bad durations with Go's texts", () => {
      expect(() => parseDuration('xx')).to.throw(ValueError, 'time: invalid duration "xx"');
      expect(() => parseDuration('')).to.throw(ValueError, 'time: invalid duration ""');
      expect(() => parseDuration('10')).to.throw(ValueError, 'time: missing unit in duration "10"');
      expect(() => parseDuration('10d')).to.throw(ValueError, 'time: unknown unit "d" in duration "10d"');
      expect(() => parseDuration('1µx')).to.throw(ValueError, 'time: unknown unit "\\xc2\\xb5x" in duration "1\\xc2\\xb5x"');
    });
  });

  it("durationString of nanoseconds is Go's time.Duration.String()", () => {
    expect(durationString(0n)).to.equal('0s');
    expect(durationString(850n)).to.equal('850ns');
    expect(durationString(12_500n)).to.equal('12.5µs');
    expect(durationString(1_234_567n)).to.equal('1.234567ms');
    expect(durationString(2_500_000_000n)).to.equal('2.5s');
    expect(durationString(90_000_000_000n)).to.equal('1m30s');
    expect(durationString(3_723_500_000_000n)).to.equal('1h2m3.5s');
    expect(durationString(3_600_000_000_000n)).to.equal('1h0m0s');
    expect(durationString(-1_500_000_000n)).to.equal('-1.5s');
  });

  it('durationString of milliseconds formats like Go', () => {
    expect(durationString(90_000)).to.equal('1m30s');
    expect(durationString(1500)).to.equal('1.5s');
    expect(durationString(250)).to.equal('250ms');
    expect(durationString(3_600_000)).to.equal('1h0m0s');
    expect(durationString(0.0005)).to.equal('500ns');
    expect(durationString(0)).to.equal('0s');
  });
});

describe('go/time: GoTime (Time.UnmarshalJSON, Format(RFC3339Nano))', () => {
  it('parses RFC 3339 with 0–9 fraction digits, Z or ±hh:mm', () => {
    const base = BigInt(Date.UTC(2026, 10, 25, 8, 25, 46)) * 1_000_000n;
    expect(unmarshalTimeJSON('2026-11-25T08:25:46Z')!.unixNano).to.equal(base);
    expect(unmarshalTimeJSON('2026-11-25T08:25:46.084982905Z')!.unixNano).to.equal(base + 84_982_905n);
    expect(unmarshalTimeJSON('2026-11-25T08:25:46.1Z')!.unixNano).to.equal(base + 100_000_000n);
    expect(unmarshalTimeJSON('2026-11-25T09:55:46.000000001+01:30')!.unixNano).to.equal(base + 1n);
    expect(unmarshalTimeJSON('2026-11-25T03:25:46-05:00')).to.deep.equal({text: '2026-11-25T03:25:46-05:00', unixNano: base, offsetSeconds: -18000});
  });

  it('accepts what Go 1.23 also accepts: >9 fraction digits (truncated), comma, one-digit hour, +24:00', () => {
    const base = BigInt(Date.UTC(2026, 10, 25, 8, 25, 46)) * 1_000_000n;
    expect(unmarshalTimeJSON('2026-11-25T08:25:46.1234567899Z')!.unixNano).to.equal(base + 123_456_789n);
    expect(unmarshalTimeJSON('2026-11-25T08:25:46,5Z')!.unixNano).to.equal(base + 500_000_000n);
    expect(unmarshalTimeJSON('2026-11-25T8:25:46Z')!.unixNano).to.equal(base);
    expect(unmarshalTimeJSON('2026-11-26T08:25:46+24:00')!.unixNano).to.equal(base);
  });

  it('handles leap years, year 0 and year 9999', () => {
    expect(unmarshalTimeJSON('2024-02-29T00:00:00Z')).to.not.equal(undefined);
    expect(unmarshalTimeJSON('2000-02-29T00:00:00Z')).to.not.equal(undefined);
    expect(unmarshalTimeJSON('1900-02-29T00:00:00Z')).to.equal(undefined);
    expect(unmarshalTimeJSON('0000-02-29T00:00:00Z')).to.not.equal(undefined);
    const t = unmarshalTimeJSON('9999-12-31T23:59:59.999999999Z')!;
    expect(formatRFC3339Nano(t.unixNano)).to.equal('9999-12-31T23:59:59.999999999Z');
    expect(() => formatRFC3339Nano(t.unixNano + 1n)).to.throw(ValueError, 'year outside');
    const y0 = unmarshalTimeJSON('0000-01-01T00:00:00Z')!;
    expect(formatRFC3339Nano(y0.unixNano)).to.equal('0000-01-01T00:00:00Z');
    expect(() => formatRFC3339Nano(y0.unixNano - 1n)).to.throw(ValueError);
  });

  it('formats like Go RFC3339Nano: trailing zeros trimmed, no fraction when zero, Z for UTC', () => {
    expect(formatRFC3339Nano(0n)).to.equal('1970-01-01T00:00:00Z');
    expect(formatRFC3339Nano(-1n)).to.equal('1969-12-31T23:59:59.999999999Z');
    expect(formatRFC3339Nano(1_500_000_000n)).to.equal('1970-01-01T00:00:01.5Z');
    expect(formatRFC3339Nano(10n)).to.equal('1970-01-01T00:00:00.00000001Z');
    expect(formatRFC3339Nano(0n, -4 * 3600)).to.equal('1969-12-31T20:00:00-04:00');
    expect(formatRFC3339Nano(0n, 5 * 3600 + 30 * 60)).to.equal('1970-01-01T05:30:00+05:30');
    expect(() => formatRFC3339Nano(0n, 90)).to.throw(ValueError);
    expect(() => formatRFC3339Nano(0n, 86400)).to.throw(ValueError);
  });

  it('re-encodes a parsed time canonically (+00:00 → Z, .500 → .5)', () => {
    const t = unmarshalTimeJSON('2024-10-24T20:36:52.500+00:00')!;
    expect(t.text).to.equal('2024-10-24T20:36:52.500+00:00');
    expect(formatRFC3339Nano(t.unixNano, t.offsetSeconds)).to.equal('2024-10-24T20:36:52.5Z');
  });

  it('compares instants at nanosecond precision, ignoring the zone', () => {
    const a = unmarshalTimeJSON('2024-10-24T20:36:52.123456789Z')!;
    const b = unmarshalTimeJSON('2024-10-24T20:36:52.12345679Z')!;
    const c = unmarshalTimeJSON('2024-10-24T16:36:52.123456789-04:00')!;
    expect(compareTime(a, b)).to.equal(-1);
    expect(compareTime(b, a)).to.equal(1);
    expect(compareTime(a, c)).to.equal(0);
  });
});

describe('go/time: millisecond instants and the zero time', () => {
  it('unixNanoFromMilli keeps a sub-millisecond fraction; unixMilli rounds down', () => {
    expect(unixNanoFromMilli(1500.25)).to.equal(1_500_250_000n);
    expect(unixNanoFromMilli(0)).to.equal(0n);
    expect(unixMilli(timeFromUnixNano(1_500_250_000n))).to.equal(1500);
    expect(unixMilli(timeFromUnixNano(-1n))).to.equal(-1);
    expect(formatRFC3339Nano(unixNanoFromMilli(Date.UTC(2026, 0, 2, 3, 4, 5) + 1.25))).to.equal('2026-01-02T03:04:05.00125Z');
  });

  it('knows the zero time', () => {
    expect(GO_ZERO_TIME.text).to.equal(GO_ZERO_TIME_TEXT);
    expect(unmarshalTimeJSON(GO_ZERO_TIME_TEXT)).to.deep.equal(GO_ZERO_TIME);
    expect(isZeroTime(unmarshalTimeJSON(GO_ZERO_TIME_TEXT)!)).to.equal(true);
    expect(isZeroTime(unmarshalTimeJSON('0001-01-01T00:00:00+01:00')!)).to.equal(false);
    expect(formatRFC3339Nano(GO_ZERO_TIME.unixNano)).to.equal(GO_ZERO_TIME_TEXT);
  });

  it('formatLocal writes the Mon Jan 2 15:04:05 layout in local time', () => {
    const ms = new Date(2026, 10, 5, 7, 8, 9).getTime();
    const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][new Date(ms).getDay()];
    expect(formatLocal(ms, 'Mon Jan 2 15:04:05')).to.equal(`${day} Nov 5 07:08:09`);
  });
});

describe('go/time: parseRFC3339 (time.Parse(time.RFC3339, s))', () => {
  const asIso = (s: string) => new Date(unixMilli(parseRFC3339(s))).toISOString();
  it('accepts RFC 3339 and words errors like Go', () => {
    expect(asIso('2026-11-25T10:00:00Z')).to.equal('2026-11-25T10:00:00.000Z');
    expect(asIso('2026-11-25T10:00:00.123456-05:30')).to.equal('2026-11-25T15:30:00.123Z');
    expect(asIso('2024-02-29T00:00:00Z')).to.equal('2024-02-29T00:00:00.000Z');
    expect(parseRFC3339('2026-11-25T10:00:00.123456789-05:30')).to.deep.equal(unmarshalTimeJSON('2026-11-25T10:00:00.123456789-05:30'));
    const layout = '"2006-01-02T15:04:05Z07:00"';
    const errs: Array<[string, string]> = [
      ['2026-11-25', `parsing time "2026-11-25" as ${layout}: cannot parse "" as "T"`],
      ['2026-11-25 10:00:00Z', `parsing time "2026-11-25 10:00:00Z" as ${layout}: cannot parse " 10:00:00Z" as "T"`],
      ['2026-11-25T10:00:00', `parsing time "2026-11-25T10:00:00" as ${layout}: cannot parse "" as "Z07:00"`],
      ['26-11-25T10:00:00Z', `parsing time "26-11-25T10:00:00Z" as ${layout}: cannot parse "26-11-25T10:00:00Z" as "2006"`],
      ['2026-00-25T10:00:00Z', 'parsing time "2026-00-25T10:00:00Z": month out of range'],
      ['2023-02-29T00:00:00Z', 'parsing time "2023-02-29T00:00:00Z": day out of range'],
      ['2026-11-25T24:00:00Z', 'parsing time "2026-11-25T24:00:00Z": hour out of range'],
      ['2026-11-25T10:00:00Zjunk', 'parsing time "2026-11-25T10:00:00Zjunk": extra text: "junk"'],
    ];
    for (const [input, msg] of errs) expect(() => parseRFC3339(input), input).to.throw(ValueError, msg);
  });
});
