/**
 * What the simulated Polar side knows: Flow accounts, authorization codes, tokens, partner
 * registrations, uploaded exercises and exercise transactions. Pure bookkeeping, no HTTP.
 */
import { randomBytes } from 'node:crypto';
import { makeExercise, polarUserIdFor, type ExerciseModel, type SimulatedExercise } from './exercises.ts';
import { DailyData } from './daily.ts';
import { LegacyDailyChannels } from './activity.ts';
import { DateBasedData } from './date-based.ts';

export interface Account {
  readonly index: number;
  readonly polarUserId: string;
  readonly login: string;
  readonly firstName: string;
  readonly lastName: string;
  memberId: string | null;
  registeredAtMs: number | null;
  /** Next exercise number k for this user (exercises are numbered per user). */
  nextK: number;
}

type ExerciseStatus = 'invisible' | 'pending' | 'committed';

interface ExerciseEntry {
  readonly model: ExerciseModel;
  status: ExerciseStatus;
}

export interface Transaction {
  readonly transactionId: string;
  readonly userId: string;
  readonly exerciseIds: readonly string[];
  readonly createdMs: number;
  status: 'open' | 'committed';
}

interface CodeEntry {
  readonly userId: string;
  readonly redirectUri: string | null;
  readonly createdMs: number;
  used: boolean;
}

interface TokenEntry {
  readonly userId: string;
  revoked: boolean;
}

/** Codes are single-use and live 10 minutes, as Polar documents. */
const CODE_TTL_MS = 600_000;
/** Polar caps a transaction at 50 items. */
export const MAX_ITEMS_PER_TRANSACTION = 50;
/** `/v3/exercises` shows uploads of the last 30 days. */
const RECENT_WINDOW_MS = 30 * 86_400_000;
/** Polar's example `expires_in` (about one year). */
export const TOKEN_EXPIRES_IN_SECS = 31_535_999;

const FIRST_NAMES = ['Aino', 'Ben', 'Chiyo', 'Dara', 'Eero', 'Fatima', 'Gus', 'Hana'] as const;
const LAST_NAMES = ['Virtanen', 'Walker', 'Sato', 'Okafor', 'Lindqvist', 'Haddad', 'Moreau', 'Novak'] as const;

export interface StateOptions {
  seed: number;
  users: number;
  exercisesPerUser: number;
  transactionTtlMs: number;
  durationRangeS: readonly [number, number];
  fitFiles: boolean;
  /** Days of daily activity and sleep the device uploads when the user registers (see daily.ts). @default 7 */
  dailyDaysAtRegistration?: number;
  /** The legacy activity and physical-information transactions hold data (see SimulatorOptions.legacyDaily). @default false */
  legacyDaily?: boolean;
  now: () => number;
  /** Called for each upload the partner can see (the webhook's EXERCISE event). */
  onVisibleUpload?: (model: ExerciseModel) => void;
}

export type RegisterResult = { ok: true; account: Account } | { ok: false; reason: 'already-registered' | 'duplicate-member-id' };

export class SimulatorState {
  readonly accounts: Account[] = [];
  private readonly exercises = new Map<string, ExerciseEntry[]>();
  private readonly transactions = new Map<string, Transaction>();
  private readonly openTransaction = new Map<string, string>();
  private readonly codes = new Map<string, CodeEntry>();
  private readonly tokens = new Map<string, TokenEntry>();
  private nextTransactionId: number;
  /** Daily activity and sleep per user and local date. */
  readonly daily: DailyData;
  /** Physical information and the legacy activity / physical-information transactions. */
  readonly legacy: LegacyDailyChannels;
  /** Night, heart and biosensing data per user and local date (date-based.ts). */
  readonly dateBased: DateBasedData;

  constructor(private readonly options: StateOptions) {
    for (let i = 0; i < options.users; i++) {
      const firstName = FIRST_NAMES[i % FIRST_NAMES.length]!;
      this.accounts.push({
        index: i,
        polarUserId: polarUserIdFor(options.seed, i),
        login: `${firstName.toLowerCase()}${i + 1}`,
        firstName,
        lastName: LAST_NAMES[(i * 3) % LAST_NAMES.length]!,
        memberId: null,
        registeredAtMs: null,
        nextK: 0,
      });
      this.exercises.set(this.accounts[i]!.polarUserId, []);
    }
    this.nextTransactionId = 9_000 + ((options.seed >>> 0) % 1000) * 100;
    this.daily = new DailyData(options.seed, options.dailyDaysAtRegistration ?? 7, options.now);
    this.legacy = new LegacyDailyChannels(options.seed, this.daily, options.now, options.transactionTtlMs, options.legacyDaily ?? false);
    this.dateBased = new DateBasedData(options.seed, this.daily);
  }

