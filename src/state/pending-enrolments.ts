/**
 * Enrolments started but not finished, shared between processes through the state folder, so
 * that the OAuth callback can land anywhere: on `users add`'s own loopback server, pasted into
 * `users add --no-browser`, or on the running `polar-lake run` behind a reverse proxy serving
 * an https redirect URI.
 *
 * `<stateDir>/enrolments/<sha256(state)>.json` is written when the authorization URL is printed.
 * Exchanging the code first *claims* the state by creating `<sha>.claim` exclusively: an
 * authorization code is single-use, and replaying one makes Polar revoke every token of that
 * user, so of two processes that see the same callback only the claimant exchanges it. The
 * outcome goes to `<sha>.done.json`. Only the state's hash is stored: a file listing does not
 * reveal a state an attacker could complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createFileDurable, writeFileDurable } from '../fs/durable.ts';

/** Polar's codes live 10 minutes; a pending state a little longer, then it is refused and swept. */
export const PENDING_TTL_MS = 15 * 60_000;

export interface PendingEnrolment {
  readonly memberId: string;
  readonly redirectUri: string;
  readonly createdAtMs: number;
}

export type EnrolmentOutcome = { readonly ok: true; readonly polarUserId: string; readonly alreadyRegistered: boolean } | { readonly ok: false; readonly error: string };

export interface PendingEnrolments {
  /** Records a new enrolment and returns its fresh random `state`. */
  start(memberId: string, redirectUri: string): Promise<string>;
  /** The pending enrolment of `state` if it exists, is unexpired and nobody claimed it; claims it for this caller. */
  claim(state: string): Promise<PendingEnrolment | null>;
  finish(state: string, outcome: EnrolmentOutcome): Promise<void>;
  /** The outcome once some process finished the enrolment; null while pending. */
  outcome(state: string): Promise<EnrolmentOutcome | null>;
  /** Removes the files of a finished or expired enrolment. */
  forget(state: string): Promise<void>;
}

const hash = (state: string) => createHash('sha256').update(state, 'utf8').digest('hex');

export function openPendingEnrolments(stateDir: string, now: () => number = Date.now): PendingEnrolments {
  const dir = join(stateDir, 'enrolments');
  const path = (state: string, suffix: string) => join(dir, `${hash(state)}${suffix}`);
  const readJson = async <T>(file: string): Promise<T | null> => {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  };

  return {
    async start(memberId, redirectUri) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // Sweep what expired, so the folder does not grow with abandoned enrolments.
      for (const name of await readdir(dir)) {
        if (!name.endsWith('.json') || name.endsWith('.done.json')) continue;
        const entry = await readJson<PendingEnrolment>(join(dir, name)).catch(() => null);
        if (entry && now() - entry.createdAtMs > PENDING_TTL_MS) {
          const base = name.slice(0, -'.json'.length);
          for (const suffix of ['.json', '.claim', '.done.json']) await rm(join(dir, base + suffix), { force: true });
        }
      }
      const state = randomBytes(24).toString('base64url');
      const entry: PendingEnrolment = { memberId, redirectUri, createdAtMs: now() };
      await writeFileDurable(path(state, '.json'), JSON.stringify(entry) + '\n', { mode: 0o600 });
      return state;
    },
    async claim(state) {
      if (!/^[A-Za-z0-9_-]{16,128}$/.test(state)) return null;
      const entry = await readJson<PendingEnrolment>(path(state, '.json'));
      if (!entry || now() - entry.createdAtMs > PENDING_TTL_MS) return null;
      if (!(await createFileDurable(path(state, '.claim'), '', { mode: 0o600 }))) return null;
      return entry;
    },
    async finish(state, outcome) {
      await writeFileDurable(path(state, '.done.json'), JSON.stringify(outcome) + '\n', { mode: 0o600 });
    },
    outcome: (state) => readJson<EnrolmentOutcome>(path(state, '.done.json')),
    async forget(state) {
      for (const suffix of ['.json', '.claim', '.done.json']) await rm(path(state, suffix), { force: true });
    },
  };
}
