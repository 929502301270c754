/**
 * The legacy transactional walk, one walker for the three channels (exercises, daily
 * activity, physical information): create a transaction, list its items, store every
 * payload of every item, and commit only when all of them are stored and published, because
 * committing deletes the data at Polar for good. Any failure leaves the transaction open;
 * Polar offers the items again later, and the ledger keeps what was already stored from being
 * downloaded or published twice. Loops until the create call answers 204 (nothing new), at
 * most `maxRounds` transactions per user and type (each holds at most 50 items).
 *
 * What differs per channel is only how one item is fetched (`TransactionChannel.fetchItem`):
 * ./fetch-exercise.ts for exercises, ./fetch-activity.ts for activity days and physical
 * information snapshots.
 */
import type { AccessLinkClient, TransactionType } from '../accesslink/client.ts';
import { AccessLinkConsentRequiredError, AccessLinkNotFoundError, AccessLinkUnauthorizedError } from '../accesslink/errors.ts';
import { crashPoint } from '../crash-points.ts';
import type { TransactionBudget } from './fetch-budget.ts';
import { PolarLakeError } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';

/** The pull-notification `data-type` that announces each channel. */
export const NOTIFICATION_TYPES: Readonly<Record<TransactionType, string>> = {
  exercise: 'EXERCISE',
  activity: 'ACTIVITY_SUMMARY',
  physical: 'PHYSICAL_INFORMATION',
};

export interface TransactionCounts {
  transactionsCommitted: number;
  transactionsLeftOpen: number;
  /** Transactions found expired mid-walk (an item answered 404 and so did the transaction): the walk ended there. */
  transactionsExpired: number;
  /** Transactions not opened because the rate-limit budget could not walk them (see fetch-budget.ts). */
  transactionsDeferred: number;
}

/**
 * Wraps an item request of one transaction: an item's 404 becomes FetchTransactionExpiredError
 * when the transaction itself is gone (one GET of the transaction tells), so the walk stops at
 * the first such 404 instead of asking for every remaining item.
 */
export type TransactionGuard = <T>(operation: () => Promise<T>) => Promise<T>;

export interface TransactionChannel<C extends TransactionCounts = TransactionCounts> {
  readonly type: TransactionType;
  /** Stores every payload of one item (as the transaction lists it) and publishes its events; throws when anything failed. Item requests go through `guard`. */
  fetchItem(userId: string, token: string, itemUrl: string, counts: C, guard: TransactionGuard): Promise<void>;
}

export class FetchTransactionExpiredError extends PolarLakeError {
  readonly code = 'PL_FETCH_TRANSACTION_EXPIRED';
  readonly kind = 'transient';
  constructor(readonly userId: string, readonly transactionId: string, options?: { cause?: unknown }) {
    super(`transaction ${transactionId} of user ${userId} expired at Polar before its walk ended; left for the next sweep`, options);
  }
}

export class FetchTransactionIncompleteError extends PolarLakeError {
  readonly code = 'PL_FETCH_TRANSACTION_INCOMPLETE';
  readonly kind = 'transient';
  constructor(readonly userId: string, readonly transactionId: string, readonly failedItems: number) {
    super(`transaction ${transactionId} of user ${userId}: ${failedItems} item(s) not stored, left uncommitted`);
  }
}

/** 401/403 end the user's run: nothing else will work until an operator acts. */
export function isUserBlocking(error: unknown): boolean {
  return error instanceof AccessLinkUnauthorizedError || error instanceof AccessLinkConsentRequiredError;
}

export interface TransactionWalkerOptions {
  readonly client: AccessLinkClient;
  readonly logger: Logger;
  /** Transactions opened per user, type and run. */
  readonly maxRounds: number;
  /** A transaction is opened only when the rate-limit budget can walk it before it expires. */
  readonly budget?: TransactionBudget;
  readonly now?: () => Date;
}

export interface TransactionWalker {
  /**
   * Walks one user's transactions of one channel. Item failures are passed to `onItemError`
   * and leave the transaction open; request errors of the walk itself throw.
   */
  walkUser<C extends TransactionCounts>(channel: TransactionChannel<C>, userId: string, token: string, counts: C, onItemError: (error: unknown) => void): Promise<void>;
}

