/**
 * Reading a 2xx response body: bounded, watched and checked, so that what reaches the raw
 * zone is whole and what is not is a typed, retryable error.
 *
 * - a cap per payload kind (`fetch.max_response_bytes`): a declared Content-Length over it is
 *   refused before reading, a body that grows past it is cut off there. Nothing is held
 *   whole: files stream to their consumer, JSON is buffered only up to its (smaller) cap;
 * - an idle timeout: a body that sends nothing for `bodyIdleTimeoutMs` is a stalled
 *   connection (PL_ACCESSLINK_NETWORK, ETIMEDOUT), not a hang;
 * - a connection reset mid-body is PL_ACCESSLINK_NETWORK (undici says `TypeError:
 *   terminated`, which used to surface as PL_UNEXPECTED);
 * - the body must match its Content-Length (when not content-encoded) and pass its kind's
 *   completeness check (./completeness.ts); otherwise PL_ACCESSLINK_INCOMPLETE_BODY.
 */
import { Readable } from 'node:stream';
import {
  AccessLinkIncompleteBodyError,
  AccessLinkNetworkError,
  AccessLinkPayloadTooLargeError,
  AccessLinkResponseError,
  networkErrorFrom,
  type RequestContext,
} from './errors.ts';
import { createCompletenessCheck, type CheckedFileKind } from './completeness.ts';

/** Response kinds with their own size cap. */
export type ResponseKind = 'json' | 'tcx' | 'gpx' | 'fit';

export type MaxResponseBytes = Readonly<Record<ResponseKind, number>>;

/**
 * Caps per kind. JSON is parsed whole, so its cap bounds memory; files stream to disk and are
 * capped against a runaway body. A 24-hour 1 Hz TCX is about 60 MB, a FIT about 10 MB.
 */
export const DEFAULT_MAX_RESPONSE_BYTES: MaxResponseBytes = Object.freeze({
  json: 64 * 1024 * 1024,
  tcx: 1024 * 1024 * 1024,
  gpx: 512 * 1024 * 1024,
  fit: 256 * 1024 * 1024,
});

/** @default 60000: a body that sends nothing for a minute is stalled. */
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 60_000;

export interface BodyOptions {
  readonly kind: ResponseKind;
  readonly maxBytes: number;
  readonly idleTimeoutMs: number;
}

type Context = RequestContext & { status: number };

/** Content-Length when it describes the bytes we will read (no content coding in between). */
function declaredLength(response: Response): number | undefined {
  if (response.headers.get('content-encoding')) return undefined;
  const value = response.headers.get('content-length');
  if (value === null || !/^\d{1,15}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/**
 * The body's chunks, as the checks above allow them through. The last chunk is yielded only
 * after every check passed, so a consumer that writes chunks to a temp file and renames on
 * end never renames an incomplete body.
 */
async function* checkedChunks(response: Response, context: Context, options: BodyOptions): AsyncGenerator<Buffer> {
  const declared = declaredLength(response);
  if (declared !== undefined && declared > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new AccessLinkPayloadTooLargeError(options.kind, options.maxBytes, context, declared);
  }
  const check = options.kind === 'json' ? null : createCompletenessCheck(options.kind as CheckedFileKind);
  let received = 0;
  let pending: Buffer | null = null; // held back one chunk: the last goes out only when checked
  if (response.body) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new AccessLinkNetworkError(context, 'ETIMEDOUT', { cause: new Error(`no body bytes for ${options.idleTimeoutMs} ms`) })), options.idleTimeoutMs);
        });
        let next: Awaited<ReturnType<typeof reader.read>>;
        try {
          next = await Promise.race([reader.read(), stalled]);
        } catch (error) {
          if (error instanceof AccessLinkNetworkError) throw error;
          throw networkErrorFrom(error, context) ?? new AccessLinkNetworkError(context, undefined, { cause: error });
        } finally {
          clearTimeout(timer);
        }
        if (next.done) break;
        const chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
        received += chunk.length;
        if (received > options.maxBytes) throw new AccessLinkPayloadTooLargeError(options.kind, options.maxBytes, context);
        if (check) await check.write(chunk);
        if (pending) yield pending;
        pending = chunk;
      }
    } finally {
      // Stops the download on any early exit (an error here, or the consumer giving up).
      await reader.cancel().catch(() => undefined);
    }
  }
  if (declared !== undefined && received !== declared) {
    throw new AccessLinkIncompleteBodyError(`Content-Length ${declared}`, context, received);
  }
  // An empty body is checked too (a file of no bytes is not a whole TCX, GPX or FIT), unless
  // the server said Content-Length: 0: then it is what the API has, for the parser to judge.
  const reason = check && !(declared === 0 && received === 0) ? await check.end() : null;
  if (reason) throw new AccessLinkIncompleteBodyError(reason, context, received);
  if (pending) yield pending;
}

/** The body as a stream for a consumer (the raw zone); errors are typed AccessLinkErrors. */
export function bodyStream(response: Response, context: Context, options: BodyOptions): Readable {
  return Readable.from(checkedChunks(response, context, options), { objectMode: false });
}

/** The whole body (JSON), at most `maxBytes`. */
export async function readBody(response: Response, context: Context, options: BodyOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of checkedChunks(response, context, options)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * JSON.parse with the failure classified: input that ends mid-value (V8: "Unexpected end of
 * JSON input", "Unterminated string", or an error at the last position) is an incomplete
 * body, retried; anything else is a body that is not JSON.
 */
export function parseJsonBody(raw: Buffer, context: Context): unknown {
  const text = raw.toString('utf8');
  // An empty 2xx body is the API saying nothing, not a cut: the caller's shape check decides.
  if (text.trim() === '') throw new AccessLinkResponseError('empty body where JSON was expected', context);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    const message = (cause as Error).message;
    const at = /at position (\d+)/.exec(message);
    const endsEarly = /end of JSON input|Unterminated/i.test(message) || (at !== null && Number(at[1]) >= text.trimEnd().length);
    if (endsEarly) throw new AccessLinkIncompleteBodyError('JSON ends mid-value', context, raw.length, { cause });
    throw new AccessLinkResponseError('body is not JSON', context, { cause });
  }
}
