/**
 * The status page in a real headless browser (Debian's chromium driven by playwright-core), and
 * `polar-lake status` as a process, over one pipeline run in which one user's token is refused
 * (401: needs_reauth) and one TCX is an HTML error page (a dead letter).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { sampleHistory, serveAppTelemetry } from '../../src/telemetry/app-telemetry.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import type { TelemetryServer } from '../../src/telemetry/server.ts';
import { startSimulatedApp, type SimulatedApp } from '../helpers/simulator-app.ts';

const run = promisify(execFile);

/** Debian's chromium (`.ci/run` installs it), or CHROMIUM_PATH. */
function chromiumPath(): string {
  const path = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`no chromium at ${path}: apt-get install -y chromium (bash .ci/run does), or set CHROMIUM_PATH`);
  return path;
}

describe('telemetry > status page', () => {
  let t: SimulatedApp;
  let sim: Simulator;
  let app: App;
  let server: TelemetryServer;
  let refused: string;
  let victim: string;

  beforeAll(async () => {
    t = await startSimulatedApp({ seed: 21, users: 2, exercisesPerUser: 2, durationRangeS: [300, 600] });
    ({ sim, app } = t);
    refused = sim.accounts[1]!.polarUserId;
    sim.injectFault({ method: 'POST', path: new RegExp(`/v3/users/${refused}/exercise-transactions$`), status: 401, times: 1 });
    const bad = sim.pendingExercises(sim.accounts[0]!.polarUserId).find((e) => e.hasTcx && !e.hasFit)!;
    victim = bad.exerciseId;
    sim.injectFault({
      method: 'GET', path: new RegExp(`/exercises/${victim}/tcx$`), status: 200, headers: { 'content-type': 'application/vnd.garmin.tcx+xml' },
      body: '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>\n', times: 1,
    });
    await sampleHistory(app);
    await app.runOnce();
    await sampleHistory(app);
    server = await serveAppTelemetry(app, { host: '127.0.0.1', port: 0, stages: ['fetch', 'parse', 'sink'], logger: silentLogger, started: () => true, sampleEveryMs: 0 });
  });

  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it('shows users, charts, budget, dead letters and lake size in chromium (screenshot in test-results/)', async () => {
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu'] });
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
      const response = await page.goto(`${server.url}/status`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('polar-lake status');

      const users = await page.locator('#users tbody tr').allInnerTexts();
      expect(users).toHaveLength(2);
      const refusedRow = users.find((r) => r.startsWith(refused))!;
      expect(refusedRow).toContain('needs_reauth (PL_ACCESSLINK_UNAUTHORIZED)');
      expect(refusedRow).toContain('exercise FAILED');
      const okRow = users.find((r) => !r.startsWith(refused))!;
      expect(okRow).toMatch(/\bactive\b/);
      expect(okRow).toMatch(/exercise ok \d{4}-\d\d-\d\dT/);
      expect(okRow).toMatch(/daily ok/);

      // Three charts, drawn: the rows-written chart has a line over the two samples.
      await expect(page.locator('figure.chart svg').count()).resolves.toBe(3);
      const rowsChart = page.locator('figure[data-chart="rows written per minute"]');
      expect(await rowsChart.locator('polyline, circle').count()).toBeGreaterThan(0);
      expect(await rowsChart.locator('figcaption').innerText()).toMatch(/now \d+ rows/);
      expect(await page.locator('#lag-now').innerText()).toBe('lag now: parse 0, sink 0');

      const budget = await page.locator('#budget .budget').allInnerTexts();
      expect(budget.map((b) => b.split(/\s/)[0])).toEqual(['short_term', 'long_term']);
      expect(budget[0]).toMatch(/\d+ \/ 540 \(\d+ %\)/);

      const letters = await page.locator('#dead-letters tbody tr').allInnerTexts();
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatch(/parse\s+\S+\s+PL_PARSE_\w+/);
      expect(letters[0]).toContain(`exercise_id=${victim}/tcx`);

      const lake = await page.locator('#lake tbody tr').allInnerTexts();
      const samples = lake.find((r) => r.startsWith('samples'))!;
      expect(samples).toMatch(/^samples\s+[1-9]\d*\s+[1-9]\d*\s+[\d.]+ (B|KB|MB)$/);
      expect(lake.at(-1)).toMatch(/^raw zone\s+[1-9]\d*\s+/);

      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: 'test-results/status-page.png', fullPage: true });
      expect(existsSync('test-results/status-page.png')).toBe(true);
    } finally {
      await browser?.close();
    }
  });

  it('`polar-lake status --url` prints the same in a terminal, with sparklines', async () => {
    const { stdout } = await run(process.execPath, ['bin/polar-lake.mjs', 'status', '--url', server.url]);
    expect(stdout).toMatch(/^polar-lake status at \S+: running since \S+, embedded bus, stages fetch, parse, sink$/m);
    expect(stdout).toMatch(new RegExp(`^${refused} .*needs_reauth \\(PL_ACCESSLINK_UNAUTHORIZED\\).*exercise FAILED`, 'm'));
    expect(stdout).toMatch(/^ {2}rows written\/min {4}[▁▂▃▄▅▆▇█]{2} {2}max [1-9]\d*, now [1-9]\d*$/m);
    expect(stdout).toMatch(/^ {2}short_term +#*\.* \d+\/540 /m);
    expect(stdout).toMatch(new RegExp(`parse .*PL_PARSE_\\w+ .*exercise_id=${victim}/tcx`));
    expect(stdout).toMatch(/^samples +\| [1-9]\d* +\| [1-9]\d* +\| [\d.]+ (B|KB|MB)$/m);
  });

  it('`polar-lake status` with no process tells what the folders hold; an unreachable --url is a typed error', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, POLAR_LAKE_DIR: app.lakeDir, POLAR_LAKE_STATE_DIR: app.stateDir };
    delete env['POLAR_LAKE_METRICS_LISTEN'];
    const { stdout } = await run(process.execPath, ['bin/polar-lake.mjs', 'status'], { env });
    expect(stdout).toMatch(/from the folders \(no running process answered/);
    expect(stdout).toMatch(new RegExp(`^${refused} .*needs_reauth \\(PL_ACCESSLINK_UNAUTHORIZED\\) \\| \\d+ s `, 'm'));
    expect(stdout).toMatch(new RegExp(`^${sim.accounts[0]!.polarUserId} .*\\| active +\\| - +\\| -$`, 'm')); // unknown without a process, not 0
    expect(stdout).toMatch(/^samples +\| [1-9]\d* +\|/m);
    expect(stdout).toMatch(/^raw zone +\| - +\| [1-9]\d* +\|/m);
    expect(stdout).not.toMatch(/Rate-limit budget/);
    const closed = server.url.replace(/:\d+$/, ':9'); // discard port: nothing listens
    await expect(run(process.execPath, ['bin/polar-lake.mjs', 'status', '--url', closed], { env })).rejects.toMatchObject({ stderr: expect.stringContaining('PL_STATUS_UNREACHABLE') });
  });
});
