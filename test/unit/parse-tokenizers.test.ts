/**
 * The three tokenizers (fast, saxes, sax) under the same state machines must stay
 * equivalent: the same rows, file record and error code for every corpus file, for each XML
 * construct and each way of breaking one, and for any chunking of the input.
 * (parse-hostile and the goldens in parse-formats also run on every tokenizer.)
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TokenizerName } from '../../src/parse/index.ts';
import { CORPUS_DIR, HAVE_CORPUS, bytes, collect, collectFile, corpusEntries, type Collected } from '../helpers/parse-corpus.ts';

const TOKENIZERS: TokenizerName[] = ['fast', 'saxes', 'sax'];

function summary(r: Collected): unknown {
  return r.error !== null ? { code: r.error.code } : { samples: r.samples, laps: r.laps, info: r.info };
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

describe.skipIf(!HAVE_CORPUS)(`parse > tokenizers > corpus (${HAVE_CORPUS ? CORPUS_DIR : 'corpus folder absent: set POLAR_LAKE_CORPUS; skipped'})`, () => {
  for (const entry of corpusEntries().filter((e) => e.format !== 'fit')) {
    it(`parse > tokenizers > corpus > ${entry.path}`, { timeout: 120_000 }, async () => {
      const path = resolve(CORPUS_DIR, entry.path);
      const fast = summary(await collectFile(path, 'auto', { tokenizer: 'fast', timeOrder: 'keep' }));
      expect(summary(await collectFile(path, 'auto', { tokenizer: 'saxes', timeOrder: 'keep' }))).toEqual(fast);
      expect(summary(await collectFile(path, 'auto', { tokenizer: 'sax', timeOrder: 'keep' }))).toEqual(fast);
    });
  }
});
