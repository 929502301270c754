import { describe, expect, it } from 'vitest';
import { splitJsonArray } from '../../src/accesslink/client.ts';

const split = (text: string) => splitJsonArray(Buffer.from(text, 'utf8')).map((b) => b.toString('utf8'));

describe('accesslink > split json array', () => {
  it('gives each element byte for byte, whitespace trimmed', () => {
    expect(split(' [ {"a":1.0} ,\n {"b":[1,2,{"c":"]"}]} ]\n')).toEqual(['{"a":1.0}', '{"b":[1,2,{"c":"]"}]}']);
  });

  it('brackets, commas and escaped quotes inside strings do not split', () => {
    const items = ['{"s":"a,b]}[{\\"q\\"\\\\"}', '"x\\\\"', '{"id":"ymeoBNZw","n":12345678901234567890}'];
    expect(split(`[${items.join(',')}]`)).toEqual(items);
  });

  it('multi-byte UTF-8 survives and a BOM is skipped', () => {
    expect(split('\uFEFF[{"device":"Polar Vantage V3 – Ä🏃"},{}]')).toEqual(['{"device":"Polar Vantage V3 – Ä🏃"}', '{}']);
  });

  it('an empty array and a non-array give no elements', () => {
    expect(split('[]')).toEqual([]);
    expect(split('  [ ]  ')).toEqual([]);
    expect(split('{"a":[1]}')).toEqual([]);
  });
});
