import type { Command } from 'commander';
import { assertFolderOrAbsent } from '../input-path.ts';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { enrolUser } from '../../accesslink/enrol.ts';
import { ConfigError } from '../../errors.ts';
import { createApp } from '../../app.ts';
import { openLakeViews } from '../../lake/views.ts';
import { DEFAULT_PIPELINE_FILE, loadPipeline } from '../../pipeline/load.ts';
import { startSimulator } from '../../simulator/index.ts';
import { createLogger } from '../../telemetry/log.ts';
import { DATE_BASED_TABLES } from '../../records/rows-date-based.ts';

const MARKER = '.polar-lake-demo';

/**
 * `polar-lake demo`: the whole product on one machine with no credentials. Starts the
 * AccessLink simulator, enrols its users through the real OAuth2 code flow, runs
 * fetch → parse → sink once on the embedded bus and prints what the lake holds.
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description('run the pipeline once against the bundled AccessLink simulator and print a summary from the lake')
    .option('--dir <dir>', 'where the demo lake and state go (wiped first if it is a previous demo)', 'demo-lake')
    .option('--users <n>', 'simulated users', (v) => Number.parseInt(v, 10), 3)
    .option('--exercises <n>', 'exercises per user', (v) => Number.parseInt(v, 10), 3)
    .option('--seed <n>', 'simulator seed', (v) => Number.parseInt(v, 10), 1)
    .action(async (opts: { dir: string; users: number; exercises: number; seed: number }) => {
      const started = Date.now();
      const dir = assertFolderOrAbsent(resolve(opts.dir));
      if (existsSync(dir)) {
        if (!existsSync(join(dir, MARKER)) && readdirSync(dir).length > 0) {
          throw new ConfigError('exists and is not a previous demo; pass --dir to use another folder', dir);
        }
        rmSync(dir, { recursive: true, force: true });
      }
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, MARKER), 'created by polar-lake demo\n');
      const logger = createLogger({ level: process.env['POLAR_LAKE_LOG_LEVEL'] === 'debug' ? 'debug' : 'warn' });

      const sim = await startSimulator({ seed: opts.seed, users: opts.users, exercisesPerUser: opts.exercises });
      console.log(`AccessLink simulator on ${sim.apiBaseUrl} with ${sim.accounts.length} users`);
      const app = await createApp({
        lakeDir: join(dir, 'lake'),
        stateDir: join(dir, 'state'),
        pipeline: loadPipeline(DEFAULT_PIPELINE_FILE),
        logger,
        accesslink: {
          apiBaseUrl: sim.apiBaseUrl, authorizeUrl: sim.authorizeUrl, tokenUrl: sim.tokenUrl,
          redirectUri: sim.redirectUri, clientId: sim.clientId, clientSecret: sim.clientSecret,
        },
      });
      try {
        for (const account of sim.accounts) {
          const state = randomBytes(16).toString('hex');
          const { code } = await sim.approve(account.login, state); // the user clicks "accept" in Flow
          const { user } = await enrolUser({ oauth: app.oauth!, client: app.client!, users: app.users, code, memberId: `demo-${account.login}` });
          console.log(`enrolled ${account.login} as Polar user ${user.polarUserId} (OAuth2 code flow + POST /v3/users)`);
        }
        await app.startConsumers();
        const report = await app.runOnce();
        console.log(
          `fetched ${report.exercisesFetched} exercises in ${report.transactionsCommitted} committed transactions ` +
            `(${report.payloadsStored} payloads, ${(report.bytesStored / 1e6).toFixed(1)} MB into the raw zone)`,
        );
      } finally {
        await app.close();
      }

      const delivered = sim.committedExercises();
      await sim.close();
      const db = await openLakeViews(join(dir, 'lake'));
      try {
        const reader = await db.conn.runAndReadAll(`
          SELECT e.user_id, count(DISTINCT e.exercise_id) AS exercises,
                 (SELECT count(*) FROM samples s WHERE s.user_id = e.user_id) AS samples,
                 (SELECT round(avg(heart_rate_bpm), 1) FROM samples s WHERE s.user_id = e.user_id) AS avg_heart_rate_bpm,
                 string_agg(DISTINCT e.sport, ', ') AS sports
          FROM exercises e GROUP BY e.user_id ORDER BY e.user_id`);
        console.log('\nuser_id      exercises  samples  avg_heart_rate_bpm  sports');
        for (const r of reader.getRowObjectsJS()) {
          console.log(`${String(r['user_id']).padEnd(12)} ${String(r['exercises']).padStart(9)} ${String(r['samples']).padStart(8)} ${String(r['avg_heart_rate_bpm']).padStart(19)}  ${String(r['sports'])}`);
        }
        const total = Number((await db.conn.runAndReadAll('SELECT count(*) AS n FROM samples')).getRowObjectsJS()[0]?.['n']);
        const expected = delivered.reduce((sum, e) => sum + e.trackpoints, 0);
        const ok = total === expected;
        console.log(`\nsamples in the lake: ${total}; trackpoints the simulator delivered: ${expected} ${ok ? '(exactly once)' : '(MISMATCH)'}`);
        const daily = (await db.conn.runAndReadAll('SELECT (SELECT count(*) FROM daily_activity) AS days, (SELECT count(*) FROM sleep) AS nights')).getRowObjectsJS()[0];
        console.log(`daily tables: ${String(daily?.['days'])} daily_activity days, ${String(daily?.['nights'])} sleep nights (one row per user and local date)`);
        const dateBased = (await db.conn.runAndReadAll(DATE_BASED_TABLES.map((t) => `SELECT '${t}' AS t, count(*) AS n FROM ${t}`).join(' UNION ALL '))).getRowObjectsJS();
        console.log(`night, heart and biosensing tables: ${dateBased.map((r) => `${String(r['t'])} ${String(r['n'])}`).join(', ')}`);
        console.log(`lake: ${join(dir, 'lake')}  (try: node bin/polar-lake.mjs query --lake ${opts.dir}/lake "select * from exercises")`);
        console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        if (!ok) process.exitCode = 1;
      } finally {
        db.close();
      }
    });
}
