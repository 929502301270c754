import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, requestedCommand } from '../../src/cli/commands/index.ts';

const run = promisify(execFile);

describe('cli > commands', () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))('%s: the help summary is the description its module registers', async (name, entry) => {
    const program = new Command('polar-lake');
    (await entry.load()).register(program);
    const registered = program.commands.find((c) => c.name() === name);
    expect(registered?.description()).toBe(entry.summary);
  });

  it('finds the command a command line asks for, `help X` included', () => {
    expect(requestedCommand(['run', '--once'])?.name).toBe('run');
    expect(requestedCommand(['help', 'query'])?.name).toBe('query');
    expect(requestedCommand(['--help'])).toBeNull();
    expect(requestedCommand(['nonsense'])).toBeNull();
  });

  it('`polar-lake --help` (dist/) lists every command and loads neither DuckDB, kafkajs, Arrow nor a parser', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'polar-lake-imports-'));
    try {
      const log = join(dir, 'imports.log');
      const { stdout } = await run(process.execPath, ['--import', './test/helpers/record-imports.mjs', 'bin/polar-lake.mjs', '--help'], {
        env: { ...process.env, POLAR_LAKE_IMPORT_LOG: log },
      });
      for (const c of COMMANDS) expect(stdout).toContain(c.name);
      const loaded = readFileSync(log, 'utf8');
      expect(loaded).toContain('/dist/cli/main.js'); // the compiled CLI ran, not the sources
      expect(loaded).not.toMatch(/@duckdb|kafkajs|apache-arrow|saxes|fitsdk|\/dist\/app\.js/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
