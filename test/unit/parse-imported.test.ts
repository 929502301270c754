import { describe, expect, it } from 'vitest';
import { parseImported, type ImportFormat, type RoutePoint } from '../../src/parse/imported.ts';
import type { ExerciseRow, LapRow, SampleRow } from '../../src/records/rows.ts';
import { classifyImport } from '../../src/import/job.ts';
import { flowSession, flowSessionNew, hrmText, pptXml, tcxText } from '../helpers/import-fixtures.ts';

const ctx = { userId: 'u', exerciseId: 'imp-x', file: 'f', utcOffsetMin: null };

async function parse(format: ImportFormat, text: string, route?: RoutePoint[]) {
  const samples: SampleRow[] = [];
  const laps: LapRow[] = [];
  const exercises: ExerciseRow[] = [];
  async function* input() {
    yield Buffer.from(text);
  }
  for await (const out of parseImported(format, input(), ctx, { batchRows: 7, ...(route ? { route } : {}) })) {
    if (out.table === 'samples') samples.push(...out.rows);
    else if (out.table === 'laps') laps.push(...out.rows);
    else exercises.push(...out.rows);
  }
  return { samples, laps, exercises };
}

async function code(format: ImportFormat, text: string): Promise<string> {
  try {
    await parse(format, text);
  } catch (error) {
    return (error as { code: string }).code;
  }
  return 'no error';
}

const us = (iso: string) => Date.parse(iso) * 1000;

describe('parse > hrm', () => {
  it('parse > hrm > HR only, US units, 5 s interval (SMode 000000010): wall time as UTC, offset unknown, laps', async () => {
    const r = await parse('hrm', hrmText({ smode: '000000010', interval: 5, samples: 10, start: '2004-01-03T02:16:26', laps: 2 }));
    expect(r.samples).toHaveLength(10);
    expect(r.samples[1]).toMatchObject({ time_utc_us: us('2004-01-03T02:16:31Z'), utc_offset_min: null, heart_rate_bpm: 121, speed_mps: null, lap_index: 0, source_format: 'hrm' });
    expect(r.laps.map((l) => [l.lap_index, l.total_time_s, l.avg_heart_rate_bpm])).toEqual([[0, 25, 135], [1, 25, 135]]);
    expect(r.exercises[0]).toMatchObject({ exercise_id: 'imp-x', start_time_utc_us: us('2004-01-03T02:16:26Z'), utc_offset_min: null, heart_rate_max_bpm: 129 });
  });

  it('parse > hrm > speed and cadence (11000000), speed and altitude (10100000), in their column order', async () => {
    const a = await parse('hrm', hrmText({ smode: '11000000', samples: 3, start: '2012-01-04T05:35:03' }));
    expect(a.samples[2]).toMatchObject({ heart_rate_bpm: 122, speed_mps: expect.closeTo(10.2 / 3.6, 9), cadence_rpm: 82, altitude_m: null });
    const b = await parse('hrm', hrmText({ smode: '10100000', samples: 3, start: '2013-12-12T12:17:19' }));
    expect(b.samples[2]).toMatchObject({ speed_mps: expect.closeTo(10.2 / 3.6, 9), cadence_rpm: null, altitude_m: 202 });
  });

  it('parse > hrm > every column (107: power, balance, air pressure) and US units convert', async () => {
    const r = await parse('hrm', hrmText({ version: 107, smode: '111111011', samples: 2, start: '2014-07-01T08:00:00' }));
    expect(r.samples[1]).toMatchObject({ heart_rate_bpm: 121, speed_mps: expect.closeTo(10.1 * 0.44704, 9), cadence_rpm: 81, altitude_m: expect.closeTo(201 * 0.3048, 9), power_w: 151, left_right_balance_pct: 50 });
  });

  it('parse > hrm > R-R mode (Interval=238): one beat per line, time advances by the interval', async () => {
    const r = await parse('hrm', hrmText({ smode: '000000000', interval: 238, samples: 3, start: '2015-02-01T07:00:00' }));
    expect(r.samples.map((s) => [s.time_utc_us - us('2015-02-01T07:00:00Z'), s.heart_rate_bpm])).toEqual([[750_000, 80], [1_501_000, 80], [2_253_000, 80]]);
  });

  it('parse > hrm > a paired GPX gives the offset (HRM local − GPX UTC) and positions', async () => {
    const route: RoutePoint[] = [0, 1, 2].map((i) => ({ timeUtcUs: us('2012-01-04T04:35:03Z') + i * 1e6, latitudeDeg: 60 + i, longitudeDeg: 24, altitudeM: 5 }));
    const r = await parse('hrm', hrmText({ smode: '11000000', samples: 4, start: '2012-01-04T05:35:03' }), route);
    expect(r.exercises[0]).toMatchObject({ start_time_utc_us: us('2012-01-04T04:35:03Z'), utc_offset_min: 60, has_route: true });
    expect(r.samples.map((s) => s.latitude_deg)).toEqual([60, 61, 62, 62]);
    expect(r.samples[0]?.utc_offset_min).toBe(60);
  });

  it('parse > hrm > bad input: typed errors', async () => {
    expect(await code('hrm', 'Version=106\n')).toBe('PL_PARSE_HRM_INVALID');
    expect(await code('hrm', hrmText({ smode: '12', samples: 1, start: '2015-02-01T07:00:00' }))).toBe('PL_PARSE_HRM_INVALID');
    expect(await code('hrm', hrmText({ smode: '000000000', samples: 1, start: '2015-02-01T07:00:00' }).replace(/\[HRData\]\r\n120/, '[HRData]\r\n1x0'))).toBe('PL_PARSE_NOT_A_NUMBER');
    expect(await code('hrm', hrmText({ smode: '000000000', samples: 1, start: '2015-02-01T07:00:00' }).replace('Date=20150201', 'Date=yesterday'))).toBe('PL_PARSE_HRM_INVALID');
  });
});

