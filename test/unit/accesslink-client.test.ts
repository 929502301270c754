import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAccessLinkClient } from '../../src/accesslink/client.ts';
import { AccessLinkForeignUrlError, AccessLinkNotFoundError, AccessLinkServerError } from '../../src/accesslink/errors.ts';
import { OAuthExchangeError, createOAuth } from '../../src/accesslink/oauth.ts';
import { withRetry } from '../../src/accesslink/retry.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
interface Seen { method: string; path: string; accept: string | undefined; authorization: string | undefined; body: string }

let server: Server | undefined;
afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server!.close(r));
  }
  server = undefined;
});

async function serve(handler: Handler): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, path: req.url!, accept: req.headers.accept, authorization: req.headers.authorization, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const FAST = { retries: 3, initialRetryTimeMs: 1, maxRetryTimeMs: 5 };
const TOKEN = 'bearer-token-value';
const basicFor = (id: string, secret: string) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');

describe('accesslink > client > requests', () => {
  it('uses client Basic auth for notifications, Bearer for user calls, and the documented Accept per file kind', async () => {
    const { base, seen } = await serve((req, res) => {
      if (req.url === '/v3/notifications') return res.writeHead(204).end();
      if (req.url === '/v3/users') return res.writeHead(409).end();
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('file');
    });
    const client = createAccessLinkClient({ apiBaseUrl: base, clientId: 'cid', clientSecret: 'csecret', retry: FAST });
    expect(await client.listNotifications()).toEqual([]);
    expect(await client.registerUser(TOKEN, 'member-1')).toEqual({ status: 'already_registered' });
    const ex = `${base}/v3/users/1/exercise-transactions/2/exercises/3`;
    for (const kind of ['tcx', 'gpx', 'fit'] as const) {
      await client.getExerciseFile(ex, kind, TOKEN, async (stream) => stream.resume());
    }
    expect(seen[0]).toMatchObject({ path: '/v3/notifications', authorization: basicFor('cid', 'csecret'), accept: 'application/json' });
    expect(seen[1]).toMatchObject({ method: 'POST', authorization: `Bearer ${TOKEN}`, body: '{"member-id":"member-1"}' });
    expect(seen.slice(2).map((s) => [s.path, s.accept])).toEqual([
      ['/v3/users/1/exercise-transactions/2/exercises/3/tcx', 'application/vnd.garmin.tcx+xml'],
      ['/v3/users/1/exercise-transactions/2/exercises/3/gpx', 'application/gpx+xml'],
      ['/v3/users/1/exercise-transactions/2/exercises/3/fit', '*/*'],
    ]);
  });

  it('create transaction: 201 gives id and resource-uri, 204 gives null; ids stay strings', async () => {
    let calls = 0;
    const { base } = await serve((_req, res) => {
      if (calls++ === 0) res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ 'transaction-id': 122, 'resource-uri': `${base}/v3/users/21/exercise-transactions/122` }));
      else res.writeHead(204).end();
    });
    const client = createAccessLinkClient({ apiBaseUrl: base, clientId: 'c', clientSecret: 's', retry: FAST });
    expect(await client.createExerciseTransaction('21', TOKEN)).toEqual({ transactionId: '122', resourceUri: `${base}/v3/users/21/exercise-transactions/122` });
    expect(await client.createExerciseTransaction('21', TOKEN)).toBeNull();
  });

  it('refuses to follow URLs to another origin, so the token never leaves the API host', async () => {
    const { base, seen } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ exercises: ['http://attacker.example/v3/x/1'] }));
    });
    const client = createAccessLinkClient({ apiBaseUrl: base, clientId: 'c', clientSecret: 's', retry: FAST });
    await expect(client.listTransactionExercises('http://attacker.example/v3/users/1/exercise-transactions/2', TOKEN)).rejects.toBeInstanceOf(AccessLinkForeignUrlError);
    await expect(client.getExerciseFile('https://127.0.0.1.evil/v3/x', 'tcx', TOKEN, async () => undefined)).rejects.toBeInstanceOf(AccessLinkForeignUrlError);
    expect(seen).toEqual([]);
    // A list pointing elsewhere is refused as a whole.
    await expect(client.listTransactionExercises(`${base}/v3/users/1/exercise-transactions/2`, TOKEN)).rejects.toBeInstanceOf(AccessLinkForeignUrlError);
  });

  it('streams a file: the Readable arrives before the body is complete', async () => {
    let finish: (() => void) | undefined;
    const { base } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.garmin.tcx+xml' });
      res.write('<TrainingCenterDatabase>');
      finish = () => res.end('</TrainingCenterDatabase>');
    });
    const client = createAccessLinkClient({ apiBaseUrl: base, clientId: 'c', clientSecret: 's', retry: FAST });
    const chunks: Buffer[] = [];
    const body = await client.getExerciseFile(`${base}/v3/users/1/exercise-transactions/2/exercises/3`, 'tcx', TOKEN, async (stream) => {
      expect(finish).toBeTypeOf('function'); // the server has not ended the body yet
      stream.on('data', (c: Buffer) => chunks.push(c));
      const ended = new Promise((r) => stream.on('end', r));
      finish!();
      await ended;
      return Buffer.concat(chunks).toString();
    });
    expect(body).toBe('<TrainingCenterDatabase></TrainingCenterDatabase>');
  });

  it('retries a reset connection and a 5xx, never a 404', async () => {
    let n = 0;
    const { base, seen } = await serve((req, res) => {
      n++;
      if (req.url!.endsWith('/404')) return res.writeHead(404, { 'content-type': 'application/json' }).end('{"corrId":"c-404"}');
      if (n === 1) return req.socket.destroy();
      if (n === 2) return res.writeHead(502).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":3}');
    });
    const client = createAccessLinkClient({ apiBaseUrl: base, clientId: 'c', clientSecret: 's', retry: FAST });
    const summary = await client.getExerciseSummary(`${base}/v3/users/1/exercise-transactions/2/exercises/3`, TOKEN);
    expect(summary?.json).toEqual({ id: 3 });
    expect(summary?.raw.toString()).toBe('{"id":3}');
    const before = seen.length;
    const error = await client.getExerciseSummary(`${base}/v3/users/1/exercise-transactions/2/exercises/404`, TOKEN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessLinkNotFoundError);
    expect((error as AccessLinkNotFoundError).corrId).toBe('c-404');
    expect(seen.length - before).toBe(1);
  });

  it('gives up after the retry budget with the last transient error', async () => {
    const { base, seen } = await serve((_req, res) => res.writeHead(503).end());
    const client = createAccessLinkClient({ apiBaseUrl: base, clientId: 'c', clientSecret: 's', retry: { retries: 2, initialRetryTimeMs: 1, maxRetryTimeMs: 2 } });
    await expect(client.listNotifications()).rejects.toBeInstanceOf(AccessLinkServerError);
    expect(seen).toHaveLength(3);
  });

  it('runs every request through one queue: never more in flight than the concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const { base } = await serve((_req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => {
        inFlight--;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":1}');
      }, 20);
    });
    const client = createAccessLinkClient({ apiBaseUrl: base, clientId: 'c', clientSecret: 's', concurrency: 2, retry: FAST });
    await Promise.all(Array.from({ length: 8 }, (_, i) => client.getUser(String(i), TOKEN)));
    expect(peak).toBe(2);
  });
});

