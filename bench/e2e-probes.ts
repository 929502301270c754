/**
 * What bench/e2e.ts reads from the stage processes it runs: their peak RSS and CPU time from /proc and
 * their counters from the Prometheus text their telemetry server serves.
 */
import { readFileSync } from 'node:fs';
export { freePort } from '../test/helpers/free-port.ts';

/** Peak resident set (VmHWM) of a live Linux process in MB; null once it has exited (or off Linux). */
export function peakRssMb(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user + system) a live Linux process has used so far; null once it has exited
 * (or off Linux). Unlike wall time it does not grow with what other processes on the machine
 * take, so runs on a loaded machine compare.
 */
export function cpuSeconds(pid: number): number | null {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}
/** USER_HZ: 100 on every Linux this runs on (sysconf is not reachable from Node). */
const CLOCK_TICKS_PER_S = 100;

/**
 * The sum of a metric's samples whose labels include every pair of `match`, from Prometheus
 * text; null when no sample matches (a series that is absent is not 0).
 */
export function metricSum(text: string, name: string, match: Readonly<Record<string, string>> = {}): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = new Map([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(match).every(([k, v]) => labels.get(k) === v)) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

