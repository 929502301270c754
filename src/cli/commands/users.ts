/**
 * `polar-lake users add | list | remove`: enrol Polar users through the OAuth2 code flow,
 * list them (never their tokens), de-register them.
 *
 * `users add` prints the authorization URL and finishes the enrolment where the callback lands:
 * on its own loopback server (an http://127.0.0.1 redirect URI), pasted on stdin with
 * `--no-browser` (any redirect URI), or on `polar-lake run` serving the redirect URI
 * (POLAR_LAKE_CALLBACK_LISTEN, e.g. an https URI behind a reverse proxy). The state is checked
 * before the single-use code is exchanged, and only one process ever exchanges it
 * (src/state/pending-enrolments.ts). Several users can be enrolled in one call.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { createAccessLinkClient } from '../../accesslink/client.ts';
import { handleOAuthCallback } from '../../accesslink/callback-server.ts';
import { completeEnrolment, OAuthCallbackError, parsePastedCallback, type EnrolResult } from '../../accesslink/enrol.ts';
import { createOAuth } from '../../accesslink/oauth.ts';
import { loadConfig, type AccessLinkSettings } from '../../config.ts';
import { ConfigError, PolarLakeError } from '../../errors.ts';
import { listen } from '../../net/listen.ts';
import { openPendingEnrolments, type PendingEnrolments } from '../../state/pending-enrolments.ts';
import { openUserRegistry, type RegisteredUser, type UserRegistry } from '../../state/users.ts';
import { EXIT } from '../exit-codes.ts';
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

export { OAuthCallbackError };

export interface UsersAddOptions {
  readonly config: UsersCommandConfig;
  /** Our id for the user. @default a random `pl-<hex>` */
  readonly memberId?: string;
  /** How long to wait for the callback (or a pasted line). @default 600000 */
  readonly timeoutMs?: number;
  /** Where the authorization URL is shown. @default console.log */
  readonly print?: (line: string) => void;
  readonly logger?: Logger;
  /**
   * Headless: no loopback server. The redirected URL (or the bare code) is read from `lines`,
   * unless another process (the running pipeline, serving the redirect URI) finishes the
   * enrolment first. Any registered redirect URI works.
   */
  readonly lines?: PastedLines;
  /** Headless: how often to look whether another process finished the enrolment. @default 1000 */
  readonly pollMs?: number;
}

/** Lines typed or pasted on stdin, shared by every enrolment of one call. */
export interface PastedLines {
  next(): Promise<string | null>;
}

/** stdin as PastedLines; a read that another answer overtook is kept for the next enrolment. */
export function stdinLines(input: NodeJS.ReadableStream = process.stdin): PastedLines {
  const reader = createInterface({ input, terminal: false })[Symbol.asyncIterator]();
  let pending: Promise<string | null> | null = null;
  return {
    next() {
      pending ??= reader.next().then((r) => (r.done ? null : (r.value as string)));
      const current = pending;
      void current.then(() => {
        if (pending === current) pending = null;
      });
      return current;
    },
  };
}

function enrolmentDeps(config: UsersCommandConfig, logger: Logger) {
  const { accesslink } = config;
  const oauth = createOAuth({ authorizeUrl: accesslink.authorizeUrl, tokenUrl: accesslink.tokenUrl, clientId: accesslink.clientId, clientSecret: accesslink.clientSecret, logger });
  const client = createAccessLinkClient({ apiBaseUrl: accesslink.apiBaseUrl, clientId: accesslink.clientId, clientSecret: accesslink.clientSecret, logger });
  return { oauth, client, pending: openPendingEnrolments(config.stateDir) };
}

