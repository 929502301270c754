/**
 * The three tokenizers (fast, saxes, sax) under the same state machines must stay
 * equivalent: the same rows, file record and error code for every corpus file, for each XML
 * construct and each way of breaking one, and for any chunking of the input.
 * (parse-hostile and the goldens in parse-formats also run on every tokenizer.)
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileInfo, TokenizerName } from '../../src/parse/index.ts';
import { QUALITY } from '../../src/parse/values.ts';
import { CORPUS_DIR, HAVE_CORPUS, bytes, collect, collectFile, corpusEntries, type Collected } from '../helpers/parse-corpus.ts';

const TOKENIZERS: TokenizerName[] = ['fast', 'saxes', 'sax'];

function summary(r: Collected): unknown {
  return r.error !== null ? { code: r.error.code } : { samples: r.samples, laps: r.laps, routes: r.routes, info: r.info };
}

const GPX_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="x">';
const doc = (trk: string) => `${GPX_HEAD}<trk><trkseg>${trk}</trkseg></trk></gpx>\n`;
const PT = '<trkpt lat="1" lon="2"><time>2024-01-01T00:00:00Z</time></trkpt>';

/** Well-formed documents with every construct the tokenizers handle: all give rows. */
const WELL_FORMED: [string, string][] = [
  ['entities and character references in text and attributes', doc(`<trkpt lat='1&#46;5' lon="&#x32;"><time>2024-01-01T00:00:0&#48;Z</time><ele>1&#x2E;5</ele></trkpt>`).replace('creator="x"', 'creator="a &amp; b &lt;&gt; &quot;&apos;"')],
  ['CDATA, comments and processing instructions', doc(`<!-- a comment - with dashes --><?pi data?><trkpt lat="1" lon="2"><time><![CDATA[2024-01-01T00:00:00Z]]></time><ele><!-- x -->7<![CDATA[.5]]></ele></trkpt>`)],
  ['namespace prefixes, self-closing tags, whitespace in tags', doc(`<g:trkpt  lat = "1"\n  lon="2" ><g:time >2024-01-01T00:00:00Z</g:time ><extensions><ns3:TrackPointExtension><ns3:hr>120</ns3:hr><ns3:x/></ns3:TrackPointExtension></extensions></g:trkpt >`)],
  ['CRLF line ends and tabs in attributes', doc(`<trkpt\r\n lat="1"\tlon="2"><time>\r\n2024-01-01T00:00:00Z\r\n</time></trkpt>`).replace(/\n/g, '\r\n')],
  ['a DOCTYPE without subset, a comment and a PI after the root', `<?xml version="1.0"?>\n<!DOCTYPE gpx>\n<gpx>${'<trk><trkseg>' + PT + '</trkseg></trk>'}</gpx>\n<!-- end --><?pi x?>\n`],
  ['numbers and instants of every shape (the fast byte path and its fallbacks)', doc([
    ['2024-01-01T00:00:00Z', '32.5', '96', '0', '1.100000023841858', '-0'],
    ['2024-01-01T02:00:01.5+02:00', ' 32.5', '9007199254740993', '1e2', '', 'null'],
    ['2024-01-01T00:00:02,25', '-.5', '0.0000000000000000000001', '+7', '5.', '12345678901234567890'],
    ['  2024-01-01T00:00:03.123456789Z ', '1\n', '007', '4503599627370497.5', '-99999999999999.99', '0.3'],
  ].map(([time, ele, hr, cad, power, temp]) => `<trkpt lat="1" lon="2"><ele>${ele}</ele><time>${time}</time><extensions><x:TrackPointExtension>` +
    `<x:hr>${hr}</x:hr><x:cad>${cad}</x:cad><x:atemp>${temp}</x:atemp><x:hr>1</x:hr></x:TrackPointExtension><power>${power}</power><speed>${cad}</speed><distance>${hr}</distance></extensions></trkpt>`).join(''))],
  ['non-ASCII names and text', doc(`<trkpt lat="1" lon="2"><time>2024-01-01T00:00:00Z</time><ext><hr>120</hr><nämé>Päijänne €</nämé></ext></trkpt>`).replace('creator="x"', 'creator="Päijänne 😀"')],
];

