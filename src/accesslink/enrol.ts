/**
 * Enrolment: the code from the OAuth callback → a token → `POST /v3/users` → the registry.
 * Used by `polar-lake users add` and the demo. The user is stored only after Polar accepted
 * the registration (200, or 409 = already registered to this client).
 */
import { PolarLakeError } from '../errors.ts';
import type { PendingEnrolments } from '../state/pending-enrolments.ts';
import type { RegisteredUser, UserRegistry } from '../state/users.ts';
import type { AccessLinkClient } from './client.ts';
import type { OAuth } from './oauth.ts';

export interface EnrolInput {
  readonly oauth: OAuth;
  readonly client: AccessLinkClient;
  readonly users: UserRegistry;
  /** The single-use authorization code from the callback. */
  readonly code: string;
  /** Must equal the redirect URI sent in the authorization request. @default the OAuth client's `redirectUri` */
  readonly redirectUri?: string;
  /** Our own id for the user; unique within the client. */
  readonly memberId: string;
}

export interface EnrolResult {
  readonly user: RegisteredUser;
  readonly alreadyRegistered: boolean;
}

export async function enrolUser(input: EnrolInput): Promise<EnrolResult> {
  const grant = await input.oauth.exchangeCode(input.code, input.redirectUri);
  const registration = await input.client.registerUser(grant.accessToken, input.memberId);
  const user = await input.users.upsert({
    polarUserId: grant.polarUserId,
    memberId: input.memberId,
    accessToken: grant.accessToken,
    expiresInS: grant.expiresInS,
  });
  return { user, alreadyRegistered: registration.status === 'already_registered' };
}

export class OAuthCallbackError extends PolarLakeError {
  readonly code = 'PL_OAUTH_CALLBACK_FAILED';
  readonly kind = 'config';
}

export interface CompleteEnrolmentInput extends Omit<EnrolInput, 'code' | 'redirectUri' | 'memberId'> {
  readonly pending: PendingEnrolments;
  readonly state: string;
  readonly code: string;
}

/**
 * Finishes an enrolment started by `users add`, wherever its callback landed. The state must be
 * pending and unclaimed: claiming it first means a code is exchanged at most once, even when the
 * same callback reaches two processes (a replayed code would make Polar revoke the user's tokens).
 */
export async function completeEnrolment(input: CompleteEnrolmentInput): Promise<EnrolResult> {
  const entry = await input.pending.claim(input.state);
  if (!entry) throw new OAuthCallbackError('unknown, expired or already used state: nothing was exchanged; start again with `polar-lake users add`');
  try {
    const result = await enrolUser({ ...input, redirectUri: entry.redirectUri, memberId: entry.memberId });
    await input.pending.finish(input.state, { ok: true, polarUserId: result.user.polarUserId, alreadyRegistered: result.alreadyRegistered });
    return result;
  } catch (error) {
    await input.pending.finish(input.state, { ok: false, error: error instanceof PolarLakeError ? `${error.code}: ${error.message}` : 'enrolment failed' });
    throw error;
  }
}

/** What a pasted line holds: the whole redirected URL (code, state, or an error) or the bare code. */
export function parsePastedCallback(line: string): { code: string | null; state: string | null; error: string | null } {
  const text = line.trim();
  if (/^https?:\/\//i.test(text) || text.startsWith('/') || text.includes('code=') || text.includes('error=')) {
    const query = text.includes('?') ? text.slice(text.indexOf('?') + 1) : text;
    const params = new URLSearchParams(query.split('#')[0]);
    return { code: params.get('code'), state: params.get('state'), error: params.get('error') };
  }
  return { code: text === '' ? null : text, state: null, error: null };
}
