/**
 * The exit codes of every polar-lake command, in one table (docs/exit-codes.md lists the same,
 * and a test keeps the two in step). Scripts and schedulers branch on them, so they are stable:
 * the sysexits.h numbers where one fits.
 */
import type { ErrorKind } from '../errors.ts';

export const EXIT = {
  /** Everything asked for was done. */
  ok: 0,
  /** The command ran, but something in it failed: a user or item not fetched, a file dead-lettered, a lint error, an unhealthy lake. */
  partial: 1,
  /** The command line is wrong: unknown command or option, a bad value. */
  usage: 2,
  /** Input that can never succeed (a malformed file given to `parse`). */
  dataError: 65,
  /** An unexpected error: a bug in polar-lake (run again with --debug for the stack, and report it). */
  internal: 70,
  /** A service or resource was unavailable; trying again later may work (network, broker, disk). */
  tempFail: 75,
  /** Configuration or state is wrong: credentials, secret key, pipeline file, lake path, a port in use. */
  config: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export function exitCodeForKind(kind: ErrorKind): ExitCode {
  return kind === 'config' ? EXIT.config : kind === 'terminal' ? EXIT.dataError : EXIT.tempFail;
}
