import { describe, expect, it } from 'vitest';
import { ParseFault } from '../../src/parse/errors.ts';
import { parseInstant } from '../../src/parse/time.ts';

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
});