describe('parse > ppt', () => {
  it('parse > ppt > samples at the recording rate, laps, one exercise row per exercise', async () => {
    const r = await parse('ppt', pptXml([{ time: '2013-03-24 11:33:09', samples: 4, laps: 2 }, { time: '2013-03-25 07:00:00', samples: 2, sport: 'CYCLING' }]));
    expect(r.samples).toHaveLength(6);
    expect(r.samples[1]).toMatchObject({ exercise_id: 'imp-x', time_utc_us: us('2013-03-24T11:33:14Z'), heart_rate_bpm: 131, speed_mps: 9.5 / 3.6, source_format: 'ppt' });
    expect(r.samples[5]?.exercise_id).toBe('imp-x-1');
    expect(r.laps).toHaveLength(2);
    expect(r.exercises.map((e) => [e.exercise_id, e.sport, e.duration_s, e.heart_rate_avg_bpm, e.distance_m])).toEqual([
      ['imp-x', 'RUNNING', 20, 145, 5000],
      ['imp-x-1', 'CYCLING', 10, 145, 5000],
    ]);
  });

  it('parse > ppt > bad input: wrong root, DOCTYPE, not numbers, not XML', async () => {
    expect(await code('ppt', '<?xml version="1.0"?><gpx/>')).toBe('PL_PARSE_PPT_INVALID');
    expect(await code('ppt', '<!DOCTYPE x [<!ENTITY a "b">]><polar-exercise-data/>')).toBe('PL_PARSE_DOCTYPE_REFUSED');
    expect(await code('ppt', pptXml([{ time: '2013-03-24 11:33:09', samples: 3 }]).replace('130,131', '130,abc'))).toBe('PL_PARSE_PPT_INVALID');
    expect(await code('ppt', '<polar-exercise-data><calendar-items>')).toBe('PL_PARSE_XML_MALFORMED');
    expect(await code('ppt', '<polar-exercise-data><calendar-items></calendar-items></polar-exercise-data>')).toBe('PL_PARSE_PPT_INVALID');
  });
});

