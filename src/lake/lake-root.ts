/**
 * What makes a folder a lake. Reading commands (query, doctor, compact, status) refuse a path
 * that is not one, so a mistyped `--lake` is an error instead of "0 rows" or "lake is healthy".
 * A lake is marked by `_polar_lake.json` at its root, written when the pipeline first opens it;
 * a lake written before the marker existed is recognised by its raw zone or a table folder.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createFileDurable } from '../fs/durable.ts';
import { join } from 'node:path';
import { PolarLakeError } from '../errors.ts';
import { TABLE_NAMES } from './schema.ts';

export const LAKE_MARKER = '_polar_lake.json';

export class LakeNotFoundError extends PolarLakeError {
  readonly code = 'PL_LAKE_NOT_FOUND';
  readonly kind = 'config';
  constructor(readonly lakeDir: string, reason: string) {
    super(`${lakeDir} is not a polar-lake lake: ${reason} (set --lake or POLAR_LAKE_DIR to the folder \`polar-lake run\` writes)`);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Throws LakeNotFoundError unless `lakeDir` is a lake; returns it unchanged. */
export function assertLake(lakeDir: string): string {
  if (!existsSync(lakeDir)) throw new LakeNotFoundError(lakeDir, 'no such folder');
  if (!isDirectory(lakeDir)) throw new LakeNotFoundError(lakeDir, 'not a folder');
  const known = [LAKE_MARKER, 'raw', ...TABLE_NAMES];
  if (!known.some((name) => existsSync(join(lakeDir, name)))) {
    throw new LakeNotFoundError(lakeDir, `it holds neither ${LAKE_MARKER} nor a raw zone nor a table folder`);
  }
  return lakeDir;
}

/** Creates the lake folder and its marker if missing (writers call this when they open a lake). */
export async function ensureLake(lakeDir: string): Promise<void> {
  mkdirSync(lakeDir, { recursive: true });
  const marker = join(lakeDir, LAKE_MARKER);
  if (existsSync(marker)) return;
  // Created once, whole; another process opening the same lake may have written it first.
  await createFileDurable(marker, JSON.stringify({ format: 'polar-lake', version: 1 }) + '\n', { mode: 0o644 });
}
