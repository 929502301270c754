import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  instantToUtcMicros,
  isoDurationSeconds,
  localTimeToUtcMicros,
  normaliseExerciseSummary,
  SummaryError,
} from '../../src/parse/exercise-summary.ts';
import { corpusPath, HAVE_CORPUS } from '../helpers/corpus.ts';

const hyphenated = {
  id: 56,
  'upload-time': '2008-10-13T10:40:02.000Z',
  'polar-user': 'https://www.polaraccesslink.com/v3/users/475',
  'transaction-id': 9001,
  device: 'Polar M400',
  'start-time': '2008-10-13T23:40:02',
  'start-time-utc-offset': -420,
  duration: 'PT6.705S',
  'heart-rate': {},
  sport: 'RUNNING',
  'has-route': false,
  'training-load-pro': { 'cardio-load': 98.5 },
};

describe('parse > exercise summary', () => {
  it('reads the hyphenated (transactional) spelling', () => {
    const { row, unknownKeys } = normaliseExerciseSummary(hyphenated, { userId: '475', file: 'x.json' });
    expect(row.exercise_id).toBe('56');
    expect(row.transaction_id).toBe('9001');
    // 23:40:02 at UTC-7 is 06:40:02 UTC the next day.
    expect(new Date(row.start_time_utc_us / 1000).toISOString()).toBe('2008-10-14T06:40:02.000Z');
    expect(row.utc_offset_min).toBe(-420);
    expect(row.duration_s).toBeCloseTo(6.705, 9);
    expect(row.heart_rate_avg_bpm).toBeNull(); // heart-rate may be {}
    expect(row.cardio_load).toBe(98.5);
    expect(row.has_route).toBe(false);
    expect(unknownKeys).toEqual([]);
  });

  it('gives the same row for the snake_case spelling', () => {
    const snake = Object.fromEntries(Object.entries(hyphenated).map(([k, v]) => [k.replace(/-/g, '_'), v]));
    expect(normaliseExerciseSummary(snake, { userId: '475', file: 'x' }).row).toEqual(
      normaliseExerciseSummary(hyphenated, { userId: '475', file: 'x' }).row,
    );
  });

  it('refuses a summary without id or start time, naming the field and file', () => {
    expect(() => normaliseExerciseSummary({ start_time: '2020-01-01T00:00:00' }, { userId: '1', file: 'raw/a.json' })).toThrow(
      /raw\/a.json: id: missing exercise id/,
    );
    const err = (() => {
      try {
        normaliseExerciseSummary({ id: 'x', start_time: 'yesterday' }, { userId: '1', file: 'f' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SummaryError);
    expect((err as SummaryError).code).toBe('PL_SUMMARY_INVALID');
    expect((err as SummaryError).field).toBe('start_time');
  });

  it('parses durations, local times and instants', () => {
    expect(isoDurationSeconds('PT2H44M45S')).toBe(9885);
    expect(isoDurationSeconds('P1DT1S')).toBe(86401);
    expect(isoDurationSeconds('2 hours')).toBeNull();
    expect(localTimeToUtcMicros('2020-01-01T00:30:00.5', 60)).toBe(Date.UTC(2019, 11, 31, 23, 30) * 1000 + 500_000);
    expect(instantToUtcMicros('2020-01-01T00:39:07+03:00')).toBe(Date.UTC(2019, 11, 31, 21, 39, 7) * 1000);
    expect(instantToUtcMicros('2020-01-01T00:39:07')).toBeNull();
  });
});

describe.skipIf(!HAVE_CORPUS)('parse > exercise summary > corpus', () => {
  const read = (f: string) => JSON.parse(readFileSync(corpusPath(`axs192_polar-flow-platform-public/${f}`), 'utf8'));

  it('reads the documentation example with mixed key styles', () => {
    const { row } = normaliseExerciseSummary(read('sample_exercise.json'), { userId: '1', file: 'sample_exercise.json' });
    expect(row).toMatchObject({ exercise_id: '2AC312F', utc_offset_min: 180, duration_s: 9840, running_index: 51, calories_kcal: 530 });
    expect(new Date(row.start_time_utc_us / 1000).toISOString()).toBe('2008-10-13T07:40:02.000Z');
  });

  it('reports the misspelled "durations" key and leaves duration null', () => {
    const { row, unknownKeys } = normaliseExerciseSummary(read('keys_missing_exercise.json'), { userId: '1', file: 'k.json' });
    expect(row.duration_s).toBeNull();
    expect(unknownKeys).toContain('durations');
  });

  it('reads all 25 exercises of a 30-day /v3/exercises response', () => {
    const list = read('30_day_sample.json') as unknown[];
    const rows = list.map((e) => normaliseExerciseSummary(e, { userId: '1', file: '30_day' }).row);
    expect(rows).toHaveLength(25);
    expect(new Set(rows.map((r) => r.exercise_id)).size).toBe(25);
    expect(rows.every((r) => r.device === 'Polar Pacer Pro' && r.duration_s !== null)).toBe(true);
  });
});
