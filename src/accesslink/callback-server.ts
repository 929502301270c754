/**
 * The OAuth2 redirect URI as an HTTP route: `GET <path>?code=...&state=...` finishes the pending
 * enrolment of that state (src/accesslink/enrol.ts). Served by `users add` on a loopback
 * redirect URI, and by `polar-lake run` on POLAR_LAKE_CALLBACK_LISTEN, so an https redirect URI
 * behind a reverse proxy reaches it. The page never echoes the code, the state or a token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PolarLakeError } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';
import type { EnrolResult } from './enrol.ts';

export interface CallbackRoute {
  /** Path of the registered redirect URI, e.g. `/oauth/callback`. */
  readonly path: string;
  complete(state: string, code: string): Promise<EnrolResult>;
  /** Told of every finished callback (the CLI waits on it). */
  onDone?(outcome: { state: string; result?: EnrolResult; error?: unknown }): void;
  readonly logger: Logger;
}

const page = (res: ServerResponse, status: number, text: string) => res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(`polar-lake: ${text}\n`);

/** Handles the request if it is for the callback path; returns false otherwise. */
export function handleOAuthCallback(route: CallbackRoute, req: IncomingMessage, res: ServerResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://callback.invalid');
  if (req.method !== 'GET' || url.pathname !== route.path) return false;
  const state = url.searchParams.get('state') ?? '';
  const code = url.searchParams.get('code');
  const error = url.searchParams.get('error');
  if (error || !code) {
    const reason = /^[a-z_]{1,40}$/.test(error ?? '') ? error : 'no code';
    page(res, 400, `authorization was not granted (${reason}).`);
    route.onDone?.({ state, error: new Error(`authorization not granted: ${reason}`) });
    return true;
  }
  route
    .complete(state, code)
    .then((result) => {
      route.logger.info('users.enrolment.completed', { user_id: result.user.polarUserId, already_registered: result.alreadyRegistered });
      page(res, 200, `authorized: Polar user ${result.user.polarUserId} is enrolled. You can close this window.`);
      route.onDone?.({ state, result });
    })
    .catch((failure: unknown) => {
      route.logger.warn('users.enrolment.failed', { error: failure });
      page(res, 400, failure instanceof PolarLakeError ? failure.message : 'enrolment failed.');
      route.onDone?.({ state, error: failure });
    });
  return true;
}
