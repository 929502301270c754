/**
 * The fault suite's seeded subset for CI (the full run: `npm run suite:fault`, see
 * docs/guarantees.md). Seed 3 over 400 requests deals every kind of fault at least once.
 */
import { describe, expect, it } from 'vitest';
import { runFaultSuite } from '../suites/fault.ts';

describe('fault suite > seeded subset', () => {
  it('with every fault on, nothing is committed before it was delivered whole, and everything lands exactly once', async () => {
    const result = await runFaultSuite({ requests: 400, seed: 3 });
    expect(result.requestsWithFaults).toBeGreaterThanOrEqual(400);
    for (const [kind, n] of Object.entries(result.faultsDealt)) expect(n, kind).toBeGreaterThan(0);
    expect(result.committedIncomplete).toEqual([]);
    expect(result.payloadsWrong).toEqual([]);
    expect(result.exercisesCommitted).toBe(result.exercisesUploaded);
    expect(result.exercisesCommittedTwice).toBe(0);
    expect(result.eventsPublished).toBe(result.payloadsExpected);
    expect(result.eventsDuplicated).toBe(0);
    expect(result.reenrolments).toBeGreaterThan(0);
    expect(result.totals.transactionsExpired).toBeGreaterThan(0);
  }, 180_000);
});
