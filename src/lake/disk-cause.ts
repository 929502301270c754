/**
 * What a failed write says about the disk. Node's fs errors carry an errno code; DuckDB's
 * carry only the OS message ("No space left on device"), so both are read. The raw zone and
 * the lake put the cause in their error's code and message, so an operator sees "disk full"
 * or "read-only file system" rather than a bare "could not write".
 */
export type DiskCauseCode = 'ENOSPC' | 'EROFS' | 'EACCES';

export interface DiskCause {
  /** ENOSPC (EDQUOT counts as full too), EROFS, or EACCES (EPERM counts as denied too). */
  readonly errno: DiskCauseCode;
  /** For messages: "disk full", "read-only file system", "permission denied". */
  readonly what: string;
}

const BY_ERRNO: Readonly<Record<string, DiskCause>> = {
  ENOSPC: { errno: 'ENOSPC', what: 'disk full' },
  EDQUOT: { errno: 'ENOSPC', what: 'disk full (quota)' },
  EROFS: { errno: 'EROFS', what: 'read-only file system' },
  EACCES: { errno: 'EACCES', what: 'permission denied' },
  EPERM: { errno: 'EACCES', what: 'permission denied' },
};

const BY_MESSAGE: readonly [RegExp, string][] = [
  [/no space left on device/i, 'ENOSPC'],
  [/disk quota exceeded/i, 'EDQUOT'],
  [/read-only file system/i, 'EROFS'],
  [/permission denied/i, 'EACCES'],
  [/operation not permitted/i, 'EPERM'],
];

/** The disk cause of an error or of anything in its cause chain; undefined when none is known. */
export function diskCauseOf(error: unknown): DiskCause | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && BY_ERRNO[code]) return BY_ERRNO[code];
    for (const [pattern, errno] of BY_MESSAGE) if (pattern.test(current.message)) return BY_ERRNO[errno];
    current = current.cause;
  }
  return undefined;
}