/** Browser mode: waits for the callback on the loopback redirect URI. */
async function awaitLoopbackCallback(redirectUri: string, state: string, timeoutMs: number, complete: (state: string, code: string) => Promise<EnrolResult>, logger: Logger, onListening: () => void): Promise<EnrolResult> {
  const target = new URL(redirectUri);
  if (target.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
    throw new ConfigError(`the local callback server needs an http://127.0.0.1:<port>/... redirect URI, got ${target.origin}; on a server use --no-browser`, 'POLAR_REDIRECT_URI');
  }
  let server: Server | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<EnrolResult>((resolve, reject) => {
      timer = setTimeout(() => reject(new OAuthCallbackError(`no callback on ${target.origin}${target.pathname} within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
      const route = {
        path: target.pathname,
        logger,
        complete,
        onDone: (done: { state: string; result?: EnrolResult; error?: unknown }) => {
          if (done.result && done.state === state) resolve(done.result);
          else reject(done.error instanceof PolarLakeError ? done.error : new OAuthCallbackError(`the callback did not enrol anyone: ${done.error instanceof Error ? done.error.message : 'state mismatch'}`));
        },
      };
      server = createServer((req, res) => {
        if (!handleOAuthCallback(route, req, res)) res.writeHead(404).end();
      });
      listen(server, Number(target.port || 80), target.hostname.replace(/^\[|\]$/g, ''), 'the OAuth callback server').then(onListening, reject);
    });
  } finally {
    clearTimeout(timer);
    const s = server as Server | undefined;
    if (s?.listening) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }
}

/** Headless mode: a pasted line, or another process finishing the enrolment, whichever comes first. */
async function awaitPasteOrServer(
  lines: PastedLines, state: string, pending: PendingEnrolments, timeoutMs: number, pollMs: number,
  complete: (state: string, code: string) => Promise<EnrolResult>, users: () => Promise<UserRegistry>,
): Promise<EnrolResult> {
  const deadline = Date.now() + timeoutMs;
  let line: Promise<string | null> | null = lines.next();
  while (Date.now() < deadline) {
    const tick = new Promise<'tick'>((r) => setTimeout(() => r('tick'), pollMs).unref());
    const got = await Promise.race([line ?? new Promise<never>(() => {}), tick]);
    if (got !== 'tick') {
      if (got === null) {
        line = null; // stdin closed: only the server can finish it now
        continue;
      }
      if (got.trim() === '') {
        line = lines.next();
        continue;
      }
      const pasted = parsePastedCallback(got);
      if (pasted.error) throw new OAuthCallbackError(`authorization not granted: ${/^[a-z_]{1,40}$/.test(pasted.error) ? pasted.error : 'error'}`);
      if (!pasted.code) throw new OAuthCallbackError('the pasted text holds no code: paste the whole URL the browser was sent to, or the code alone');
      if (pasted.state !== null && !sameSecret(pasted.state, state)) {
        throw new OAuthCallbackError('the pasted URL carries another state than this enrolment: possible CSRF, nothing was exchanged');
      }
      return complete(state, pasted.code);
    }
    const outcome = await pending.outcome(state);
    if (outcome?.ok) {
      const user = (await users()).get(outcome.polarUserId);
      if (user) return { user, alreadyRegistered: outcome.alreadyRegistered };
    } else if (outcome) {
      throw new OAuthCallbackError(`the enrolment failed where its callback landed: ${outcome.error}`);
    }
  }
  throw new OAuthCallbackError(`no callback and nothing pasted within ${Math.round(timeoutMs / 1000)} s`);
}

function sameSecret(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** `users add`, as a function the tests and the demo can drive. */
export async function usersAdd(options: UsersAddOptions): Promise<EnrolResult> {
  const { accesslink, stateDir } = options.config;
  const print = options.print ?? ((line: string) => console.log(line));
  const logger = options.logger ?? createLogger();
  const { oauth, client, pending } = enrolmentDeps(options.config, logger);
  const registry = await openUserRegistry({ stateDir, logger });
  const memberId = options.memberId ?? `pl-${randomBytes(6).toString('hex')}`;
  const state = await pending.start(memberId, accesslink.redirectUri);
  const url = oauth.authorizationUrl({ state, redirectUri: accesslink.redirectUri });
  const complete = (s: string, code: string) => completeEnrolment({ oauth, client, users: registry, pending, state: s, code });
  const timeoutMs = options.timeoutMs ?? 600_000;
  try {
    if (!options.lines) {
      return await awaitLoopbackCallback(accesslink.redirectUri, state, timeoutMs, complete, logger, () => {
        print('Open this URL in a browser and approve polar-lake in Polar Flow:');
        print(url);
      });
    }
    print(`Open this URL in any browser and approve polar-lake in Polar Flow (member id ${memberId}):`);
    print(url);
    print(`Then paste here the whole URL the browser was sent to (or just its code); if ${accesslink.redirectUri} is served by \`polar-lake run\`, this finishes by itself.`);
    return await awaitPasteOrServer(options.lines, state, pending, timeoutMs, options.pollMs ?? 1000, complete, () => openUserRegistry({ stateDir, logger }));
  } finally {
    await pending.forget(state);
  }
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
    .description('enrol Polar users: print the authorization URL, then take the callback on POLAR_REDIRECT_URI (or, with --no-browser, the pasted redirected URL)')
    .option('--member-id <ids...>', 'your own id for each user (unique within the client); one enrolment per id')
    .option('--count <n>', 'enrol this many users in one call (random member ids)', '1')
    .option('--no-browser', 'headless: read the redirected URL or code from stdin; any registered redirect URI works')
    .option('--timeout-secs <n>', 'how long to wait for each callback', '600')
    .action(async (opts: { memberId?: string[]; count: string; browser: boolean; timeoutSecs: string }) => {
      const timeoutSecs = Number(opts.timeoutSecs);
      if (!Number.isFinite(timeoutSecs) || timeoutSecs <= 0) throw new ConfigError(`expected a positive number, got ${JSON.stringify(opts.timeoutSecs)}`, '--timeout-secs');
      const count = Number(opts.count);
      if (!Number.isInteger(count) || count < 1) throw new ConfigError(`expected a whole number from 1 up, got ${JSON.stringify(opts.count)}`, '--count');
      const memberIds: (string | undefined)[] = opts.memberId ?? Array.from({ length: count }, () => undefined);
      const config = usersCommandConfig();
      const lines = opts.browser ? undefined : stdinLines();
      let failed = 0;
      for (const [i, memberId] of memberIds.entries()) {
        if (memberIds.length > 1) console.log(`-- user ${i + 1} of ${memberIds.length}`);
        try {
          const result = await usersAdd({ config, timeoutMs: timeoutSecs * 1000, ...(memberId ? { memberId } : {}), ...(lines ? { lines } : {}) });
          console.log(`enrolled polar user ${result.user.polarUserId} (member id ${result.user.memberId})${result.alreadyRegistered ? ', already registered with Polar' : ''}`);
        } catch (error) {
          if (memberIds.length === 1 || !(error instanceof PolarLakeError)) throw error;
          failed++;
          console.error(`polar-lake: ${error.code}: ${error.message}`);
        }
      }
      if (failed > 0) process.exitCode = EXIT.partial;
      if (lines) process.stdin.destroy();
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
