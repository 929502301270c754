/**
 * One owner per state folder. The users registry, the ledger and the embedded bus log are
 * written by one `polar-lake run` at a time; a second process pointed at the same folder gets
 * PL_STATE_LOCKED naming the holder, or, with `standby`, waits and takes over when the holder
 * dies. That is also how only one fetch scheduler runs per AccessLink client: fetch processes
 * share the state folder, and only the lease holder schedules (docs/operating.md).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PolarLakeError } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';
import { tryLease, type Lease, type LeaseOwner } from './lease.ts';

export class StateLockedError extends PolarLakeError {
  readonly code = 'PL_STATE_LOCKED';
  readonly kind = 'config';
  constructor(readonly stateDir: string, readonly heldBy: LeaseOwner | null) {
    super(
      `${stateDir} is in use by another polar-lake process` +
        (heldBy ? ` (${heldBy.purpose}, pid ${heldBy.pid} on ${heldBy.host} since ${heldBy.since_utc})` : '') +
        ': stop it first, or give this process its own POLAR_LAKE_STATE_DIR',
    );
  }
}

export class StateLeaseLostError extends PolarLakeError {
  readonly code = 'PL_STATE_LEASE_LOST';
  readonly kind = 'transient';
}

export interface StateLockOptions {
  readonly purpose: string;
  readonly logger: Logger;
  /** Wait for the lease instead of failing (a standby fetch process). @default false */
  readonly standby?: boolean;
  /** @default POLAR_LAKE_LEASE_STALE_MS or 30000 */
  readonly staleMs?: number;
  /** Standby: how often to try again. @default staleMs / 3 */
  readonly retryMs?: number;
  /** Called when a held lease is lost: the caller must stop writing at once. */
  readonly onLost: (error: StateLeaseLostError) => void;
  /** Standby: stop waiting when this aborts. */
  readonly signal?: AbortSignal;
}

export async function lockStateFolder(stateDir: string, options: StateLockOptions): Promise<Lease> {
  const staleMs = options.staleMs ?? (Number(process.env['POLAR_LAKE_LEASE_STALE_MS']) || 30_000);
  const lockPath = join(stateDir, 'owner.lock');
  let announced = false;
  for (;;) {
    const got = await tryLease(stateDir, {
      lockPath,
      purpose: options.purpose,
      staleMs,
      onLost: (cause) => {
        options.logger.error('state.lease.lost', { state_dir: stateDir, error: cause });
        options.onLost(new StateLeaseLostError(`lost the lease on ${stateDir}: another process took it over`, { cause }));
      },
    });
    if ('lease' in got) {
      if (announced) options.logger.info('state.lease.acquired', { state_dir: stateDir, purpose: options.purpose });
      return got.lease;
    }
    if (!options.standby) throw new StateLockedError(stateDir, got.heldBy);
    if (!announced) {
      options.logger.info('state.lease.standby', { state_dir: stateDir, held_by: got.heldBy, purpose: options.purpose });
      announced = true;
    }
    await sleep(options.retryMs ?? Math.floor(staleMs / 3), undefined, options.signal ? { signal: options.signal } : {});
  }
}