/** Broken documents: the code every tokenizer must give. */
/** sax (strict mode) accepts these: it is kept only as a slower reference, never the default. */
const SAX_LENIENT = true;

const BROKEN: [string, string, string, boolean?][] = [
  ['mismatched close tag', doc(`<trkpt lat="1" lon="2"><time>2024-01-01T00:00:00Z</ele></trkpt>`), 'PL_PARSE_XML_MALFORMED'],
  ['unclosed root', `${GPX_HEAD}<trk><trkseg>${PT}`, 'PL_PARSE_TRUNCATED'],
  ['a second root element', doc(PT) + '<gpx></gpx>', 'PL_PARSE_XML_MALFORMED', SAX_LENIENT],
  ['text after the root', doc(PT) + 'garbage', 'PL_PARSE_XML_MALFORMED'],
  ['text before the root', '<?xml version="1.0"?>\nx<gpx></gpx>', 'PL_PARSE_XML_MALFORMED'],
  ['duplicate attribute', doc(`<trkpt lat="1" lat="2" lon="2"><time>2024-01-01T00:00:00Z</time></trkpt>`), 'PL_PARSE_XML_MALFORMED', SAX_LENIENT],
  ['unquoted attribute', doc(`<trkpt lat=1 lon="2"><time>2024-01-01T00:00:00Z</time></trkpt>`), 'PL_PARSE_XML_MALFORMED'],
  ['< in an attribute value', doc(`<trkpt lat="<1" lon="2"><time>2024-01-01T00:00:00Z</time></trkpt>`), 'PL_PARSE_XML_MALFORMED', SAX_LENIENT],
  ['undefined entity in text', doc(`<trkpt lat="1" lon="2"><time>&nbsp;2024-01-01T00:00:00Z</time></trkpt>`), 'PL_PARSE_ENTITY_REFUSED'],
  ['undefined entity in an attribute', doc(`<trkpt lat="&one;" lon="2"><time>2024-01-01T00:00:00Z</time></trkpt>`), 'PL_PARSE_ENTITY_REFUSED'],
  ['character reference to a character XML refuses', doc(`<trkpt lat="1" lon="2"><time>&#0;</time></trkpt>`), 'PL_PARSE_ENTITY_REFUSED'],
  ['double dash in a comment', doc(`<!-- a -- b -->${PT}`), 'PL_PARSE_XML_MALFORMED'],
  ['XML declaration not at the start', `<!-- x --><?xml version="1.0"?><gpx></gpx>`, 'PL_PARSE_XML_MALFORMED', SAX_LENIENT],
  ['XML declaration without version', `<?xml encoding="UTF-8"?><gpx></gpx>`, 'PL_PARSE_XML_MALFORMED', SAX_LENIENT],
  ['DOCTYPE after the root element', doc(`<!DOCTYPE gpx>${PT}`), 'PL_PARSE_XML_MALFORMED'],
  ['DOCTYPE with an internal subset', `<?xml version="1.0"?>\n<!DOCTYPE gpx [<!ENTITY a "b">]>\n<gpx></gpx>`, 'PL_PARSE_DOCTYPE_REFUSED'],
  ['"]]>" in text', doc(`<trkpt lat="1" lon="2"><time>]]></time></trkpt>`), 'PL_PARSE_XML_MALFORMED', SAX_LENIENT],
  ['control character in text', doc(`<trkpt lat="1" lon="2"><time>\u0001</time></trkpt>`), 'PL_PARSE_XML_MALFORMED', SAX_LENIENT],
  ['bad tag name', doc(`< trkpt lat="1" lon="2"></trkpt>`), 'PL_PARSE_XML_MALFORMED', SAX_LENIENT],
  ['no whitespace between attributes', doc(`<trkpt lat="1"lon="2"><time>2024-01-01T00:00:00Z</time></trkpt>`), 'PL_PARSE_XML_MALFORMED'],
  ['close tag without an open tag', '<gpx></gpx></trk>', 'PL_PARSE_XML_MALFORMED'],
];

