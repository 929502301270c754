#!/usr/bin/env python3
"""Independent reference reading of TCX / GPX (lxml, whole tree) and FIT (Garmin's Python
FIT SDK) for test/unit/parse-fidelity.test.ts. It shares no code with src/parse: only the
rules, which are written out in src/parse/{tcx,gpx,fit}.ts and again here.

usage: fidelity_reference.py FILE FORMAT [--strict-time-order]
prints JSON lines: {"table": "samples"|"laps"|"routes", ...row} ... then {"table": "file",
...flaw counts} and {"table": "end"}, or one {"error": CODE} line when the file is rejected.

Salvage rules (as src/parse): a number that is not one is None (flag 2, value_unparseable),
a decimal comma is a decimal point (flag 4, decimal_comma); a sample whose instant is earlier
than the previous one of its activity is kept and flagged 1 (time_backwards), unless
--strict-time-order; a point whose time does not parse is dropped and counted.
"""
import json
import re
import sys
from datetime import datetime, timezone

NUM = re.compile(r'^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$')
COMMA = re.compile(r'^[+-]?\d+,\d+$')
TIME_BACKWARDS, VALUE_UNPARSEABLE, DECIMAL_COMMA = 1, 2, 4


class Flaws:
    """Counts over the file, and the bits of the point being read (reset per point)."""
    def __init__(self):
        self.point = 0
        self.counts = dict(time_backwards_count=0, value_unparseable_count=0, decimal_comma_count=0, time_unparseable_count=0)


FLAWS = Flaws()
TIME = re.compile(r'^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}(?::?\d{2})?)?$')


class Rejected(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def number(text):
    t = (text or '').strip()
    if t == '' or t == 'null':
        return None
    if NUM.match(t):
        return float(t)
    if COMMA.match(t):
        FLAWS.point |= DECIMAL_COMMA
        FLAWS.counts['decimal_comma_count'] += 1
        return float(t.replace(',', '.'))
    FLAWS.point |= VALUE_UNPARSEABLE
    FLAWS.counts['value_unparseable_count'] += 1
    return None


def instant_or_none(text):
    try:
        return instant(text)
    except Rejected:
        return None


def instant(text):
    """-> (utc microseconds, offset minutes or None). Zone-less strings are read as UTC."""
    m = TIME.match((text or '').strip())
    if not m:
        raise Rejected('PL_PARSE_BAD_TIME')
    y, mo, d, h, mi, s, frac, zone = m.groups()
    try:
        wall = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=timezone.utc)
    except ValueError:
        raise Rejected('PL_PARSE_BAD_TIME')
    us = int((frac or '0')[:6].ljust(6, '0'))
    offset = None
    if zone and zone != 'Z':
        sign = -1 if zone[0] == '-' else 1
        digits = zone[1:].replace(':', '')
        offset = sign * (int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0))
    epoch_us = (int(wall.timestamp()) - (offset or 0) * 60) * 1_000_000 + us
    return epoch_us, offset


def local(el):
    tag = el.tag
    if not isinstance(tag, str):
        return None
    return tag.rsplit('}', 1)[-1].split(':')[-1]


def children(el, name):
    return [c for c in el if local(c) == name]


def child(el, name):
    for c in el:
        if local(c) == name:
            return c
    return None


def descendants(el, name):
    return [d for d in el.iter() if d is not el and local(d) == name]


def text_of(el):
    return None if el is None else (el.text or '')


def empty_sample(fmt, activity):
    return dict(source_format=fmt, time_utc_us=None, utc_offset_min=None, activity_index=activity, lap_index=None,
                segment_index=None, latitude_deg=None, longitude_deg=None, altitude_m=None, distance_m=None,
                heart_rate_bpm=None, cadence_rpm=None, speed_mps=None, power_w=None, temperature_c=None,
                sensor_state=None, vertical_oscillation_mm=None, stance_time_ms=None, step_length_mm=None,
                left_right_balance_pct=None, quality_flags=0)


def route_row(fmt, route, point, s, name, satellites=None, fix=None):
    return dict(source_format=fmt, route_index=route, point_index=point, time_utc_us=s['time_utc_us'], utc_offset_min=s['utc_offset_min'],
                latitude_deg=s['latitude_deg'], longitude_deg=s['longitude_deg'], altitude_m=s['altitude_m'], distance_m=s['distance_m'],
                satellites=satellites, fix=fix, name=name)


def load_xml(path):
    from lxml import etree
    data = open(path, 'rb').read()
    if data[:3] == b'\xef\xbb\xbf':
        data = data[3:]
    data = data.lstrip(b' \t\r\n')  # Polar writes whitespace before the declaration: skipped by rule
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        # An undeclared namespace prefix is well-formed XML 1.0 (not namespace-well-formed);
        # polar-lake matches local names, so it is read, not refused: re-read in recover mode,
        # which keeps such a tag as 'prefix:name' (local() splits it).
        if 'Namespace prefix' not in str(e):
            raise Rejected('PL_PARSE_XML_MALFORMED')
        return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True))


