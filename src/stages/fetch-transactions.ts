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
import { AccessLinkConsentRequiredError, AccessLinkUnauthorizedError } from '../accesslink/errors.ts';
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
}

export interface TransactionChannel<C extends TransactionCounts = TransactionCounts> {
  readonly type: TransactionType;
  /** Stores every payload of one item (as the transaction lists it) and publishes its events; throws when anything failed. */
  fetchItem(userId: string, token: string, itemUrl: string, counts: C): Promise<void>;
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
  return {
    async walkUser(channel, userId, token, counts, onItemError) {
      const type = channel.type;
      for (let round = 0; round < maxRounds; round++) {
        const transaction = await client.createTransaction(type, userId, token);
        if (!transaction) return;
        const log = { user_id: userId, type, transaction_id: transaction.transactionId };
        let itemUrls: string[];
        let failed = 0;
        try {
          itemUrls = await client.listTransactionItems(type, transaction.resourceUri, token);
          for (const url of itemUrls) {
            try {
              await channel.fetchItem(userId, token, url, counts);
            } catch (error) {
              if (isUserBlocking(error)) throw error;
              failed++;
              onItemError(error);
              logger.warn('fetch.item.failed', { ...log, error });
            }
          }
        } catch (error) {
          counts.transactionsLeftOpen++;
          logger.warn('fetch.transaction.left_open', { ...log, error });
          throw error;
        }
        if (failed > 0) {
          // Committing now would delete what was not stored: leave it open, Polar offers it again.
          counts.transactionsLeftOpen++;
          logger.warn('fetch.transaction.left_open', { ...log, failed_items: failed, items: itemUrls.length });
          onItemError(new FetchTransactionIncompleteError(userId, transaction.transactionId, failed));
          return;
        }
        try {
          await client.commitTransaction(transaction.resourceUri, token);
        } catch (error) {
          // The commit may still have happened at Polar; the ledger makes a re-offer harmless.
          counts.transactionsLeftOpen++;
          logger.warn('fetch.transaction.commit_failed', { ...log, error });
          throw error;
        }
        counts.transactionsCommitted++;
        logger.debug('fetch.transaction.committed', { ...log, items: itemUrls.length });
      }
      logger.info('fetch.user.round_limit_reached', { user_id: userId, type, max_rounds: maxRounds });
    },
  };
}
