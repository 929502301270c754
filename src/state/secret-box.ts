/**
 * AES-256-GCM for secrets at rest (access tokens). The key comes from `POLAR_LAKE_SECRET_KEY`
 * (base64 of 32 bytes) or else from `<stateDir>/secret.key`, created with mode 0600 on first
 * use. Each ciphertext is bound to a context string (the user id) as additional data, so a
 * token copied onto another user's record fails to decrypt instead of being used.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, PolarLakeError } from '../errors.ts';
import { createFileDurable } from '../fs/durable.ts';

export interface SealedSecret {
  readonly v: 1;
  readonly iv: string;
  readonly tag: string;
  readonly data: string;
}

export class SecretDecryptError extends PolarLakeError {
  readonly code = 'PL_STATE_SECRET_UNREADABLE';
  readonly kind = 'config';
  constructor(readonly context: string, options?: { cause?: unknown }) {
    super(`cannot decrypt the secret stored for ${context}: wrong POLAR_LAKE_SECRET_KEY / secret.key, or a tampered state file`, options);
  }
}

export interface SecretBox {
  seal(plaintext: string, context: string): SealedSecret;
  open(sealed: SealedSecret, context: string): string;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new ConfigError(`the secret key must be 32 bytes, got ${key.length}`, 'POLAR_LAKE_SECRET_KEY');
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
    },
    open(sealed, context) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
        return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new SecretDecryptError(context, { cause });
      }
    },
  };
}

export class SecretKeyMissingError extends PolarLakeError {
  readonly code = 'PL_STATE_SECRET_KEY_MISSING';
  readonly kind = 'config';
  constructor(readonly stateDir: string, readonly sealedIn: readonly string[]) {
    super(
      `${join(stateDir, KEY_FILE)} is missing but ${sealedIn.join(' and ')} hold${sealedIn.length === 1 ? 's' : ''} secrets encrypted with it: ` +
        'restore the key file or set POLAR_LAKE_SECRET_KEY. No new key was created, because it could not decrypt them.',
    );
  }
}

export class SecretKeyWrongError extends PolarLakeError {
  readonly code = 'PL_STATE_SECRET_KEY_WRONG';
  readonly kind = 'config';
  constructor(readonly file: string, options?: { cause?: unknown }) {
    super(`the secret key decrypts none of the secrets in ${file}: wrong POLAR_LAKE_SECRET_KEY or secret.key (nothing was changed)`, options);
  }
}

const KEY_FILE = 'secret.key';
/** State files that hold secrets sealed with the key (users.json: tokens; webhook.json: the signing key). */
const SEALED_FILES = ['users.json', 'webhook.json'];

/** Which state files already hold sealed secrets: a key must never be created beside them. */
async function sealedStateFiles(stateDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of SEALED_FILES) {
    const text = await readFile(join(stateDir, name), 'utf8').catch(() => null);
    // Any sealed value has these three fields; an empty registry has none.
    if (text !== null && text.includes('"iv"') && text.includes('"tag"')) found.push(join(stateDir, name));
  }
  return found;
}

/**
 * Loads the key from the env value when given, else from `<stateDir>/secret.key`. The key file is
 * created (mode 0600) only on first use: when it is missing while state files hold secrets
 * sealed with it, that is a SecretKeyMissingError, never a fresh key beside unreadable tokens.
 */
export async function loadSecretKey(stateDir: string, envValue: string | undefined = process.env['POLAR_LAKE_SECRET_KEY']): Promise<Buffer> {
  if (envValue !== undefined && envValue !== '') {
    const key = Buffer.from(envValue, 'base64');
    if (key.length !== 32) throw new ConfigError(`must be base64 of exactly 32 bytes (decoded ${key.length})`, 'POLAR_LAKE_SECRET_KEY');
    return key;
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, KEY_FILE);
  const existing = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new ConfigError(`cannot read the secret key: ${error.message}`, path, { cause: error });
  });
  if (existing === null) {
    const sealed = await sealedStateFiles(stateDir);
    if (sealed.length > 0) throw new SecretKeyMissingError(stateDir, sealed);
    const key = randomBytes(32);
    // Whole or not at all, and never over a key another process created meanwhile.
    if (await createFileDurable(path, key.toString('base64') + '\n', { mode: 0o600 })) return key;
  }
  const key = Buffer.from((existing ?? (await readFile(path, 'utf8'))).trim(), 'base64');
  if (key.length !== 32) throw new ConfigError(`must hold base64 of exactly 32 bytes (decoded ${key.length})`, path);
  return key;
}
