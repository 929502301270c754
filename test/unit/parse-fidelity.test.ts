/**
 * Every TCX / GPX / FIT file of the corpus against an independent reference reading
 * (test/python/fidelity_reference.py: lxml trees, Garmin's Python FIT SDK): same samples
 * (quality flags included), laps and route points, same values (floats to 1e-9), same UTC
 * instants, same flaw counts; or the same rejection code (structural failures only).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS_DIR, HAVE_CORPUS, collectFile, corpusEntries } from '../helpers/parse-corpus.ts';
import { firstDifference, reference } from '../helpers/fidelity.ts';

/** Codes that name the same rejection from the two readers' points of view. */
const EQUIVALENT: Record<string, string[]> = {
  PL_PARSE_XML_MALFORMED: ['PL_PARSE_XML_MALFORMED', 'PL_PARSE_TRUNCATED'],
  PL_PARSE_FIT_INVALID: ['PL_PARSE_FIT_INVALID'],
};

describe.skipIf(!HAVE_CORPUS)(`parse > fidelity > corpus (${HAVE_CORPUS ? CORPUS_DIR : 'corpus folder absent: set POLAR_LAKE_CORPUS; skipped'})`, () => {
  for (const entry of corpusEntries()) {
    it(`parse > fidelity > ${entry.path}`, { timeout: 180_000 }, async () => {
      const path = resolve(CORPUS_DIR, entry.path);
      const theirs = await reference(path, entry.format);
      const ours = await collectFile(path, 'auto');
      if (theirs.error !== null) {
        expect(ours.error, `reference rejects with ${theirs.error}`).not.toBeNull();
        expect(EQUIVALENT[theirs.error] ?? [theirs.error]).toContain(ours.error!.code);
        return;
      }
      expect(ours.error, ours.error?.message).toBeNull();
      expect(firstDifference('samples', ours.samples, theirs.samples)).toBeNull();
      expect(firstDifference('laps', ours.laps, theirs.laps)).toBeNull();
      expect(firstDifference('routes', ours.routes, theirs.routes)).toBeNull();
      expect(ours.info?.sample_count).toBe(theirs.samples.length);
      expect(ours.info?.route_point_count).toBe(theirs.routes.length);
      const { table: _table, ...counts } = theirs.file ?? {};
      expect(ours.info).toMatchObject(counts);
    });
  }
});