export function createTransactionWalker(options: TransactionWalkerOptions): TransactionWalker {
  const { client, logger, maxRounds } = options;
  const now = options.now ?? (() => new Date());

  const expiryProbe = (type: TransactionType, userId: string, token: string, transaction: { transactionId: string; resourceUri: string }): TransactionGuard => {
    let expired: FetchTransactionExpiredError | null = null;
    return async <T>(operation: () => Promise<T>): Promise<T> => {
      if (expired) throw expired;
      try {
        return await operation();
      } catch (error) {
        if (!(error instanceof AccessLinkNotFoundError)) throw error;
        try {
          await client.listTransactionItems(type, transaction.resourceUri, token);
        } catch (probeError) {
          if (!(probeError instanceof AccessLinkNotFoundError)) throw probeError;
          expired = new FetchTransactionExpiredError(userId, transaction.transactionId, { cause: error });
          throw expired;
        }
        throw error;
      }
    };
  };

  /** One transaction: create, list, store every item, commit. False when there is no (more) work this run. */
  const walkOne = async <C extends TransactionCounts>(channel: TransactionChannel<C>, userId: string, token: string, counts: C, onItemError: (error: unknown) => void): Promise<boolean> => {
    const type = channel.type;
    const transaction = await client.createTransaction(type, userId, token);
    if (!transaction) return false;
    const log = { user_id: userId, type, transaction_id: transaction.transactionId };
    const guard = expiryProbe(type, userId, token, transaction);
    let itemUrls: string[];
    let failed = 0;
    try {
      itemUrls = await client.listTransactionItems(type, transaction.resourceUri, token);
      for (const url of itemUrls) {
        try {
          await channel.fetchItem(userId, token, url, counts, guard);
        } catch (error) {
          if (isUserBlocking(error) || error instanceof FetchTransactionExpiredError) throw error;
          failed++;
          onItemError(error);
          logger.warn('fetch.item.failed', { ...log, error });
        }
      }
    } catch (error) {
      counts.transactionsLeftOpen++;
      if (error instanceof FetchTransactionExpiredError) {
        counts.transactionsExpired++;
        onItemError(error);
        logger.info('fetch.transaction.expired', { ...log, error });
        return false;
      }
      logger.warn('fetch.transaction.left_open', { ...log, error });
      throw error;
    }
    if (failed > 0) {
      // Committing now would delete what was not stored: leave it open, Polar offers it again.
      counts.transactionsLeftOpen++;
      logger.warn('fetch.transaction.left_open', { ...log, failed_items: failed, items: itemUrls.length });
      onItemError(new FetchTransactionIncompleteError(userId, transaction.transactionId, failed));
      return false;
    }
    try {
      crashPoint('fetch.commit');
      await client.commitTransaction(transaction.resourceUri, token);
    } catch (error) {
      // The commit may still have happened at Polar; the ledger makes a re-offer harmless.
      counts.transactionsLeftOpen++;
      logger.warn('fetch.transaction.commit_failed', { ...log, error });
      throw error;
    }
    counts.transactionsCommitted++;
    logger.debug('fetch.transaction.committed', { ...log, items: itemUrls.length });
    return true;
  };

  return {
    async walkUser(channel, userId, token, counts, onItemError) {
      for (let round = 0; round < maxRounds; round++) {
        const reservation = (await options.budget?.reserve()) ?? { release() {} };
        if (!('release' in reservation)) {
          counts.transactionsDeferred++;
          logger.info('fetch.transaction.deferred', {
            user_id: userId, type: channel.type, reason: 'rate_limit_budget', window: reservation.window, remaining: reservation.remaining,
            needed: reservation.needed, wait_ms: reservation.resetInMs, until_utc: new Date(now().getTime() + reservation.resetInMs).toISOString(),
          });
          return;
        }
        try {
          if (!(await walkOne(channel, userId, token, counts, onItemError))) return;
        } finally {
          reservation.release();
        }
      }
      logger.info('fetch.user.round_limit_reached', { user_id: userId, type: channel.type, max_rounds: maxRounds });
    },
  };
}
