import type { Command } from 'commander';

/**
 * Every CLI command, in the order `--help` lists them. A command's module (and with it DuckDB,
 * kafkajs, Arrow, the parsers) is imported only when that command runs, so `polar-lake --help`
 * starts in a fraction of the time; `summary` is what the top-level help shows for the commands
 * not loaded, and test/unit/cli-commands.test.ts keeps it equal to the module's own description.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<{ register(program: Command): void }>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'demo', summary: 'run the pipeline once against the bundled AccessLink simulator and print a summary from the lake', load: () => import('./demo.ts') },
  { name: 'run', summary: 'run the pipeline: fetch on the pipeline schedule, parse and sink continuously', load: () => import('./run.ts') },
  { name: 'status', summary: 'users, last fetches, throughput and lag, budget, dead letters and lake size, from a running process or the folders', load: () => import('./status.ts') },
  { name: 'users', summary: 'enrol, list and remove Polar users (tokens are encrypted at rest and never shown)', load: () => import('./users.ts') },
  { name: 'webhook', summary: "manage the client's AccessLink webhook (signing key stored encrypted, never shown)", load: () => import('./webhook.ts') },
  { name: 'import', summary: 'import a folder or zip of workout files (Flow export, HRM, PPT XML, TCX/GPX/FIT) for one user; idempotent', load: () => import('./import.ts') },
  { name: 'replay', summary: 're-parse every raw object into the lake (idempotent: replaces, never doubles)', load: () => import('./replay.ts') },
  { name: 'parse', summary: 'parse one TCX / GPX / FIT file (gzip or not) and print what it holds, or every record with --jsonl', load: () => import('./parse.ts') },
  { name: 'query', summary: 'run SQL over the lake views (samples, laps, exercises)', load: () => import('./query.ts') },
  { name: 'compact', summary: 'merge the small files streaming wrote into large sorted zstd files (safe while the pipeline runs)', load: () => import('./compact.ts') },
  { name: 'lake', summary: 'inspect the lake', load: () => import('./lake.ts') },
  { name: 'lint', summary: 'validate pipeline files against schemas/pipeline.schema.json (cron expressions with node-cron\'s validator)', load: () => import('./lint.ts') },
  { name: 'simulate', summary: 'run a local Polar AccessLink v3 simulator (OAuth2, users, notifications, exercise transactions)', load: () => import('./simulate.ts') },
];

/**
 * The command a command line asks for: the first argument that is not an option (`help X`
 * asks for X). Null for `polar-lake`, `polar-lake --help` and other top-level calls.
 */
export function requestedCommand(args: readonly string[]): CommandEntry | null {
  const words = args.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return COMMANDS.find((c) => c.name === name) ?? null;
}

/**
 * Registers the requested command from its module and every other one as a stub that only
 * names itself in the help (it is never run: a command line runs one command).
 */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const requested = requestedCommand(args);
  for (const entry of COMMANDS) {
    if (entry === requested) (await entry.load()).register(program);
    else program.command(entry.name).description(entry.summary);
  }
}