describe('parse > tokenizers', () => {
  for (const [title, text] of WELL_FORMED) {
    it(`parse > tokenizers > ${title}: same rows on every tokenizer, at any chunking`, async () => {
      const whole = Buffer.from(text);
      const expected = await collect(bytes(whole), 'gpx', 'x.gpx', { tokenizer: 'saxes' });
      expect(expected.error, expected.error?.message).toBeNull();
      expect(expected.samples.length).toBeGreaterThan(0);
      for (const tokenizer of TOKENIZERS) {
        expect(summary(await collect(bytes(whole), 'gpx', 'x.gpx', { tokenizer })), tokenizer).toEqual(summary(expected));
      }
      // Every cut point, into two chunks and into chunks of 3 bytes (a token or a character
      // is carried across the boundary).
      for (let cut = 1; cut < whole.length; cut++) {
        const r = await collect(bytes(whole.subarray(0, cut), whole.subarray(cut)), 'gpx', 'x.gpx', { tokenizer: 'fast' });
        expect(summary(r), `cut at ${cut}`).toEqual(summary(expected));
      }
      const threes: Buffer[] = [];
      for (let i = 0; i < whole.length; i += 3) threes.push(whole.subarray(i, i + 3));
      expect(summary(await collect(bytes(...threes), 'gpx', 'x.gpx', { tokenizer: 'fast' }))).toEqual(summary(expected));
    });
  }

  it.each(BROKEN)('parse > tokenizers > %s', async (_title, text, code, saxLenient) => {
    for (const tokenizer of TOKENIZERS.filter((t) => !(saxLenient === true && t === 'sax'))) {
      const r = await collect(bytes(text), 'gpx', 'x.gpx', { tokenizer });
      expect(r.error?.code, tokenizer).toBe(code);
      expect(r.error?.line, tokenizer).toBeGreaterThanOrEqual(1);
    }
    const r = await collect(bytes(text), 'gpx', 'x.gpx', { tokenizer: 'fast' });
    expect(r.error?.byteOffset).toBeGreaterThanOrEqual(0);
  });
});

const TCX_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase xmlns:x="urn:x"><Activities><Activity Sport="Biking"><Lap StartTime="2024-01-01T00:00:00Z"><Track>';
const tcxDoc = (points: string) => `${TCX_HEAD}${points}</Track></Lap></Activity></Activities></TrainingCenterDatabase>\n`;
const tp = (time: string, rest = '') => `<Trackpoint><Time>${time}</Time>${rest}</Trackpoint>`;

/**
 * Field texts around the fast tokenizer's byte path (textBytes: numbers, instants and the
 * sensor state read from the bytes): what it takes must equal the string rule, what it does
 * not take must reach the string rule unchanged.
 */
