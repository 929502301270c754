/** Generated files for import tests: every HRM SMode variant the corpus shows (and more), PPT XML, a Flow export session, TCX. Deterministic. */

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const clock = (s: number) => `${Math.floor(s / 3600)}:${pad(Math.floor((s % 3600) / 60))}:${pad(Math.floor(s % 60))}.0`;

export interface HrmSpec {
  readonly version?: number;
  /** e.g. '000000010' (HR only, US units), '11000000' (speed, cadence), '10100000' (speed, altitude), '111110000' (all but air pressure). */
  readonly smode: string;
  readonly interval?: number;
  readonly samples: number;
  /** Local wall time `YYYY-MM-DDTHH:MM:SS`. */
  readonly start: string;
  readonly laps?: number;
}

export function hrmText(spec: HrmSpec): string {
  const [date, time] = spec.start.split('T') as [string, string];
  const interval = spec.interval ?? 1;
  const version = spec.version ?? 106;
  const flags = [...spec.smode].map((c) => c === '1');
  const lines = ['[Params]', `Version=${version}`, 'Monitor=12', `SMode=${spec.smode}`, `Date=${date.replace(/-/g, '')}`, `StartTime=${time}.0`,
    `Length=${clock(spec.samples * (interval === 238 ? 0.8 : interval))}`, `Interval=${interval}`, 'MaxHR=190', 'RestHR=50', '', '[Note]', 'generated', '', '[IntTimes]'];
  const laps = spec.laps ?? 0;
  for (let l = 1; l <= laps; l++) {
    lines.push(`${clock(Math.round((spec.samples * interval * l) / laps))}\t140\t120\t135\t160`, '0\t0\t0\t0\t0\t0', '0\t0\t0\t0\t0', '0\t0\t0\t0\t0\t0');
    if (version >= 106) lines.push('0\t0\t0\t0\t0\t0');
  }
  lines.push('', '[HRData]');
  for (let i = 0; i < spec.samples; i++) {
    const cols = [interval === 238 ? 750 + (i % 100) : 120 + (i % 40)];
    if (flags[0]) cols.push(100 + (i % 20)); // 10.0-11.9 km/h
    if (flags[1]) cols.push(80 + (i % 10));
    if (flags[2]) cols.push(200 + (i % 30));
    if (flags[3]) cols.push(150 + (i % 50));
    if (flags[4] || flags[5]) cols.push(50);
    if (flags[8]) cols.push(1013);
    lines.push(cols.join('\t'));
  }
  return lines.join('\r\n') + '\r\n';
}

