/**
 * Structured JSON logs on stderr, one object per line. Normal operation is quiet at `info`
 * (set POLAR_LAKE_LOG_LEVEL=debug for more). Fields whose names look like secrets are
 * redacted before anything is written, as a last line of defence: code should never pass
 * a token here in the first place.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
// `code` alone is an error code (PL_*), so it is not redacted; OAuth codes are never logged, and
// a field that holds one would be named `authorization_code`, which this pattern catches.
const SECRET_FIELD = /token|secret|password|authorization|signature|cookie|auth_?code/i;

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_FIELD.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = { name: v.name, message: v.message, ...('code' in v ? { code: (v as { code: unknown }).code } : {}) };
    else if (v && typeof v === 'object' && !Array.isArray(v)) out[k] = redact(v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

export function createLogger(
  options: { level?: LogLevel; bindings?: Record<string, unknown>; write?: (line: string) => void } = {},
): Logger {
  const level = options.level ?? ((process.env['POLAR_LAKE_LOG_LEVEL'] as LogLevel | undefined) ?? 'info');
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const bindings = options.bindings ?? {};
  const emit = (lvl: LogLevel, event: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(JSON.stringify(redact({ time: new Date().toISOString(), level: lvl, event, ...bindings, ...fields })));
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (b) => createLogger({ level, bindings: { ...bindings, ...b }, write }),
  };
}

export const silentLogger: Logger = createLogger({ level: 'silent' });