const FIELD_TEXTS: [string, string][] = [
  ['instants of every shape', tcxDoc([
    tp('2024-01-01T00:00:00Z'), tp('2024-01-01T00:00:00.5Z'), tp('2024-01-01T00:00:00.123456789Z'), tp('2024-01-01T02:00:01+02:00'),
    tp('2024-01-01T02:00:01.25+0200'), tp('2024-01-01T02:00:02+02'), tp('2023-12-31T19:00:03-05:00'), tp('2024-01-01 00:00:04Z'),
    tp('2024-01-01T00:00:05'), tp('2024-01-01T00:00:05,75Z'), tp(' 2024-01-01T00:00:06Z\n'), tp('2024-01-01T00:00:06-00:00'),
    tp('2024-02-29T00:00:07Z'), tp('2024-03-01T00:00:07Z'),
  ].join(''))],
  ['numbers of every shape', tcxDoc([
    ['51.50722508', '-0.16156753', '32.5', '1.100000023841858', '96', '0', '1.087', '183'],
    ['-0', '-0.0', '007', '9007199254740991', '9007199254740993', '0.0000000000000000000001', '12345678901234567890', '-.5'],
    [' 51.5', '5.', '1e3', '+7', '', 'null', '.5', '1.2E-3'],
    ['1\n', '\t2', '3.000000000000000000000000001', '-99999999999999.99', '0.1', '0.2', '0.3', '4503599627370497.5'],
  ].map((v, i) => tp(`2024-01-01T00:00:0${i}Z`,
    `<Position><LatitudeDegrees>${v[0]}</LatitudeDegrees><LongitudeDegrees>${v[1]}</LongitudeDegrees></Position><AltitudeMeters>${v[2]}</AltitudeMeters>` +
    `<DistanceMeters>${v[3]}</DistanceMeters><HeartRateBpm><Value>${v[4]}</Value></HeartRateBpm><Cadence>${v[5]}</Cadence>` +
    `<Extensions><x:TPX><x:Speed>${v[6]}</x:Speed><x:Watts>${v[7]}</x:Watts><x:RunCadence>${v[5]}</x:RunCadence></x:TPX></Extensions>`)).join(''))],
  ['texts split by comments, CDATA, references and CR', tcxDoc([
    tp('2024-01-01T00:00:0<!-- c -->0Z', '<AltitudeMeters><![CDATA[12.5]]></AltitudeMeters><Cadence>8<!---->5</Cadence>'),
    tp('2024-01-01T00:00:0&#49;Z', '<AltitudeMeters>1&#46;5</AltitudeMeters><Cadence>\r\n85\r\n</Cadence>'),
    tp('<![CDATA[2024-01-01T00:00:02Z]]>', '<HeartRateBpm><Value><x:y/>99</Value></HeartRateBpm><Cadence><x:y></x:y>86</Cadence>'),
  ].join(''))],
  ['sensor states and RunCadence beside Cadence', tcxDoc([
    tp('2024-01-01T00:00:00Z', '<SensorState>Present</SensorState><Extensions><x:TPX><x:RunCadence>90</x:RunCadence></x:TPX></Extensions>'),
    tp('2024-01-01T00:00:01Z', '<Cadence>80</Cadence><SensorState>Absent</SensorState><Extensions><TPX><RunCadence>90</RunCadence></TPX></Extensions>'),
    tp('2024-01-01T00:00:02Z', '<SensorState> Present </SensorState>'), tp('2024-01-01T00:00:03Z', '<SensorState>Presentx</SensorState>'),
    tp('2024-01-01T00:00:04Z', '<SensorState>Prèsent</SensorState>'), tp('2024-01-01T00:00:05Z', '<SensorState></SensorState>'),
    // A HeartRateBpm closed while a field is open leaves its depth behind; the next field at
    // that depth clears it, so a Value further down is not a heart rate.
    tp('2024-01-01T00:00:06Z', '<Cadence><HeartRateBpm></HeartRateBpm>85</Cadence><Extensions><x:Speed>3</x:Speed><x:X><Value>99</Value></x:X></Extensions>'),
    tp('2024-01-01T00:00:07Z', '<HeartRateBpm><Value>97</Value><Value> 98</Value></HeartRateBpm><Value>5</Value>'),
  ].join(''))],
];

/**
 * Flawed field texts: salvaged, never rejected, and the same rows, flags and counts whatever
 * path the text takes (the byte readers decline every one of them).
 */
const FLAWED_FIELDS: [string, string, Partial<FileInfo>, number[]][] = [
  ['a number that is not a number', tcxDoc(tp('2024-01-01T00:00:00Z', '<AltitudeMeters>12.5x</AltitudeMeters>')), { value_unparseable_count: 1 }, [QUALITY.value_unparseable]],
  ['a hexadecimal number', tcxDoc(tp('2024-01-01T00:00:00Z', '<HeartRateBpm><Value>0x60</Value></HeartRateBpm>')), { value_unparseable_count: 1 }, [QUALITY.value_unparseable]],
  ['a latitude `no` and a decimal-comma distance', tcxDoc(tp('2024-01-01T00:00:00Z', '<Position><LatitudeDegrees>no</LatitudeDegrees><LongitudeDegrees>2,5</LongitudeDegrees></Position><DistanceMeters>0,000000</DistanceMeters>')),
    { value_unparseable_count: 1, decimal_comma_count: 2 }, [QUALITY.value_unparseable | QUALITY.decimal_comma]],
  ['an instant with a bad month', tcxDoc(tp('2024-13-01T00:00:00Z') + tp('2024-01-01T00:00:01Z')), { time_unparseable_count: 1 }, [0]],
  ['an instant on 29 February of a common year', tcxDoc(tp('2023-02-29T00:00:00Z') + tp('2024-01-01T00:00:01Z')), { time_unparseable_count: 1 }, [0]],
  ['an instant with a bad zone', tcxDoc(tp('2024-01-01T00:00:00+2:00') + tp('2024-01-01T00:00:01Z')), { time_unparseable_count: 1 }, [0]],
  ['an instant with an empty fraction', tcxDoc(tp('2024-01-01T00:00:00.Z') + tp('2024-01-01T00:00:01Z')), { time_unparseable_count: 1 }, [0]],
  ['instants going backwards', tcxDoc(tp('2024-01-01T00:00:01Z') + tp('2024-01-01T00:00:00.999Z')), { time_backwards_count: 1 }, [0, QUALITY.time_backwards]],
];

