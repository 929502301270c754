/**
 * Streaming GPX 1.1 writer: trk/trkseg/trkpt with lat/lon, ele, time and the Garmin
 * TrackPointExtension v2 (hr, cad). Points without a position (indoor) are left out, as
 * Polar does; an indoor workout gives an empty segment.
 */
import { escapeXml, isoUtc } from './xml-format.ts';
import { workoutPoints, type WorkoutSpec } from './workout.ts';

const POINTS_PER_CHUNK = 64;

export function* gpxChunks(spec: WorkoutSpec, meta: { creator?: string } = {}): Generator<string> {
  const creator = escapeXml(meta.creator ?? 'Polar Flow');
  yield `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<gpx xmlns="http://www.topografix.com/GPX/1/1" xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2" ` +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ` +
    `xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd" version="1.1" creator="${creator}">\n` +
    ` <metadata>\n  <name>${escapeXml(spec.sport.toLowerCase())}</name>\n  <time>${isoUtc(spec.startUtcMs)}</time>\n </metadata>\n` +
    ` <trk>\n  <name>${escapeXml(spec.sport.toLowerCase())}</name>\n  <trkseg>\n`;
  let chunk = '';
  let n = 0;
  for (const p of workoutPoints(spec)) {
    if (p.latDeg === null || p.lonDeg === null) continue;
    chunk += `   <trkpt lat="${p.latDeg}" lon="${p.lonDeg}">\n`;
    if (p.altitudeM !== null) chunk += `    <ele>${p.altitudeM.toFixed(1)}</ele>\n`;
    chunk += `    <time>${isoUtc(p.timeUtcMs)}</time>\n`;
    if (p.heartRateBpm !== null || p.cadenceRpm !== null) {
      chunk += '    <extensions>\n     <gpxtpx:TrackPointExtension>\n';
      if (p.heartRateBpm !== null) chunk += `      <gpxtpx:hr>${p.heartRateBpm}</gpxtpx:hr>\n`;
      if (p.cadenceRpm !== null) chunk += `      <gpxtpx:cad>${p.cadenceRpm}</gpxtpx:cad>\n`;
      chunk += '     </gpxtpx:TrackPointExtension>\n    </extensions>\n';
    }
    chunk += '   </trkpt>\n';
    if (++n % POINTS_PER_CHUNK === 0) {
      yield chunk;
      chunk = '';
    }
  }
  yield chunk + '  </trkseg>\n </trk>\n</gpx>\n';
}