def tcx_point(tp, s):
    """Fills sample s from Trackpoint tp; returns False when its Time is there but unreadable."""
    FLAWS.point = 0
    time_el = child(tp, 'Time')
    ok = True
    if time_el is not None:
        parsed = instant_or_none(time_el.text)
        if parsed is None:
            ok = False
        else:
            s['time_utc_us'], s['utc_offset_min'] = parsed
    pos = child(tp, 'Position')
    if pos is not None:
        for name, key in (('LatitudeDegrees', 'latitude_deg'), ('LongitudeDegrees', 'longitude_deg')):
            e = child(pos, name)
            if e is not None:
                s[key] = number(e.text)
    for name, key in (('AltitudeMeters', 'altitude_m'), ('DistanceMeters', 'distance_m'), ('Cadence', 'cadence_rpm')):
        e = child(tp, name)
        if e is not None:
            s[key] = number(e.text)
    hr = child(tp, 'HeartRateBpm')
    if hr is not None and child(hr, 'Value') is not None:
        s['heart_rate_bpm'] = number(child(hr, 'Value').text)
    st = child(tp, 'SensorState')
    if st is not None:
        s['sensor_state'] = (st.text or '').strip() or None
    ext = child(tp, 'Extensions')
    if ext is not None:
        for name, key in (('Speed', 'speed_mps'), ('Watts', 'power_w')):
            for e in descendants(ext, name):
                s[key] = number(e.text)
        if s['cadence_rpm'] is None:
            for e in descendants(ext, 'RunCadence'):
                if s['cadence_rpm'] is None:
                    s['cadence_rpm'] = number(e.text)
    return ok


def tcx(path, keep_order, out):
    root = load_xml(path)
    activities = [a for a in root.iter() if local(a) == 'Activity' and any(local(p) == 'Activities' for p in a.iterancestors())]
    for ai, act in enumerate(activities):
        prev = None
        for li, lap in enumerate(children(act, 'Lap')):
            start = lap.get('StartTime')
            parsed = None if start is None else instant_or_none(start)
            if parsed is None:
                # No readable StartTime: the lap starts at its first timed point (dropped without one).
                for tp in descendants(lap, 'Trackpoint'):
                    probe = empty_sample('tcx', ai)
                    saved = dict(FLAWS.counts)
                    if child(tp, 'Time') is not None and tcx_point(tp, probe) and probe['time_utc_us'] is not None:
                        parsed = (probe['time_utc_us'], probe['utc_offset_min'])
                    FLAWS.counts = saved
                    if parsed is not None:
                        break
            t, off = parsed if parsed is not None else (None, None)
            lx = child(lap, 'Extensions')
            avg_run_cad = [number(text_of(e)) for e in descendants(lx, 'AvgRunCadence')] if lx is not None else []
            avg_watts = [number(text_of(e)) for e in descendants(lx, 'AvgWatts')] if lx is not None else []
            cad = number(text_of(child(lap, 'Cadence'))) if child(lap, 'Cadence') is not None else None
            avg_hr = child(lap, 'AverageHeartRateBpm')
            max_hr = child(lap, 'MaximumHeartRateBpm')
            def direct(name):
                c = child(lap, name)
                return None if c is None else number(text_of(c))
            def word(name):
                c = child(lap, name)
                return None if c is None else ((c.text or '').strip() or None)
            row = dict(source_format='tcx', activity_index=ai, lap_index=li, start_time_utc_us=t, utc_offset_min=off,
                       total_time_s=direct('TotalTimeSeconds'), distance_m=direct('DistanceMeters'),
                       max_speed_mps=direct('MaximumSpeed'), calories_kcal=direct('Calories'),
                       avg_heart_rate_bpm=number(text_of(child(avg_hr, 'Value'))) if avg_hr is not None and child(avg_hr, 'Value') is not None else None,
                       max_heart_rate_bpm=number(text_of(child(max_hr, 'Value'))) if max_hr is not None and child(max_hr, 'Value') is not None else None,
                       avg_cadence_rpm=cad if cad is not None else (avg_run_cad[-1] if avg_run_cad else None),
                       avg_power_w=avg_watts[-1] if avg_watts else None,
                       intensity=word('Intensity'), trigger_method=word('TriggerMethod'))
            if t is None:
                FLAWS.counts['time_unparseable_count'] += 1
            else:
                out.append(('laps', row))
            for tp in descendants(lap, 'Trackpoint'):
                s = empty_sample('tcx', ai)
                s['lap_index'] = li
                ok = tcx_point(tp, s)  # values are read (and their flaws counted) before the time decides
                if child(tp, 'Time') is None:
                    continue
                if not ok:
                    FLAWS.counts['time_unparseable_count'] += 1
                    continue
                flag_order(s, prev, keep_order)
                prev = s['time_utc_us']
                out.append(('samples', s))
    courses = [c for c in root.iter() if local(c) == 'Course' and any(local(p) == 'Courses' for p in c.iterancestors())]
    for ci, course in enumerate(courses):
        name_el = child(course, 'Name')
        name = None if name_el is None else ((name_el.text or '').strip() or None)
        point = 0
        for tp in descendants(course, 'Trackpoint'):
            s = empty_sample('tcx', 0)
            if not tcx_point(tp, s):
                FLAWS.counts['time_unparseable_count'] += 1
            if s['latitude_deg'] is None or s['longitude_deg'] is None:
                continue
            out.append(('routes', route_row('tcx', ci, point, s, name)))
            point += 1


