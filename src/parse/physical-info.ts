/**
 * Physical information → one `PhysicalInfoRow` per snapshot. Reads both spellings: the
 * transactional item (hyphenated: `maximum-heart-rate`, `weight-source`, `created`) and
 * `GET /v3/users/physical-info` (snake_case, with `modified`, `birthday`, `sleep_goal`,
 * `training_background`, `typical_day`). The snapshot's identity is `modified`, else
 * `created` (the fetch stage keys its raw object by the same instant).
 */
import type { PhysicalInfoRow } from '../records/rows.ts';
import { isoDurationSeconds } from './exercise-summary.ts';
import { DailyPayloadError, dateTimeAt, int, num, snakeKeys, str, type DailyContext } from './json-payload.ts';

const instant = (o: Record<string, unknown>, key: string, file: string) => dateTimeAt(o[key], file, key);

export function normalisePhysicalInfo(json: unknown, ctx: DailyContext): PhysicalInfoRow {
  const raw = json as Record<string, unknown> | null;
  const hyphenated = !!raw && typeof raw === 'object' && Object.keys(raw).some((k) => k.includes('-'));
  const o = snakeKeys(json, ctx.file);
  const created = instant(o, 'created', ctx.file);
  const modified = instant(o, 'modified', ctx.file);
  const snapshot = modified ?? created;
  if (!snapshot) throw new DailyPayloadError('neither modified nor created names the snapshot', ctx.file, 'modified');
  const sleepGoal = o['sleep_goal'];
  const sleepGoalS = sleepGoal === undefined || sleepGoal === null ? null : typeof sleepGoal === 'number' ? sleepGoal : isoDurationSeconds(sleepGoal);
  return {
    user_id: ctx.userId,
    snapshot_utc_us: snapshot.utcUs,
    utc_offset_min: snapshot.offsetMin,
    created_utc_us: created?.utcUs ?? null,
    modified_utc_us: modified?.utcUs ?? null,
    weight_kg: num(o['weight']),
    height_cm: num(o['height']),
    weight_source: str(o['weight_source']),
    birthday: str(o['birthday']),
    gender: str(o['gender']),
    maximum_heart_rate_bpm: int(o['maximum_heart_rate']),
    resting_heart_rate_bpm: int(o['resting_heart_rate']),
    aerobic_threshold_bpm: int(o['aerobic_threshold']),
    anaerobic_threshold_bpm: int(o['anaerobic_threshold']),
    vo2_max: int(o['vo2_max']),
    sleep_goal_s: sleepGoalS,
    training_background: str(o['training_background']),
    typical_day: str(o['typical_day']),
    source_channel: hyphenated || 'transaction_id' in o ? 'transactional' : 'current',
  };
}
