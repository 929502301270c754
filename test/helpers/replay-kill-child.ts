/** Child process for the SIGKILL test: replays with checkpoints of one item and kills itself after the second. */
import { runReplay } from '../../src/jobs/replay/job.ts';
import { createJobProgress } from '../../src/jobs/progress.ts';
import { loadPipeline } from '../../src/pipeline/load.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

const [lakeDir, stateDir] = process.argv.slice(2) as [string, string];
await runReplay({
  lakeDir, stateDir, pipeline: loadPipeline('pipelines/default.yaml'), logger: silentLogger, workers: 2, checkpointItems: 1,
  progress: createJobProgress({ job: 'replay', mode: 'silent' }),
  afterCheckpoint: (journaled) => {
    if (journaled >= 3) process.kill(process.pid, 'SIGKILL');
  },
});
console.error('replay finished without being killed');
