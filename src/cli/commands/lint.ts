import type { Command } from 'commander';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipeline } from '../../pipeline/load.ts';

/** `polar-lake lint [files...]`: validates pipeline files (default: every pipelines/*.yaml). */
export function register(program: Command): void {
  program
    .command('lint')
    .description('validate pipeline files against schemas/pipeline.schema.json')
    .argument('[files...]', 'pipeline files (default: pipelines/*.yaml)')
    .action((files: string[]) => {
      const targets = files.length > 0 ? files : readdirSync('pipelines').filter((f) => f.endsWith('.yaml')).map((f) => join('pipelines', f));
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
      if (failed > 0) process.exitCode = 1;
    });
}
