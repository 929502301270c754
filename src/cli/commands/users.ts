/**
 * `polar-lake users add | list | remove`: enrol Polar users through the OAuth2 code flow,
 * list them (never their tokens), de-register them.
 *
 * `users add` prints the authorization URL and listens once on the redirect URI (which must
 * be http on 127.0.0.1 or localhost) for the callback; it checks `state` in constant time
 * before the single-use code is exchanged.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Command } from 'commander';
import { createAccessLinkClient } from '../../accesslink/client.ts';
import { enrolUser, type EnrolResult } from '../../accesslink/enrol.ts';
import { createOAuth } from '../../accesslink/oauth.ts';
import { loadConfig, type AccessLinkSettings } from '../../config.ts';
import { ConfigError, PolarLakeError } from '../../errors.ts';
import { openUserRegistry, type RegisteredUser } from '../../state/users.ts';
import { createLogger, type Logger } from '../../telemetry/log.ts';

export interface UsersCommandConfig {
  readonly accesslink: AccessLinkSettings;
  readonly stateDir: string;
}

/**
 * The one place this command reads its settings: POLAR_CLIENT_ID, POLAR_CLIENT_SECRET,
 * POLAR_API_BASE_URL, POLAR_AUTHORIZE_URL, POLAR_TOKEN_URL, POLAR_REDIRECT_URI and
 * POLAR_LAKE_STATE_DIR, through the project's runtime config.
 */
export function usersCommandConfig(env: NodeJS.ProcessEnv = process.env): UsersCommandConfig {
  const config = loadConfig(env);
  if (!config.accesslink) throw new ConfigError('set POLAR_CLIENT_ID and POLAR_CLIENT_SECRET (the AccessLink client credentials)', 'POLAR_CLIENT_ID');
  return { accesslink: config.accesslink, stateDir: config.stateDir };
}

export class OAuthCallbackError extends PolarLakeError {
  readonly code = 'PL_OAUTH_CALLBACK_FAILED';
  readonly kind = 'config';
}

export interface UsersAddOptions {
  readonly config: UsersCommandConfig;
  /** Our id for the user. @default a random `pl-<hex>` */
  readonly memberId?: string;
  /** How long to wait for the browser callback. @default 600000 */
  readonly timeoutMs?: number;
  /** Where the authorization URL is shown. @default console.log */
  readonly print?: (line: string) => void;
  readonly logger?: Logger;
}

