/**
 * `GET /v3/users/sleep/available` (last 28 days): `{"available": [{date, start_time, end_time}]}`,
 * the cheap probe of the sleep type. One small answer lists the nights Polar holds; a night
 * needs its full body (`/sleep/{date}`: hypnogram, heart-rate map) only when it is new or its
 * start or end moved since the version the ledger remembers. See src/stages/fetch-daily.ts.
 */
import { createHash } from 'node:crypto';
import { AccessLinkResponseError } from '../accesslink/errors.ts';
import { datePart } from '../parse/json-payload.ts';

/** One night the probe names, with the version of what it says about the night. */
export interface ProbedNight {
  readonly date: string;
  /** sha256 of `start_time|end_time`: a night whose boundaries did not move keeps it. */
  readonly version: string;
}

export const SLEEP_AVAILABLE_PATH = '/v3/users/sleep/available';

/**
 * The nights of a probe answer (null: the endpoint's no-data answer). An answer that is not the
 * documented object is a bad response (typed, the sweep of the type fails for that user and is
 * tried again next run); an entry naming no date is handed to `onBadEntry` and skipped.
 */
export function probedNights(json: unknown, onBadEntry: (index: number, why: string) => void): ProbedNight[] {
  if (json === null) return [];
  const list = json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>)['available'] : undefined;
  if (!Array.isArray(list)) {
    throw new AccessLinkResponseError('sleep/available: expected {"available": [...]}', { method: 'GET', path: SLEEP_AVAILABLE_PATH, status: 200 });
  }
  const out: ProbedNight[] = [];
  list.forEach((entry: unknown, i) => {
    const o = entry && typeof entry === 'object' && !Array.isArray(entry) ? (entry as Record<string, unknown>) : null;
    const date = o ? datePart(o['date']) : null;
    if (!o || date === null) return onBadEntry(i, 'entry names no date');
    const boundaries = `${String(o['start_time'] ?? '')}|${String(o['end_time'] ?? '')}`;
    out.push({ date, version: createHash('sha256').update(boundaries).digest('hex') });
  });
  return out;
}
