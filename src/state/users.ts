/**
 * The user registry: who is enrolled, in what state, and their access token encrypted at
 * rest (AES-256-GCM, see secret-box.ts). One JSON file, `<stateDir>/users.json`, replaced
 * atomically on every change. Every change re-reads the file first, so a `users add` from
 * the CLI and a running fetch stage do not undo each other's edits.
 *
 * Tokens never leave this module except through `accessToken(id)`: `RegisteredUser` has no
 * token field, so logging or serialising a user cannot leak one.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PolarLakeError } from '../errors.ts';
import { AccessLinkConsentRequiredError, AccessLinkUnauthorizedError } from '../accesslink/errors.ts';
import type { Logger } from '../telemetry/log.ts';
import { silentLogger } from '../telemetry/log.ts';
import { writeFileDurable } from '../fs/durable.ts';
import { createSecretBox, loadSecretKey, SecretKeyWrongError, type SealedSecret, type SecretBox } from './secret-box.ts';

export type UserStatus = 'active' | 'needs_consent' | 'needs_reauth' | 'deregistered';

export interface RegisteredUser {
  readonly polarUserId: string;
  readonly memberId: string;
  readonly status: UserStatus;
  readonly registeredAtUtc: string;
  readonly statusChangedAtUtc: string;
  /** Why the status last changed (an error code), when it was not an enrolment. */
  readonly statusReason: string | null;
  readonly tokenExpiresAtUtc: string | null;
}

export class UnknownUserError extends PolarLakeError {
  readonly code = 'PL_STATE_UNKNOWN_USER';
  readonly kind = 'config';
  constructor(readonly userId: string) {
    super(`user ${userId} is not in the registry`);
  }
}

export class UserTokenUnavailableError extends PolarLakeError {
  readonly code = 'PL_STATE_NO_TOKEN';
  readonly kind = 'config';
  constructor(readonly userId: string, readonly status: UserStatus) {
    super(`user ${userId} has no usable access token (status ${status})`);
  }
}

export class UserRegistryCorruptError extends PolarLakeError {
  readonly code = 'PL_STATE_USERS_CORRUPT';
  readonly kind = 'config';
  constructor(readonly file: string, options?: { cause?: unknown }) {
    super(`${file}: not a valid user registry`, options);
  }
}

export interface UserRegistry {
  readonly file: string;
  /** Re-reads the file (another process may have enrolled someone). */
  reload(): Promise<void>;
  list(): RegisteredUser[];
  get(polarUserId: string): RegisteredUser | undefined;
  /** Enrols or re-enrols a user: stores the token and sets the status to active. */
  upsert(input: { polarUserId: string; memberId: string; accessToken: string; expiresInS: number | null }): Promise<RegisteredUser>;
  /** The decrypted token; throws when the user is unknown or has none (deregistered). */
  accessToken(polarUserId: string): string;
  setStatus(polarUserId: string, status: UserStatus, reason?: string): Promise<RegisteredUser>;
  /**
   * Applies what an AccessLink error says about the user: 401 → needs_reauth, 403 →
   * needs_consent. Returns the new status, or undefined when the error says nothing.
   */
  markFromError(polarUserId: string, error: unknown): Promise<UserStatus | undefined>;
  /** Active users are polled; the others wait for an operator. */
  isPollable(polarUserId: string): boolean;
}

