import { PolarLakeError } from '../errors.ts';

/** The broker or the bus log could not be reached or written; retrying later may succeed. */
export class BusUnavailableError extends PolarLakeError {
  readonly code = 'PL_BUS_UNAVAILABLE';
  readonly kind = 'transient';
  constructor(
    message: string,
    readonly topic?: string,
    options?: { cause?: unknown },
  ) {
    super(topic ? `${topic}: ${message}` : message, options);
  }
}

/** The bus (or the subscription) was closed; the call can never succeed on this instance. */
export class BusClosedError extends PolarLakeError {
  readonly code = 'PL_BUS_CLOSED';
  readonly kind = 'terminal';
  constructor(message: string) {
    super(message);
  }
}

/** A caller used the bus in a way it does not support (bad topic name, overlapping consumers). */
export class BusUsageError extends PolarLakeError {
  readonly code = 'PL_BUS_USAGE';
  readonly kind = 'config';
  constructor(message: string) {
    super(message);
  }
}

/** A durable embedded log holds bytes that are not a valid record outside its torn tail. */
export class BusLogCorruptError extends PolarLakeError {
  readonly code = 'PL_BUS_LOG_CORRUPT';
  readonly kind = 'terminal';
  constructor(
    message: string,
    readonly file: string,
    readonly position: number,
  ) {
    super(`${file} @${position}: ${message}`);
  }
}
