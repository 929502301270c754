/**
 * polar-lake command line. Each command lives in src/cli/commands/<name>.ts and exports
 * `register(program)`; this file only assembles them (loading the one that runs, see
 * commands/index.ts) and turns errors into exit codes.
 */
import { Command } from 'commander';
import { PolarLakeError } from '../errors.ts';
import { registerCommands } from './commands/index.ts';

const program = new Command('polar-lake')
  .description('Polar Open AccessLink → raw zone → bus → streaming parsers → partitioned Parquet → DuckDB')
  .showHelpAfterError();

await registerCommands(program, process.argv.slice(2));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Typed errors carry their own context (file, path, position); print them plainly.
  if (error instanceof PolarLakeError) {
    console.error(`polar-lake: ${error.code}: ${error.message}`);
    process.exitCode = error.kind === 'config' ? 78 : 1;
  } else {
    console.error(error);
    process.exitCode = 1;
  }
}