def flag_order(s, prev, keep_order):
    s['quality_flags'] = FLAWS.point
    if prev is not None and s['time_utc_us'] < prev:
        if not keep_order:
            raise Rejected('PL_PARSE_TIME_ORDER')
        s['quality_flags'] |= TIME_BACKWARDS
        FLAWS.counts['time_backwards_count'] += 1


GPX_FIELDS = {'hr': 'heart_rate_bpm', 'heartrate': 'heart_rate_bpm', 'cad': 'cadence_rpm', 'cadence': 'cadence_rpm',
              'atemp': 'temperature_c', 'temp': 'temperature_c', 'Temperature': 'temperature_c', 'power': 'power_w',
              'PowerInWatts': 'power_w', 'speed': 'speed_mps', 'distance': 'distance_m', 'ele': 'altitude_m'}


def gpx_point(pt, s):
    """Fills sample s from a trkpt / rtept; returns False when its time is there but unreadable."""
    FLAWS.point = 0
    s['latitude_deg'] = number(pt.get('lat')) if pt.get('lat') is not None else None
    s['longitude_deg'] = number(pt.get('lon')) if pt.get('lon') is not None else None
    ok = True
    time_el = child(pt, 'time')
    if time_el is not None:
        parsed = instant_or_none(time_el.text)
        if parsed is None:
            ok = False
        else:
            s['time_utc_us'], s['utc_offset_min'] = parsed
    for e in pt.iter():
        key = GPX_FIELDS.get(local(e) or '')
        if key is not None and e is not pt and s[key] is None:
            s[key] = number(e.text)
    return ok


FIX_CODES = {'none': 0, '2d': 2, '3d': 3, 'dgps': 4, 'pps': 5}


def gpx(path, keep_order, out):
    root = load_xml(path)
    for ti, trk in enumerate(e for e in root.iter() if local(e) == 'trk'):
        prev = None
        for si, seg in enumerate(children(trk, 'trkseg')):
            for pt in children(seg, 'trkpt'):
                s = empty_sample('gpx', ti)
                s['segment_index'] = si
                ok = gpx_point(pt, s)  # values are read (and their flaws counted) before the time decides
                if child(pt, 'time') is None:
                    continue
                if not ok:
                    FLAWS.counts['time_unparseable_count'] += 1
                    continue
                flag_order(s, prev, keep_order)
                prev = s['time_utc_us']
                out.append(('samples', s))
    for ri, rte in enumerate(e for e in root.iter() if local(e) == 'rte'):
        name_el = child(rte, 'name')
        name = None if name_el is None else ((name_el.text or '').strip() or None)
        point = 0
        for pt in children(rte, 'rtept'):
            s = empty_sample('gpx', 0)
            if not gpx_point(pt, s):
                FLAWS.counts['time_unparseable_count'] += 1
            sat_el, fix_el = child(pt, 'sat'), child(pt, 'fix')
            satellites = None if sat_el is None else number(sat_el.text)
            fix = None if fix_el is None else FIX_CODES.get((fix_el.text or '').strip())
            if s['latitude_deg'] is None or s['longitude_deg'] is None:
                continue
            out.append(('routes', route_row('gpx', ri, point, s, name, satellites, fix)))
            point += 1