  accountByLogin(login: string): Account | undefined {
    return this.accounts.find((a) => a.login === login);
  }

  accountById(polarUserId: string): Account | undefined {
    return this.accounts.find((a) => a.polarUserId === polarUserId);
  }

  registeredCount(): number {
    return this.accounts.filter((a) => a.registeredAtMs !== null).length;
  }

  // ---- OAuth ----

  issueCode(userId: string, redirectUri: string | null): string {
    const code = randomBytes(12).toString('hex');
    this.codes.set(code, { userId, redirectUri, createdMs: this.options.now(), used: false });
    return code;
  }

  /**
   * Exchanges a code. A second use is denied and revokes every token of that user, as Polar
   * does, so a client that blindly retries the exchange loses access.
   */
  exchangeCode(code: string, redirectUri: string | null): { ok: true; token: string; userId: string } | { ok: false; error: string } {
    const entry = this.codes.get(code);
    if (!entry) return { ok: false, error: 'invalid_grant' };
    if (entry.used) {
      for (const token of this.tokens.values()) if (token.userId === entry.userId) token.revoked = true;
      return { ok: false, error: 'invalid_grant' };
    }
    if (this.options.now() - entry.createdMs > CODE_TTL_MS) return { ok: false, error: 'invalid_grant' };
    if (entry.redirectUri !== null && entry.redirectUri !== redirectUri) return { ok: false, error: 'invalid_grant' };
    entry.used = true;
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, { userId: entry.userId, revoked: false });
    return { ok: true, token, userId: entry.userId };
  }

  userForToken(token: string): string | null {
    const entry = this.tokens.get(token);
    return entry && !entry.revoked ? entry.userId : null;
  }

  revokeTokensOf(userId: string): void {
    for (const token of this.tokens.values()) if (token.userId === userId) token.revoked = true;
  }

  // ---- Registration ----

  register(userId: string, memberId: string): RegisterResult {
    const account = this.accountById(userId)!;
    if (account.registeredAtMs !== null) return { ok: false, reason: 'already-registered' };
    if (this.accounts.some((a) => a.registeredAtMs !== null && a.memberId === memberId)) return { ok: false, reason: 'duplicate-member-id' };
    account.memberId = memberId;
    account.registeredAtMs = this.options.now();
    this.upload(userId, this.options.exercisesPerUser);
    return { ok: true, account };
  }

  /** De-registration: tokens revoked, open transaction dropped, undelivered data no longer visible. */
  deregister(userId: string): void {
    const account = this.accountById(userId)!;
    account.registeredAtMs = null;
    account.memberId = null;
    this.revokeTokensOf(userId);
    const tid = this.openTransaction.get(userId);
    if (tid) {
      this.transactions.delete(tid);
      this.openTransaction.delete(userId);
    }
    for (const entry of this.exercises.get(userId) ?? []) if (entry.status === 'pending') entry.status = 'invisible';
  }

  // ---- Exercises ----

  upload(userId: string, n: number): ExerciseModel[] {
    const account = this.accountById(userId)!;
    const list = this.exercises.get(userId)!;
    const out: ExerciseModel[] = [];
    for (let i = 0; i < n; i++) {
      const generated = makeExercise({
        seed: this.options.seed,
        userIndex: account.index,
        polarUserId: userId,
        k: account.nextK++,
        durationRangeS: this.options.durationRangeS,
        fitFiles: this.options.fitFiles,
      });
      // `upload-time` is the real moment of upload, so it is after registration as Polar's
      // rule implies; the workout itself keeps its seeded (fixed) dates and bytes.
      const model: ExerciseModel = { ...generated, uploadUtcMs: Math.max(generated.uploadUtcMs, this.options.now()) };
      // Only data uploaded after registration is ever visible to the partner.
      const visible = account.registeredAtMs !== null;
      list.push({ model, status: visible ? 'pending' : 'invisible' });
      out.push(model);
      if (visible) this.options.onVisibleUpload?.(model);
    }
    return out;
  }

  exercisesWithStatus(status: ExerciseStatus, userId?: string): ExerciseModel[] {
    const out: ExerciseModel[] = [];
    for (const [uid, list] of this.exercises) {
      if (userId !== undefined && uid !== userId) continue;
      for (const e of list) if (e.status === status) out.push(e.model);
    }
    return out;
  }

  /** Users with something to fetch: what pull notifications announce. */
  usersWithPendingData(): string[] {
    this.expireTransactions();
    return this.accounts
      .filter((a) => a.registeredAtMs !== null && (this.exercises.get(a.polarUserId) ?? []).some((e) => e.status === 'pending'))
      .map((a) => a.polarUserId);
  }

  // ---- Transactions ----

  /** Uncommitted transactions past their TTL vanish; their items are offered again. */
  expireTransactions(): void {
    const now = this.options.now();
    for (const [userId, tid] of this.openTransaction) {
      const tx = this.transactions.get(tid);
      if (!tx || now - tx.createdMs >= this.options.transactionTtlMs) {
        this.transactions.delete(tid);
        this.openTransaction.delete(userId);
      }
    }
  }

  /**
   * Returns the user's open transaction if one exists (Polar issues no new id while one is
   * open), else a new one with up to 50 pending items, else null (nothing new: 204).
   */
  createTransaction(userId: string): { tx: Transaction; reused: boolean } | null {
    this.expireTransactions();
    const open = this.openTransaction.get(userId);
    if (open) return { tx: this.transactions.get(open)!, reused: true };
    const pending = (this.exercises.get(userId) ?? []).filter((e) => e.status === 'pending');
    if (pending.length === 0) return null;
    const tx: Transaction = {
      transactionId: String(this.nextTransactionId++),
      userId,
      exerciseIds: pending.slice(0, MAX_ITEMS_PER_TRANSACTION).map((e) => e.model.exerciseId),
      createdMs: this.options.now(),
      status: 'open',
    };
    this.transactions.set(tx.transactionId, tx);
    this.openTransaction.set(userId, tx.transactionId);
    return { tx, reused: false };
  }

  /** Fault injection: the user's open transaction lapses now, as if its lifetime had passed. */
  expireOpenTransaction(userId: string): void {
    const tid = this.openTransaction.get(userId);
    if (!tid) return;
    this.transactions.delete(tid);
    this.openTransaction.delete(userId);
  }

  /** The model of one of a user's exercises, whatever its status. */
  exerciseModel(userId: string, exerciseId: string): ExerciseModel | undefined {
    return (this.exercises.get(userId) ?? []).find((e) => e.model.exerciseId === exerciseId)?.model;
  }

  /** An open (not committed, not expired) transaction of this user, or undefined. */
  openTransactionOf(userId: string, transactionId: string): Transaction | undefined {
    this.expireTransactions();
    const tx = this.transactions.get(transactionId);
    return tx && tx.userId === userId && tx.status === 'open' ? tx : undefined;
  }

  /** Commit: the items are delivered and gone from the transactional channel for good. */
  commitTransaction(tx: Transaction): void {
    const ids = new Set(tx.exerciseIds);
    for (const entry of this.exercises.get(tx.userId) ?? []) if (ids.has(entry.model.exerciseId)) entry.status = 'committed';
    tx.status = 'committed';
    this.openTransaction.delete(tx.userId);
    this.transactions.delete(tx.transactionId);
  }

  /**
   * What `/v3/exercises` lists: uploaded after registration and in the last 30 days,
   * delivered or not (the reference is unsure whether a commit hides them there; we keep them).
   */
  recentExercises(userId: string): ExerciseModel[] {
    const cutoff = this.options.now() - RECENT_WINDOW_MS;
    return (this.exercises.get(userId) ?? []).filter((e) => e.status !== 'invisible' && e.model.uploadUtcMs >= cutoff).map((e) => e.model);
  }

  exerciseInTransaction(tx: Transaction, exerciseId: string): ExerciseModel | undefined {
    if (!tx.exerciseIds.includes(exerciseId)) return undefined;
    return (this.exercises.get(tx.userId) ?? []).find((e) => e.model.exerciseId === exerciseId && e.status === 'pending')?.model;
  }
}

/** The public ground-truth view of a model (without the internal fields). */
export function publicExercise(m: ExerciseModel): SimulatedExercise {
  const { userId, exerciseId, sport, startUtcMs, utcOffsetMin, durationS, indoor, trackpoints, hasTcx, hasGpx, hasFit, tcxGzipped, hasStrap, hasZones } = m;
  return { userId, exerciseId, sport, startUtcMs, utcOffsetMin, durationS, indoor, trackpoints, hasTcx, hasGpx, hasFit, tcxGzipped, hasStrap, hasZones };
}