/** Waits for one request on the redirect URI carrying `code` and `state`. */
async function awaitCallback(redirectUri: string, expectedState: string, timeoutMs: number, onListening: () => void): Promise<string> {
  const target = new URL(redirectUri);
  if (target.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
    throw new ConfigError(`the local callback server needs an http://127.0.0.1:<port>/... redirect URI, got ${target.origin}`, 'POLAR_REDIRECT_URI');
  }
  const port = Number(target.port || 80);
  let server: Server | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new OAuthCallbackError(`no callback on ${target.origin}${target.pathname} within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
      server = createServer((req, res) => {
        const url = new URL(req.url ?? '/', target.origin);
        if (url.pathname !== target.pathname) {
          res.writeHead(404).end();
          return;
        }
        const state = url.searchParams.get('state') ?? '';
        const code = url.searchParams.get('code');
        const error = url.searchParams.get('error');
        const stateOk = state.length === expectedState.length && timingSafeEqual(Buffer.from(state), Buffer.from(expectedState));
        res.writeHead(stateOk && code ? 200 : 400, { 'content-type': 'text/plain; charset=utf-8' });
        clearTimeout(timer);
        if (!stateOk) {
          res.end('polar-lake: state mismatch; start again with `polar-lake users add`.\n');
          reject(new OAuthCallbackError('the callback state does not match the one sent: possible CSRF, nothing was exchanged'));
        } else if (error || !code) {
          res.end('polar-lake: authorization was not granted.\n');
          reject(new OAuthCallbackError(`authorization not granted: ${/^[a-z_]{1,40}$/.test(error ?? '') ? error : 'no code'}`));
        } else {
          res.end('polar-lake: authorized. You can close this window.\n');
          resolve(code);
        }
      });
      server.once('error', (e) => {
        clearTimeout(timer);
        reject(new ConfigError(`cannot listen on ${target.host}: ${e.message}`, 'POLAR_REDIRECT_URI', { cause: e }));
      });
      server.listen(port, target.hostname.replace(/^\[|\]$/g, ''), onListening);
    });
  } finally {
    const s = server as Server | undefined;
    if (s?.listening) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }
}

/** `users add`, as a function the tests and the demo can drive. */
export async function usersAdd(options: UsersAddOptions): Promise<EnrolResult> {
  const { accesslink, stateDir } = options.config;
  const print = options.print ?? ((line: string) => console.log(line));
  const logger = options.logger ?? createLogger();
  const oauth = createOAuth({ authorizeUrl: accesslink.authorizeUrl, tokenUrl: accesslink.tokenUrl, clientId: accesslink.clientId, clientSecret: accesslink.clientSecret, logger });
  const client = createAccessLinkClient({ apiBaseUrl: accesslink.apiBaseUrl, clientId: accesslink.clientId, clientSecret: accesslink.clientSecret, logger });
  const users = await openUserRegistry({ stateDir, logger });
  const state = randomBytes(16).toString('hex');
  const url = oauth.authorizationUrl({ state, redirectUri: accesslink.redirectUri });
  const code = await awaitCallback(accesslink.redirectUri, state, options.timeoutMs ?? 600_000, () => {
    print('Open this URL in a browser and approve polar-lake in Polar Flow:');
    print(url);
  });
  return enrolUser({ oauth, client, users, code, redirectUri: accesslink.redirectUri, memberId: options.memberId ?? `pl-${randomBytes(6).toString('hex')}` });
}

export async function usersList(config: UsersCommandConfig): Promise<RegisteredUser[]> {
  const users = await openUserRegistry({ stateDir: config.stateDir });
  return users.list();
}

/** DELETE /v3/users/{id} (revokes the token at Polar), then marks the user deregistered. */
export async function usersRemove(config: UsersCommandConfig, polarUserId: string, logger?: Logger): Promise<RegisteredUser> {
  const { accesslink } = config;
  const users = await openUserRegistry({ stateDir: config.stateDir, ...(logger ? { logger } : {}) });
  const client = createAccessLinkClient({ apiBaseUrl: accesslink.apiBaseUrl, clientId: accesslink.clientId, clientSecret: accesslink.clientSecret, ...(logger ? { logger } : {}) });
  const user = users.get(polarUserId);
  if (user && user.status !== 'deregistered') {
    try {
      await client.deleteUser(polarUserId, users.accessToken(polarUserId));
    } catch (error) {
      // A 401 means the token is already dead at Polar: de-registration is what we wanted anyway.
      if (!(error instanceof PolarLakeError && error.code === 'PL_ACCESSLINK_UNAUTHORIZED')) throw error;
    }
  }
  return users.setStatus(polarUserId, 'deregistered', 'removed by operator');
}

export function register(program: Command): void {
  const users = program.command('users').description('enrol, list and remove Polar users (tokens are encrypted at rest and never shown)');

  users
    .command('add')
    .description('print the Polar authorization URL, wait for the callback on POLAR_REDIRECT_URI, enrol the user')
    .option('--member-id <id>', 'your own id for the user (unique within the client)')
    .option('--timeout-secs <n>', 'how long to wait for the browser callback', '600')
    .action(async (opts: { memberId?: string; timeoutSecs: string }) => {
      const timeoutSecs = Number(opts.timeoutSecs);
      if (!Number.isFinite(timeoutSecs) || timeoutSecs <= 0) throw new ConfigError(`expected a positive number, got ${JSON.stringify(opts.timeoutSecs)}`, '--timeout-secs');
      const result = await usersAdd({ config: usersCommandConfig(), timeoutMs: timeoutSecs * 1000, ...(opts.memberId ? { memberId: opts.memberId } : {}) });
      console.log(`enrolled polar user ${result.user.polarUserId} (member id ${result.user.memberId})${result.alreadyRegistered ? ', already registered with Polar' : ''}`);
    });

  users
    .command('list')
    .description('list enrolled users and their status')
    .option('--json', 'one JSON object per line')
    .action(async (opts: { json?: boolean }) => {
      const list = await usersList(usersCommandConfig());
      if (opts.json) {
        for (const u of list) console.log(JSON.stringify(u));
        return;
      }
      if (list.length === 0) {
        console.log('no users enrolled (polar-lake users add)');
        return;
      }
      console.log(['polar_user_id', 'member_id', 'status', 'registered_at_utc', 'status_reason'].join('\t'));
      for (const u of list) console.log([u.polarUserId, u.memberId, u.status, u.registeredAtUtc, u.statusReason ?? ''].join('\t'));
    });

  users
    .command('remove <polarUserId>')
    .description('de-register the user at Polar (revokes the token) and mark them deregistered')
    .action(async (polarUserId: string) => {
      const user = await usersRemove(usersCommandConfig(), polarUserId);
      console.log(`polar user ${user.polarUserId} is deregistered`);
    });
}
