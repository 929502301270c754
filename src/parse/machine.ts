/** What the XML driver needs from a format state machine (tcx.ts, gpx.ts). */
import type { LapRow, SampleRow } from '../records/rows.ts';
import type { XmlHandler } from './xml/tokenizer.ts';
import type { FileInfo } from './values.ts';

export interface FormatMachine extends XmlHandler {
  /** Rows completed so far; the driver takes them (splice) after each chunk. */
  readonly samples: SampleRow[];
  readonly laps: LapRow[];
  /** Name the root element must have, checked on the first open tag. */
  readonly rootName: string;
  /** Called once after the document ends. */
  finish(): FileInfo;
}

/**
 * What to do when a sample instant goes backwards within an activity: 'reject' throws
 * PL_PARSE_TIME_ORDER (the file is dead-lettered); 'keep' keeps the rows in file order.
 * A repeated instant is always kept (Garmin repeats the lap-boundary point).
 */
export type TimeOrderPolicy = 'reject' | 'keep';
