/**
 * One exercise, once: the same workout can reach the lake from AccessLink (live or replay),
 * from a Polar Flow account export, and from files (FIT, TCX, HRM, PPT XML, GPX). Each such
 * arrival is a *member*; members that match form a *cluster*, and only the cluster's winner
 * feeds the tables.
 *
 * Matching rule (`matches`): same user, and
 * - start: within START_TOLERANCE_S; when one side's zone is unknown (HRM, PPT XML, a file
 *   without offsets: its wall time was read as UTC), within the tolerance of a whole number
 *   of quarter hours up to 14 h apart;
 * - duration: when both are known, within max(DURATION_TOLERANCE_S, 10 % of the longer);
 * - sport: compatible when either is unknown (or "Other"), else when their families meet
 *   (RUNNING / Running / TRAIL_RUNNING → run; CYCLING / Biking / ROAD_BIKING → cycle; ...).
 *
 * Precedence (SOURCE_PRECEDENCE, best first): accesslink > flow (Flow export) > fit > tcx >
 * hrm > ppt > gpx. Between two members of the same kind the earlier one stays the winner.
 *
 * Rows: the winner publishes under the source ids of the cluster's first member, so a
 * better source arriving later *replaces* the rows the first one wrote (the sink replaces a
 * source's rows on a re-parse) instead of adding a second copy. Losers publish nothing;
 * their raw objects stay in the raw zone and the registry lists them.
 *
 * The registry is a JSON-lines file in the state folder (`exercise-identities.jsonl`),
 * appended with O_APPEND and re-read from where it was last read when a lookup misses, so
 * an import process and a running pipeline on one state folder see each other's members.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendDurable } from '../fs/durable.ts';

export type SourceKind = 'accesslink' | 'flow' | 'fit' | 'tcx' | 'hrm' | 'ppt' | 'gpx';

/** Best first. */
export const SOURCE_PRECEDENCE: readonly SourceKind[] = ['accesslink', 'flow', 'fit', 'tcx', 'hrm', 'ppt', 'gpx'];
export const START_TOLERANCE_S = 120;
export const DURATION_TOLERANCE_S = 120;

export interface ExerciseMember {
  readonly userId: string;
  readonly exerciseId: string;
  readonly source: SourceKind;
  readonly startUtcUs: number;
  /** False when the start is a wall time read as UTC (no zone in the source). */
  readonly offsetKnown: boolean;
  readonly durationS: number | null;
  readonly sport: string | null;
  /** Raw key whose source id carries this member's `exercises` row. */
  readonly rowsKey: string;
  /** Raw key whose source id carries its samples and laps; null when it has none. */
  readonly samplesKey: string | null;
}

export interface Cluster {
  readonly id: string;
  readonly members: readonly ExerciseMember[];
}

export interface Verdict {
  readonly cluster: Cluster;
  readonly member: ExerciseMember;
  readonly winner: ExerciseMember;
  readonly role: 'winner' | 'merged';
}

const FAMILIES: [RegExp, string][] = [
  [/RUN|JOG/, 'run'],
  [/CYCL|BIK|RIDE|SPINNING/, 'cycle'],
  [/SWIM/, 'swim'],
  [/WALK|HIK/, 'walk'],
  [/SKI/, 'ski'],
  [/ROW/, 'row'],
];

function families(sport: string | null): Set<string> | null {
  if (!sport) return null;
  const out = new Set<string>();
  for (const part of sport.toUpperCase().split(',')) {
    const s = part.trim();
    if (s === '' || s === 'OTHER' || s === 'OTHER_INDOOR' || s === 'OTHER_OUTDOOR') continue;
    out.add(FAMILIES.find(([re]) => re.test(s))?.[1] ?? s);
  }
  return out.size === 0 ? null : out;
}

export function compatibleSports(a: string | null, b: string | null): boolean {
  const fa = families(a);
  const fb = families(b);
  if (!fa || !fb) return true;
  return [...fa].some((f) => fb.has(f));
}

export function matches(a: ExerciseMember, b: ExerciseMember): boolean {
  if (a.userId !== b.userId) return false;
  const diffS = Math.abs(a.startUtcUs - b.startUtcUs) / 1e6;
  const startOk = a.offsetKnown && b.offsetKnown ? diffS <= START_TOLERANCE_S : Math.abs(diffS - Math.round(diffS / 900) * 900) <= START_TOLERANCE_S && diffS <= 14 * 3600 + START_TOLERANCE_S;
  if (!startOk) return false;
  if (a.durationS !== null && b.durationS !== null) {
    if (Math.abs(a.durationS - b.durationS) > Math.max(DURATION_TOLERANCE_S, 0.1 * Math.max(a.durationS, b.durationS))) return false;
  }
  return compatibleSports(a.sport, b.sport);
}

