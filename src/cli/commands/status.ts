/**
 * `polar-lake status [--url URL] [--json]`: what the status page shows, in a terminal. Asks the
 * running process (its /status.json, at --url or POLAR_LAKE_METRICS_LISTEN); when none is
 * configured or none answers, tells what the state and lake folders alone can: users and
 * their states, the lake's size.
 */
import type { Command } from 'commander';
import { ConfigError, PolarLakeError } from '../../errors.ts';
import type { StatusSnapshot } from '../../telemetry/status.ts';

export class StatusUnreachableError extends PolarLakeError {
  readonly code = 'PL_STATUS_UNREACHABLE';
  readonly kind = 'transient';
}

async function fromProcess(url: string): Promise<StatusSnapshot> {
  const target = `${url.replace(/\/+$/, '')}/status.json`;
  try {
    const response = await fetch(target, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return (await response.json()) as StatusSnapshot;
  } catch (cause) {
    throw new StatusUnreachableError(`no status from ${target}: ${(cause as Error).message}`, { cause });
  }
}

async function fromFolders(): Promise<StatusSnapshot> {
  const [{ loadConfig }, { openUserRegistry }, { TABLE_NAMES }, { folderStatus }] = await Promise.all([
    import('../../config.ts'), import('../../state/users.ts'), import('../../lake/schema.ts'), import('../../telemetry/status.ts'),
  ]);
  const config = loadConfig();
  const users = await openUserRegistry({ stateDir: config.stateDir });
  return folderStatus(users.list(), config.lakeDir, TABLE_NAMES, Date.now());
}

export function register(program: Command): void {
  program
    .command('status')
    .description('users, last fetches, throughput and lag, budget, dead letters and lake size, from a running process or the folders')
    .option('--url <url>', 'a running process\'s telemetry origin (default: http://$POLAR_LAKE_METRICS_LISTEN, else the folders)')
    .option('--json', 'print the snapshot as JSON')
    .action(async (opts: { url?: string; json?: boolean }) => {
      if (opts.url !== undefined && !/^https?:\/\/[^/]+/.test(opts.url)) throw new ConfigError(`expected an http(s) URL, got ${JSON.stringify(opts.url)}`, '--url');
      const listen = process.env['POLAR_LAKE_METRICS_LISTEN'];
      let snapshot: StatusSnapshot;
      if (opts.url) snapshot = await fromProcess(opts.url);
      else if (listen) snapshot = await fromProcess(`http://${listen}`).catch(() => fromFolders());
      else snapshot = await fromFolders();
      if (opts.json) console.log(JSON.stringify(snapshot, null, 2));
      else process.stdout.write((await import('../../telemetry/status-text.ts')).renderStatusText(snapshot));
    });
}
