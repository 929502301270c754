/**
 * One error base for the whole project. Every error has a stable `code` (documented in
 * docs/errors.md, kept in step by a test), a `kind` that tells the caller whether retrying
 * can help, and the underlying `cause`.
 *
 * - `transient`: retry later (network, 5xx, a broker not yet ready).
 * - `terminal`: this input will never succeed (a malformed file): dead-letter it, move on.
 * - `config`: an operator has to act (bad credentials, revoked token, invalid pipeline file).
 *
 * Messages never contain a secret or a response body that may hold one.
 */
export type ErrorKind = 'transient' | 'terminal' | 'config';

export abstract class PolarLakeError extends Error {
  abstract readonly code: `PL_${string}`;
  abstract readonly kind: ErrorKind;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** A plain object safe to log or put on the dead-letter topic. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, kind: this.kind, message: this.message };
    for (const [k, v] of Object.entries(this)) {
      if (k !== 'cause' && v !== undefined && typeof v !== 'function') out[k] = v;
    }
    if (this.cause instanceof Error) out['cause'] = this.cause.message;
    return out;
  }
}

/** A configuration value is missing or invalid (env var, pipeline file, CLI flag). */
export class ConfigError extends PolarLakeError {
  readonly code = 'PL_CONFIG_INVALID';
  readonly kind = 'config';
  constructor(
    message: string,
    readonly where?: string,
    options?: { cause?: unknown },
  ) {
    super(where ? `${where}: ${message}` : message, options);
  }
}

/** True when retrying the operation may succeed. Unknown errors count as transient. */
export function isRetriable(error: unknown): boolean {
  if (error instanceof PolarLakeError) return error.kind === 'transient';
  // Programming errors never get better by retrying (the kafkajs retrier's rule).
  return !(error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError || error instanceof ReferenceError);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
