/**
 * Progress and the closing summary of a long job (import, backfill, replay).
 *
 * A job reports each unit of work once with its outcome; this module turns that into
 *   - a progress bar with rate and ETA (cli-progress) when the progress stream is a terminal,
 *   - plain periodic lines (`import: 120/480 files, 35.2/s, ETA 10s, 2 failed`) when it is
 *     not (a log file, CI), so nothing is drawn with control characters where nobody sees it,
 *   - a summary at the end: seen, stored, already present, merged as duplicates, failed with
 *     their reasons; as text for people or as one JSON document for scripts (`--json`),
 *   - an exit code: 0 when nothing failed, EXIT_ITEMS_FAILED when the job ran to its end but
 *     some items failed (each listed in the summary).
 *
 * Usage:
 *   const progress = createJobProgress({ job: 'import', unit: 'files' });
 *   progress.addTotal(480);                     // when known; may grow while the job walks
 *   progress.done('stored');                    // or 'already_present' | 'merged'
 *   progress.failed({ path, code, reason });    // dead-lettered / unreadable / refused
 *   const summary = progress.finish();
 *   printJobSummary(summary, { json: opts.json });
 *   process.exitCode = exitCodeFor(summary);
 *
 * Every unit gets exactly one outcome, so `seen` is their sum. Times come from an injected
 * clock so tests drive the periodic lines without waiting.
 */
import { SingleBar } from 'cli-progress';

/** What happened to one unit of work. */
export type JobOutcome = 'stored' | 'already_present' | 'merged';

/** One unit that failed, with where and why. */
export interface JobFailure {
  /** Where: a file path, a zip entry (`export.zip!training-session-1.json`), a raw key, a request. */
  readonly path: string;
  /** The stable error code (`PL_*`) when there is one. */
  readonly code: string;
  readonly reason: string;
}

export interface JobSummary {
  readonly job: string;
  readonly unit: string;
  /** Units that got an outcome: stored + already_present + merged + failed. */
  readonly seen: number;
  /** New in the lake. */
  readonly stored: number;
  /** Already in the lake, byte for byte (content-addressed): nothing was written. */
  readonly already_present: number;
  /** The same thing from another source was already there: kept once, this source listed. */
  readonly merged: number;
  /** Failed, refused or dead-lettered; each listed in `failures` (up to the cap). */
  readonly failed: number;
  /** Failed units per error code. */
  readonly failed_by_code: Readonly<Record<string, number>>;
  readonly failures: readonly JobFailure[];
  /** Failures beyond the listing cap (counted in `failed`, not listed). */
  readonly failures_not_listed: number;
  /** Job-specific counts (e.g. `zip_entries`, `requests`). */
  readonly counts: Readonly<Record<string, number>>;
  readonly elapsed_s: number;
}

export interface JobProgressOptions {
  /** The job's name, printed first on every line. */
  readonly job: string;
  /** What one unit is, plural. @default 'items' */
  readonly unit?: string;
  /** Where progress goes. @default process.stderr (stdout stays free for `--json`) */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** `bar` on a terminal, `lines` elsewhere, `silent` for none. @default bar if stream.isTTY, else lines */
  readonly mode?: 'bar' | 'lines' | 'silent';
  /** Milliseconds since some epoch. @default Date.now */
  readonly clock?: () => number;
  /** Plain mode: at most one line per this many milliseconds. @default 10000 */
  readonly lineIntervalMs?: number;
  /** Failures kept for the summary; the rest are only counted. @default 1000 */
  readonly maxFailuresListed?: number;
}

export interface JobProgress {
  /** More units are known to come (the total may grow while a job walks its input). */
  addTotal(units: number): void;
  done(outcome: JobOutcome, units?: number): void;
  failed(failure: JobFailure): void;
  /** A job-specific count for the summary. */
  count(name: string, by?: number): void;
  /** Stops the bar (or prints the last line) and returns the summary. Idempotent. */
  finish(): JobSummary;
}

/** Exit code of a job that ran to its end with some items failed. */
export const EXIT_ITEMS_FAILED = 2;

export function exitCodeFor(summary: JobSummary): number {
  return summary.failed > 0 ? EXIT_ITEMS_FAILED : 0;
}

