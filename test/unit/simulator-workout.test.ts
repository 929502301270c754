import { describe, expect, it } from 'vitest';
import sax from 'sax';
import { workoutPoints, type WorkoutPoint, type WorkoutSpec } from '../../src/simulator/workout.ts';
import { tcxChunks } from '../../src/simulator/tcx.ts';
import { gpxChunks } from '../../src/simulator/gpx.ts';
import { makeExercise } from '../../src/simulator/exercises.ts';

const run: WorkoutSpec = { seed: 42, sport: 'RUNNING', startUtcMs: Date.UTC(2025, 5, 2, 4, 30, 0, 909), durationS: 900, utcOffsetMin: 180, lapEveryS: 300, withPower: true };
const indoorBike: WorkoutSpec = { seed: 7, sport: 'INDOOR_CYCLING', startUtcMs: Date.UTC(2025, 5, 3, 17, 0), durationS: 400, utcOffsetMin: -360, withPower: true };

/** Strict SAX parse; returns element counts and the text of selected elements. */
function parseStrict(xml: string): { counts: Map<string, number>; texts: Map<string, string[]> } {
  const parser = sax.parser(true, {});
  const counts = new Map<string, number>();
  const texts = new Map<string, string[]>();
  const stack: string[] = [];
  parser.onerror = (e) => {
    throw e;
  };
  parser.onopentag = (node) => {
    counts.set(node.name, (counts.get(node.name) ?? 0) + 1);
    stack.push(node.name);
  };
  parser.onclosetag = () => {
    stack.pop();
  };
  parser.ontext = (text) => {
    const top = stack[stack.length - 1];
    if (top && text.trim()) texts.set(top, [...(texts.get(top) ?? []), text]);
  };
  parser.write(xml).close();
  return { counts, texts };
}

const collect = (spec: WorkoutSpec): WorkoutPoint[] => [...workoutPoints(spec)];

describe('simulator > workout', () => {
  it('simulator > workout > same seed, same points; another seed, other points', () => {
    expect(collect(run)).toEqual(collect(run));
    expect(collect({ ...run, seed: 43 })).not.toEqual(collect(run));
  });

  it('simulator > workout > one point per second, laps, plausible values', () => {
    const points = collect(run);
    expect(points).toHaveLength(run.durationS);
    points.forEach((p, i) => expect(p.timeUtcMs).toBe(run.startUtcMs + i * 1000));
    expect(new Set(points.map((p) => p.lapIndex))).toEqual(new Set([0, 1, 2]));
    const hr = points.map((p) => p.heartRateBpm).filter((v): v is number => v !== null);
    expect(Math.min(...hr)).toBeGreaterThanOrEqual(90);
    expect(Math.max(...hr)).toBeLessThanOrEqual(185);
    const cadence = points.slice(60).map((p) => p.cadenceRpm!);
    expect(Math.min(...cadence)).toBeGreaterThanOrEqual(160);
    expect(Math.max(...cadence)).toBeLessThanOrEqual(185);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!.distanceM).toBeGreaterThanOrEqual(points[i - 1]!.distanceM);
      // Smooth altitude and a position that moves at running speed (< 10 m per second).
      expect(Math.abs(points[i]!.altitudeM! - points[i - 1]!.altitudeM!)).toBeLessThan(1);
      const dLatM = (points[i]!.latDeg! - points[i - 1]!.latDeg!) * 111_320;
      expect(Math.abs(dLatM)).toBeLessThan(10);
    }
    // Near Helsinki or Kempele (the +180 places).
    expect(points[0]!.latDeg!).toBeGreaterThan(59);
    const speed = points.slice(60).map((p) => p.speedMps!);
    expect(Math.min(...speed)).toBeGreaterThan(2);
    expect(Math.max(...speed)).toBeLessThan(5);
  });

  it('simulator > workout > indoor has no positions, cycling cadence 80-95 rpm', () => {
    const points = collect(indoorBike);
    expect(points.every((p) => p.latDeg === null && p.lonDeg === null && p.altitudeM === null)).toBe(true);
    const cadence = points.slice(60).map((p) => p.cadenceRpm!);
    expect(Math.min(...cadence)).toBeGreaterThanOrEqual(76);
    expect(Math.max(...cadence)).toBeLessThanOrEqual(97);
    expect(points.slice(10).every((p) => p.powerW! > 50)).toBe(true);
  });

  it('simulator > workout > lazy: a three-day workout yields its first points at once', () => {
    const gen = workoutPoints({ ...run, durationS: 3 * 86_400 });
    const first = gen.next();
    expect(first.done).toBe(false);
    gen.return(undefined);
  });
});

