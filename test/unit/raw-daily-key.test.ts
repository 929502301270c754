import { describe, expect, it } from 'vitest';
import { InvalidRawIdError, rawDailyKeyFor } from '../../src/lake/raw-zone.ts';

describe('lake > raw zone > daily keys', () => {
  it('lake > raw zone > daily keys > one key per user, kind and date', () => {
    expect(rawDailyKeyFor('475', 'sleep', '2026-02-28')).toBe('raw/daily/sleep/user_id=475/date=2026-02-28/sleep.json.gz');
    expect(rawDailyKeyFor('475', 'activity', '2026-02-28')).toBe('raw/daily/activity/user_id=475/date=2026-02-28/activity.json.gz');
  });

  it('lake > raw zone > daily keys > ids and dates that could leave the folder are refused', () => {
    expect(() => rawDailyKeyFor('../x', 'sleep', '2026-02-28')).toThrow(InvalidRawIdError);
    expect(() => rawDailyKeyFor('475', 'sleep', '2026-02-28/../../x')).toThrow(InvalidRawIdError);
    expect(() => rawDailyKeyFor('475', 'tcx' as 'sleep', '2026-02-28')).toThrow(InvalidRawIdError);
  });
});
