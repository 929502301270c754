import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../src/clock.ts';
import { createRateLimitGate, parseRateLimitHeaders, retryAfterMsFor429, waitForBudgetMs } from '../../src/accesslink/rate-limit.ts';

const headers = (h: Record<string, string>) => new Headers(h);

describe('accesslink > rate limit > headers', () => {
  it('parses the short-term and long-term pairs, tolerating spaces', () => {
    const state = parseRateLimitHeaders(headers({ 'RateLimit-Usage': '37, 1210', 'RateLimit-Limit': '500,5000', 'RateLimit-Reset': ' 120 ,  3600 ' }));
    expect(state).toEqual({ shortTerm: { used: 37, limit: 500, resetSecs: 120 }, longTerm: { used: 1210, limit: 5000, resetSecs: 3600 } });
  });

  it('accepts a single (short-term) value', () => {
    const state = parseRateLimitHeaders(headers({ 'RateLimit-Usage': '1', 'RateLimit-Limit': '2', 'RateLimit-Reset': '3' }));
    expect(state).toEqual({ shortTerm: { used: 1, limit: 2, resetSecs: 3 }, longTerm: undefined });
  });

  it.each([
    ['missing header', { 'RateLimit-Usage': '1, 2', 'RateLimit-Limit': '3, 4' }],
    ['not a number', { 'RateLimit-Usage': 'x, 2', 'RateLimit-Limit': '3, 4', 'RateLimit-Reset': '5, 6' }],
    ['negative', { 'RateLimit-Usage': '-1, 2', 'RateLimit-Limit': '3, 4', 'RateLimit-Reset': '5, 6' }],
    ['three values', { 'RateLimit-Usage': '1, 2, 3', 'RateLimit-Limit': '3, 4', 'RateLimit-Reset': '5, 6' }],
  ])('ignores malformed headers: %s', (_name, h) => {
    expect(parseRateLimitHeaders(headers(h))).toBeUndefined();
  });

  it('asks for a wait only when a budget is spent', () => {
    const base = { shortTerm: { used: 10, limit: 500, resetSecs: 30 }, longTerm: { used: 10, limit: 5000, resetSecs: 7200 } };
    expect(waitForBudgetMs(base)).toBe(0);
    expect(waitForBudgetMs({ ...base, shortTerm: { used: 500, limit: 500, resetSecs: 30 } })).toBe(30_000);
    expect(waitForBudgetMs({ ...base, longTerm: { used: 5000, limit: 5000, resetSecs: 7200 } })).toBe(7_200_000);
    expect(retryAfterMsFor429(base)).toBe(30_000);
    expect(retryAfterMsFor429({ ...base, longTerm: { used: 5001, limit: 5000, resetSecs: 7200 } })).toBe(7_200_000);
    expect(retryAfterMsFor429(undefined)).toBeUndefined();
  });
});

describe('accesslink > rate limit > gate', () => {
  it('holds requests until the reset once the short-term budget is spent', async () => {
    const clock = createVirtualClock();
    const gate = createRateLimitGate({ clock });
    gate.observe({ shortTerm: { used: 5, limit: 5, resetSecs: 150 }, longTerm: undefined });
    const started = clock.now();
    await gate.wait();
    expect(clock.now() - started).toBe(150_000);
  });

  it('is open while budget remains, and a hold is never shortened', async () => {
    const clock = createVirtualClock(1_000);
    const gate = createRateLimitGate({ clock });
    gate.observe({ shortTerm: { used: 1, limit: 5, resetSecs: 900 }, longTerm: undefined });
    expect(gate.heldUntilMs).toBe(0);
    gate.holdFor(10_000);
    gate.holdFor(5_000);
    expect(gate.heldUntilMs).toBe(11_000);
    clock.advance(10_001);
    expect(gate.heldUntilMs).toBe(0);
  });
});
