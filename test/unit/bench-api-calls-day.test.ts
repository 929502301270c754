/**
 * The default pipeline's day under Polar's budget (bench/api-calls-day.ts, the model behind
 * `npm run bench:api-calls` part 3), at a small seeded scale so CI runs it in a second: the
 * schedule read as configured goes over the budget, the fetch stage's budgets keep it at 0
 * while every user's every date-based type is still read, and no transaction waits for it.
 */
import { describe, expect, it } from 'vitest';
import { simulateDay, type DayWorkload } from '../../bench/api-calls-day.ts';
import { dailySweepConfig } from '../../src/pipeline/data-types.ts';
import { DEFAULT_PIPELINE_FILE, loadPipeline } from '../../src/pipeline/load.ts';
import { requestsPerExerciseOf } from '../../src/stages/fetch-budget.ts';

const pipeline = loadPipeline(DEFAULT_PIPELINE_FILE);
const daily = dailySweepConfig(pipeline.fetch);
const workload = (users: number, budgets: boolean): DayWorkload => ({
  users, sweepMin: 5, kinds: daily.kinds, schedule: daily.schedule, physicalInfo: pipeline.fetch.physical_info,
  requestsPerExercise: requestsPerExerciseOf(pipeline.fetch.payloads), exercisesPerUserDay: 1, activitySyncsPerUserDay: 3, physicalChangesPerUserDay: 0.02,
  // As bench/api-calls.ts part 1 measures them against the simulator.
  exercise: { perWalk: 4, perItem: 13.06 }, activity: { perWalk: 4, perItem: 3 }, physical: { perWalk: 4, perItem: 1 }, budgets,
});

describe('bench > api-calls > a day of the default pipeline', () => {
  it('as configured, 1,000 users ask for far more than the day allows; with the budgets nothing goes over and every type is read', () => {
    const asked = simulateDay(workload(1_000, false));
    expect(asked.over).toBeGreaterThan(asked.total / 2);
    const made = simulateDay(workload(1_000, true));
    expect(made.over).toBe(0);
    expect(made.total).toBeLessThanOrEqual(5_000 + 100 * 1_000);
    expect(made.transactionsDeferred).toBe(0);
    expect([...made.neverRead.values()].every((n) => n === 0)).toBe(true);
    for (const kind of daily.kinds) expect(made.byType.get(kind)!.reads).toBeGreaterThanOrEqual(2 * 1_000);
  });
});