/** A WebSync-style GPX beside an HRM: points every second from `startUtc` (ISO with Z). */
export function gpxText(startUtc: string, points: number): string {
  const t0 = Date.parse(startUtc);
  const pts = Array.from({ length: points }, (_, i) => `<trkpt lat="${(60 + i * 1e-4).toFixed(6)}" lon="${(24 + i * 1e-4).toFixed(6)}"><ele>${10 + (i % 5)}</ele><time>${new Date(t0 + i * 1000).toISOString().replace('.000', '')}</time></trkpt>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="Polar WebSync 2.4 - www.polar.fi" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>exercise</name><trkseg>${pts.join('')}</trkseg></trk></gpx>\n`;
}

export function pptXml(exercises: readonly { time: string; samples: number; sport?: string; laps?: number }[]): string {
  const body = exercises.map((e) => {
    const hr = Array.from({ length: e.samples }, (_, i) => 130 + (i % 30)).join(',');
    const speed = Array.from({ length: e.samples }, (_, i) => (9 + (i % 3) * 0.5).toFixed(1)).join(',');
    const laps = e.laps ? `<laps>${Array.from({ length: e.laps }, () => `<lap><duration>00:0${Math.min(9, Math.round((e.samples * 5) / 60 / (e.laps ?? 1)))}:00</duration><distance>1000</distance><heart-rate><average>140</average><maximum>160</maximum></heart-rate></lap>`).join('')}</laps>` : '';
    return `<exercise><created>${e.time}.0</created><time>${e.time}.0</time><result><distance>5000.0</distance><calories>400</calories><duration>00:${pad(Math.floor((e.samples * 5) / 60))}:${pad((e.samples * 5) % 60)}</duration><heart-rate><average>145</average><maximum>170</maximum></heart-rate><recording-rate>5</recording-rate><speed><type>${e.sport ?? 'RUNNING'}</type><speed><average>9.5</average><maximum>11</maximum></speed></speed><samples><sample><type>HEARTRATE</type><values>${hr}</values></sample><sample><type>SPEED</type><values>${speed}</values></sample></samples>${laps}</result></exercise>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<polar-exercise-data xmlns="http://www.polarpersonaltrainer.com" version="1.0"><calendar-items count="${exercises.length}">${body.join('')}</calendar-items></polar-exercise-data>\n`;
}

/** A Flow export training session (exportVersion 1.3 shape); local start `YYYY-MM-DDTHH:MM:SS`, offset in minutes. */
export function flowSession(o: { start: string; offsetMin: number; samples: number; sport?: string; laps?: number }): string {
  const t0 = Date.parse(`${o.start}Z`);
  const local = (i: number) => new Date(t0 + i * 1000).toISOString().replace('Z', '');
  const hr = Array.from({ length: o.samples }, (_, i) => ({ dateTime: local(i), value: 120 + (i % 40) }));
  const speed = Array.from({ length: o.samples }, (_, i) => ({ dateTime: local(i), value: 10 + (i % 5) }));
  const route = Array.from({ length: o.samples }, (_, i) => ({ dateTime: local(i + 4827), latitude: 53.1 + i * 1e-5, longitude: 8.85 + i * 1e-5, altitude: 5 }));
  const laps = Array.from({ length: o.laps ?? 0 }, () => ({ duration: `PT${Math.floor(o.samples / (o.laps ?? 1))}S`, distance: 1000, heartRate: { avg: 140, max: 160 } }));
  return JSON.stringify({
    exportVersion: '1.3', name: 'Laufen', startTime: local(0), stopTime: local(o.samples), timeZoneOffset: o.offsetMin, distance: 5000,
    duration: `PT${o.samples}S`, maximumHeartRate: 159, averageHeartRate: 139, kiloCalories: 400,
    exercises: [{ startTime: local(0), stopTime: local(o.samples), timezoneOffset: o.offsetMin, duration: `PT${o.samples}S`, sport: o.sport ?? 'RUNNING', kiloCalories: 400,
      heartRate: { min: 120, avg: 139, max: 159 }, samples: { heartRate: hr, speed, recordedRoute: route }, laps }],
  });
}

/** A plain TCX (UTC instants) of one running activity. */
export function tcxText(startUtc: string, points: number, sport = 'Running'): string {
  const t0 = Date.parse(startUtc);
  const tps = Array.from({ length: points }, (_, i) => `<Trackpoint><Time>${new Date(t0 + i * 1000).toISOString()}</Time><HeartRateBpm><Value>${130 + (i % 20)}</Value></HeartRateBpm></Trackpoint>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities><Activity Sport="${sport}"><Id>${startUtc}</Id><Lap StartTime="${startUtc}"><TotalTimeSeconds>${points}</TotalTimeSeconds><DistanceMeters>1000</DistanceMeters><Track>${tps}</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n`;
}

/** A Flow export training session in the newer shape (identifier, *Millis, typed series at an interval, route wayPoints). */
export function flowSessionNew(o: { start: string; offsetMin: number; samples: number }): string {
  const t0 = Date.parse(`${o.start}Z`);
  const local = (ms: number) => new Date(t0 + ms).toISOString().replace('Z', '');
  return JSON.stringify({
    identifier: { id: 'a1b2c3' }, created: local(0), startTime: local(0), stopTime: local(o.samples * 1000), name: 'Run',
    sport: { id: '1' }, deviceId: 'D0C0FFEE', product: { modelName: 'Polar Vantage V2' }, durationMillis: o.samples * 1000, distanceMeters: 4200,
    calories: 350, trainingLoad: 61.5, timezoneOffsetMinutes: o.offsetMin,
    exercises: [{
      identifier: { id: 'e1' }, startTime: local(0), stopTime: local(o.samples * 1000), durationMillis: o.samples * 1000, sport: { id: '1' },
      samples: { samples: [
        { type: 'HEART_RATE', intervalMillis: 1000, values: Array.from({ length: o.samples }, (_, i) => 110 + (i % 50)) },
        { type: 'SPEED', intervalMillis: 1000, values: Array.from({ length: o.samples }, (_, i) => (i === 2 ? null : 12)) },
      ] },
      route: { startTime: local(0), wayPoints: Array.from({ length: Math.floor(o.samples / 2) }, (_, i) => ({ latitude: 61 + i * 1e-5, longitude: 25, altitude: 80, elapsedMillis: i * 2000 })) },
      laps: [{ durationMillis: o.samples * 500, distanceMeters: 2100 }, { durationMillis: o.samples * 500, distanceMeters: 2100 }],
    }],
  });
}

/** A Flow export daily activity file (`activity-<date>-<uuid>.json`). */
export function flowActivityDay(date: string, steps: number): string {
  return JSON.stringify({
    exportVersion: '1.6', date, summary: { startTime: `${date}T00:00:00.000`, endTime: `${date}T23:59:59.000`, stepCount: steps, calories: 2400, inactivityAlertCount: 1 },
    samples: { mets: [{ localTime: '00:00:00.000', value: 0.9 }], steps: [{ localTime: '00:00:00.000', value: 0 }], metSources: ['WRIST'] },
    physicalInformation: { sex: 'FEMALE', 'weight, kg': 60 },
  });
}

/** A Flow export sleep file (`sleep_result_<uuid>.json`): an array of nights. */
export function flowSleepResult(nights: readonly string[]): string {
  return JSON.stringify(nights.map((night) => ({
    night,
    evaluation: { sleepType: 'SLEEP_TYPE_PRIMARY', analysis: { efficiencyPercent: 91, continuityIndex: 3.4, continuityClass: 3 }, interruptions: { totalDuration: 'PT12M', totalCount: 4 } },
    sleepResult: { hypnogram: {
      sleepStart: `${night}T00:00:00.000+02:00`, sleepEnd: `${night}T07:00:00.000+02:00`, sleepGoal: 'PT8H', deviceId: 'D0C0FFEE',
      sleepStateChanges: [{ offsetFromStart: 'PT0S', state: 'WAKE' }, { offsetFromStart: 'PT10M', state: 'NONREM2' }, { offsetFromStart: 'PT3H', state: 'NONREM3' }, { offsetFromStart: 'PT4H', state: 'REM' }, { offsetFromStart: 'PT6H', state: 'NONREM1' }],
    } },
  })));
}
