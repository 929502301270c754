import type { Command } from 'commander';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_PIPELINE_FILE, loadPipeline } from '../../pipeline/load.ts';
import { EXIT } from '../exit-codes.ts';

/**
 * The files `lint` checks when none are named: every pipelines/*.yaml of the working folder when
 * there is one (a checkout or a deployment's config folder), else the pipelines polar-lake ships,
 * so lint works from any folder.
 */
function defaultTargets(): string[] {
  const dir = existsSync('pipelines') ? 'pipelines' : dirname(DEFAULT_PIPELINE_FILE);
  return readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort().map((f) => join(dir, f));
}

/** `polar-lake lint [files...]`: validates pipeline files (default: every pipelines/*.yaml). */
export function register(program: Command): void {
  program
    .command('lint')
    .description('validate pipeline files against schemas/pipeline.schema.json (cron expressions with node-cron\'s validator)')
    .argument('[files...]', 'pipeline files (default: ./pipelines/*.yaml, else the pipelines polar-lake ships)')
    .action((files: string[]) => {
      const targets = files.length > 0 ? files : defaultTargets();
      let failed = 0;
      for (const file of targets) {
        try {
          loadPipeline(file);
          console.log(`ok    ${file}`);
        } catch (error) {
          failed++;
          console.log(`error ${(error as Error).message}`);
        }
      }
      if (failed > 0) process.exitCode = EXIT.partial;
    });
}
