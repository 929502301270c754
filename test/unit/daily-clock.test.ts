import { describe, expect, it } from 'vitest';
import { localDateAt, noonAnchor, placeClockKey, type NightAnchor } from '../../src/daily/clock.ts';
import { sleepAnchor } from '../../src/daily/night.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const at = (key: string, anchor: NightAnchor) => {
  const p = placeClockKey(key, anchor)!;
  return { utc: iso(p.utcMs), offset: p.offsetMin };
};

describe('daily > clock keys', () => {
  it('daily > clock keys > east of UTC: keys after the start stay on the evening, keys after midnight roll to the next date', () => {
    // Helsinki in winter, +02:00: asleep 23:33 on the 14th, awake 07:10 on the 15th.
    const anchor = sleepAnchor({ sleep_start_time: '2026-01-14T23:33:20+02:00', sleep_end_time: '2026-01-15T07:10:00+02:00' })!;
    expect(at('23:33', anchor)).toEqual({ utc: '2026-01-14T21:33:00.000Z', offset: 120 });
    expect(at('23:59', anchor)).toEqual({ utc: '2026-01-14T21:59:00.000Z', offset: 120 });
    expect(at('00:00', anchor)).toEqual({ utc: '2026-01-14T22:00:00.000Z', offset: 120 });
    expect(at('07:05', anchor)).toEqual({ utc: '2026-01-15T05:05:00.000Z', offset: 120 });
  });

  it('daily > clock keys > west of UTC: the local evening is already the next UTC date, and the rule still follows the local clock', () => {
    // Los Angeles, -08:00: asleep 22:40 local (06:40 UTC the next day).
    const anchor = sleepAnchor({ sleep_start_time: '2026-01-14T22:40:00-08:00', sleep_end_time: '2026-01-15T06:30:00-08:00' })!;
    expect(at('22:40', anchor)).toEqual({ utc: '2026-01-15T06:40:00.000Z', offset: -480 });
    expect(at('01:15', anchor)).toEqual({ utc: '2026-01-15T09:15:00.000Z', offset: -480 });
    expect(at('06:25', anchor)).toEqual({ utc: '2026-01-15T14:25:00.000Z', offset: -480 });
  });

  it('daily > clock keys > a night that starts after midnight keeps every key on the start date', () => {
    const anchor = sleepAnchor({ sleep_start_time: '2026-01-15T00:39:07+03:00', sleep_end_time: '2026-01-15T08:00:00+03:00' })!;
    expect(at('00:39', anchor).utc).toBe('2026-01-14T21:39:00.000Z');
    expect(at('07:59', anchor).utc).toBe('2026-01-15T04:59:00.000Z');
    // A key a little before the start (Polar keys by minute, samples may lead the start) is that same evening.
    expect(at('00:10', anchor).utc).toBe('2026-01-14T21:10:00.000Z');
  });

  it('daily > clock keys > DST spring forward (Europe, +01:00 → +02:00 at 02:00): keys after 02:00 on the wake-up date use the end offset', () => {
    const anchor = sleepAnchor({ sleep_start_time: '2026-03-28T23:30:00+01:00', sleep_end_time: '2026-03-29T07:00:00+02:00' })!;
    expect(at('23:30', anchor)).toEqual({ utc: '2026-03-28T22:30:00.000Z', offset: 60 });
    expect(at('01:55', anchor)).toEqual({ utc: '2026-03-29T00:55:00.000Z', offset: 60 });
    expect(at('03:05', anchor)).toEqual({ utc: '2026-03-29T01:05:00.000Z', offset: 120 });
    expect(at('06:55', anchor)).toEqual({ utc: '2026-03-29T04:55:00.000Z', offset: 120 });
    // The instants stay in order across the jump: 01:55 +01:00 is 10 minutes before 03:05 +02:00.
    expect(Date.parse(at('03:05', anchor).utc) - Date.parse(at('01:55', anchor).utc)).toBe(10 * 60_000);
  });

  it('daily > clock keys > DST fall back (US, -04:00 → -05:00): early keys keep the start offset, later ones the end offset', () => {
    const anchor = sleepAnchor({ sleep_start_time: '2026-10-31T23:00:00-04:00', sleep_end_time: '2026-11-01T07:00:00-05:00' })!;
    expect(at('00:30', anchor)).toEqual({ utc: '2026-11-01T04:30:00.000Z', offset: -240 });
    expect(at('04:00', anchor)).toEqual({ utc: '2026-11-01T09:00:00.000Z', offset: -300 });
    expect(at('06:59', anchor).utc).toBe('2026-11-01T11:59:00.000Z');
  });

  it('daily > clock keys > without the night (Nightly Recharge alone): keys from noon belong to the evening before, offset null', () => {
    const anchor = noonAnchor('2026-01-15')!;
    expect(at('23:50', anchor)).toEqual({ utc: '2026-01-14T23:50:00.000Z', offset: null });
    expect(at('12:00', anchor).utc).toBe('2026-01-14T12:00:00.000Z');
    expect(at('03:20', anchor).utc).toBe('2026-01-15T03:20:00.000Z');
  });

  it('daily > clock keys > not a clock time → null; HH:MM:SS accepted', () => {
    const anchor = noonAnchor('2026-01-15')!;
    expect(placeClockKey('24:00', anchor)).toBeNull();
    expect(placeClockKey('7:05', anchor)).toBeNull();
    expect(placeClockKey('nope', anchor)).toBeNull();
    expect(at('03:20:30', anchor).utc).toBe('2026-01-15T03:20:30.000Z');
  });

  it('daily > clock keys > local dates east and west of UTC', () => {
    const ms = Date.parse('2026-01-14T22:30:00Z');
    expect(localDateAt(ms, 120)).toBe('2026-01-15');
    expect(localDateAt(ms, -480)).toBe('2026-01-14');
    expect(localDateAt(ms, null)).toBe('2026-01-14');
  });
});
