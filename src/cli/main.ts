/**
 * polar-lake command line. Each command lives in src/cli/commands/<name>.ts and exports
 * `register(program)`; this file only assembles them (loading the one that runs, see
 * commands/index.ts) and turns errors into exit codes
 * (./exit-codes.ts). A person never sees a stack trace for an error of theirs: typed errors
 * print their code and message, anything else its message and a hint; `--debug` (or
 * POLAR_LAKE_DEBUG=1) prints the stack and the cause chain too.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { PolarLakeError } from '../errors.ts';
import { registerCommands } from './commands/index.ts';
import { EXIT, exitCodeForKind } from './exit-codes.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('polar-lake')
  .description('Polar Open AccessLink → raw zone → bus → streaming parsers → partitioned Parquet → DuckDB')
  .version(version, '-V, --version', 'print the polar-lake version')
  .option('--debug', 'on an error, print the stack trace and causes too')
  .showHelpAfterError()
  .exitOverride();

await registerCommands(program, process.argv.slice(2));
// Subcommands report usage errors through the same override, so they exit 2 as well.
const overrideAll = (command: Command): void => {
  for (const sub of command.commands) {
    sub.exitOverride();
    overrideAll(sub);
  }
};
overrideAll(program);

const debug = process.argv.includes('--debug') || process.env['POLAR_LAKE_DEBUG'] === '1';

function causeChain(error: unknown): string[] {
  const lines: string[] = [];
  for (let cause = (error as Error)?.cause; cause && lines.length < 10; cause = (cause as Error).cause) {
    lines.push(`  caused by: ${cause instanceof Error ? cause.stack ?? cause.message : String(cause)}`);
  }
  return lines;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and --version end here with code 0; a usage error has already been printed.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (error instanceof PolarLakeError) {
    // Typed errors carry their own context (file, path, position); print them plainly.
    console.error(`polar-lake: ${error.code}: ${error.message}`);
    if (debug) console.error([error.stack ?? '', ...causeChain(error)].join('\n'));
    process.exitCode = exitCodeForKind(error.kind);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`polar-lake: unexpected error: ${message}`);
    if (debug) console.error([(error as Error)?.stack ?? '', ...causeChain(error)].join('\n'));
    else console.error('polar-lake: run again with --debug for the stack trace; this is a bug worth reporting');
    process.exitCode = EXIT.internal;
  }
}
