import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { runImport } from '../../src/import/job.ts';
import { createJobProgress, type JobSummary } from '../../src/jobs/progress.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { corpusPath, HAVE_CORPUS } from '../helpers/corpus.ts';
import { flowActivityDay, flowSession, flowSleepResult, gpxText, hrmText, pptXml, tcxText } from '../helpers/import-fixtures.ts';
import { startSimulatedApp } from '../helpers/simulator-app.ts';
import { zipBytes } from '../helpers/zip-writer.ts';
import { lakeFacts } from './pipeline-e2e.ts';

const dirs: string[] = [];
const apps: App[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'polar-lake-import-'));
  dirs.push(d);
  return d;
}

async function openApp(dir: string): Promise<App> {
  const app = await createApp({ lakeDir: join(dir, 'lake'), stateDir: join(dir, 'state'), pipeline: pipelineFromObject({ version: 1, name: 'test' }, 'test'), logger: silentLogger });
  apps.push(app);
  await app.startConsumers();
  return app;
}

async function importInto(app: App, dir: string, path: string, user = 'u1'): Promise<JobSummary> {
  const progress = createJobProgress({ job: 'import', mode: 'silent', clock: () => 0 });
  await runImport(path, user, {
    rawZone: app.rawZone, bus: app.bus, ledger: app.ledger, identities: app.identities, progress, logger: silentLogger,
    now: () => new Date('2026-01-01T00:00:00Z'), jobId: 'test-job', spoolDir: join(dir, 'state', 'spool'),
  });
  await app.drain();
  await app.sink.flush();
  return progress.finish();
}