describe('parse > flow export', () => {
  it('parse > flow > series joined by local time − offset, route by position, laps, one session row', async () => {
    const r = await parse('flow', flowSession({ start: '2021-06-01T18:00:00', offsetMin: 120, samples: 5, laps: 1 }));
    expect(r.samples).toHaveLength(5);
    expect(r.samples[0]).toMatchObject({ time_utc_us: us('2021-06-01T16:00:00Z'), utc_offset_min: 120, heart_rate_bpm: 120, speed_mps: 10 / 3.6, latitude_deg: 53.1, source_format: 'flow' });
    expect(r.laps).toEqual([expect.objectContaining({ lap_index: 0, total_time_s: 5, distance_m: 1000, start_time_utc_us: us('2021-06-01T16:00:00Z') })]);
    expect(r.exercises).toEqual([expect.objectContaining({ start_time_utc_us: us('2021-06-01T16:00:00Z'), utc_offset_min: 120, duration_s: 5, sport: 'RUNNING', calories_kcal: 400, has_route: true })]);
  });

  it('parse > flow > the newer shape: typed series at an interval, route wayPoints by elapsed time, *Millis fields', async () => {
    const r = await parse('flow', flowSessionNew({ start: '2023-05-01T10:00:00', offsetMin: 180, samples: 6 }));
    expect(r.samples).toHaveLength(6);
    expect(r.samples[0]).toMatchObject({ time_utc_us: us('2023-05-01T07:00:00Z'), utc_offset_min: 180, heart_rate_bpm: 110, speed_mps: 12 / 3.6, latitude_deg: 61 });
    expect(r.samples[2]).toMatchObject({ speed_mps: null, latitude_deg: 61.00001 });
    expect(r.samples[1]?.latitude_deg).toBeNull();
    expect(r.laps.map((l) => [l.total_time_s, l.distance_m])).toEqual([[3, 2100], [3, 2100]]);
    expect(r.exercises[0]).toMatchObject({ start_time_utc_us: us('2023-05-01T07:00:00Z'), duration_s: 6, distance_m: 4200, calories_kcal: 350, training_load: 61.5, sport: null, detailed_sport_info: '1', device: 'Polar Vantage V2', device_id: 'D0C0FFEE', has_route: true });
  });

  it('parse > flow > bad input: not JSON, not a session, a bad time', async () => {
    expect(await code('flow', '{"exportVersion": ')).toBe('PL_PARSE_FLOW_INVALID');
    expect(await code('flow', '{"exportVersion":"1.3","name":"x"}')).toBe('PL_PARSE_FLOW_INVALID');
    expect(await code('flow', flowSession({ start: '2021-06-01T18:00:00', offsetMin: 0, samples: 2 }).replace('"startTime":"2021-06-01T18:00:00.000"', '"startTime":"soon"'))).toBe('PL_PARSE_FLOW_INVALID');
  });
});

describe('parse > imported tcx', () => {
  it('parse > imported tcx > the file record becomes the exercise row', async () => {
    const r = await parse('tcx', tcxText('2020-03-01T07:00:00Z', 60));
    expect(r.samples).toHaveLength(60);
    expect(r.exercises).toEqual([expect.objectContaining({ start_time_utc_us: us('2020-03-01T07:00:00Z'), duration_s: 59, sport: 'Running' })]);
  });
});

describe('import > classify', () => {
  it('import > classify > by bytes first, then by name', async () => {
    const { gzipSync } = await import('node:zlib');
    expect(await classifyImport(Buffer.from(tcxText('2020-03-01T07:00:00Z', 1)), 'a.xml')).toBe('tcx');
    expect(await classifyImport(gzipSync(Buffer.from(tcxText('2020-03-01T07:00:00Z', 1))), 'a.tcx.gz')).toBe('tcx');
    expect(await classifyImport(Buffer.from('[Params]\r\nVersion=106'), 'x.txt')).toBe('hrm');
    expect(await classifyImport(Buffer.from(pptXml([{ time: '2013-03-24 11:33:09', samples: 1 }])), 'Polar.xml')).toBe('ppt');
    expect(await classifyImport(Buffer.from('{"exportVersion":"1.3","name":"Run","exercises":[]}'), 'training-session-1.json')).toBe('flow');
    expect(await classifyImport(Buffer.from('{"username":"x"}'), 'account-data.json')).toBe('json');
    expect(await classifyImport(Buffer.from('{"identifier":{"id":"a"},"created":"2023"'), 'export/training-session-2023-05-01-1.json')).toBe('flow');
    expect(await classifyImport(Buffer.from('{"exportVersion":"1.6","date":"2023-05-01","summary":{}}'), 'activity-2023-05-01-x.json')).toBe('json');
    expect(await classifyImport(Buffer.from([0xff, 0xd8, 0xff]), 'photo.jpg')).toBeNull();
    expect(await classifyImport(Buffer.from('<html><body/></html>'), 'page.tcx')).toBeNull();
  });
});