describe('parse > tokenizers > byte path', () => {
  for (const [title, text] of FIELD_TEXTS) {
    it(`parse > tokenizers > byte path > ${title}: same rows as the string path, at any chunking`, async () => {
      const whole = Buffer.from(text);
      const expected = await collect(bytes(whole), 'tcx', 'x.tcx', { tokenizer: 'saxes' });
      expect(expected.error, expected.error?.message).toBeNull();
      expect(expected.samples.length).toBeGreaterThan(0);
      expect(summary(await collect(bytes(whole), 'tcx', 'x.tcx', { tokenizer: 'fast' }))).toEqual(summary(expected));
      for (let cut = 1; cut < whole.length; cut += 7) {
        const r = await collect(bytes(whole.subarray(0, cut), whole.subarray(cut)), 'tcx', 'x.tcx', { tokenizer: 'fast' });
        expect(summary(r), `cut at ${cut}`).toEqual(summary(expected));
      }
    });
  }

  it('parse > tokenizers > byte path > a Lap leaf without StartTime is dropped and counted; a too-deep leaf keeps the open tag position', async () => {
    const lapLeaf = `${TCX_HEAD.replace(/<Lap [^>]*><Track>$/, '')}<Lap>5</Lap></Activity></Activities></TrainingCenterDatabase>\n`;
    for (const tokenizer of TOKENIZERS) {
      const lap = await collect(bytes(lapLeaf), 'tcx', 'x.tcx', { tokenizer });
      expect(lap.error, tokenizer).toBeNull();
      expect(lap.laps, tokenizer).toHaveLength(0);
      expect(lap.info?.time_unparseable_count, tokenizer).toBe(1);
    }
    // Trackpoint children sit at depth 7; with maxDepth 6 the first leaf (Time) is too deep.
    const deep = tcxDoc(tp('2024-01-01T00:00:00Z'));
    for (const tokenizer of ['fast', 'saxes'] as const) {
      const r = await collect(bytes(deep), 'tcx', 'x.tcx', { tokenizer, limits: { maxDepth: 6 } });
      expect(r.error?.code, tokenizer).toBe('PL_PARSE_TOO_DEEP');
      if (tokenizer === 'fast') expect(r.error?.byteOffset).toBe(deep.indexOf('<Time>') + '<Time>'.length);
    }
    const ok = await collect(bytes(deep), 'tcx', 'x.tcx', { tokenizer: 'fast', limits: { maxDepth: 7 } });
    expect(ok.error).toBeNull();
    expect(ok.samples).toHaveLength(1);
  });

  it.each(FLAWED_FIELDS)('parse > tokenizers > byte path > %s: salvaged alike on every tokenizer, at any chunking', async (_title, text, counts, flags) => {
    const whole = Buffer.from(text);
    const expected = await collect(bytes(whole), 'tcx', 'x.tcx', { tokenizer: 'saxes' });
    expect(expected.error, expected.error?.message).toBeNull();
    expect(expected.samples.map((s) => s.quality_flags)).toEqual(flags);
    expect(expected.info).toMatchObject(counts);
    for (const tokenizer of TOKENIZERS) expect(summary(await collect(bytes(whole), 'tcx', 'x.tcx', { tokenizer })), tokenizer).toEqual(summary(expected));
    for (let cut = 1; cut < whole.length; cut += 5) {
      const r = await collect(bytes(whole.subarray(0, cut), whole.subarray(cut)), 'tcx', 'x.tcx', { tokenizer: 'fast' });
      expect(summary(r), `cut at ${cut}`).toEqual(summary(expected));
    }
  });
});

