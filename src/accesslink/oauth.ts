/**
 * OAuth2 authorization-code flow for AccessLink. There are no refresh tokens: a dead token
 * means the user authorizes again. The code exchange is never retried, because Polar
 * answers a reused code by revoking every token already issued to the client.
 */
import { ConfigError, PolarLakeError } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';
import { silentLogger } from '../telemetry/log.ts';
import { corrIdFromBody, networkErrorFrom } from './errors.ts';

export interface OAuthOptions {
  /** @default 'https://flow.polar.com/oauth2/authorization' */
  readonly authorizeUrl?: string;
  /** @default 'https://polarremote.com/v2/oauth2/token' */
  readonly tokenUrl?: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Redirect URI used when a call does not pass one (it must equal a registered one). */
  readonly redirectUri?: string;
  /** @default 30000 */
  readonly requestTimeoutMs?: number;
  /** @default silentLogger */
  readonly logger?: Logger;
}

export interface TokenGrant {
  readonly accessToken: string;
  /** Seconds the token is said to live (Polar also says tokens do not expire unless revoked). */
  readonly expiresInS: number | null;
  /** `x_user_id`: the Polar user id, kept as a string (int64). */
  readonly polarUserId: string;
}

/** The token endpoint refused the code (400 `{"error": ...}`) or answered something unusable. */
export class OAuthExchangeError extends PolarLakeError {
  readonly code = 'PL_OAUTH_EXCHANGE_FAILED';
  /** config: the user has to authorize again to get a new code; retrying this one is harmful. */
  readonly kind = 'config';
  constructor(
    message: string,
    readonly status: number | undefined,
    /** The OAuth error code (`invalid_grant`, ...), never the body. */
    readonly oauthError: string | undefined,
    readonly corrId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`token exchange failed: ${message}${status === undefined ? '' : ` (status ${status})`}${oauthError ? ` [${oauthError}]` : ''}`, options);
  }
}

export interface OAuth {
  authorizationUrl(input: { state: string; redirectUri?: string }): string;
  /** Exchanges a code once. Never retried: reusing a code revokes all issued tokens. */
  exchangeCode(code: string, redirectUri?: string): Promise<TokenGrant>;
}

const OAUTH_ERROR = /^[a-z_]{1,40}$/;

export function createOAuth(options: OAuthOptions): OAuth {
  const authorizeUrl = options.authorizeUrl ?? 'https://flow.polar.com/oauth2/authorization';
  const tokenUrl = options.tokenUrl ?? 'https://polarremote.com/v2/oauth2/token';
  const logger = (options.logger ?? silentLogger).child({ component: 'oauth' });
  const basic = 'Basic ' + Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64');

  const redirectFor = (given: string | undefined): string => {
    const uri = given ?? options.redirectUri;
    if (!uri) throw new ConfigError('no redirect URI given and no default configured', 'POLAR_REDIRECT_URI');
    return uri;
  };

  return {
    authorizationUrl({ state, redirectUri: given }) {
      const redirectUri = redirectFor(given);
      const url = new URL(authorizeUrl);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', options.clientId);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('scope', 'accesslink.read_all');
      url.searchParams.set('state', state);
      return url.toString();
    },

    async exchangeCode(code, given) {
      const redirectUri = redirectFor(given);
      const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
      let response: Response;
      try {
        response = await fetch(tokenUrl, {
          method: 'POST',
          headers: {
            authorization: basic,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json;charset=UTF-8',
          },
          body: form.toString(),
          redirect: 'manual',
          signal: AbortSignal.timeout(options.requestTimeoutMs ?? 30_000),
        });
      } catch (error) {
        // Deliberately not retried: the code may have been consumed before the connection broke.
        const network = networkErrorFrom(error, { method: 'POST', path: new URL(tokenUrl).pathname });
        throw new OAuthExchangeError(`no response from the token endpoint${network?.networkCode ? ` (${network.networkCode})` : ''}`, undefined, undefined, undefined, { cause: network ?? error });
      }
      const text = await response.text();
      if (response.status !== 200) {
        let oauthError: string | undefined;
        try {
          const e = (JSON.parse(text) as { error?: unknown }).error;
          if (typeof e === 'string' && OAUTH_ERROR.test(e)) oauthError = e;
        } catch {
          // non-JSON error body: the status is all we report
        }
        logger.warn('oauth.code.exchange_failed', { status: response.status, oauth_error: oauthError });
        throw new OAuthExchangeError('refused', response.status, oauthError, corrIdFromBody(text));
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch (cause) {
        throw new OAuthExchangeError('token response is not JSON', response.status, undefined, undefined, { cause });
      }
      const accessToken = body['access_token'];
      if (typeof accessToken !== 'string' || accessToken.length === 0) throw new OAuthExchangeError('no access_token in the response', 200, undefined, undefined);
      // x_user_id is an int64: read its digits from the text so no precision is lost.
      const rawUserId = /"x_user_id"\s*:\s*"?(\d{1,20})"?/.exec(text)?.[1];
      if (!rawUserId) throw new OAuthExchangeError('no x_user_id in the response', 200, undefined, undefined);
      const expires = body['expires_in'];
      return { accessToken, expiresInS: typeof expires === 'number' && Number.isFinite(expires) ? expires : null, polarUserId: rawUserId };
    },
  };
}