async function rows(lakeDir: string, sql: string): Promise<Record<string, unknown>[]> {
  const db = await openLakeViews(lakeDir);
  try {
    return (await db.conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** A generated Flow-style export: every HRM SMode variant (one with its GPX), PPT XML, a Flow session, a TCX .gz, a nested zip, other JSON. */
function generatedExport(): Buffer {
  const inner = zipBytes([{ name: 'old/2009.hrm', data: hrmText({ version: 105, smode: '11100000', samples: 120, start: '2009-05-01T10:00:00' }) }]);
  return zipBytes([
    { name: 'training-session-2021-06-01-1.json', data: flowSession({ start: '2021-06-01T18:00:00', offsetMin: 120, samples: 300, laps: 2 }) },
    { name: 'account-data.json', data: JSON.stringify({ username: 'someone', exportVersion: '1.0' }) },
    { name: 'activity-2021-06-01-5e1f.json', data: flowActivityDay('2021-06-01', 12345) },
    { name: 'sleep_result_77aa.json', data: flowSleepResult(['2021-06-01', '2021-06-02']) },
    { name: 'hrm/04010301.hrm', data: hrmText({ smode: '000000010', interval: 5, samples: 100, start: '2004-01-03T02:16:26', laps: 1 }) },
    { name: 'hrm/12010401.hrm', data: hrmText({ smode: '11000000', samples: 200, start: '2012-01-04T05:35:03', laps: 3 }) },
    { name: 'hrm/12010401.gpx', data: gpxText('2012-01-04T04:35:03Z', 200) },
    { name: 'hrm/13121201.hrm', data: hrmText({ smode: '10100000', samples: 150, start: '2013-12-12T12:17:19' }) },
    { name: 'hrm/bike.hrm', data: hrmText({ version: 107, smode: '111111101', samples: 90, start: '2014-07-01T08:00:00', laps: 2 }) },
    { name: 'hrm/rr.hrm', data: hrmText({ smode: '000000000', interval: 238, samples: 80, start: '2015-02-01T07:00:00' }) },
    { name: 'ppt/Polar.xml', data: pptXml([{ time: '2013-03-24 11:33:09', samples: 60, laps: 2 }]) },
    { name: 'files/run.tcx.gz', data: gzipSync(tcxText('2020-03-01T07:00:00Z', 240)), deflate: false },
    { name: 'nested/old.zip', data: inner, deflate: false },
  ]);
}

describe('import > generated export', () => {
  it('import > every format into the tables, counts proven, a second import changes nothing', async () => {
    const dir = tempDir();
    const zip = join(dir, 'export.zip');
    writeFileSync(zip, generatedExport());
    const app = await openApp(dir);
    const first = await importInto(app, dir, zip);
    expect(first.failures).toEqual([]);
    // 13 files: the GPX rides with its HRM (2 files, 1 exercise); account-data.json is kept raw only.
    expect(first).toMatchObject({ seen: 13, stored: 13, already_present: 0, merged: 0, failed: 0, counts: { kept_raw_only: 1, sleep_nights: 2, sleep_nights_merged: 0 } });
    const lake = join(dir, 'lake');
    const ex = await rows(lake, `SELECT count(*)::INT AS n, count(DISTINCT exercise_id)::INT AS d FROM exercises`);
    expect(ex[0]).toEqual({ n: 9, d: 9 });
    const bySource = await rows(lake, `SELECT source_format AS f, count(*)::INT AS n FROM samples GROUP BY 1 ORDER BY 1`);
    expect(bySource).toEqual([
      { f: 'flow', n: 300 },
      { f: 'hrm', n: 100 + 200 + 150 + 90 + 80 + 120 },
      { f: 'ppt', n: 60 },
      { f: 'tcx', n: 240 },
    ]);
    const withGps = await rows(lake, `SELECT count(*)::INT AS n FROM samples WHERE source_format = 'hrm' AND latitude_deg IS NOT NULL`);
    expect(withGps[0]?.['n']).toBe(200); // the paired GPX's positions joined to the HRM samples
    const paired = await rows(lake, `SELECT utc_offset_min AS o FROM exercises WHERE start_time_utc = TIMESTAMPTZ '2012-01-04 04:35:03+00'`);
    expect(paired).toEqual([{ o: 60 }]); // HRM local start − GPX UTC start
    const laps = await rows(lake, `SELECT source_format AS f, count(*)::INT AS n FROM laps GROUP BY 1 ORDER BY 1`);
    expect(laps).toEqual([{ f: 'flow', n: 2 }, { f: 'hrm', n: 6 }, { f: 'ppt', n: 2 }, { f: 'tcx', n: 1 }]);
    expect(await rows(lake, `SELECT local_date::VARCHAR AS d, steps, calories_kcal AS kcal FROM daily_activity`)).toEqual([{ d: '2021-06-01', steps: 12345, kcal: 2400 }]);
    expect(await rows(lake, `SELECT local_date::VARCHAR AS d, utc_offset_min AS o, light_sleep_s AS light, deep_sleep_s AS deep, rem_sleep_s AS rem, total_interruption_duration_s AS wake FROM sleep ORDER BY 1`)).toEqual([
      { d: '2021-06-01', o: 120, light: 10800 - 600 + 3600, deep: 3600, rem: 7200, wake: 720 },
      { d: '2021-06-02', o: 120, light: 10800 - 600 + 3600, deep: 3600, rem: 7200, wake: 720 },
    ]);
    const before = await lakeFacts(lake);

    const again = await importInto(app, dir, zip);
    expect(again).toMatchObject({ seen: 13, stored: 0, already_present: 13, failed: 0 });
    expect(await lakeFacts(lake)).toEqual(before);
  });
});

describe('import > bad input', () => {
  it('import > each bad input reported with its path and reason, the job goes on, the lake untouched', async () => {
    const dir = tempDir();
    const app = await openApp(dir);
    const good = join(dir, 'good');
    mkdirSync(good);
    writeFileSync(join(good, 'run.tcx'), tcxText('2020-03-01T07:00:00Z', 100));
    await importInto(app, dir, good);
    const lake = join(dir, 'lake');
    const before = await lakeFacts(lake);
    expect(before.exercises).toBe(1);

    const bad = join(dir, 'bad');
    mkdirSync(join(bad, 'loop'), { recursive: true });
    writeFileSync(join(bad, 'corrupt.zip'), Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(200, 7)]));
    writeFileSync(join(bad, 'bomb.zip'), zipBytes([{ name: 'zeros.tcx', data: Buffer.alloc(40 * 1024 * 1024) }]));
    writeFileSync(join(bad, 'slip.zip'), zipBytes([{ name: '../../etc/evil.tcx', data: tcxText('2020-03-02T07:00:00Z', 10) }, { name: '/abs.gpx', data: 'x' }]));
    symlinkSync(join(bad, 'nowhere.tcx'), join(bad, 'dangling.tcx'));
    symlinkSync(join(bad, 'loop'), join(bad, 'loop', 'again'));
    symlinkSync('self.fit', join(bad, 'self.fit'));
    writeFileSync(join(bad, 'photo.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    writeFileSync(join(bad, 'broken.tcx'), '<?xml version="1.0"?><TrainingCenterDatabase><Activities><Activity Sport="Running"><Lap StartTime="x"');
    writeFileSync(join(bad, 'fine.gpx'), gpxText('2020-04-01T07:00:00Z', 30));
    const summary = await importInto(app, dir, bad);
    const byPath = Object.fromEntries(summary.failures.map((f) => [f.path.slice(bad.length + 1), f.code]));
    expect(byPath).toEqual({
      'corrupt.zip': 'PL_IMPORT_ZIP_CORRUPT',
      'bomb.zip!zeros.tcx': 'PL_IMPORT_ZIP_BOMB',
      'slip.zip!../../etc/evil.tcx': 'PL_IMPORT_PATH_ESCAPES',
      'slip.zip!/abs.gpx': 'PL_IMPORT_PATH_ESCAPES',
      'dangling.tcx': 'PL_IMPORT_UNREADABLE',
      'self.fit': 'PL_IMPORT_SYMLINK_LOOP',
      'loop/again': 'PL_IMPORT_SYMLINK_LOOP',
      'photo.jpg': 'PL_IMPORT_UNSUPPORTED_FILE',
      'broken.tcx': 'PL_PARSE_TRUNCATED',
    });
    for (const f of summary.failures) expect(f.reason.length).toBeGreaterThan(10);
    expect(summary).toMatchObject({ stored: 1, failed: 9 }); // fine.gpx went in: the job went on
    const after = await lakeFacts(lake);
    expect(after.exercises).toBe(2);
    // What was there is untouched: the first import's rows are all still there, unchanged.
    const first = await rows(lake, `SELECT count(*)::INT AS n FROM samples WHERE time_utc < TIMESTAMPTZ '2020-03-02 00:00:00+00'`);
    expect(first[0]?.['n']).toBe(100);
  });
});

describe('import > one exercise, once', () => {
  it('import > live first, then the same workout imported: merged; replay changes nothing', async () => {
    const t = await startSimulatedApp({ seed: 7, users: 1, exercisesPerUser: 2 });
    try {
      await t.app.runOnce();
      await t.app.sink.flush();
      const live = await lakeFacts(t.lakeDir);
      // The API's TCX of one exercise, as a user would have exported it.
      const user = t.sim.accounts[0]!.polarUserId;
      const ex = t.sim.committedExercises(user).find((e) => e.hasTcx)!;
      const key = [...(await listKeys(t.app, `raw/exercises/user_id=${user}/`))].find((k) => k.endsWith('/tcx.tcx.gz'))!;
      const folder = join(t.dir, 'export');
      mkdirSync(folder);
      writeFileSync(join(folder, 'workout.tcx'), await readAllBytes(t.app.rawZone.open(key)));
      // And a day the API already served, as an export has it: the API's day stays.
      const day = t.sim.dailyActivity(user).at(-1)!;
      expect(live.dailyActivity).toBeGreaterThan(0);
      writeFileSync(join(folder, `activity-${day.date}-1.json`), flowActivityDay(day.date, 1));
      const summary = await importInto(t.app, t.dir, folder, user);
      expect(summary).toMatchObject({ seen: 2, merged: 2, stored: 0, failed: 0 });
      const facts = await lakeFacts(t.lakeDir);
      expect({ ...facts, checksum: '' }).toEqual({ ...live, checksum: '' });
      expect(facts.checksum.split('/')[0]).toBe(live.checksum.split('/')[0]); // samples untouched
      // The API's row stays and lists the imported file it absorbed.
      const sources = await rows(t.lakeDir, `SELECT exercise_id AS id, source, other_sources AS others FROM exercises ORDER BY exercise_id`);
      const merged = sources.filter((r) => r['others'] !== null);
      expect(merged).toHaveLength(1);
      expect(merged[0]).toMatchObject({ source: 'accesslink', others: expect.stringMatching(/^tcx:imp-[0-9a-f]{40}$/) });
      expect(sources.every((r) => r['source'] === 'accesslink')).toBe(true);
      const afterImport = await lakeFacts(t.lakeDir);
      expect(ex).toBeDefined();
      await t.app.replayRawZone();
      await t.app.drain();
      await t.app.sink.flush();
      expect(await lakeFacts(t.lakeDir)).toEqual(afterImport);
    } finally {
      await t.close();
    }
  });

  it('import > imported first, then the API delivers the same workout: the API wins and replaces, once', async () => {
    // Two simulators with one seed serve the same workouts: one gives the files, the other is "live".
    const source = await startSimulatedApp({ seed: 11, users: 1, exercisesPerUser: 2 });
    const folder = join(tempDir(), 'export');
    mkdirSync(folder);
    let user: string;
    let live;
    try {
      await source.app.runOnce();
      await source.app.sink.flush();
      live = await lakeFacts(source.lakeDir);
      user = source.sim.accounts[0]!.polarUserId;
      let i = 0;
      for (const key of await listKeys(source.app, `raw/exercises/user_id=${user}/`)) {
        if (key.endsWith('/tcx.tcx.gz')) writeFileSync(join(folder, `w${i++}.tcx`), await readAllBytes(source.app.rawZone.open(key)));
      }
      expect(i).toBe(2);
    } finally {
      await source.close();
    }
    const t = await startSimulatedApp({ seed: 11, users: 1, exercisesPerUser: 2 });
    try {
      const imported = await importInto(t.app, t.dir, folder, user);
      expect(imported).toMatchObject({ stored: 2, merged: 0 });
      expect((await lakeFacts(t.lakeDir)).exercises).toBe(2);
      await t.app.runOnce();
      await t.app.sink.flush();
      const after = await lakeFacts(t.lakeDir);
      expect(after.exercises).toBe(2);
      expect(after.exerciseIds.every((id) => !id.startsWith('imp-'))).toBe(true); // the API's rows replaced the import's
      const sources = await rows(t.lakeDir, `SELECT source, other_sources AS others FROM exercises`);
      expect(sources).toHaveLength(2);
      for (const r of sources) expect(r).toMatchObject({ source: 'accesslink', others: expect.stringMatching(/^tcx:imp-/) });
      expect(after.samples).toBe(live.samples);
      expect(after.distinctSampleKeys).toBe(after.samples);
      await t.app.replayRawZone();
      await t.app.drain();
      await t.app.sink.flush();
      expect(await lakeFacts(t.lakeDir)).toEqual(after);
    } finally {
      await t.close();
    }
  });
});

describe.skipIf(!HAVE_CORPUS)('import > corpus', () => {
  it('import > the corpus HRM (+GPX), PPT XML and Flow export files', async () => {
    const dir = tempDir();
    const folder = join(dir, 'in');
    mkdirSync(folder);
    for (const [from, to] of [
      ['GoldenCheetah_GoldenCheetah/04010301.hrm', '04010301.hrm'], ['Runalyze_Runalyze/12010401.hrm', '12010401.hrm'], ['Runalyze_Runalyze/12010401.gpx', '12010401.gpx'],
      ['epot_Polar2Strava/13121201.hrm', '13121201.hrm'], ['epot_Polar2Strava/13121201.gpx', '13121201.gpx'], ['Runalyze_Runalyze/Polar.xml', 'Polar.xml'],
      ['AlexanderFabisch_slither/running.json', 'training-session-2017-01-23.json'],
    ] as const) symlinkSync(corpusPath(from), join(folder, to));
    const app = await openApp(dir);
    const summary = await importInto(app, dir, folder);
    expect(summary).toMatchObject({ seen: 7, stored: 7, failed: 0 });
    const bySource = await rows(join(dir, 'lake'), `SELECT source_format AS f, count(*)::INT AS n, count(latitude_deg)::INT AS gps FROM samples GROUP BY 1 ORDER BY 1`);
    expect(bySource).toEqual([{ f: 'flow', n: 2751, gps: 2751 }, { f: 'hrm', n: 3894 + 3576 + 3020, gps: expect.any(Number) }, { f: 'ppt', n: 586, gps: 0 }]);
    expect((bySource[1]?.['gps'] as number) > 6000).toBe(true);
  });
});

async function listKeys(app: App, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of app.rawZone.list(prefix)) out.push(k);
  return out.sort();
}

async function readAllBytes(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