describe('accesslink > retry', () => {
  it('never retries programming errors or terminal errors; retries unknown errors', async () => {
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw new TypeError('bug'); }, FAST)).rejects.toThrow('bug');
    expect(calls).toBe(1);
    calls = 0;
    await expect(withRetry(async () => { calls++; throw new RangeError('bug'); }, FAST)).rejects.toThrow('bug');
    expect(calls).toBe(1);
    calls = 0;
    await expect(withRetry(async () => { calls++; throw new AccessLinkNotFoundError({ method: 'GET', path: '/x', status: 404 }); }, FAST)).rejects.toBeInstanceOf(AccessLinkNotFoundError);
    expect(calls).toBe(1);
    calls = 0;
    expect(await withRetry(async () => { if (++calls < 3) throw new Error('flaky'); return 'ok'; }, FAST)).toBe('ok');
    expect(calls).toBe(3);
  });
});

describe('accesslink > oauth', () => {
  it('builds the authorization URL with the documented parameters', () => {
    const oauth = createOAuth({ clientId: 'cid', clientSecret: 's' });
    const url = new URL(oauth.authorizationUrl({ state: 'st8', redirectUri: 'http://127.0.0.1:8765/callback' }));
    expect(url.origin + url.pathname).toBe('https://flow.polar.com/oauth2/authorization');
    expect(Object.fromEntries(url.searchParams)).toEqual({ response_type: 'code', client_id: 'cid', redirect_uri: 'http://127.0.0.1:8765/callback', scope: 'accesslink.read_all', state: 'st8' });
  });

  it('exchanges a code with Basic auth and a form body, keeping an int64 user id exact', async () => {
    const { base, seen } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"tok-1","token_type":"bearer","expires_in":31535999,"x_user_id":9223372036854775807}');
    });
    const oauth = createOAuth({ tokenUrl: `${base}/v2/oauth2/token`, clientId: 'cid', clientSecret: 'sec' });
    expect(await oauth.exchangeCode('the-code', 'http://127.0.0.1:8765/callback')).toEqual({ accessToken: 'tok-1', expiresInS: 31535999, polarUserId: '9223372036854775807' });
    expect(seen[0]!.authorization).toBe(basicFor('cid', 'sec'));
    expect(Object.fromEntries(new URLSearchParams(seen[0]!.body))).toEqual({ grant_type: 'authorization_code', code: 'the-code', redirect_uri: 'http://127.0.0.1:8765/callback' });
  });

  it('never retries the exchange, even on a 5xx, and reports only the OAuth error code', async () => {
    let n = 0;
    const { base, seen } = await serve((_req, res) => {
      n++;
      if (n === 1) return res.writeHead(503).end();
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant","error_description":"code the-code reused"}');
    });
    const oauth = createOAuth({ tokenUrl: `${base}/t`, clientId: 'cid', clientSecret: 'sec' });
    await expect(oauth.exchangeCode('the-code', 'http://x/cb')).rejects.toBeInstanceOf(OAuthExchangeError);
    expect(seen).toHaveLength(1);
    const error = (await oauth.exchangeCode('the-code', 'http://x/cb').catch((e: unknown) => e)) as OAuthExchangeError;
    expect(error.oauthError).toBe('invalid_grant');
    expect(error.message).not.toContain('the-code');
    expect(seen).toHaveLength(2);
  });
});