describe('simulator > tcx', () => {
  it('simulator > tcx > well-formed in strict mode, one trackpoint per second, laps with totals', () => {
    const xml = [...tcxChunks(run)].join('');
    const { counts, texts } = parseStrict(xml);
    expect(counts.get('Trackpoint')).toBe(run.durationS);
    expect(counts.get('Position')).toBe(run.durationS);
    expect(counts.get('Lap')).toBe(3);
    expect(counts.get('ns3:Watts')).toBe(run.durationS);
    expect(texts.get('TotalTimeSeconds')).toEqual(['300.0', '300.0', '300.0']);
    expect(texts.get('Id')).toEqual(['2025-06-02T04:30:00.909Z']);
    expect(texts.get('Time')![1]).toBe('2025-06-02T04:30:01.909Z');
    for (const alt of texts.get('AltitudeMeters')!) expect(alt).toMatch(/^-?\d+\.\d$/);
    expect(texts.get('Name')).toEqual(['Polar Vantage V3', 'Polar Flow']);
  });

  it('simulator > tcx > lap distances add up to the last trackpoint distance', () => {
    const xml = [...tcxChunks(run)].join('');
    const lapDistances = [...xml.matchAll(/<\/TotalTimeSeconds><DistanceMeters>([\d.]+)</g)].map((m) => Number(m[1]));
    const points = collect(run);
    const last = points[points.length - 1]!;
    expect(lapDistances.reduce((a, b) => a + b, 0)).toBeCloseTo(last.distanceM + last.speedMps!, 0);
  });

  it('simulator > tcx > deterministic bytes for the same seed', () => {
    expect([...tcxChunks(run)].join('')).toBe([...tcxChunks(run)].join(''));
    expect([...tcxChunks(run)].join('')).not.toBe([...tcxChunks({ ...run, seed: 1 })].join(''));
  });

  it('simulator > tcx > indoor: no Position, no AltitudeMeters; device name escaped', () => {
    const xml = [...tcxChunks(indoorBike, { deviceName: 'Polar <H10> & bike' })].join('');
    const { counts, texts } = parseStrict(xml);
    expect(counts.get('Trackpoint')).toBe(indoorBike.durationS);
    expect(counts.get('Position')).toBeUndefined();
    expect(counts.get('AltitudeMeters')).toBeUndefined();
    expect(texts.get('Name')![0]).toBe('Polar <H10> & bike');
    expect(xml).toContain('<Activity Sport="Biking">');
  });
});

describe('simulator > gpx', () => {
  it('simulator > gpx > well-formed GPX 1.1, one trkpt per second with hr and cadence', () => {
    const xml = [...gpxChunks(run)].join('');
    const { counts } = parseStrict(xml);
    expect(counts.get('trkpt')).toBe(run.durationS);
    expect(counts.get('ele')).toBe(run.durationS);
    expect(counts.get('gpxtpx:cad')).toBe(run.durationS);
    const hrPoints = collect(run).filter((p) => p.heartRateBpm !== null).length;
    expect(counts.get('gpxtpx:hr')).toBe(hrPoints);
    expect(xml).toContain('xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2"');
    expect(xml).toContain('version="1.1"');
    expect([...gpxChunks(run)].join('')).toBe(xml);
  });

  it('simulator > gpx > indoor gives an empty, well-formed segment', () => {
    const { counts } = parseStrict([...gpxChunks(indoorBike)].join(''));
    expect(counts.get('trkseg')).toBe(1);
    expect(counts.get('trkpt')).toBeUndefined();
  });
});

describe('simulator > exercises', () => {
  it('simulator > exercises > offsets east and west of UTC, some crossing local midnight', () => {
    const exercises = [0, 1, 2].flatMap((u) => [0, 1, 2, 3].map((k) => makeExercise({ seed: 1, userIndex: u, polarUserId: String(u), k, durationRangeS: [1200, 3600] })));
    expect(exercises.some((e) => e.utcOffsetMin > 0)).toBe(true);
    expect(exercises.some((e) => e.utcOffsetMin < 0)).toBe(true);
    const localDay = (ms: number, off: number) => new Date(ms + off * 60_000).toISOString().slice(0, 10);
    const crossing = exercises.filter((e) => localDay(e.startUtcMs, e.utcOffsetMin) !== localDay(e.startUtcMs + (e.durationS - 1) * 1000, e.utcOffsetMin));
    expect(crossing.length).toBeGreaterThan(0);
    expect(new Set(exercises.map((e) => e.exerciseId)).size).toBe(exercises.length);
    expect(exercises.some((e) => e.indoor)).toBe(true);
    expect(makeExercise({ seed: 1, userIndex: 2, polarUserId: '2', k: 3, durationRangeS: [1200, 3600] })).toEqual(exercises[11]);
  });
});

describe('simulator > fit', () => {
  it('simulator > fit > decodes with the Garmin SDK: one record per second, laps, session totals', async () => {
    const { Decoder, Stream } = await import('@garmin/fitsdk');
    const { fitBytes } = await import('../../src/simulator/fit.ts');
    const bytes = fitBytes(run);
    const decoder = new Decoder(Stream.fromByteArray(Array.from(bytes)));
    expect(decoder.isFIT()).toBe(true);
    expect(decoder.checkIntegrity()).toBe(true);
    const { messages, errors } = new Decoder(Stream.fromByteArray(Array.from(bytes))).read();
    expect(errors).toEqual([]);
    const records = messages['recordMesgs'] as Record<string, unknown>[];
    expect(records).toHaveLength(run.durationS);
    expect((records[0]!['timestamp'] as Date).getTime()).toBe(Math.floor(run.startUtcMs / 1000) * 1000);
    const points = collect(run);
    // Positions survive the semicircle round trip to within 1e-6 degrees.
    const lat = (records[10]!['positionLat'] as number) * (180 / 2 ** 31);
    expect(lat).toBeCloseTo(points[10]!.latDeg!, 6);
    expect(records[10]!['heartRate']).toBe(points[10]!.heartRateBpm ?? undefined);
    expect(messages['lapMesgs']).toHaveLength(3);
    const session = (messages['sessionMesgs'] as Record<string, unknown>[])[0]!;
    expect(session['sport']).toBe('running');
    expect(session['totalTimerTime']).toBe(run.durationS);
    expect(Buffer.from(fitBytes(run)).equals(Buffer.from(bytes))).toBe(true);
  });
});
