/**
 * Bounded redelivery, written once over any Bus: a message whose handling throws is tried
 * again with back-off up to `max_attempts` deliveries in all, then put on the dead-letter topic
 * with its error's code, and the partition moves on. Without it a message that always throws
 * (a parser bug: a TypeError is not a PolarLakeError) would be redelivered forever and block
 * every later message of that user's partition.
 *
 * A failed batch of several messages is retried one message at a time, so only the message
 * that keeps failing is dead-lettered. Handlers are idempotent (the bus is at-least-once), so
 * handing the others over again is safe.
 *
 * What the message cannot cause is not counted: an unavailable broker, a full, read-only or
 * forbidden disk (`isEnvironmental`). Dead-lettering every message during such an outage
 * would drop them all from the lake; instead the bus redelivers them with its own back-off
 * until the outage ends, and says so in its `bus.batch.failed` warning.
 *
 * Attempts are counted in memory: a process restart starts the count again.
 */
import { PolarLakeError, errorMessage } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Batch, Bus, BusMessage } from './bus.ts';

export interface RedeliveryOptions {
  /** Deliveries of a failing message (the first included) before it is dead-lettered. @default 5 */
  readonly max_attempts: number;
  /** Wait before the second delivery; doubled for each further one. @default 200 */
  readonly backoff_ms: number;
  /** Longest wait between two deliveries. @default 10000 */
  readonly max_backoff_ms: number;
}

export const DEFAULT_REDELIVERY: RedeliveryOptions = { max_attempts: 5, backoff_ms: 200, max_backoff_ms: 10_000 };

export interface BoundedRedeliveryDeps {
  readonly options?: Partial<RedeliveryOptions>;
  /** Topic that receives exhausted messages (through the wrapped bus). */
  readonly deadLetterTopic: string;
  readonly logger: Logger;
  /** Waits between deliveries; tests inject one that returns at once and records the waits. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Dead letters carry this time. @default () => new Date() */
  readonly now?: () => Date;
}

/** A message failed on every delivery; its dead letter carries this error (with the last cause's code). */
export class RedeliveryExhaustedError extends PolarLakeError {
  readonly code = 'PL_BUS_REDELIVERY_EXHAUSTED';
  readonly kind = 'terminal';
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: string,
    readonly group: string,
    readonly attempts: number,
    /** Code of the last error (`PL_UNEXPECTED` when it was not a PolarLakeError). */
    readonly cause_code: string,
    options: { cause: unknown },
  ) {
    super(`${topic}/${partition}@${offset}: failed ${attempts} deliveries in group ${group}: ${errorMessage(options.cause)}`, options);
  }
}

const ENVIRONMENT_ERRNO = new Set(['ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EDQUOT', 'EMFILE', 'ENFILE', 'ENOMEM']);
const ENVIRONMENT_TEXT = /No space left on device|Read-only file system|Permission denied|Disk quota exceeded|Too many open files/i;
const ENVIRONMENT_CODES = new Set(['PL_BUS_UNAVAILABLE', 'PL_BUS_CLOSED', 'PL_LAKE_LOCK_TIMEOUT', 'PL_LAKE_LOCK_LOST']);

/** True when the error (or one of its causes) comes from the broker or the disk, not from the message. */
export function isEnvironmental(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof PolarLakeError && ENVIRONMENT_CODES.has(e.code)) return true;
    const errno = (e as NodeJS.ErrnoException).code;
    if (typeof errno === 'string' && ENVIRONMENT_ERRNO.has(errno)) return true;
    if (e instanceof Error && ENVIRONMENT_TEXT.test(e.message)) return true;
  }
  return false;
}

export function codeOf(error: unknown): string {
  return error instanceof PolarLakeError ? error.code : 'PL_UNEXPECTED';
}

/** Wait before delivery `attempt + 1` (attempt counts from 1). */
export function backoffMs(options: RedeliveryOptions, attempt: number): number {
  return Math.min(options.backoff_ms * 2 ** (attempt - 1), options.max_backoff_ms);
}

export function withBoundedRedelivery(bus: Bus, deps: BoundedRedeliveryDeps): Bus {
  const options: RedeliveryOptions = { ...DEFAULT_REDELIVERY, ...deps.options };
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? (() => new Date());
  const log = deps.logger;

  async function deadLetter(group: string, message: BusMessage, attempts: number, error: unknown): Promise<void> {
    const exhausted = new RedeliveryExhaustedError(message.topic, message.partition, message.offset, group, attempts, codeOf(error), { cause: error });
    const letter = {
      type: 'deadletter',
      user_id: message.key,
      raw_key: `${message.topic}/${message.partition}/${message.offset}`,
      stage: group,
      error: { ...exhausted.toJSON(), ...(error instanceof PolarLakeError ? { cause_error: error.toJSON() } : { cause_name: (error as Error)?.name ?? typeof error }) },
      at_utc: now().toISOString(),
    };
    await bus.publish(deps.deadLetterTopic, [{ key: message.key || 'unknown', value: Buffer.from(JSON.stringify(letter)) }]);
    log.warn('bus.message.deadlettered', { topic: message.topic, partition: message.partition, offset: message.offset, group, attempts, code: exhausted.cause_code, error: errorMessage(error) });
  }

  function guard(group: string, onBatch: (batch: Batch) => Promise<void>): (batch: Batch) => Promise<void> {
    return async (batch) => {
      let first: unknown;
      try {
        return await onBatch(batch);
      } catch (error) {
        if (isEnvironmental(error)) throw error; // the bus redelivers, without limit
        first = error;
      }
      for (const message of batch.messages) {
        let attempt = 1; // the batch delivery was this message's first
        let last = first;
        // A batch of several: each message alone at once (most of them succeed), back-off after that.
        let isolate = batch.messages.length > 1;
        for (;;) {
          if (attempt >= options.max_attempts) {
            await deadLetter(group, message, attempt, last);
            break;
          }
          if (!isolate) {
            const wait = backoffMs(options, attempt);
            log.warn('bus.message.retrying', { topic: message.topic, partition: message.partition, offset: message.offset, group, attempt, retry_in_ms: wait, code: codeOf(last), error: errorMessage(last) });
            await sleep(wait);
          }
          isolate = false;
          attempt++;
          try {
            await onBatch({ ...batch, messages: [message] });
            break;
          } catch (error) {
            if (isEnvironmental(error)) throw error;
            last = error;
          }
        }
      }
    };
  }

  return {
    kind: bus.kind,
    publish: (topic, messages) => bus.publish(topic, messages),
    consume: (consumeOptions, onBatch) => bus.consume(consumeOptions, guard(consumeOptions.group, onBatch)),
    close: () => bus.close(),
  };
}
