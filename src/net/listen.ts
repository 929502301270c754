/**
 * Starting an HTTP server (metrics and status, webhook receiver, simulator, OAuth callback) with a
 * typed error when the address cannot be had: a port in use is an operator's problem to fix, so
 * it must be a clear error and an exit, never a stack trace or a process left half started.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PolarLakeError } from '../errors.ts';

export class ListenFailedError extends PolarLakeError {
  readonly code = 'PL_LISTEN_FAILED';
  readonly kind = 'config';
  constructor(readonly what: string, readonly address: string, reason: string, options: { cause: unknown }) {
    super(`${what} cannot listen on ${address}: ${reason}`, options);
  }
}

function reasonOf(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return 'the port is already in use (another polar-lake, or another program); choose another port';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges)';
    case 'EADDRNOTAVAIL':
      return 'no network interface has this address';
    default:
      return error.message;
  }
}

/** Listens, resolving with the bound address; rejects with ListenFailedError. */
export function listen(server: Server, port: number, host: string, what: string): Promise<AddressInfo> {
  return new Promise<AddressInfo>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(new ListenFailedError(what, `${host}:${port}`, reasonOf(error), { cause: error }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}
