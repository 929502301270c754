import { describe, expect, it } from 'vitest';
import { freePort, metricSum, peakRssMb } from '../../bench/e2e-probes.ts';

const TEXT = [
  '# HELP polar_consumer_lag_messages lag',
  '# TYPE polar_consumer_lag_messages gauge',
  'polar_consumer_lag_messages{stage="sink",topic="p.polar.samples",partition="0"} 3',
  'polar_consumer_lag_messages{stage="sink",topic="p.polar.laps",partition="1"} 4',
  'polar_consumer_lag_messages{stage="parse",topic="p.polar.fetched",partition="0"} 0',
  'polar_consumer_lag_messages_extra{stage="sink"} 100',
  'polar_parse_rows_total{table="samples"} 1200',
  'polar_parse_rows_total{table="laps"} 7',
].join('\n');

describe('bench > e2e probes', () => {
  it('sums the samples of a metric whose labels match, and tells an absent series from 0', () => {
    expect(metricSum(TEXT, 'polar_consumer_lag_messages', { stage: 'sink' })).toBe(7);
    expect(metricSum(TEXT, 'polar_consumer_lag_messages', { stage: 'parse' })).toBe(0);
    expect(metricSum(TEXT, 'polar_consumer_lag_messages', { stage: 'fetch' })).toBeNull();
    expect(metricSum(TEXT, 'polar_parse_rows_total', { table: 'samples' })).toBe(1200);
    expect(metricSum(TEXT, 'polar_parse_rows_total')).toBe(1207);
  });

  it('reads the peak RSS of a live process, and null for one that does not exist', async () => {
    const own = peakRssMb(process.pid);
    expect(own).toBeGreaterThan(10);
    expect(own).toBeLessThan(100_000);
    expect(peakRssMb(2 ** 22 + 12345)).toBeNull();
    expect(await freePort()).toBeGreaterThan(0);
  });
});
