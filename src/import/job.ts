/**
 * `polar-lake import`: files people already have → raw zone → `polar.fetched`, like a fetch.
 *
 * For each file the walk yields (src/import/walk.ts): spool it (sha256 as it passes), tell
 * its format from its bytes (then its name), read it once through its parser (bad files are
 * reported here, with their import path, and never stored), store it in the raw zone under a
 * content-addressed exercise id (`imp-<sha256 of the file>`: the same file imported twice is
 * the same object and the same rows), register its identity (src/jobs/exercise-identity.ts:
 * a workout already in the lake from a better source is *merged*, not published), and
 * publish its events. An HRM and a GPX of the same name in one folder are one exercise (the
 * GPX adds positions). Other JSON files of a Flow export (account, calendar, daily activity,
 * sleep, ...) are kept in the raw zone under `raw/imports/` and counted, not parsed.
 *
 * Resumable: the fetch ledger records each payload as stored, then published; a re-run (after
 * a SIGKILL, or of the same folder) skips what is published and finishes what is not.
 * `raw/exercises/.../origin.json.gz` beside each exercise keeps where it came from (import
 * path, job id) and its identity, so `replay` can rebuild the registry.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { TOPICS, type Bus } from '../bus/bus.ts';
import { PolarLakeError, errorMessage } from '../errors.ts';
import { parseRawKey, rawDailyKeyFor, rawKeyFor, type RawZone } from '../lake/raw-zone.ts';
import { encodeEnvelope, type DailyKind, type FetchedEvent, type PayloadKind } from '../records/envelope.ts';
import { flowSleepNights, isFlowActivityDay } from '../parse/flow-daily.ts';
import type { ExerciseRow } from '../records/rows.ts';
import { detectFormat, firstElementName, isGzip } from '../parse/detect.ts';
import { parseImported, readRoute, type ImportFormat, type RoutePoint } from '../parse/imported.ts';
import type { ParseOptions } from '../parse/index.ts';
import type { Ledger } from '../state/ledger.ts';
import type { Logger } from '../telemetry/log.ts';
import type { ExerciseMember, IdentityRegistry, SourceKind } from '../jobs/exercise-identity.ts';
import type { JobOutcome, JobProgress } from '../jobs/progress.ts';
import { ImportUnsupportedFileError } from './errors.ts';
import { walkImport, type ImportFile, type ImportLimits } from './walk.ts';

export interface ImportDeps {
  readonly rawZone: RawZone;
  readonly bus: Bus;
  readonly ledger: Ledger;
  readonly identities: IdentityRegistry;
  readonly progress: JobProgress;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Names this run in the origin records. */
  readonly jobId: string;
  /** Spool folder for files in flight (removed at the end). */
  readonly spoolDir: string;
  readonly limits?: ImportLimits;
  readonly parseOptions?: ParseOptions;
}

type Classified = ImportFormat | 'json';

interface Spooled {
  readonly file: ImportFile;
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly format: Classified;
}

const HEAD_BYTES = 16384;
/** Daily JSON of an export (a day, a year of nights) is read whole up to this; larger JSON is kept raw only. */
const MAX_DAILY_JSON_BYTES = 64 * 1024 * 1024;

class Hasher extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  head: Buffer[] = [];
  headBytes = 0;
  override _transform(chunk: Buffer, _e: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.headBytes < HEAD_BYTES) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
    }
    callback(null, chunk);
  }
}

/** The first bytes of a gzip body, inflated (enough to tell the format). */
async function inflateHead(head: Buffer): Promise<Buffer> {
  const gunzip = createGunzip();
  const parts: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve) => {
    gunzip.on('data', (c: Buffer) => {
      parts.push(c);
      size += c.length;
      if (size >= HEAD_BYTES) resolve();
    });
    gunzip.on('end', () => resolve());
    gunzip.on('error', () => resolve()); // a cut head is expected: only its start is given
    gunzip.end(head);
  });
  return Buffer.concat(parts);
}

/** The format of an import file from its first bytes, then its name. */
export async function classifyImport(headIn: Buffer, name: string): Promise<Classified | null> {
  const head = isGzip(headIn) ? await inflateHead(headIn) : headIn;
  const base = name.toLowerCase().replace(/\.gz$/, '');
  const xmlish = detectFormat(head, base);
  if (xmlish !== 'unknown') return xmlish;
  const text = head.toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (text.startsWith('[Params]')) return 'hrm';
  if (text.startsWith('<') && firstElementName(text) === 'polar-exercise-data') return 'ppt';
  if (text.startsWith('{') || text.startsWith('[')) {
    // The newer export puts `exercises` after long headers: the file name says it too.
    const session = /(^|\/)training-session-[^/]*\.json$/.test(base) || (text.includes('"exportVersion"') && text.includes('"exercises"'));
    return session ? 'flow' : 'json';
  }
  return null;
}