/**
 * trkpt attributes around the fast tokenizer's attribute-bytes path (openBytes: lat / lon
 * read from the bytes, no attributes object): what it takes must equal the string rule,
 * what it declines (references, tabs, line ends, too many attributes) must reach it unchanged.
 */
const pt = (attributes: string, second = 0) => `<trkpt${attributes}><time>2024-01-01T00:00:0${second}Z</time></trkpt>`;
const GPX_ATTRIBUTES: [string, string][] = [
  ['quoting, spacing and references', doc([
    pt(' lat="&#52;5.5" lon="1&#46;25"', 0), pt(" lat='45.5' lon='-1.25'", 1), pt(' lat = "45.5"\n  lon\t=\t\'7\' ', 2),
    pt(' lat="4&#x35;.5" lon=\'&#x2D;1\'', 3), `<trkpt lat="1" lon="2"/>`, pt(' lat="\t45.5" lon="1\n"', 4),
  ].join(''))],
  ['number shapes the byte reader declines', doc([
    pt(' lat="4.55e1" lon="-1.25E+0"', 0), pt(' lat=" 45.5" lon="1.25 "', 1), pt(' lat="+45" lon=".5"', 2), pt(' lat="5." lon="-0"', 3),
    pt(' lat="" lon="null"', 4), pt(' lat="12345678901234567890" lon="0.0000000000000000000001"', 5), pt(' lat="0045.500" lon="1"', 6),
  ].join(''))],
  ['missing, extra and prefixed attributes', doc([
    pt(' lat="45.5"', 0), pt(' lon="1.25"', 1), pt(' x:lat="9" x:lon="9" la="9" lats="9"', 2), pt(' a="1" lon="1.25" b="\u00e9" lat="45.5"', 3),
    pt(Array.from({ length: 20 }, (_, i) => ` a${i}="${i}"`).join('') + ' lat="45.5" lon="1.25"', 4), pt('', 5),
  ].join(''))],
  ['trkpt outside a trk, nested in a trkpt, and a prefixed trkpt', `${GPX_HEAD}<trkpt lat="9" lon="9"><time>2024-01-01T00:00:00Z</time></trkpt><trk><trkseg>` +
    `<g:trkpt lat="1.5" lon="2.5"><time>2024-01-01T00:00:00Z</time><extensions><trkpt lat="x" lon="y"/></extensions></g:trkpt></trkseg></trk></gpx>\n`],
];

/** Flawed trkpt coordinates: salvaged alike on every path (null or comma-read, flagged). */
const FLAWED_GPX_ATTRIBUTES: [string, string, [number | null, number | null], number][] = [
  ['a latitude that is not a number', doc(pt(' lat="45.5x" lon="1"')), [null, 1], 1],
  ['a hexadecimal longitude', doc(pt(' lat="45.5" lon="0x10"')), [45.5, null], 1],
  ['two bad coordinates (OsmAnd `undefined`)', doc(pt(' lon="undefined" lat="undefined"')), [null, null], 2],
  ['a bad latitude through a reference', doc(pt(' lat="&#120;" lon="1"')), [null, 1], 1],
  ['decimal-comma coordinates', doc(pt(' lat="45,5" lon="-1,25"')), [45.5, -1.25], 0],
];

/** Broken trkpt attributes: structural, the same code on every path. */
const BAD_GPX_ATTRIBUTES: [string, string, string][] = [
  ['a duplicate latitude', doc(pt(' lat="1" lon="2" lat="1"')), 'PL_PARSE_XML_MALFORMED'],
  ['an undefined entity in a longitude', doc(pt(' lat="1" lon="&x;"')), 'PL_PARSE_ENTITY_REFUSED'],
];

