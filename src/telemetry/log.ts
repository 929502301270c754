/**
 * Structured JSON logs on stderr, one object per line, written by pino. Normal operation is
 * quiet at `info` (set POLAR_LAKE_LOG_LEVEL=debug for more). Every line names what happened
 * in `event`; call sites pass fields beside it.
 *
 * Secrets are redacted by path (REDACT_PATHS), as a last line of defence: code should never
 * pass a token here in the first place. Paths, not a pattern over every key, so that a count
 * keyed by an error code (`errors_by_code.PL_STATE_SECRET_UNREADABLE`) stays a count.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

const SECRET_KEYS = [
  'token', 'access_token', 'refresh_token', 'accessToken', 'refreshToken', 'authorization', 'Authorization', 'cookie', 'password',
  'secret', 'client_secret', 'clientSecret', 'signing_key', 'signingKey', 'signature', 'authorization_code', 'auth_code', 'code_verifier',
];

/** Where a secret could sit in a log line: at the top, one level down, and in request headers. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  'headers.authorization', 'headers.cookie', '*.headers.authorization', '*.headers.cookie',
];

/** Keys pino or this module write on every line: a field of that name is renamed, never overwrites. */
const RESERVED = new Set(['event', 'level', 'time', 'pid', 'hostname', 'msg']);

function fieldsOf(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!fields) return {};
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    if (!RESERVED.has(key)) continue;
    out ??= { ...fields };
    delete out[key];
    out[`${key}_field`] = fields[key];
  }
  return out ?? fields;
}

/** Errors keep their name, message, PL_* code and kind; stacks stay out of operator logs. */
function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return value;
  const e = value as Error & { code?: unknown; kind?: unknown };
  return { name: e.name, message: e.message, ...(e.code !== undefined ? { code: e.code } : {}), ...(e.kind !== undefined ? { kind: e.kind } : {}) };
}

function wrap(p: PinoLogger): Logger {
  return {
    debug: (event, fields) => p.debug(fieldsOf(fields), event),
    info: (event, fields) => p.info(fieldsOf(fields), event),
    warn: (event, fields) => p.warn(fieldsOf(fields), event),
    error: (event, fields) => p.error(fieldsOf(fields), event),
    child: (bindings) => wrap(p.child(fieldsOf(bindings))),
  };
}

export function createLogger(
  options: { level?: LogLevel; bindings?: Record<string, unknown>; write?: (line: string) => void } = {},
): Logger {
  const level = options.level ?? ((process.env['POLAR_LAKE_LOG_LEVEL'] as LogLevel | undefined) ?? 'info');
  const write = options.write;
  const destination = write ? { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) } : pino.destination({ fd: 2, sync: true });
  const p = pino(
    {
      level,
      base: null,
      messageKey: 'event',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      serializers: { error: serializeError, err: serializeError, cause: serializeError },
    },
    destination,
  );
  return wrap(options.bindings ? p.child(fieldsOf(options.bindings)) : p);
}

export const silentLogger: Logger = createLogger({ level: 'silent' });

