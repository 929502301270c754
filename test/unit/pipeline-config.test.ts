import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePipeline, PipelineError } from '../../src/pipeline/load.ts';

// Adding a rule means adding a row (dlt's source_configs.py style).
const valid: { name: string; yaml: string; check: Record<string, unknown> }[] = [
  { name: 'minimal file gets every default', yaml: 'version: 1\nname: p', check: { 'sink.compression': 'zstd', 'parse.batch_rows': 512, 'fetch.max_rounds_per_user': 10, 'bus.partitions': 3 } },
  { name: 'explicit values win', yaml: 'version: 1\nname: p\nsink:\n  flush_rows: 10\n  idle_flush_secs: 0.5', check: { 'sink.flush_rows': 10, 'sink.idle_flush_secs': 0.5 } },
  { name: 'empty section is filled', yaml: 'version: 1\nname: p\nparse:', check: { 'parse.tokenizer': 'fast' } },
  { name: 'every date-based type is on by default', yaml: 'version: 1\nname: p', check: { 'fetch.daily': ['activity', 'sleep', 'nightly_recharge', 'continuous_heart_rate', 'cardio_load', 'sleepwise_alertness', 'sleepwise_circadian_bedtime', 'body_temperature', 'skin_temperature', 'skin_contacts', 'ecg', 'spo2'] } },
  { name: 'data_types per type', yaml: 'version: 1\nname: p\nfetch:\n  data_types:\n    ecg: { enabled: false }\n    activity: { every: 15m, lookback_days: 365 }', check: { 'fetch.data_types.ecg.enabled': false, 'fetch.data_types.activity.lookback_days': 365 } },
  { name: 'bounded redelivery defaults', yaml: 'version: 1\nname: p', check: { 'bus.redelivery.max_attempts': 5, 'bus.redelivery.backoff_ms': 200, 'bus.redelivery.max_backoff_ms': 10000, 'bus.session_timeout_ms': 30000 } },
  { name: 'bounded redelivery set, rest defaulted', yaml: 'version: 1\nname: p\nbus:\n  redelivery:\n    max_attempts: 2', check: { 'bus.redelivery.max_attempts': 2, 'bus.redelivery.backoff_ms': 200 } },
];

const invalid: { name: string; yaml: string; message: RegExp }[] = [
  { name: 'unknown key names the allowed ones', yaml: 'version: 1\nname: p\nparse:\n  formt: tcx', message: /p\.yaml: \/parse: unknown field "formt" \(allowed: tokenizer, time_order, batch_rows, / },
  { name: 'unknown top-level key', yaml: 'version: 1\nname: p\nsinks: {}', message: /p\.yaml: \/: unknown field "sinks"/ },
  { name: 'wrong type', yaml: 'version: 1\nname: p\nsink:\n  flush_rows: many', message: /p\.yaml: \/sink\/flush_rows: must be integer/ },
  { name: 'below minimum', yaml: 'version: 1\nname: p\nsink:\n  flush_rows: 0', message: /\/sink\/flush_rows: must be >= 1/ },
  { name: 'bad enum', yaml: 'version: 1\nname: p\nsink:\n  compression: lz4', message: /\/sink\/compression: must be one of "zstd", "snappy", "gzip", "uncompressed"/ },
  { name: 'missing name', yaml: 'version: 1', message: /p\.yaml: \/: missing field "name"/ },
  { name: 'wrong version', yaml: 'version: 2\nname: p', message: /\/version: must be equal to constant/ },
  { name: 'bad payload', yaml: 'version: 1\nname: p\nfetch:\n  payloads: [tcx, hrm]', message: /\/fetch\/payloads\/1: must be one of/ },
  { name: 'invalid YAML with position', yaml: 'version: 1\nname: [p', message: /p\.yaml: line \d+, column \d+: not valid YAML/ },
  { name: 'duplicate key', yaml: 'version: 1\nname: p\nname: q', message: /not valid YAML/ },
  { name: 'not a mapping', yaml: '- 1', message: /expected a mapping/ },
  { name: 'unknown date-based type', yaml: 'version: 1\nname: p\nfetch:\n  data_types:\n    ekg: {}', message: /\/fetch\/data_types: unknown field "ekg" \(allowed: activity, sleep, nightly_recharge, / },
  { name: 'unknown daily type', yaml: 'version: 1\nname: p\nfetch:\n  daily: [sleep, naps]', message: /\/fetch\/daily\/1: must be one of/ },
  { name: 'every without a unit', yaml: 'version: 1\nname: p\nfetch:\n  data_types:\n    sleep: { every: 15 }', message: /\/fetch\/data_types\/sleep\/every: must be string/ },
  { name: 'every with an unknown unit', yaml: 'version: 1\nname: p\nfetch:\n  data_types:\n    sleep: { every: 2w }', message: /\/fetch\/data_types\/sleep\/every: must match pattern/ },
  { name: 'lookback beyond the type\'s API window', yaml: 'version: 1\nname: p\nfetch:\n  data_types:\n    continuous_heart_rate: { lookback_days: 29 }', message: /p\.yaml: \/fetch\/data_types\/continuous_heart_rate\/lookback_days: 29 days is beyond the API's window for continuous_heart_rate \(28 days\)/ },
  { name: 'lookback beyond 365', yaml: 'version: 1\nname: p\nfetch:\n  data_types:\n    activity: { lookback_days: 400 }', message: /\/fetch\/data_types\/activity\/lookback_days: must be <= 365/ },
  { name: 'unknown data_type field', yaml: 'version: 1\nname: p\nfetch:\n  data_types:\n    sleep: { enable: true }', message: /unknown field "enable" \(allowed: enabled, every, lookback_days, probe\)/ },
  { name: 'probe on a type without one', yaml: 'version: 1\nname: p\nfetch:\n  data_types:\n    ecg: { probe: true }', message: /\/fetch\/data_types\/ecg\/probe: ecg has no probe endpoint/ },
  { name: 'redelivery needs one attempt', yaml: 'version: 1\nname: p\nbus:\n  redelivery:\n    max_attempts: 0', message: /\/bus\/redelivery\/max_attempts: must be >= 1/ },
  { name: 'redelivery unknown key', yaml: 'version: 1\nname: p\nbus:\n  redelivery:\n    attempts: 3', message: /\/bus\/redelivery: unknown field "attempts" \(allowed: max_attempts, backoff_ms, max_backoff_ms\)/ },
];

const get = (o: unknown, path: string) => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], o);

describe('pipeline > config', () => {
  it.each(valid)('valid: $name', ({ yaml, check }) => {
    const p = parsePipeline(yaml, 'p.yaml');
    for (const [path, value] of Object.entries(check)) expect(get(p, path)).toEqual(value);
    expect(Object.isFrozen(p.sink)).toBe(true);
  });

  it.each(invalid)('invalid: $name', ({ yaml, message }) => {
    let error: unknown;
    try {
      parsePipeline(yaml, 'p.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PipelineError);
    expect((error as PipelineError).code).toBe('PL_CONFIG_INVALID');
    expect((error as Error).message).toMatch(message);
  });

  it('lints every shipped pipeline file', () => {
    const files = readdirSync('pipelines').filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(() => parsePipeline(readFileSync(join('pipelines', f), 'utf8'), f)).not.toThrow();
  });

  it('lints every YAML block in the README that declares a pipeline', () => {
    const readme = readFileSync('README.md', 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').filter((b) => /^version:/m.test(b));
    for (const b of blocks) expect(() => parsePipeline(b, 'README.md')).not.toThrow();
  });
});
