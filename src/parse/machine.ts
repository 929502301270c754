/** What the XML driver needs from a format state machine (tcx.ts, gpx.ts). */
import type { LapRow, RouteRow, SampleRow } from '../records/rows.ts';
import { ParseFault } from './errors.ts';
import type { XmlHandler } from './xml/tokenizer.ts';
import type { FileInfo } from './values.ts';

/**
 * A format state machine is the tokenizer's handler itself (no guard in between), so it
 * checks the two structural limits on open: nesting depth (PL_PARSE_TOO_DEEP, before the
 * tokenizer's tag stack grows further) and the root element's name (PL_PARSE_WRONG_ROOT).
 */
export interface FormatMachine extends XmlHandler {
  /** Rows completed so far; the driver takes them (splice) after each chunk. */
  readonly samples: SampleRow[];
  readonly laps: LapRow[];
  /** Route points (TCX Course Trackpoints, GPX rtept), handed out after the document ends. */
  readonly routes: RouteRow[];
  /** Called once after the document ends. */
  finish(): FileInfo;
}

/**
 * What to do when a sample instant goes backwards within an activity: 'keep' (the default)
 * keeps the rows in file order and flags the point time_backwards; 'reject' throws
 * PL_PARSE_TIME_ORDER (the file is dead-lettered), for a caller that wants strict files.
 * A repeated instant is always kept unflagged (Garmin repeats the lap-boundary point).
 */
export type TimeOrderPolicy = 'reject' | 'keep';

export interface MachineOptions {
  timeOrder: TimeOrderPolicy;
  /** Deepest element nesting allowed (XmlLimits.maxDepth). */
  maxDepth: number;
}

export function tooDeep(maxDepth: number): never {
  throw new ParseFault('PL_PARSE_TOO_DEEP', `elements nest deeper than ${maxDepth}`);
}

export function wrongRoot(name: string, expected: string): never {
  throw new ParseFault('PL_PARSE_WRONG_ROOT', `root element is <${name}>, expected <${expected}>`);
}
