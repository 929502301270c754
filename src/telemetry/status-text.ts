/**
 * The status snapshot for a terminal (`polar-lake status`): tables, and the last hour's
 * throughput and lag as sparklines. Helpers shared with the HTML page live here too.
 */
import { renderTable } from '../lake/format.ts';
import type { StatusSnapshot, UserStatusLine } from './status.ts';

const BARS = '▁▂▃▄▅▆▇█';

/** One character per value, scaled to the largest; an unknown value (null) is a space. */
export function sparkline(values: readonly (number | null)[]): string {
  const max = Math.max(0, ...values.filter((v): v is number => v !== null));
  return values.map((v) => (v === null ? ' ' : BARS[max === 0 ? 0 : Math.min(BARS.length - 1, Math.round((v / max) * (BARS.length - 1)))])).join('');
}

export function humanBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function humanAge(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 129_600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** `exercise ok 12:03:00Z, daily FAILED 12:03:01Z (ok 11:03:00Z)`, or '-' before any sweep. */
export function lastFetchText(user: UserStatusLine): string {
  const parts = Object.entries(user.last_fetch).map(([type, f]) =>
    `${type} ${f.ok ? 'ok' : 'FAILED'} ${f.at_utc}${!f.ok ? ` (last ok ${f.last_ok_utc ?? 'never'})` : ''}`,
  );
  return parts.length > 0 ? parts.join(', ') : '-';
}

export function renderStatusText(s: StatusSnapshot): string {
  const out: string[] = [];
  out.push(
    s.source === 'process'
      ? `polar-lake status at ${s.generated_at_utc}: running since ${s.started_at_utc}, ${s.bus} bus, stages ${s.stages.join(', ') || '-'}`
      : `polar-lake status at ${s.generated_at_utc}, from the folders (no running process answered: no history, lag, budget or dead letters)`,
  );
  out.push('', 'Users');
  out.push(renderTable(['user_id', 'member_id', 'status', 'unfetched', 'last fetch'], s.users.map((u) => [
    u.user_id, u.member_id, u.status_reason ? `${u.status} (${u.status_reason})` : u.status,
    `${humanAge(u.unfetched_age_seconds)}${u.window_warning ? ' WARNING: Polar deletes after 28 d' : ''}`, lastFetchText(u),
  ])).trimEnd());
  if (s.source === 'process') {
    const rows = s.history.map((p) => p.rows_written);
    const fetched = s.history.map((p) => p.payloads_fetched);
    const lag = s.history.map((p) => p.lag);
    out.push('', `Last hour (one mark a minute, ${s.history.length} so far)`);
    out.push(`  rows written/min    ${sparkline(rows)}  max ${Math.max(0, ...rows)}, now ${rows.at(-1) ?? 0}`);
    out.push(`  payloads fetched    ${sparkline(fetched)}  max ${Math.max(0, ...fetched)}, now ${fetched.at(-1) ?? 0}`);
    out.push(`  consumer lag        ${sparkline(lag)}  max ${Math.max(0, ...lag.filter((v): v is number => v !== null))}, now ${s.lag.map((l) => `${l.stage} ${l.messages ?? 'unreadable'}`).join(', ') || '-'}`);
    out.push('', 'Rate-limit budget');
    if (s.budget.length === 0) out.push('  no AccessLink response seen yet');
    for (const b of s.budget) {
      const share = b.limit > 0 ? b.used / b.limit : 0;
      out.push(`  ${b.window.padEnd(10)} ${'#'.repeat(Math.round(share * 20)).padEnd(20, '.')} ${b.used}/${b.limit} (${(share * 100).toFixed(0)} %), resets in ${humanAge(b.reset_secs)}`);
    }
    out.push('', 'Recent dead letters');
    if (s.dead_letters.length === 0) out.push('  none');
    else out.push(renderTable(['at_utc', 'stage', 'user_id', 'code', 'reason', 'raw_key'], s.dead_letters.map((d) => [d.at_utc, d.stage, d.user_id, d.code, d.message, d.raw_key])).trimEnd());
  }
  out.push('', 'Lake');
  out.push(renderTable(['table', 'partitions', 'files', 'size'], [
    ...s.lake.map((t) => [t.table, t.partitions, t.files, humanBytes(t.bytes)]),
    ['raw zone', '-', s.raw_zone.files, humanBytes(s.raw_zone.bytes)],
  ]).trimEnd());
  return out.join('\n') + '\n';
}
