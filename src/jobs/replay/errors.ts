/** What can go wrong in `polar-lake replay` beyond what the parse stage dead-letters. */
import { PolarLakeError } from '../../errors.ts';

/**
 * A raw object could not be replayed for a reason that may pass (disk, a worker that died):
 * it is not journaled, so the next run tries it again.
 */
export class ReplayItemFailedError extends PolarLakeError {
  readonly code = 'PL_REPLAY_ITEM_FAILED';
  readonly kind = 'transient';
  constructor(readonly rawKey: string, reason: string, options?: { cause?: unknown }) {
    super(`${rawKey}: ${reason}`, options);
  }
}

/** The replay journal in the state folder cannot be read or written. */
export class ReplayJournalError extends PolarLakeError {
  readonly code = 'PL_REPLAY_JOURNAL';
  readonly kind = 'transient';
  constructor(readonly path: string, options?: { cause?: unknown }) {
    super(`replay journal ${path} cannot be read or written`, options);
  }
}