const SOURCE_OF: Record<ImportFormat, SourceKind> = { flow: 'flow', hrm: 'hrm', ppt: 'ppt', fit: 'fit', tcx: 'tcx', gpx: 'gpx' };
const stem = (name: string) => name.toLowerCase().replace(/\.gz$/, '').replace(/\.[^.]+$/, '');

export async function runImport(root: string, userId: string, deps: ImportDeps): Promise<void> {
  const { progress } = deps;
  await mkdir(deps.spoolDir, { recursive: true });
  const spool = await mkdtemp(join(deps.spoolDir, 'import-'));
  try {
    for await (const item of walkImport(root, deps.limits)) {
      if (item.kind === 'problem') {
        progress.addTotal(1);
        progress.failed({ path: item.path, code: item.error.code, reason: item.error.message });
        continue;
      }
      progress.addTotal(item.files.length);
      const spooled: Spooled[] = [];
      for (const file of item.files) {
        try {
          const s = await spoolFile(file, spool);
          if (s) spooled.push(s);
        } catch (error) {
          fail(file.path, error);
        }
      }
      // An HRM and a GPX of the same name are one exercise: the GPX rides along.
      const hrmStems = new Set(spooled.filter((s) => s.format === 'hrm').map((s) => stem(s.file.name)));
      const partners = new Map<string, Spooled>();
      for (const s of spooled) if (s.format === 'gpx' && hrmStems.has(stem(s.file.name))) partners.set(stem(s.file.name), s);
      for (const s of spooled) {
        if (s.format === 'gpx' && partners.get(stem(s.file.name)) === s) continue;
        const partner = s.format === 'hrm' ? partners.get(stem(s.file.name)) : undefined;
        try {
          if (s.format === 'json') await keepRawOnly(s);
          else await importExercise(s, s.format, partner);
        } catch (error) {
          fail(s.file.path, error);
          if (partner) fail(partner.file.path, error);
        }
        await rm(s.path, { force: true });
        if (partner) await rm(partner.path, { force: true });
      }
    }
  } finally {
    await rm(spool, { recursive: true, force: true });
  }

  function fail(path: string, error: unknown): void {
    if (error instanceof PolarLakeError && error.kind !== 'terminal') throw error; // disk, bus: the job cannot go on
    const code = error instanceof PolarLakeError ? error.code : 'PL_IMPORT_UNREADABLE';
    const message = errorMessage(error);
    progress.failed({ path, code, reason: message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message });
  }

  async function spoolFile(file: ImportFile, dir: string): Promise<Spooled | null> {
    const target = join(dir, createHash('sha1').update(file.path).digest('hex'));
    const hasher = new Hasher();
    await pipeline(await file.open(), hasher, createWriteStream(target));
    const format = await classifyImport(Buffer.concat(hasher.head), file.name);
    if (!format) {
      await rm(target, { force: true });
      const head = Buffer.concat(hasher.head).toString('latin1', 0, 16);
      throw new ImportUnsupportedFileError(file.path, `not TCX, GPX, FIT, HRM, PPT XML or Flow export JSON (starts with ${JSON.stringify(head)})`);
    }
    return { file, path: target, sha256: hasher.hash.digest('hex'), bytes: hasher.bytes, format };
  }

  /** Other JSON of a Flow export: daily activity days and sleep nights go to their tables; everything is kept raw. */
  async function keepRawOnly(s: Spooled): Promise<void> {
    const key = `raw/imports/user_id=${userId}/json/${s.sha256.slice(0, 40)}.json.gz`;
    let json: unknown = undefined;
    if (s.bytes <= MAX_DAILY_JSON_BYTES) {
      try {
        json = JSON.parse((await readAll(createReadStream(s.path))).toString('utf8'));
      } catch {
        json = undefined; // not JSON after all: kept raw, like any other file of the export
      }
    }
    if (isFlowActivityDay(json)) {
      const outcome = await importDay('activity', (json as { date: string }).date.slice(0, 10), await readAll(createReadStream(s.path)));
      return progress.done(outcome);
    }
    const nights = flowSleepNights(json);
    if (nights) {
      const outcomes = [];
      for (const night of nights) outcomes.push(await importDay('sleep', String(night['night']).slice(0, 10), Buffer.from(JSON.stringify(night))));
      progress.count('sleep_nights', nights.length);
      progress.count('sleep_nights_merged', outcomes.filter((o) => o === 'merged').length);
      if (!(await deps.rawZone.exists(key))) await deps.rawZone.put(key, createReadStream(s.path));
      return progress.done(outcomes.includes('stored') ? 'stored' : outcomes.includes('merged') ? 'merged' : 'already_present');
    }
    progress.count('kept_raw_only');
    if (await deps.rawZone.exists(key)) return progress.done('already_present');
    await deps.rawZone.put(key, createReadStream(s.path));
    progress.done('stored');
  }

  /**
   * One day (activity) or night (sleep) of a Flow export, under the same raw key AccessLink's
   * day has: a day already there from the API (or an earlier export) stays and this one is
   * merged (precedence: accesslink > flow, and between two exports the earlier); a later API
   * fetch replaces an imported day, as a re-sync does.
   */
  async function importDay(kind: DailyKind, date: string, body: Buffer): Promise<JobOutcome> {
    const key = rawDailyKeyFor(userId, kind, date);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const prior = deps.ledger.get(userId, date, kind);
    const exists = await deps.rawZone.exists(key);
    if (exists && prior?.sha256 === sha256 && prior.state === 'published') return 'already_present';
    if (exists && prior?.sha256 !== sha256) return 'merged';
    const at = deps.now().toISOString();
    if (!exists) {
      const stored = await deps.rawZone.put(key, body);
      await deps.ledger.record([{ userId, exerciseId: date, payload: kind, state: 'stored', rawKey: key, sha256: stored.sha256, bytes: stored.bytes, utcOffsetMin: null, atUtc: at }]);
    }
    const event: FetchedEvent = {
      type: 'fetched', user_id: userId, exercise_id: date, payload: kind, date, raw_key: key, bytes: body.length, sha256, fetched_at_utc: at, utc_offset_min: null, feeds_samples: false,
    };
    await deps.bus.publish(TOPICS.fetched, [{ key: userId, value: encodeEnvelope(event) }]);
    await deps.ledger.record([{ userId, exerciseId: date, payload: kind, state: 'published', rawKey: key, sha256, bytes: body.length, utcOffsetMin: null, atUtc: at }]);
    return 'stored';
  }

  async function importExercise(s: Spooled, format: ImportFormat, partner: Spooled | undefined): Promise<void> {
    const exerciseId = `imp-${s.sha256.slice(0, 40)}`;
    const payloads: { kind: PayloadKind; spooled: Spooled; feeds: boolean }[] = [{ kind: format, spooled: s, feeds: true }];
    if (partner) payloads.push({ kind: 'gpx', spooled: partner, feeds: false });
    const units = payloads.length;
    const prior = deps.ledger.get(userId, exerciseId, format);
    if (prior?.state === 'published' && prior.rawKey && (await deps.rawZone.exists(prior.rawKey))) {
      await recordOrigin(exerciseId, payloads.map((p) => p.spooled.file.path), null);
      return progress.done('already_present', units);
    }

    // Read once before storing: a file that does not parse is reported here, with its path.
    const ctx = { userId, exerciseId, file: s.file.path, utcOffsetMin: null };
    let route: RoutePoint[] | undefined;
    if (partner) route = await readRoute(createReadStream(partner.path), { ...ctx, file: partner.file.path }, deps.parseOptions);
    let row: ExerciseRow | undefined;
    let samples = 0;
    for await (const out of parseImported(format, createReadStream(s.path), ctx, { ...deps.parseOptions, ...(route ? { route } : {}) })) {
      if (out.table === 'samples') samples += out.rows.length;
      else if (out.table === 'exercises') row ??= out.rows[0];
    }

    const keys = new Map<PayloadKind, string>();
    for (const p of payloads) {
      const key = rawKeyFor(userId, exerciseId, p.kind);
      await deps.rawZone.put(key, createReadStream(p.spooled.path));
      keys.set(p.kind, key);
      const at = deps.now().toISOString();
      await deps.ledger.record([{ userId, exerciseId, payload: p.kind, state: 'stored', rawKey: key, sha256: p.spooled.sha256, bytes: p.spooled.bytes, utcOffsetMin: null, atUtc: at }]);
    }
    const primaryKey = keys.get(format) as string;
    const member: ExerciseMember | null = row
      ? {
          userId, exerciseId, source: SOURCE_OF[format], startUtcUs: row.start_time_utc_us, offsetKnown: row.utc_offset_min !== null,
          durationS: row.duration_s, sport: row.sport, rowsKey: primaryKey, samplesKey: samples > 0 ? primaryKey : null,
        }
      : null;
    await recordOrigin(exerciseId, payloads.map((p) => p.spooled.file.path), member);
    const verdict = member ? await deps.identities.resolve(member) : null;
    const at = deps.now().toISOString();
    if (verdict?.role === 'merged') {
      deps.logger.info('import.exercise.merged', { exercise_id: exerciseId, into: verdict.winner.exerciseId, winner_source: verdict.winner.source, path: s.file.path });
      await reannounce(verdict.winner, at);
    } else {
      const events: FetchedEvent[] = payloads.map((p) => ({
        type: 'fetched', user_id: userId, exercise_id: exerciseId, payload: p.kind, raw_key: keys.get(p.kind) as string, bytes: p.spooled.bytes,
        // null, as replay rebuilds it (no summary): the file's own offsets speak for its rows.
        sha256: p.spooled.sha256, fetched_at_utc: at, utc_offset_min: null, feeds_samples: p.feeds,
      }));
      await deps.bus.publish(TOPICS.fetched, events.map((e) => ({ key: userId, value: encodeEnvelope(e) })));
    }
    // 'published' also for a merged exercise: it is handled, and a re-run must not count it again.
    await deps.ledger.record(
      payloads.map((p) => ({
        userId, exerciseId, payload: p.kind, state: 'published' as const, rawKey: keys.get(p.kind) as string, sha256: p.spooled.sha256, bytes: p.spooled.bytes,
        utcOffsetMin: row?.utc_offset_min ?? null, feedsSamples: p.feeds, atUtc: at,
      })),
    );
    progress.done(verdict?.role === 'merged' ? 'merged' : 'stored', units);
  }

  /**
   * The winner's row lists the sources merged into it: announcing its payload again makes the
   * parse stage rebuild that row with this newcomer listed (same source id: the sink replaces
   * the row; its samples are the same batches, so the sink skips them).
   */
  async function reannounce(winner: ExerciseMember, at: string): Promise<void> {
    const parsed = parseRawKey(winner.rowsKey);
    if (!parsed || parsed.area !== 'exercises') return;
    const event: FetchedEvent = {
      type: 'fetched', user_id: winner.userId, exercise_id: winner.exerciseId, payload: parsed.payload, raw_key: winner.rowsKey, bytes: 0, sha256: '',
      fetched_at_utc: at, utc_offset_min: null, feeds_samples: parsed.payload !== 'summary',
    };
    await deps.bus.publish(TOPICS.fetched, [{ key: winner.userId, value: encodeEnvelope(event) }]);
  }

  /** origin.json.gz beside the exercise: every import path it came from, with the job, and its identity. */
  async function recordOrigin(exerciseId: string, paths: readonly string[], member: ExerciseMember | null): Promise<void> {
    const key = `raw/exercises/user_id=${userId}/exercise_id=${exerciseId}/origin.json.gz`;
    let origin: { identity: ExerciseMember | null; origins: { path: string; job: string }[] } = { identity: member, origins: [] };
    if (await deps.rawZone.exists(key)) {
      try {
        origin = JSON.parse((await readAll(deps.rawZone.open(key))).toString('utf8')) as typeof origin;
      } catch {
        // an unreadable origin is rewritten from what this run knows
      }
    }
    const fresh = paths.filter((p) => !origin.origins.some((o) => o.path === p));
    if (fresh.length === 0 && (origin.identity || !member)) return;
    origin = { identity: origin.identity ?? member, origins: [...origin.origins, ...fresh.map((path) => ({ path, job: deps.jobId }))] };
    await deps.rawZone.put(key, Buffer.from(JSON.stringify(origin)));
  }
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** The identity an import recorded beside an exercise (for a registry rebuilt on replay). */
export async function readImportedIdentity(rawZone: Pick<RawZone, 'open'>, userId: string, exerciseId: string): Promise<ExerciseMember | null> {
  try {
    const text = (await readAll(rawZone.open(`raw/exercises/user_id=${userId}/exercise_id=${exerciseId}/origin.json.gz`))).toString('utf8');
    return (JSON.parse(text) as { identity: ExerciseMember | null }).identity;
  } catch {
    return null;
  }
}