export function createJobProgress(options: JobProgressOptions): JobProgress {
  const unit = options.unit ?? 'items';
  const stream = options.stream ?? process.stderr;
  const clock = options.clock ?? Date.now;
  const mode = options.mode ?? (stream.isTTY ? 'bar' : 'lines');
  const lineIntervalMs = options.lineIntervalMs ?? 10_000;
  const cap = options.maxFailuresListed ?? 1000;
  const started = clock();
  const tally = { stored: 0, already_present: 0, merged: 0, failed: 0 };
  const failedByCode: Record<string, number> = {};
  const failures: JobFailure[] = [];
  const counts: Record<string, number> = {};
  let total = 0;
  let lastLineAt = started;
  let summary: JobSummary | undefined;

  const seen = () => tally.stored + tally.already_present + tally.merged + tally.failed;
  const rate = () => {
    const seconds = (clock() - started) / 1000;
    return seconds > 0 ? seen() / seconds : 0;
  };

  const bar =
    mode === 'bar'
      ? new SingleBar({
          stream,
          format: `${options.job} [{bar}] {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted} | {failed} failed`,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
        })
      : undefined;
  bar?.start(0, 0, { rate: '0.0', failed: 0 });

  const line = () => {
    const r = rate();
    const left = total - seen();
    const eta = r > 0 && left > 0 ? ` ETA ${formatSeconds(left / r)},` : '';
    stream.write(`${options.job}: ${seen()}/${total} ${unit}, ${r.toFixed(1)}/s,${eta} ${tally.failed} failed\n`);
  };

  const moved = () => {
    if (summary) return;
    if (bar) {
      bar.setTotal(Math.max(total, seen()));
      bar.update(seen(), { rate: rate().toFixed(1), failed: tally.failed });
    } else if (mode === 'lines' && clock() - lastLineAt >= lineIntervalMs) {
      lastLineAt = clock();
      line();
    }
  };

  return {
    addTotal(units) {
      total += units;
      moved();
    },
    done(outcome, units = 1) {
      tally[outcome] += units;
      moved();
    },
    failed(failure) {
      tally.failed++;
      failedByCode[failure.code] = (failedByCode[failure.code] ?? 0) + 1;
      if (failures.length < cap) failures.push(failure);
      moved();
    },
    count(name, by = 1) {
      counts[name] = (counts[name] ?? 0) + by;
    },
    finish() {
      if (summary) return summary;
      if (bar) {
        bar.setTotal(Math.max(total, seen()));
        bar.update(seen(), { rate: rate().toFixed(1), failed: tally.failed });
        bar.stop();
      } else if (mode === 'lines') {
        line();
      }
      summary = {
        job: options.job,
        unit,
        seen: seen(),
        ...tally,
        failed_by_code: { ...failedByCode },
        failures: [...failures],
        failures_not_listed: tally.failed - failures.length,
        counts: { ...counts },
        elapsed_s: Math.round(clock() - started) / 1000,
      };
      return summary;
    },
  };
}

/** The summary as text for people, or (`json`) as one JSON document for scripts. */
export function formatJobSummary(summary: JobSummary, options: { json?: boolean } = {}): string {
  if (options.json) return JSON.stringify(summary, null, 2) + '\n';
  const lines = [
    `${summary.job}: ${summary.seen} ${summary.unit} seen in ${formatSeconds(summary.elapsed_s)}`,
    `  stored            ${summary.stored}`,
    `  already present   ${summary.already_present}`,
    `  merged (dupes)    ${summary.merged}`,
    `  failed            ${summary.failed}`,
  ];
  for (const [name, value] of Object.entries(summary.counts)) lines.push(`  ${name.padEnd(18)}${value}`);
  for (const failure of summary.failures) lines.push(`  ✗ ${failure.path}: ${failure.code}: ${failure.reason}`);
  if (summary.failures_not_listed > 0) lines.push(`  … and ${summary.failures_not_listed} more failures (see failed_by_code in --json)`);
  return lines.join('\n') + '\n';
}

/** Prints the summary on stdout (the progress went to stderr). */
export function printJobSummary(summary: JobSummary, options: { json?: boolean; stream?: NodeJS.WritableStream } = {}): void {
  (options.stream ?? process.stdout).write(formatJobSummary(summary, options));
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
