import { describe, expect, it } from 'vitest';
import { Flaws, QUALITY, decimalBytes, toNumber as toNumberFlawed } from '../../src/parse/values.ts';

const toNumber = (text: string): number | null => toNumberFlawed(text, new Flaws());

/** A small deterministic generator, so a failure names a reproducible text. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('parse > values', () => {
  it('parse > values > the plain-decimal fast path equals Number() bit for bit', () => {
    const random = lcg(42);
    const texts: string[] = ['0', '-0', '0.0', '-0.0', '007', '123456789012345', '0.000000000000001', '999999999999999', '-99999999999999.9', '1.100000023841858'];
    for (let n = 0; n < 20000; n++) {
      const intDigits = 1 + Math.floor(random() * 8);
      const fracDigits = Math.floor(random() * 10);
      let t = random() < 0.3 ? '-' : '';
      for (let i = 0; i < intDigits; i++) t += String(Math.floor(random() * 10));
      if (fracDigits > 0) t += '.';
      for (let i = 0; i < fracDigits; i++) t += String(Math.floor(random() * 10));
      texts.push(t);
    }
    for (const t of texts) expect(Object.is(toNumber(t), Number(t)), t).toBe(true);
  });

  it('parse > values > up to 24 characters of any digit count: the fast paths (string and bytes) equal Number() bit for bit', () => {
    const random = lcg(7);
    const texts: string[] = ['9007199254740991', '9007199254740992', '9007199254740993', '4503599627370497.5', '0.0000000000000000000001', '-.5', '.5', '12345678901234567890'];
    for (let n = 0; n < 20000; n++) {
      const intDigits = Math.floor(random() * 18);
      const fracDigits = Math.floor(random() * 12);
      let t = random() < 0.3 ? '-' : '';
      for (let i = 0; i < intDigits; i++) t += String(Math.floor(random() * 10));
      if (fracDigits > 0 || intDigits === 0) t += '.';
      for (let i = 0; i < Math.max(fracDigits, intDigits === 0 ? 1 : 0); i++) t += String(Math.floor(random() * 10));
      texts.push(t);
    }
    const padded = Buffer.alloc(64);
    let fast = 0;
    for (const t of texts) {
      expect(Object.is(toNumber(t), Number(t)), t).toBe(true);
      // The bytes sit inside a larger buffer, as in the tokenizer's chunk.
      padded.fill(0x37);
      const at = 5 + (t.length % 7);
      padded.write(t, at, 'latin1');
      const v = decimalBytes(padded, at, at + t.length);
      if (v === v) {
        fast++;
        expect(Object.is(v, Number(t)), t).toBe(true);
      } else {
        expect(t.length > 24 || t.replace(/[-.]/g, '').length >= 16, `${t} left the fast path`).toBe(true);
      }
    }
    expect(fast).toBeGreaterThan(texts.length / 2);
    for (const t of [' 1', '1 ', '1e3', '+7', '5.', '-', '.', '', '1.2.3', '0x10', 'null', '1,5']) {
      const b = Buffer.from(t);
      expect(decimalBytes(b, 0, b.length), t).toBeNaN();
    }
  });

  it('parse > values > texts beside the fast path keep the general rule', () => {
    expect(toNumber(' 12.5\n')).toBe(12.5);
    expect(toNumber('5.')).toBe(5);
    expect(toNumber('.5')).toBe(0.5);
    expect(toNumber('1e3')).toBe(1000);
    expect(toNumber('+7')).toBe(7);
    expect(toNumber('')).toBeNull();
    expect(toNumber('null')).toBeNull();
  });

  it('parse > values > a text that is not a number is null and counted, never thrown (keeps bad.tcx `<LatitudeDegrees>no`)', () => {
    for (const t of ['no', 'undefined', '0x10', '1..2', '1-2', '-', '.', 'NaN', 'Infinity', '1.2.3', '12a', '1,234.5', '1,2,3', ',5']) {
      const flaws = new Flaws();
      expect(toNumberFlawed(t, flaws), t).toBeNull();
      expect([flaws.point, flaws.valueUnparseable, flaws.decimalComma], t).toEqual([QUALITY.value_unparseable, 1, 0]);
    }
  });

  it('parse > values > a decimal comma is read as a decimal point and counted (keeps 13121201.tcx `<DistanceMeters>0,000000`)', () => {
    for (const [t, v] of [['0,000000', 0], ['12,5', 12.5], ['-3,25', -3.25], [' 7,125\n', 7.125], ['+1,5', 1.5]] as const) {
      const flaws = new Flaws();
      expect(toNumberFlawed(t, flaws), t).toBe(v);
      expect([flaws.point, flaws.valueUnparseable, flaws.decimalComma], t).toEqual([QUALITY.decimal_comma, 0, 1]);
    }
    const clean = new Flaws();
    for (const t of ['12.5', '', 'null', ' 1e3 ']) toNumberFlawed(t, clean);
    expect([clean.point, clean.valueUnparseable, clean.decimalComma]).toEqual([0, 0, 0]);
  });
});