const rank = (m: ExerciseMember) => SOURCE_PRECEDENCE.indexOf(m.source);

export function winnerOf(cluster: Cluster): ExerciseMember {
  return cluster.members.reduce((best, m) => (rank(m) < rank(best) ? m : best));
}

export interface IdentityRegistry {
  readonly file: string;
  /** The verdict for a member already known, re-reading the file once on a miss. */
  get(userId: string, exerciseId: string): Promise<Verdict | undefined>;
  /** Registers a member (joining the first matching cluster, else a new one) and returns its verdict. Idempotent. */
  resolve(member: ExerciseMember): Promise<Verdict>;
  /** The source ids' raw key for a table role of a winner: the cluster's first member's, when it has one. */
  rowsKeyFor(verdict: Verdict, role: 'rows' | 'samples'): string | null;
}

interface Line {
  c: string;
  m: ExerciseMember;
}

const memberKey = (userId: string, exerciseId: string) => `${userId}\u0000${exerciseId}`;

export async function openIdentityRegistry(options: { stateDir: string }): Promise<IdentityRegistry> {
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const file = join(options.stateDir, 'exercise-identities.jsonl');
  const clusters = new Map<string, { id: string; members: ExerciseMember[] }>();
  const byUser = new Map<string, { id: string; members: ExerciseMember[] }[]>();
  const byMember = new Map<string, string>();
  let readUpTo = 0;
  let chain: Promise<unknown> = Promise.resolve();

  const add = (clusterId: string, m: ExerciseMember) => {
    if (byMember.has(memberKey(m.userId, m.exerciseId))) return;
    let cluster = clusters.get(clusterId);
    if (!cluster) {
      cluster = { id: clusterId, members: [] };
      clusters.set(clusterId, cluster);
      byUser.set(m.userId, [...(byUser.get(m.userId) ?? []), cluster]);
    }
    cluster.members.push(m);
    byMember.set(memberKey(m.userId, m.exerciseId), clusterId);
  };

  const refresh = async () => {
    let text: string;
    try {
      text = (await readFile(file)).subarray(readUpTo).toString('utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const end = text.lastIndexOf('\n');
    if (end < 0) return;
    for (const raw of text.slice(0, end).split('\n')) {
      try {
        const line = JSON.parse(raw) as Line;
        add(line.c, line.m);
      } catch {
        // a torn line from a crash mid-append: that member registers again
      }
    }
    readUpTo += Buffer.byteLength(text.slice(0, end + 1));
  };
  await refresh();

  const verdictOf = (clusterId: string, userId: string, exerciseId: string): Verdict | undefined => {
    const cluster = clusters.get(clusterId);
    const member = cluster?.members.find((m) => m.userId === userId && m.exerciseId === exerciseId);
    if (!cluster || !member) return undefined;
    const winner = winnerOf(cluster);
    return { cluster, member, winner, role: winner === member ? 'winner' : 'merged' };
  };

  const lookup = (userId: string, exerciseId: string) => {
    const id = byMember.get(memberKey(userId, exerciseId));
    return id === undefined ? undefined : verdictOf(id, userId, exerciseId);
  };

  return {
    file,
    async get(userId, exerciseId) {
      const known = lookup(userId, exerciseId);
      if (known) return known;
      await refresh();
      return lookup(userId, exerciseId);
    },
    resolve(member) {
      const run = chain.then(async () => {
        await refresh();
        const known = lookup(member.userId, member.exerciseId);
        if (known) return known;
        const cluster = (byUser.get(member.userId) ?? []).find((c) => c.members.some((m) => matches(m, member)));
        const clusterId = cluster?.id ?? `${member.userId}/${member.exerciseId}`;
        await appendDurable(file, JSON.stringify({ c: clusterId, m: member } satisfies Line) + '\n', { mode: 0o600 });
        await refresh();
        return lookup(member.userId, member.exerciseId) as Verdict;
      });
      chain = run.catch(() => undefined);
      return run;
    },
    rowsKeyFor(verdict, role) {
      const first = verdict.cluster.members[0] as ExerciseMember;
      const own = role === 'rows' ? verdict.member.rowsKey : verdict.member.samplesKey;
      if (first === verdict.member) return own;
      return (role === 'rows' ? first.rowsKey : first.samplesKey) ?? own;
    },
  };
}
