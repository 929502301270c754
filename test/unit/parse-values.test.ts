import { describe, expect, it } from 'vitest';
import { ParseFault } from '../../src/parse/errors.ts';
import { toNumber } from '../../src/parse/values.ts';

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
    for (const t of texts) expect(Object.is(toNumber(t, 'x'), Number(t)), t).toBe(true);
  });

  it('parse > values > texts beside the fast path keep the general rule', () => {
    expect(toNumber(' 12.5\n', 'x')).toBe(12.5);
    expect(toNumber('5.', 'x')).toBe(5);
    expect(toNumber('.5', 'x')).toBe(0.5);
    expect(toNumber('1e3', 'x')).toBe(1000);
    expect(toNumber('+7', 'x')).toBe(7);
    expect(toNumber('', 'x')).toBeNull();
    expect(toNumber('null', 'x')).toBeNull();
    for (const t of ['0x10', '1..2', '1-2', '-', '.', 'NaN', 'Infinity', '1.2.3', '12a']) {
      expect(() => toNumber(t, 'x'), t).toThrow(ParseFault);
    }
  });
});
