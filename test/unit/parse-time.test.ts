import { describe, expect, it } from 'vitest';
import { ParseFault } from '../../src/parse/errors.ts';
import { type ParsedInstant, parseInstant, parseInstantBytes } from '../../src/parse/time.ts';

const BASE_US = Date.UTC(2019, 2, 3, 10, 0, 0) * 1000;

describe('parse > time', () => {
  // Every shape seen in the corpus, and the neighbours of each.
  it.each([
    ['2019-03-03T10:00:00Z', BASE_US, null],
    ['2019-03-03T10:00:00.212Z', BASE_US + 212000, null],
    ['2019-03-03T10:00:00.2Z', BASE_US + 200000, null],
    ['2019-03-03T10:00:00.21Z', BASE_US + 210000, null],
    ['2019-03-03T12:00:00.123456+02:00', BASE_US + 123456, 120],
    ['2019-03-03T10:00:00.1234567Z', BASE_US + 123456, null],
    ['2019-03-03T12:00:00+02:00', BASE_US, 120],
    ['2019-03-03T21:00:00+1100', BASE_US, 660],
    ['2019-03-03T05:30:00-04:30', BASE_US, -270],
    ['2019-03-03T12:00:00+02', BASE_US, 120],
    ['2019-03-03 10:00:00Z', BASE_US, null],
  ])('parse > time > %s', (text, us, offset) => {
    expect(parseInstant(text, null)).toEqual({ utcUs: us, offsetMin: offset, zoned: true });
  });

  it('parse > time > no zone: UTC, or local at the context offset when known', () => {
    expect(parseInstant('2019-03-03T10:00:00', null)).toEqual({ utcUs: BASE_US, offsetMin: null, zoned: false });
    expect(parseInstant('2019-03-03T12:00:00', 120).utcUs).toBe(BASE_US);
    expect(parseInstant(' 2019-03-03T10:00:00Z\n', null).utcUs).toBe(BASE_US);
  });

  it.each(['Jan 5 2012, 14:56:11', '2019-13-03T10:00:00Z', '2019-02-29T10:00:00Z', '2019-03-03T10:00:00X', '2019-03-03T10:00:00.Z', '2019-03-03T24:00:00Z', ''])(
    'parse > time > refuses %j',
    (text) => {
      expect(() => parseInstant(text, null)).toThrow(ParseFault);
    },
  );

  it('parse > time > the per-day cache never lets an invalid date through', () => {
    expect(parseInstant('2024-02-29T10:00:00Z', null).utcUs).toBe(Date.UTC(2024, 1, 29, 10) * 1000);
    expect(() => parseInstant('2023-02-29T10:00:00Z', null)).toThrow(ParseFault);
    expect(parseInstant('2024-02-29T23:59:59.5Z', null).utcUs).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 500) * 1000);
    expect(parseInstant('2024-03-01T00:00:00Z', null).utcUs).toBe(Date.UTC(2024, 2, 1) * 1000);
    expect(() => parseInstant('2024-03-0xT00:00:00Z', null)).toThrow(ParseFault);
  });

  it('parse > time > the byte reader gives what the string reader gives, or declines', () => {
    const texts = [
      '2019-03-03T10:00:00Z', '2019-03-03T10:00:00.212Z', '2019-03-03T10:00:00.2Z', '2019-03-03T12:00:00.123456+02:00', '2019-03-03T10:00:00.1234567Z',
      '2019-03-03T12:00:00+02:00', '2019-03-03T21:00:00+1100', '2019-03-03T05:30:00-04:30', '2019-03-03T12:00:00+02', '2019-03-03 10:00:00Z',
      '2019-03-03T10:00:00', '2019-03-03T10:00:00,5Z', '2019-03-03T10:00:00.999999999-00:00', '2024-02-29T23:59:59.5Z', '2000-02-29T00:00:00Z',
      // Declined (the string reader trims, or refuses with its message):
      ' 2019-03-03T10:00:00Z', '2019-03-03T10:00:00Z\n', '2019-13-03T10:00:00Z', '2019-02-29T10:00:00Z', '2100-02-29T10:00:00Z', '2019-03-03T10:00:00X',
      '2019-03-03T10:00:00.Z', '2019-03-03T24:00:00Z', '2019-03-03T10:60:00Z', '2019-03-0xT10:00:00Z', '2019-03-03T10:00:00+2:00', '2019-03-03T10:00:00+02:0',
      '2019-03-03T10:00:00Z ', '2019-03-03', '', '2019-03-03T10:00:00ZZ', '2019-00-03T10:00:00Z', '2019-03-00T10:00:00Z', '2019-03-03T10:00:00+24:00',
    ];
    const padded = Buffer.alloc(80);
    for (const offset of [null, 120, -330]) {
      for (const t of texts) {
        let expected: ParsedInstant | null = null;
        try {
          expected = parseInstant(t, offset);
        } catch (error) {
          expect(error, t).toBeInstanceOf(ParseFault);
        }
        padded.fill(0x31);
        padded.write(t, 3, 'latin1');
        const out: ParsedInstant = { utcUs: -1, offsetMin: -1, zoned: false };
        const took = parseInstantBytes(padded, 3, 3 + t.length, offset, out);
        if (took) expect(out, t).toEqual(expected);
        else expect(expected === null || t.trim() !== t, `${t} declined`).toBe(true);
        // Every instant without surrounding whitespace that the string reader takes, the byte reader takes.
        if (expected !== null && t.trim() === t) expect(took, t).toBe(true);
      }
    }
  });
});
