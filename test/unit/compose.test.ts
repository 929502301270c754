/**
 * docker-compose.yml cannot run here (no Docker engine), so its every claim is checked against
 * the CLI itself: each service's command is a real polar-lake command with real options, each
 * variable it sets is one the code reads, and each health check asks the port the stage serves.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  profiles?: string[];
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };
const polarServices = Object.entries(compose.services).filter(([, s]) => s.command?.includes('bin/polar-lake.mjs'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}
const source = sourceFiles('src').map((f) => readFileSync(f, 'utf8')).join('\n');
const readByCode = new Set([...source.matchAll(/['"`]((?:POLAR|KAFKA)_[A-Z0-9_]+)['"`]/g)].map((m) => m[1]!));

describe('compose > docker-compose.yml against the CLI', () => {
  it('compose > runs the three stages, Kafka, and the simulator under the demo profile', () => {
    expect(polarServices.map(([name]) => name).sort()).toEqual(['fetch', 'parse', 'simulator', 'sink']);
    expect(compose.services['simulator']?.profiles).toEqual(['demo']);
    expect(compose.services['kafka']?.image).toMatch(/^apache\/kafka:/);
  });

  it('compose > every service command is a polar-lake command with options the CLI accepts', async () => {
    for (const [name, service] of polarServices) {
      const args = service.command!.slice(service.command!.indexOf('bin/polar-lake.mjs') + 1);
      const words = args.filter((a, i) => !a.startsWith('-') && !(args[i - 1] ?? '').startsWith('--'));
      const { stdout } = await run(process.execPath, ['bin/polar-lake.mjs', ...words.slice(0, 1), '--help']);
      for (const option of args.filter((a) => a.startsWith('--'))) expect(stdout, `${name}: ${option}`).toContain(option);
      // The values a stage command passes are accepted (commander validates them).
      if (args[0] === 'run') expect(['fetch', 'parse', 'sink']).toContain(args[args.indexOf('--stage') + 1]);
    }
  }, 60_000);

  it('compose > every variable a polar-lake service or compose.demo.env sets is one the code reads', () => {
    const set = polarServices.flatMap(([name, s]) => Object.keys(s.environment ?? {}).map((v) => `${name}:${v}`));
    const demo = readFileSync('compose.demo.env', 'utf8').split('\n').filter((l) => /^[A-Z]/.test(l)).map((l) => `compose.demo.env:${l.split('=')[0]}`);
    expect(set.length).toBeGreaterThan(10);
    expect([...set, ...demo].filter((entry) => !readByCode.has(entry.split(':')[1]!))).toEqual([]);
  });

  it('compose > health checks ask /health on the port each stage serves its telemetry on', () => {
    for (const name of ['fetch', 'parse', 'sink']) {
      const service = compose.services[name]!;
      const port = service.environment?.['POLAR_LAKE_METRICS_LISTEN']?.split(':')[1];
      expect(port, name).toMatch(/^\d+$/);
      expect(service.healthcheck?.test.join(' '), name).toContain(`127.0.0.1:${port}/health`);
    }
  });

  it('compose > only fetch mounts the state folder (one owner); every stage mounts the lake', () => {
    for (const name of ['fetch', 'parse', 'sink']) {
      const volumes = compose.services[name]!.volumes ?? [];
      expect(volumes, name).toContain('lake:/data/lake');
      expect(volumes.some((v) => v.startsWith('state:')), name).toBe(name === 'fetch');
    }
  });
});
