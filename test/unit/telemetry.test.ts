import { describe, expect, it } from 'vitest';
import type { RegisteredUser } from '../../src/state/users.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { createPipelineObserver, endpointOf, UNFETCHED_WARN_DAYS } from '../../src/telemetry/observer.ts';
import { unfetchedAgeSeconds } from '../../src/telemetry/status.ts';
import { sparkline } from '../../src/telemetry/status-text.ts';
import { svgChart } from '../../src/telemetry/status-html.ts';
import { encodeEnvelope } from '../../src/records/envelope.ts';

const DAY = 86_400_000;

function capture(level: 'debug' | 'info' = 'debug') {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level, write: (l) => lines.push(l) }) };
}

describe('telemetry > log', () => {
  it('redacts secrets by path and leaves counts keyed by error codes alone', () => {
    const { lines, logger } = capture();
    logger.info('fetch.run.completed', {
      errors_by_code: { PL_STATE_SECRET_UNREADABLE: 3 },
      access_token: 'tok-1', nested: { client_secret: 'sec-2', refresh_token: 'tok-3' }, headers: { authorization: 'Bearer tok-4' },
    });
    const line = JSON.parse(lines[0]!);
    expect(line.errors_by_code).toEqual({ PL_STATE_SECRET_UNREADABLE: 3 });
    expect(line.access_token).toBe('[redacted]');
    expect(line.nested).toEqual({ client_secret: '[redacted]', refresh_token: '[redacted]' });
    expect(line.headers.authorization).toBe('[redacted]');
    expect(lines[0]).not.toMatch(/tok-|sec-2/);
  });

  it('never lets a field or binding overwrite the event name, level or time', () => {
    const { lines, logger } = capture();
    logger.child({ event: 'from-binding' }).warn('webhooks.signature.rejected', { event: 'EXERCISE', level: 'x', time: 'y' });
    const line = JSON.parse(lines[0]!);
    expect(line.event).toBe('webhooks.signature.rejected');
    expect(line.level).toBe('warn');
    expect(Date.parse(line.time)).toBeGreaterThan(0);
    expect(line.event_field).toBe('EXERCISE');
    expect(lines[0]!.match(/"event":/g)).toHaveLength(1);
  });

  it('writes errors as name, message, code and kind, and honours the level', () => {
    const { lines, logger } = capture('info');
    logger.debug('quiet', {});
    logger.error('x.failed', { error: Object.assign(new Error('boom'), { code: 'PL_X', kind: 'transient' }) });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).error).toEqual({ name: 'Error', message: 'boom', code: 'PL_X', kind: 'transient' });
  });
});

describe('telemetry > observer', () => {
  it('labels request latency by endpoint with ids replaced', () => {
    expect(endpointOf('/v3/users/12345/exercise-transactions/99/exercises/7/tcx')).toBe('/v3/users/{id}/exercise-transactions/{id}/exercises/{id}/tcx');
    expect(endpointOf('/v3/users/activities/2026-01-02')).toBe('/v3/users/activities/{id}');
    expect(endpointOf('/v3/exercises/aB3dE5gH7jK9mN1pQ3sT5vX7z')).toBe('/v3/exercises/{id}');
    expect(endpointOf('/v3/notifications')).toBe('/v3/notifications');
  });

  it('ages what is unfetched from the first failing sweep after a success, and warns at 14 days, hourly', () => {
    let now = Date.parse('2026-03-01T00:00:00Z');
    const { lines, logger } = capture();
    const observer = createPipelineObserver({ logger, now: () => now });
    const user: RegisteredUser = { polarUserId: '7', memberId: 'm', status: 'active', registeredAtUtc: '2026-01-01T00:00:00Z', statusChangedAtUtc: '2026-01-01T00:00:00Z', statusReason: null, tokenExpiresAtUtc: null };
    const age = () => unfetchedAgeSeconds(user, observer.sweeps().get('7'), now);
    observer.onUserSwept({ userId: '7', dataType: 'exercise', ok: true });
    expect(age()).toBe(0);
    now += DAY;
    observer.onUserSwept({ userId: '7', dataType: 'exercise', ok: false }); // failing since the last success
    expect(age()).toBe(1 * 86_400);
    now += (UNFETCHED_WARN_DAYS - 1) * DAY - 1000;
    observer.onUserSwept({ userId: '7', dataType: 'exercise', ok: false });
    expect(lines.filter((l) => l.includes('fetch.user.window_closing'))).toHaveLength(0);
    now += 1000;
    observer.onUserSwept({ userId: '7', dataType: 'exercise', ok: false });
    observer.onUserSwept({ userId: '7', dataType: 'exercise', ok: false }); // same hour: no second warning
    const warnings = lines.filter((l) => l.includes('fetch.user.window_closing'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 'warn', user_id: '7', unfetched_days: UNFETCHED_WARN_DAYS, window_days: 28 });
    expect(age()).toBe(UNFETCHED_WARN_DAYS * 86_400);
    observer.onUserSwept({ userId: '7', dataType: 'exercise', ok: true });
    expect(age()).toBe(0);
    // A user who needs an operator: unfetched since the status changed; deregistered: not ours.
    expect(unfetchedAgeSeconds({ ...user, status: 'needs_reauth', statusChangedAtUtc: new Date(now - 3 * DAY).toISOString() }, undefined, now)).toBe(3 * 86_400);
    expect(unfetchedAgeSeconds({ ...user, status: 'deregistered' }, undefined, now)).toBeNull();
  });

  it('keeps the 20 latest dead letters and a history of one point a minute for the last hour', () => {
    let now = Date.parse('2026-03-01T00:00:30Z');
    const observer = createPipelineObserver({ logger: createLogger({ level: 'silent' }), now: () => now });
    for (let i = 0; i < 25; i++) {
      observer.onPublished('polar.deadletter', [encodeEnvelope({ type: 'deadletter', user_id: 'u', raw_key: `raw/${i}`, stage: 'parse', error: { code: 'PL_PARSE_X', message: `bad ${i}` }, at_utc: '2026-03-01T00:00:00Z' })]);
    }
    expect(observer.deadLetters()).toHaveLength(20);
    expect(observer.deadLetters()[0]).toMatchObject({ raw_key: 'raw/24', code: 'PL_PARSE_X', message: 'bad 24', stage: 'parse' });
    for (let minute = 0; minute < 70; minute++) {
      observer.onCommitted({ table: 'samples', rows: minute, bytes: 1, seconds: 0.01 });
      observer.sample(minute % 2 === 0 ? minute : null);
      now += 60_000;
    }
    const history = observer.history();
    expect(history).toHaveLength(60);
    expect(history.at(-1)).toEqual({ atMs: Date.parse('2026-03-01T01:09:00Z'), rowsWritten: 69, payloadsFetched: 0, lag: null });
    expect(history.at(-2)!.lag).toBe(68);
  });
});

describe('telemetry > charts', () => {
  it('draws sparklines scaled to the largest value, blanks for unknown points', () => {
    expect(sparkline([0, 7, 14, null, 3.5])).toBe('▁▅█ ▃');
    expect(sparkline([0, 0])).toBe('▁▁');
  });

  it('draws an SVG line per run of known points', () => {
    const svg = svgChart('consumer lag', [1, 2, null, 4, 5], 'messages');
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('now 5 messages, max 5');
  });
});
