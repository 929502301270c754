import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessLinkConsentRequiredError, AccessLinkServerError, AccessLinkUnauthorizedError } from '../../src/accesslink/errors.ts';
import { SecretDecryptError, loadSecretKey } from '../../src/state/secret-box.ts';
import { UnknownUserError, UserTokenUnavailableError, openUserRegistry } from '../../src/state/users.ts';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'polar-lake-users-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

const TOKEN = 'tok_' + 'Zq9'.repeat(12);
const ctx = { method: 'POST', path: '/v3/users/42/exercise-transactions', status: 401 };

describe('state > users', () => {
  it('encrypts the token at rest: the state file never holds it, and it decrypts back', async () => {
    const users = await openUserRegistry({ stateDir, secretKey: randomBytes(32) });
    const user = await users.upsert({ polarUserId: '42', memberId: 'm-1', accessToken: TOKEN, expiresInS: 3600 });
    const bytes = await readFile(users.file);
    expect(bytes.includes(Buffer.from(TOKEN))).toBe(false);
    expect(bytes.includes(Buffer.from(TOKEN).toString('base64'))).toBe(false);
    expect(users.accessToken('42')).toBe(TOKEN);
    expect(JSON.stringify(user)).not.toContain(TOKEN);
    expect(JSON.stringify(users.list())).not.toContain(TOKEN);
    expect((await stat(users.file)).mode & 0o777).toBe(0o600);
  });

  it('concurrent changes are written together: every one lands, and one that fails fails alone', async () => {
    const key = randomBytes(32);
    const users = await openUserRegistry({ stateDir, secretKey: key });
    const ids = Array.from({ length: 200 }, (_, i) => String(1000 + i));
    const upserts = ids.map((id) => users.upsert({ polarUserId: id, memberId: `m-${id}`, accessToken: `${TOKEN}${id}`, expiresInS: null }));
    const unknown = users.setStatus('999', 'needs_reauth');
    const more = users.setStatus('1000', 'needs_consent', 'revoked');
    await expect(unknown).rejects.toBeInstanceOf(UnknownUserError);
    expect((await Promise.all(upserts)).map((u) => u.polarUserId)).toEqual(ids);
    expect((await more).status).toBe('needs_consent');
    const reopened = await openUserRegistry({ stateDir, secretKey: key });
    expect(reopened.list().map((u) => u.polarUserId).sort()).toEqual(ids);
    expect(reopened.get('1000')?.status).toBe('needs_consent');
    expect(reopened.accessToken('1199')).toBe(`${TOKEN}1199`);
  });

  it('creates secret.key with mode 0600 when no env key is given, and reuses it', async () => {
    const key = await loadSecretKey(stateDir, undefined);
    expect((await stat(join(stateDir, 'secret.key'))).mode & 0o777).toBe(0o600);
    expect(await loadSecretKey(stateDir, undefined)).toEqual(key);
    const users = await openUserRegistry({ stateDir, secretKey: key });
    await users.upsert({ polarUserId: '1', memberId: 'm', accessToken: TOKEN, expiresInS: null });
    const reopened = await openUserRegistry({ stateDir, secretKey: await loadSecretKey(stateDir, undefined) });
    expect(reopened.accessToken('1')).toBe(TOKEN);
  });

  it('refuses an env key that is not 32 bytes, and a wrong key cannot decrypt', async () => {
    await expect(loadSecretKey(stateDir, Buffer.alloc(16).toString('base64'))).rejects.toMatchObject({ code: 'PL_CONFIG_INVALID' });
    const users = await openUserRegistry({ stateDir, secretKey: randomBytes(32) });
    await users.upsert({ polarUserId: '1', memberId: 'm', accessToken: TOKEN, expiresInS: null });
    await expect(openUserRegistry({ stateDir, secretKey: randomBytes(32) })).rejects.toMatchObject({ code: 'PL_STATE_SECRET_KEY_WRONG' });
  });

  it('a token that no longer decrypts among others that do is that user\'s error, not a wrong key', async () => {
    const key = randomBytes(32);
    const users = await openUserRegistry({ stateDir, secretKey: key });
    await users.upsert({ polarUserId: '1', memberId: 'a', accessToken: TOKEN, expiresInS: null });
    await users.upsert({ polarUserId: '2', memberId: 'b', accessToken: TOKEN, expiresInS: null });
    const file = join(stateDir, 'users.json');
    const stored = JSON.parse(await readFile(file, 'utf8'));
    stored.users[0].token.tag = Buffer.alloc(16).toString('base64');
    await writeFile(file, JSON.stringify(stored));
    const reopened = await openUserRegistry({ stateDir, secretKey: key });
    expect(() => reopened.accessToken('1')).toThrow(SecretDecryptError);
    expect(reopened.accessToken('2')).toBe(TOKEN);
  });

  it('secret.key missing beside stored tokens: a typed error, and no new key is written', async () => {
    const key = await loadSecretKey(stateDir, undefined);
    const users = await openUserRegistry({ stateDir, secretKey: key });
    await users.upsert({ polarUserId: '1', memberId: 'a', accessToken: TOKEN, expiresInS: null });
    await rm(join(stateDir, 'secret.key'));
    await expect(loadSecretKey(stateDir, undefined)).rejects.toMatchObject({ code: 'PL_STATE_SECRET_KEY_MISSING' });
    await expect(stat(join(stateDir, 'secret.key'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(openUserRegistry({ stateDir })).rejects.toMatchObject({ code: 'PL_STATE_SECRET_KEY_MISSING' });
  });

  it('401 marks needs_reauth, 403 needs_consent, a 5xx changes nothing; only active users are polled', async () => {
    const key = randomBytes(32);
    const users = await openUserRegistry({ stateDir, secretKey: key });
    await users.upsert({ polarUserId: '1', memberId: 'a', accessToken: TOKEN, expiresInS: null });
    await users.upsert({ polarUserId: '2', memberId: 'b', accessToken: TOKEN, expiresInS: null });
    await users.upsert({ polarUserId: '3', memberId: 'c', accessToken: TOKEN, expiresInS: null });
    expect(await users.markFromError('1', new AccessLinkUnauthorizedError(ctx))).toBe('needs_reauth');
    expect(await users.markFromError('2', new AccessLinkConsentRequiredError({ ...ctx, status: 403 }))).toBe('needs_consent');
    expect(await users.markFromError('3', new AccessLinkServerError({ ...ctx, status: 502 }))).toBeUndefined();
    const reopened = await openUserRegistry({ stateDir, secretKey: key });
    expect(reopened.get('1')).toMatchObject({ status: 'needs_reauth', statusReason: 'PL_ACCESSLINK_UNAUTHORIZED' });
    expect(reopened.get('2')?.status).toBe('needs_consent');
    expect([reopened.isPollable('1'), reopened.isPollable('2'), reopened.isPollable('3')]).toEqual([false, false, true]);
  });

  it('deregistering drops the token; re-enrolling makes the user active again', async () => {
    const users = await openUserRegistry({ stateDir, secretKey: randomBytes(32) });
    await users.upsert({ polarUserId: '5', memberId: 'm', accessToken: TOKEN, expiresInS: null });
    await users.setStatus('5', 'deregistered');
    expect(() => users.accessToken('5')).toThrow(UserTokenUnavailableError);
    await users.upsert({ polarUserId: '5', memberId: 'm', accessToken: 'new-token', expiresInS: null });
    expect(users.get('5')?.status).toBe('active');
    expect(users.accessToken('5')).toBe('new-token');
  });

  it('two registries on one directory do not undo each other (read-modify-write)', async () => {
    const key = randomBytes(32);
    const a = await openUserRegistry({ stateDir, secretKey: key });
    const b = await openUserRegistry({ stateDir, secretKey: key });
    await a.upsert({ polarUserId: '1', memberId: 'a', accessToken: TOKEN, expiresInS: null });
    await b.upsert({ polarUserId: '2', memberId: 'b', accessToken: TOKEN, expiresInS: null });
    await a.reload();
    expect(a.list().map((u) => u.polarUserId)).toEqual(['1', '2']);
  });
});