export interface UserRegistryOptions {
  readonly stateDir: string;
  /** 32-byte key. @default from POLAR_LAKE_SECRET_KEY, else `<stateDir>/secret.key` */
  readonly secretKey?: Buffer;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

interface StoredUser {
  polar_user_id: string;
  member_id: string;
  status: UserStatus;
  registered_at_utc: string;
  status_changed_at_utc: string;
  status_reason: string | null;
  token_expires_at_utc: string | null;
  token: SealedSecret | null;
}

interface StoredFile {
  version: 1;
  users: StoredUser[];
}

const STATUSES: readonly UserStatus[] = ['active', 'needs_consent', 'needs_reauth', 'deregistered'];

/**
 * A wrong key must stop everything at once, before any user is polled or marked: when no stored
 * token decrypts, the key is wrong (one that fails among others that open is a damaged record,
 * reported for that user when it is used).
 */
function assertKeyOpensSomeToken(box: SecretBox, users: ReadonlyMap<string, StoredUser>, file: string): void {
  let firstFailure: unknown = null;
  for (const u of users.values()) {
    if (!u.token) continue;
    try {
      box.open(u.token, u.polar_user_id);
      return;
    } catch (error) {
      firstFailure ??= error;
    }
  }
  if (firstFailure !== null) throw new SecretKeyWrongError(file, { cause: firstFailure });
}

export async function openUserRegistry(options: UserRegistryOptions): Promise<UserRegistry> {
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const file = join(options.stateDir, 'users.json');
  const box = createSecretBox(options.secretKey ?? (await loadSecretKey(options.stateDir)));
  const logger = (options.logger ?? silentLogger).child({ component: 'users' });
  const now = options.now ?? (() => new Date());
  let users = new Map<string, StoredUser>();
  // Serialises read-modify-write cycles inside this process. Changes queued while a write is
  // under way are applied together in the next one (group commit): enrolling thousands of users
  // concurrently writes the file a few times, not once per user.
  let chain: Promise<unknown> = Promise.resolve();
  let queued: { change: (map: Map<string, StoredUser>) => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];

  const readDisk = async (): Promise<Map<string, StoredUser>> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as StoredFile;
      if (parsed.version !== 1 || !Array.isArray(parsed.users)) throw new Error('unknown version or shape');
      const map = new Map<string, StoredUser>();
      for (const u of parsed.users) {
        if (typeof u.polar_user_id !== 'string' || !STATUSES.includes(u.status)) throw new Error('bad user entry');
        map.set(u.polar_user_id, u);
      }
      return map;
    } catch (cause) {
      throw new UserRegistryCorruptError(file, { cause });
    }
  };

  const writeQueued = async (): Promise<void> => {
    const batch = queued;
    queued = [];
    if (batch.length === 0) return;
    try {
      const map = await readDisk();
      // A change that throws has not touched the map (each checks before it writes).
      const outcomes = batch.map(({ change }) => {
        try {
          return { ok: true as const, value: change(map) };
        } catch (error) {
          return { ok: false as const, error };
        }
      });
      if (outcomes.some((o) => o.ok)) {
        const body: StoredFile = { version: 1, users: [...map.values()].sort((a, b) => a.polar_user_id.localeCompare(b.polar_user_id)) };
        await writeFileDurable(file, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
        users = map;
      }
      outcomes.forEach((o, i) => (o.ok ? batch[i]!.resolve(o.value) : batch[i]!.reject(o.error)));
    } catch (error) {
      for (const b of batch) b.reject(error);
    }
  };

  const mutate = <T>(fn: (map: Map<string, StoredUser>) => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queued.push({ change: fn, resolve: resolve as (v: unknown) => void, reject });
      chain = chain.then(writeQueued);
    });

  const view = (u: StoredUser): RegisteredUser => ({
    polarUserId: u.polar_user_id,
    memberId: u.member_id,
    status: u.status,
    registeredAtUtc: u.registered_at_utc,
    statusChangedAtUtc: u.status_changed_at_utc,
    statusReason: u.status_reason,
    tokenExpiresAtUtc: u.token_expires_at_utc,
  });

  const setStatus = (polarUserId: string, status: UserStatus, reason?: string): Promise<RegisteredUser> =>
    mutate((map) => {
      const u = map.get(polarUserId);
      if (!u) throw new UnknownUserError(polarUserId);
      const changed = u.status !== status;
      u.status = status;
      u.status_reason = reason ?? null;
      if (changed) u.status_changed_at_utc = now().toISOString();
      // A deregistered user's token is revoked at Polar; keeping it would only be a liability.
      if (status === 'deregistered') u.token = null;
      if (changed) logger.info('users.status.changed', { user_id: polarUserId, status, reason: reason ?? null });
      return view(u);
    });

  users = await readDisk();
  assertKeyOpensSomeToken(box, users, file);

  return {
    file,
    async reload() {
      await chain;
      users = await readDisk();
    },
    list: () => [...users.values()].map(view),
    get: (id) => {
      const u = users.get(id);
      return u ? view(u) : undefined;
    },
    upsert: ({ polarUserId, memberId, accessToken, expiresInS }) =>
      mutate((map) => {
        const at = now();
        const previous = map.get(polarUserId);
        const stored: StoredUser = {
          polar_user_id: polarUserId,
          member_id: memberId,
          status: 'active',
          registered_at_utc: previous && previous.status !== 'deregistered' ? previous.registered_at_utc : at.toISOString(),
          status_changed_at_utc: at.toISOString(),
          status_reason: null,
          token_expires_at_utc: expiresInS === null ? null : new Date(at.getTime() + expiresInS * 1000).toISOString(),
          token: box.seal(accessToken, polarUserId),
        };
        map.set(polarUserId, stored);
        return view(stored);
      }),
    accessToken(polarUserId) {
      const u = users.get(polarUserId);
      if (!u) throw new UnknownUserError(polarUserId);
      if (!u.token) throw new UserTokenUnavailableError(polarUserId, u.status);
      return box.open(u.token, polarUserId);
    },
    setStatus,
    async markFromError(polarUserId, error) {
      const status: UserStatus | undefined =
        error instanceof AccessLinkUnauthorizedError ? 'needs_reauth' : error instanceof AccessLinkConsentRequiredError ? 'needs_consent' : undefined;
      if (!status) return undefined;
      await setStatus(polarUserId, status, (error as PolarLakeError).code);
      return status;
    },
    isPollable: (id) => users.get(id)?.status === 'active',
  };
}
