/**
 * The status page served at `/status` by a running process: the same snapshot as
 * `polar-lake status`, with the last hour's throughput and lag drawn as inline SVG. One
 * self-contained document (no script, no external asset), refreshed every 30 s.
 */
import type { StatusSnapshot } from './status.ts';
import { humanAge, humanBytes, lastFetchText } from './status-text.ts';

const escape = (v: unknown) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small line chart of one series; unknown points (null) break the line. */
export function svgChart(label: string, values: readonly (number | null)[], unit: string): string {
  const width = 360;
  const height = 80;
  const known = values.filter((v): v is number => v !== null);
  const max = Math.max(1, ...known); // the scale; an all-zero series draws along the bottom
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const segments: string[] = [];
  let current: string[] = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (current.length > 0) segments.push(current.join(' '));
      current = [];
      return;
    }
    current.push(`${(i * step).toFixed(1)},${(height - (v / max) * (height - 4) - 2).toFixed(1)}`);
  });
  if (current.length > 0) segments.push(current.join(' '));
  const last = [...values].reverse().find((v) => v !== null);
  return `<figure class="chart" data-chart="${escape(label)}">
<figcaption>${escape(label)} <span class="now">now ${escape(last ?? '-')} ${escape(unit)}, max ${escape(known.length > 0 ? Math.max(...known) : '-')}</span></figcaption>
<svg role="img" aria-label="${escape(label)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
<rect width="${width}" height="${height}" fill="#f6f8fa"/>
${segments.map((points) => (points.includes(' ') ? `<polyline fill="none" stroke="#0969da" stroke-width="2" points="${points}"/>` : `<circle r="2.5" fill="#0969da" cx="${points.split(',')[0]}" cy="${points.split(',')[1]}"/>`)).join('\n')}
</svg>
<div class="axis">${values.length} min</div>
</figure>`;
}

function table(id: string, columns: readonly string[], rows: readonly (readonly unknown[])[], empty: string): string {
  if (rows.length === 0) return `<p id="${id}" class="empty">${escape(empty)}</p>`;
  return `<table id="${id}"><thead><tr>${columns.map((c) => `<th>${escape(c)}</th>`).join('')}</tr></thead><tbody>
${rows.map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`).join('\n')}
</tbody></table>`;
}

export function renderStatusHtml(s: StatusSnapshot): string {
  const users = s.users.map((u) => [
    u.user_id, u.member_id, u.status_reason ? `${u.status} (${u.status_reason})` : u.status,
    `${humanAge(u.unfetched_age_seconds)}${u.window_warning ? ' ⚠ Polar deletes after 28 d' : ''}`, lastFetchText(u),
  ]);
  const budget = s.budget.map((b) => {
    const share = b.limit > 0 ? Math.min(1, b.used / b.limit) : 0;
    return `<div class="budget" data-window="${escape(b.window)}"><span class="label">${escape(b.window)}</span>
<svg viewBox="0 0 200 14" width="200" height="14" role="img" aria-label="${escape(b.window)} budget"><rect width="200" height="14" fill="#eaeef2"/><rect width="${(share * 200).toFixed(1)}" height="14" fill="${share > 0.8 ? '#cf222e' : '#1a7f37'}"/></svg>
<span>${b.used} / ${b.limit} (${(share * 100).toFixed(0)} %), resets in ${escape(humanAge(b.reset_secs))}</span></div>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="30">
<title>polar-lake status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #d0d7de;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.meta,.axis,.empty{color:#59636e}.charts{display:flex;gap:24px;flex-wrap:wrap}
figure{margin:0}figcaption{font-weight:600}.now{font-weight:400;color:#59636e}.budget{display:flex;gap:10px;align-items:center;margin:4px 0}.label{width:80px}
</style></head><body>
<h1>polar-lake status</h1>
<p class="meta" id="meta">${escape(s.generated_at_utc)} · ${s.source === 'process' ? `running since ${escape(s.started_at_utc)} · ${escape(s.bus)} bus · stages ${escape(s.stages.join(', '))}` : 'from the folders'}</p>
<h2>Users</h2>
${table('users', ['user id', 'member id', 'status', 'unfetched for', 'last fetch'], users, 'no users enrolled (polar-lake users add)')}
<h2>Last hour</h2>
<div class="charts">
${svgChart('rows written per minute', s.history.map((p) => p.rows_written), 'rows')}
${svgChart('payloads fetched per minute', s.history.map((p) => p.payloads_fetched), 'payloads')}
${svgChart('consumer lag', s.history.map((p) => p.lag), 'messages')}
</div>
<p class="meta" id="lag-now">lag now: ${escape(s.lag.map((l) => `${l.stage} ${l.messages ?? 'unreadable'}`).join(', ') || '-')}</p>
<h2>Rate-limit budget</h2>
<div id="budget">${budget.join('\n') || '<p class="empty">no AccessLink response seen yet</p>'}</div>
<h2>Recent dead letters</h2>
${table('dead-letters', ['at (UTC)', 'stage', 'user', 'code', 'reason', 'raw key'], s.dead_letters.map((d) => [d.at_utc, d.stage, d.user_id, d.code, d.message, d.raw_key]), 'none')}
<h2>Lake</h2>
${table('lake', ['table', 'partitions', 'files', 'size'], [...s.lake.map((t) => [t.table, t.partitions, t.files, humanBytes(t.bytes)]), ['raw zone', '', s.raw_zone.files, humanBytes(s.raw_zone.bytes)]], '')}
</body></html>
`;
}
