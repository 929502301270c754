/**
 * Paths a person types on the command line, checked before any work starts, so a typo gives a
 * typed error naming the path and what is wrong with it instead of a Node stack trace.
 */
import { statSync } from 'node:fs';
import { PolarLakeError } from '../errors.ts';

export class InputPathError extends PolarLakeError {
  readonly code = 'PL_INPUT_PATH_INVALID';
  readonly kind = 'config';
  constructor(readonly path: string, reason: string, options?: { cause?: unknown }) {
    super(`${path}: ${reason}`, options);
  }
}

function describe(error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return 'no such file or folder';
  if (error.code === 'EACCES' || error.code === 'EPERM') return 'permission denied';
  if (error.code === 'ENOTDIR') return 'a part of the path is not a folder';
  if (error.code === 'ELOOP') return 'too many symbolic links (a loop?)';
  return error.message;
}

function stat(path: string) {
  try {
    return statSync(path);
  } catch (cause) {
    throw new InputPathError(path, describe(cause as NodeJS.ErrnoException), { cause });
  }
}

/** The path must be an existing regular file. */
export function assertFile(path: string): string {
  if (!stat(path).isFile()) throw new InputPathError(path, 'is a folder or a special file, not a file');
  return path;
}

/** The path must be an existing folder, or not exist at all (it will be created). */
export function assertFolderOrAbsent(path: string): string {
  try {
    if (!statSync(path).isDirectory()) throw new InputPathError(path, 'is a file, not a folder');
  } catch (error) {
    if (error instanceof InputPathError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputPathError(path, describe(error as NodeJS.ErrnoException), { cause: error });
  }
  return path;
}
