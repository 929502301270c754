/**
 * Enrolment: the code from the OAuth callback → a token → `POST /v3/users` → the registry.
 * Used by `polar-lake users add` and the demo. The user is stored only after Polar accepted
 * the registration (200, or 409 = already registered to this client).
 */
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