def fit(path, keep_order, out):
    from garmin_fit_sdk import Decoder, Stream
    data = open(path, 'rb').read()
    if len(data) == 0:
        raise Rejected('PL_PARSE_EMPTY')
    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    if not decoder.is_fit():
        raise Rejected('PL_PARSE_FIT_INVALID')
    messages, errors = decoder.read(merge_heart_rates=True)
    if errors:
        raise Rejected('PL_PARSE_FIT_INVALID')

    def us(dt):
        return None if not isinstance(dt, datetime) else int(round(dt.timestamp() * 1000)) * 1000

    def num(v):
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    offset = None
    acts = messages.get('activity_mesgs', [])
    if acts and isinstance(acts[0].get('local_timestamp'), (int, float)) and us(acts[0].get('timestamp')) is not None:
        offset = round((acts[0]['local_timestamp'] + 631065600 - us(acts[0]['timestamp']) / 1e6) / 60)
    sessions = sorted(us(s.get('start_time')) or us(s.get('timestamp')) or float('-inf') for s in messages.get('session_mesgs', []))

    def last_le(starts, t):
        idx = -1
        for i, st in enumerate(starts):
            if st <= t:
                idx = i
        return idx

    laps = sorted(((us(l.get('start_time')) or us(l.get('timestamp')), l) for l in messages.get('lap_mesgs', []) if (us(l.get('start_time')) or us(l.get('timestamp'))) is not None), key=lambda x: x[0])
    lap_starts = {}
    for start, l in laps:
        a = max(0, last_le(sessions, start))
        starts = lap_starts.setdefault(a, [])
        out.append(('laps', dict(source_format='fit', activity_index=a, lap_index=len(starts), start_time_utc_us=start, utc_offset_min=offset,
                                 total_time_s=num(l.get('total_timer_time')), distance_m=num(l.get('total_distance')),
                                 max_speed_mps=num(l.get('enhanced_max_speed')) if num(l.get('enhanced_max_speed')) is not None else num(l.get('max_speed')),
                                 calories_kcal=num(l.get('total_calories')), avg_heart_rate_bpm=num(l.get('avg_heart_rate')),
                                 max_heart_rate_bpm=num(l.get('max_heart_rate')), avg_cadence_rpm=num(l.get('avg_cadence')),
                                 avg_power_w=num(l.get('avg_power')),
                                 intensity=l.get('intensity') if isinstance(l.get('intensity'), str) else None,
                                 trigger_method=l.get('lap_trigger') if isinstance(l.get('lap_trigger'), str) else None)))
        starts.append(start)
    stops = sorted(us(e.get('timestamp')) for e in messages.get('event_mesgs', [])
                   if e.get('event') == 'timer' and e.get('event_type') in ('stop', 'stop_all') and us(e.get('timestamp')) is not None)
    prev = None
    for r in messages.get('record_mesgs', []):
        t = us(r.get('timestamp'))
        if t is None:
            continue
        FLAWS.point = 0
        a = max(0, last_le(sessions, t))
        s = empty_sample('fit', a)
        s['time_utc_us'] = t
        s['utc_offset_min'] = offset
        li = last_le(lap_starts.get(a, []), t)
        s['lap_index'] = li if li >= 0 else None
        s['segment_index'] = sum(1 for st in stops if st < t)
        lat, lon = num(r.get('position_lat')), num(r.get('position_long'))
        s['latitude_deg'] = None if lat is None else lat * (180 / 2147483648)
        s['longitude_deg'] = None if lon is None else lon * (180 / 2147483648)
        s['altitude_m'] = num(r.get('enhanced_altitude')) if num(r.get('enhanced_altitude')) is not None else num(r.get('altitude'))
        s['speed_mps'] = num(r.get('enhanced_speed')) if num(r.get('enhanced_speed')) is not None else num(r.get('speed'))
        for src, key in (('distance', 'distance_m'), ('heart_rate', 'heart_rate_bpm'), ('cadence', 'cadence_rpm'), ('power', 'power_w'),
                         ('temperature', 'temperature_c'), ('vertical_oscillation', 'vertical_oscillation_mm'),
                         ('stance_time', 'stance_time_ms'), ('step_length', 'step_length_mm')):
            s[key] = num(r.get(src))
        bal = num(r.get('left_right_balance'))
        s['left_right_balance_pct'] = None if bal is None else float(int(bal) & 0x7F)
        flag_order(s, prev, keep_order)
        prev = t
        out.append(('samples', s))


def main():
    path, fmt = sys.argv[1], sys.argv[2]
    keep = '--strict-time-order' not in sys.argv
    out = []
    try:
        if fmt == 'tcx':
            tcx(path, keep, out)
        elif fmt == 'gpx':
            gpx(path, keep, out)
        else:
            fit(path, keep, out)
    except Rejected as r:
        print(json.dumps({'error': r.code}))
        return
    w = sys.stdout.write
    for table, row in out:
        row = dict(row)
        row['table'] = table
        w(json.dumps(row) + '\n')
    w(json.dumps(dict(FLAWS.counts, table='file')) + '\n')
    w(json.dumps({'table': 'end'}) + '\n')


if __name__ == '__main__':
    main()