describe('parse > tokenizers > gpx trkpt attributes', () => {
  for (const [title, text] of GPX_ATTRIBUTES) {
    it(`parse > tokenizers > gpx trkpt attributes > ${title}: same rows on fast and saxes, at any chunking`, async () => {
      const whole = Buffer.from(text);
      const expected = await collect(bytes(whole), 'gpx', 'x.gpx', { tokenizer: 'saxes' });
      expect(expected.error, expected.error?.message).toBeNull();
      expect(expected.samples.length).toBeGreaterThan(0);
      expect(summary(await collect(bytes(whole), 'gpx', 'x.gpx', { tokenizer: 'fast' }))).toEqual(summary(expected));
      for (let cut = 1; cut < whole.length; cut += 5) {
        const r = await collect(bytes(whole.subarray(0, cut), whole.subarray(cut)), 'gpx', 'x.gpx', { tokenizer: 'fast' });
        expect(summary(r), `cut at ${cut}`).toEqual(summary(expected));
      }
    });
  }

  it('parse > tokenizers > gpx trkpt attributes > coordinates as read', async () => {
    const r = await collect(bytes(GPX_ATTRIBUTES[0]![1]), 'gpx', 'x.gpx', { tokenizer: 'fast' });
    expect(r.samples.map((s) => [s.latitude_deg, s.longitude_deg])).toEqual([[45.5, 1.25], [45.5, -1.25], [45.5, 7], [45.5, -1], [45.5, 1]]);
    const m = await collect(bytes(GPX_ATTRIBUTES[2]![1]), 'gpx', 'x.gpx', { tokenizer: 'fast' });
    expect(m.samples.map((s) => [s.latitude_deg, s.longitude_deg])).toEqual([[45.5, null], [null, 1.25], [null, null], [45.5, 1.25], [45.5, 1.25], [null, null]]);
  });

  it.each(FLAWED_GPX_ATTRIBUTES)('parse > tokenizers > gpx trkpt attributes > %s: kept, flagged alike on every tokenizer', async (_title, text, coordinates, unparseable) => {
    const saxes = await collect(bytes(text), 'gpx', 'x.gpx', { tokenizer: 'saxes' });
    expect(saxes.error).toBeNull();
    expect(saxes.samples.map((s) => [s.latitude_deg, s.longitude_deg])).toEqual([coordinates]);
    expect(saxes.info?.value_unparseable_count).toBe(unparseable);
    expect(saxes.samples[0]!.quality_flags & QUALITY.value_unparseable).toBe(unparseable > 0 ? QUALITY.value_unparseable : 0);
    for (const tokenizer of TOKENIZERS) expect(summary(await collect(bytes(text), 'gpx', 'x.gpx', { tokenizer })), tokenizer).toEqual(summary(saxes));
  });

  it.each(BAD_GPX_ATTRIBUTES)('parse > tokenizers > gpx trkpt attributes > %s', async (_title, text, code) => {
    const fast = await collect(bytes(text), 'gpx', 'x.gpx', { tokenizer: 'fast' });
    const saxes = await collect(bytes(text), 'gpx', 'x.gpx', { tokenizer: 'saxes' });
    expect(fast.error?.code).toBe(code);
    expect(saxes.error?.code).toBe(code);
  });
});

describe.skipIf(!HAVE_CORPUS)(`parse > tokenizers > corpus (${HAVE_CORPUS ? CORPUS_DIR : 'corpus folder absent: set POLAR_LAKE_CORPUS; skipped'})`, () => {
  for (const entry of corpusEntries().filter((e) => e.format !== 'fit')) {
    it(`parse > tokenizers > corpus > ${entry.path}`, { timeout: 120_000 }, async () => {
      const path = resolve(CORPUS_DIR, entry.path);
      const fast = summary(await collectFile(path, 'auto', { tokenizer: 'fast' }));
      expect(summary(await collectFile(path, 'auto', { tokenizer: 'saxes' }))).toEqual(fast);
      expect(summary(await collectFile(path, 'auto', { tokenizer: 'sax' }))).toEqual(fast);
    });
  }
});
